import { randomBytes } from 'node:crypto';
import { AuditContextError } from './errors.ts';

/**
 * The allowed shape of each correlation field. Every value arrives from a token claim, a tool call or
 * the network, so each is checked against a closed character class and a length bound before it is
 * written into a Key ID, an environment variable, a TACACS+ rem_addr or a log prefix.
 *
 * None of the classes contains a separator used by any encoding here (`,` `=` `/` `:` `[` `]` space,
 * quotes, control characters), which is what makes every encoding unambiguous.
 *
 * Lengths are chosen so that the longest rem_addr (user/cert:serial/sid:sid/req:id) stays within the
 * 255 bytes RFC 8907 section 6.1 allows: 64 + 6 + 20 + 5 + 96 + 5 + 43 + slack = 239.
 */
export const FIELD_PATTERNS = Object.freeze({
  /** IdP username: letters, digits and `._@+-` (covers e-mail style names). */
  user: /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/,
  /** IdP login session id: Keycloak uses UUIDs, oidc-provider base64url strings. */
  sid: /^[A-Za-z0-9_-]{1,96}$/,
  /** Device account / certificate principal. */
  role: /^[a-z][a-z0-9-]{0,31}$/,
  /** Per-call request id: base64url of at least 96 random bits. */
  requestId: /^[A-Za-z0-9_-]{16,43}$/,
  /** OpenSSH certificate serial: an unsigned 64-bit integer in decimal. */
  certSerial: /^(0|[1-9][0-9]{0,19})$/,
  /** Inventory device name. */
  device: /^[a-z0-9][a-z0-9.-]{0,62}$/,
  /** MCP tool name. */
  tool: /^[a-z][a-z0-9_]{0,63}$/,
  /** OAuth client id of the acting party (RFC 8693 `act.sub` or `client_id`). */
  actor: /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/,
});

export type FieldName = keyof typeof FIELD_PATTERNS;

const MAX_SERIAL = (1n << 64n) - 1n;

/** Throws ERR_AUDIT_INVALID_FIELD unless `value` is a string of the field's shape. */
export function checkField(field: FieldName, value: unknown): string {
  if (typeof value !== 'string' || !FIELD_PATTERNS[field].test(value)) {
    throw new AuditContextError('ERR_AUDIT_INVALID_FIELD', `invalid ${field}`, { field });
  }
  if (field === 'certSerial' && BigInt(value) > MAX_SERIAL) {
    throw new AuditContextError('ERR_AUDIT_INVALID_FIELD', 'invalid certSerial: above 2^64-1', { field });
  }
  return value;
}

/** True when `value` is acceptable for `field`; never throws. */
export function isValidField(field: FieldName, value: unknown): value is string {
  try {
    checkField(field, value);
    return true;
  } catch {
    return false;
  }
}

/** A fresh request id: 128 random bits, base64url (22 characters). */
export function newRequestId(): string {
  return randomBytes(16).toString('base64url');
}
