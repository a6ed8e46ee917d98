/**
 * OpenSSH public keys: the one-line form (`ssh-ed25519 AAAA... comment`, sshd(8) AUTHORIZED_KEYS FILE
 * FORMAT), the wire blob inside it (RFC 4253 section 6.6, RFC 8709 section 4 for Ed25519, RFC 5656
 * section 3.1 for ECDSA) and Node KeyObjects.
 *
 * Keys that certificates are issued FOR must be Ed25519. Keys that sign certificates (CA keys) may also
 * be RSA or ECDSA, because Vault/OpenBao's SSH engine creates an RSA CA by default: the verifier accepts
 * those, the issuer here only ever signs with Ed25519.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { SshCertificateError } from './errors.ts';
import { SshReader, SshWriter } from './wire.ts';

export const ED25519 = 'ssh-ed25519';
export const ED25519_CERT = 'ssh-ed25519-cert-v01@openssh.com';

const ECDSA_CURVES = {
  'ecdsa-sha2-nistp256': { ssh: 'nistp256', jwk: 'P-256', size: 32, hash: 'sha256' },
  'ecdsa-sha2-nistp384': { ssh: 'nistp384', jwk: 'P-384', size: 48, hash: 'sha384' },
  'ecdsa-sha2-nistp521': { ssh: 'nistp521', jwk: 'P-521', size: 66, hash: 'sha512' },
} as const;
type EcdsaType = keyof typeof ECDSA_CURVES;

/** A key line split into its parts; the blob is not interpreted beyond its leading type name. */
export interface OpenSshKeyLine {
  readonly type: string;
  readonly blob: Buffer;
  readonly comment: string;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const TYPE_NAME = /^[A-Za-z0-9@._-]{1,64}$/;

/**
 * Splits `type base64 [comment]` and checks that the blob names the same type as the line. Accepts any
 * key or certificate type; interpretation is left to the caller. Throws ERR_SSH_MALFORMED_KEY.
 */
export function parseKeyLine(
  line: string,
  code: 'ERR_SSH_MALFORMED_KEY' | 'ERR_SSH_MALFORMED_CERTIFICATE' = 'ERR_SSH_MALFORMED_KEY',
): OpenSshKeyLine {
  if (typeof line !== 'string' || line.length > 16_384) {
    throw new SshCertificateError(code, 'not an OpenSSH key line');
  }
  const m = /^\s*(\S+)\s+(\S+)(?:[ \t]+([^\r\n]*?))?\s*$/.exec(line);
  if (!m || !TYPE_NAME.test(m[1]!) || !BASE64.test(m[2]!) || m[2]!.length % 4 !== 0) {
    throw new SshCertificateError(code, 'not an OpenSSH key line');
  }
  const type = m[1]!;
  const blob = Buffer.from(m[2]!, 'base64');
  if (blob.toString('base64') !== m[2])
    throw new SshCertificateError(code, 'key line is not canonical base64');
  const inner = new SshReader(blob, code).text('key type');
  if (inner !== type) throw new SshCertificateError(code, 'key line type does not match its blob');
  return { type, blob, comment: m[3] ?? '' };
}

// KeyObjects are immutable, so their encodings can be remembered: exporting a key costs a JWK
// round trip (~10 us), paid once per CA key instead of once per certificate.
const rawCache = new WeakMap<KeyObject, Buffer>();
const blobCache = new WeakMap<KeyObject, Buffer>();

/** The raw 32-byte Ed25519 public key of a KeyObject (public or private). */
export function ed25519Raw(key: KeyObject): Buffer {
  const cached = rawCache.get(key);
  if (cached) return cached;
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType !== 'ed25519') {
    throw new TypeError('key is not an Ed25519 key');
  }
  const jwk = pub.export({ format: 'jwk' });
  const raw = Buffer.from(jwk.x as string, 'base64url');
  rawCache.set(key, raw);
  return raw;
}

export function ed25519KeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== 32)
    throw new SshCertificateError('ERR_SSH_MALFORMED_KEY', 'Ed25519 key is not 32 bytes');
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') },
    format: 'jwk',
  });
}

/** The wire blob of a public key: `string "ssh-ed25519", string pk` (RFC 8709 section 4). */
export function publicKeyBlob(key: KeyObject): Buffer {
  let blob = blobCache.get(key);
  if (!blob) {
    blob = encodePublicKeyBlob(key);
    blobCache.set(key, blob);
  }
  return blob;
}

function encodePublicKeyBlob(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  switch (pub.asymmetricKeyType) {
    case 'ed25519':
      return new SshWriter().text(ED25519).bytes(ed25519Raw(pub)).toBuffer();
    case 'rsa': {
      // RFC 4253 section 6.6: string "ssh-rsa", mpint e, mpint n
      const jwk = pub.export({ format: 'jwk' });
      return new SshWriter()
        .text('ssh-rsa')
        .bytes(mpint(Buffer.from(jwk.e as string, 'base64url')))
        .bytes(mpint(Buffer.from(jwk.n as string, 'base64url')))
        .toBuffer();
    }
    case 'ec': {
      // RFC 5656 section 3.1: string "ecdsa-sha2-[identifier]", string [identifier], string Q
      const jwk = pub.export({ format: 'jwk' });
      const entry = Object.entries(ECDSA_CURVES).find(([, c]) => c.jwk === jwk.crv);
      if (!entry) throw new TypeError(`unsupported EC curve ${String(jwk.crv)}`);
      const [type, curve] = entry;
      const q = Buffer.concat([
        Buffer.from([4]),
        Buffer.from(jwk.x as string, 'base64url'),
        Buffer.from(jwk.y as string, 'base64url'),
      ]);
      return new SshWriter().text(type).text(curve.ssh).bytes(q).toBuffer();
    }
    default:
      throw new TypeError(`unsupported key type ${String(pub.asymmetricKeyType)}`);
  }
}

/** `ssh-ed25519 AAAA... [comment]` for a KeyObject. A private key yields its public half. */
export function formatPublicKey(key: KeyObject, comment?: string): string {
  const blob = publicKeyBlob(key);
  const type = new SshReader(blob, 'ERR_SSH_MALFORMED_KEY').text();
  if (comment !== undefined && /[\r\n]/.test(comment)) throw new TypeError('comment contains a line break');
  return comment ? `${type} ${blob.toString('base64')} ${comment}` : `${type} ${blob.toString('base64')}`;
}

/** A KeyObject for any supported public key blob (Ed25519, RSA, ECDSA P-256/384/521). */
export function keyFromBlob(
  blob: Buffer,
  code: 'ERR_SSH_MALFORMED_KEY' | 'ERR_SSH_MALFORMED_CERTIFICATE' = 'ERR_SSH_MALFORMED_KEY',
): KeyObject {
  const r = new SshReader(blob, code);
  const type = r.text('key type');
  try {
    if (type === ED25519) {
      const raw = r.bytes('ed25519 key');
      r.end('ed25519 key');
      return ed25519KeyFromRaw(raw);
    }
    if (type === 'ssh-rsa') {
      const e = unsignedMpint(r.bytes('rsa e'), code);
      const n = unsignedMpint(r.bytes('rsa n'), code);
      r.end('rsa key');
      // A CA key (Vault's default CA is RSA) whose signatures anyone with modest means could forge:
      // NIST SP 800-131A disallows RSA below 2048 bits for signatures since 2013; OpenSSH's own floor
      // is 1024 (SSH_RSA_MINIMUM_MODULUS_SIZE). ECDSA keys have fixed sizes (P-256 and up), Ed25519 one.
      const bits = n.length * 8 - Math.clz32(n[0] ?? 0) + 24;
      if (bits < RSA_MINIMUM_BITS) {
        throw new SshCertificateError(
          'ERR_SSH_WEAK_KEY',
          `RSA key of ${bits} bits, below ${RSA_MINIMUM_BITS}`,
        );
      }
      return createPublicKey({
        key: { kty: 'RSA', e: e.toString('base64url'), n: n.toString('base64url') },
        format: 'jwk',
      });
    }
    if (Object.hasOwn(ECDSA_CURVES, type)) {
      const curve = ECDSA_CURVES[type as EcdsaType];
      if (r.text('curve') !== curve.ssh)
        throw new SshCertificateError(code, 'ecdsa curve does not match key type');
      const q = r.bytes('ecdsa point');
      r.end('ecdsa key');
      if (q.length !== 1 + 2 * curve.size || q[0] !== 4)
        throw new SshCertificateError(code, 'ecdsa point not uncompressed');
      return createPublicKey({
        key: {
          kty: 'EC',
          crv: curve.jwk,
          x: q.subarray(1, 1 + curve.size).toString('base64url'),
          y: q.subarray(1 + curve.size).toString('base64url'),
        },
        format: 'jwk',
      });
    }
  } catch (err) {
    if (err instanceof SshCertificateError) throw err;
    throw new SshCertificateError(code, 'key blob does not hold a valid key', { cause: err });
  }
  throw new SshCertificateError('ERR_SSH_UNSUPPORTED_KEY', 'unsupported key type');
}

/**
 * Parses a public key line that a certificate may be issued for: Ed25519 only. A certificate line is
 * refused with ERR_SSH_CERTIFICATE_NOT_KEY, any other algorithm with ERR_SSH_UNSUPPORTED_KEY.
 */
export interface ParsedPublicKey {
  /** Created on first use (a KeyObject costs ~10 us; the issuer needs only `raw`). */
  readonly key: KeyObject;
  /** The 32-byte Ed25519 public key. */
  readonly raw: Buffer;
  /** The `ssh-ed25519` wire blob. */
  readonly blob: Buffer;
  readonly comment: string;
}

export function parsePublicKey(line: string): ParsedPublicKey {
  const parsed = parseKeyLine(line);
  if (parsed.type.endsWith('-cert-v01@openssh.com')) {
    throw new SshCertificateError(
      'ERR_SSH_CERTIFICATE_NOT_KEY',
      'a certificate was given where a public key is expected',
    );
  }
  if (parsed.type !== ED25519)
    throw new SshCertificateError('ERR_SSH_UNSUPPORTED_KEY', 'only ssh-ed25519 keys are accepted');
  const r = new SshReader(parsed.blob, 'ERR_SSH_MALFORMED_KEY');
  r.text('key type');
  const raw = r.bytes('ed25519 key');
  r.end('ed25519 key');
  if (raw.length !== 32)
    throw new SshCertificateError('ERR_SSH_MALFORMED_KEY', 'Ed25519 key is not 32 bytes');
  refuseWeakEd25519(raw);
  let key: KeyObject | undefined;
  return Object.freeze({
    get key() {
      key ??= ed25519KeyFromRaw(raw);
      return key;
    },
    raw,
    blob: parsed.blob,
    comment: parsed.comment,
  });
}

/** The shortest RSA modulus accepted for a CA key. */
export const RSA_MINIMUM_BITS = 2048;

// p = 2^255 - 19 (RFC 8032 section 5.1).
const P = (1n << 255n) - 19n;
// The y coordinates of the eight points of small order (the torsion subgroup E[8]): y = 1 (the
// identity, order 1), y = p - 1 (order 2), y = 0 (order 4, two points) and the four points of order 8,
// whose y is Y_ORDER_8 or p - Y_ORDER_8 (libsodium's `has_small_order` blocklist in ed25519_ref10.c
// lists the same points). Each y stands for the point with either sign of x.
const Y_ORDER_8 = 0x7a03ac9277fdc74ec6cc392cfa53202a0f67100d760b3cba4fd84d3d706a17c7n;
const SMALL_ORDER_Y = new Set([0n, 1n, P - 1n, Y_ORDER_8, P - Y_ORDER_8]);

/**
 * Refuses Ed25519 public keys that no private key stands behind, before anything is signed for them
 * (ERR_SSH_WEAK_KEY):
 * - the eight points of small order: OpenSSH's verifier (ref10 `crypto_sign_ed25519_open`) does not
 *   reject them, and for such a key A, [h]A takes at most eight values whatever the message, so a
 *   signature R = -[h]A, S = 0 verifies for one message in eight at worst (one in four for the
 *   all-zero key): a certificate for it is a login without a private key;
 * - non-canonical encodings (RFC 8032 section 5.1.3: y must be below p, and x = 0 with the sign bit
 *   set is not an encoding of any point): they name the same point as another key line, so a
 *   fingerprint or an allowlist entry would no longer identify one key.
 * Points off the curve are left to the verifier, which cannot decode them, so no signature for them
 * verifies anywhere (measured: a square root mod p in BigInt costs more than the rest of a request).
 */
export function refuseWeakEd25519(raw: Uint8Array): void {
  const sign = (raw[31]! & 0x80) !== 0;
  // Little-endian y with the sign bit cleared.
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? raw[i]! & 0x7f : raw[i]!);
  if (y >= P) {
    throw new SshCertificateError('ERR_SSH_WEAK_KEY', 'Ed25519 key is not canonically encoded', {
      cause: new Error('y >= p'),
    });
  }
  // x = 0 exactly when y = ±1; "-0" (sign bit set) is refused by RFC 8032's decoding (step 4).
  if (sign && (y === 1n || y === P - 1n)) {
    throw new SshCertificateError('ERR_SSH_WEAK_KEY', 'Ed25519 key is not canonically encoded', {
      cause: new Error('x = 0 with the sign bit set'),
    });
  }
  if (SMALL_ORDER_Y.has(y)) {
    throw new SshCertificateError('ERR_SSH_WEAK_KEY', 'Ed25519 key is a point of small order', {
      cause: new Error('small-order point'),
    });
  }
}

/** `SHA256:<base64 without padding>` of a key blob, as `ssh-keygen -l` prints it. */
export function fingerprint(keyOrBlob: KeyObject | Buffer): string {
  const blob = Buffer.isBuffer(keyOrBlob) ? keyOrBlob : publicKeyBlob(keyOrBlob);
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** RFC 4251 section 5 mpint of a non-negative big-endian magnitude. */
function mpint(magnitude: Buffer): Buffer {
  let i = 0;
  while (i < magnitude.length && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  return m.length > 0 && (m[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), m]) : m;
}

/** The magnitude of a non-negative mpint, refusing negative numbers. */
export function unsignedMpint(
  v: Buffer,
  code: 'ERR_SSH_MALFORMED_KEY' | 'ERR_SSH_MALFORMED_CERTIFICATE',
): Buffer {
  if (v.length > 0 && (v[0]! & 0x80) !== 0) throw new SshCertificateError(code, 'negative mpint');
  let i = 0;
  while (i < v.length && v[i] === 0) i++;
  return v.subarray(i);
}

export { ECDSA_CURVES, type EcdsaType };
