/**
 * Secret scrubbing for log records. Two nets, because neither alone is enough:
 * 1. by name: any property whose name says it holds a secret is replaced whatever its value;
 * 2. by shape: any string anywhere that looks like a JWT, a PEM or OpenSSH private key, a bearer
 *    credential or a Vault/OpenBao token has that part replaced.
 */
export const REDACTED = '[REDACTED]';

const SECRET_NAME =
  /^(authorization|proxy[-_]?authorization|cookie|set[-_]?cookie|password|passphrase|secret|client[-_]?secret|token|access[-_]?token|refresh[-_]?token|id[-_]?token|subject[-_]?token|actor[-_]?token|assertion|private[-_]?key|privatekey|ca[-_]?key|signing[-_]?key|tacacs[-_]?key|shared[-_]?key|key[-_]?material|vault[-_]?token|x[-_]?vault[-_]?token|bearer)$/i;

const SECRET_SHAPES: readonly RegExp[] = [
  // PEM private keys of any kind, and OpenSSH's own format.
  /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(-----END \1PRIVATE KEY-----|$)/g,
  // JWS/JWT compact serialisation: base64url(JSON header starting with {") . payload . signature
  /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g,
  // HTTP credentials written out in text.
  /\b(Bearer|Basic|DPoP)\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  // Vault / OpenBao tokens: hvs./hvb./hvr. (current), s./b./r. + 24 chars (legacy).
  /\b(hv[sbr]|s|b|r)\.[A-Za-z0-9_-]{24,}/g,
];

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

export function scrubString(value: string): string {
  let out = value;
  for (const shape of SECRET_SHAPES) out = out.replace(shape, REDACTED);
  return out;
}

/** A deep copy of `value` with secrets replaced. Cycles and depth are bounded. */
export function scrub(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === 'string') return scrubString(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8 || seen.has(value)) return '[Truncated]';
  seen.add(value);
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1, seen));
  if (value instanceof Error) {
    const out: Record<string, unknown> = {
      type: value.name,
      message: scrubString(value.message),
    };
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) out['code'] = code;
    if (value.stack) out['stack'] = scrubString(value.stack);
    if (value.cause !== undefined) out['cause'] = scrub(value.cause, depth + 1, seen);
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = isSecretName(k) && v !== undefined && v !== null ? REDACTED : scrub(v, depth + 1, seen);
  }
  return out;
}
