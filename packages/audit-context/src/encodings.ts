/**
 * Pure encode/parse pairs for every place an audit context travels. Each parser accepts exactly what
 * its encoder produces and refuses everything else with a typed error: a crafted value can never be
 * read back as somebody else, because no field may contain any of the separators used here.
 */
import type { AuditContext } from './context.ts';
import { AuditContextError } from './errors.ts';
import { checkField } from './fields.ts';

// ---------------------------------------------------------------------------------------------------
// Certificate Key ID: `sid=<sid>,user=<user>[,req=<request id>]`
// The seed's example is `sid=fd9e4bdc77df2fa8,user=bob`; the request id is appended when known.
// ---------------------------------------------------------------------------------------------------

export interface KeyIdFields {
  readonly user: string;
  readonly sid: string;
  readonly requestId?: string;
}

export function encodeKeyId(ctx: KeyIdFields): string {
  const sid = checkField('sid', ctx.sid);
  const user = checkField('user', ctx.user);
  if (ctx.requestId === undefined) return `sid=${sid},user=${user}`;
  return `sid=${sid},user=${user},req=${checkField('requestId', ctx.requestId)}`;
}

const KEY_ID_KEYS = { sid: 'sid', user: 'user', req: 'requestId' } as const;

export function parseKeyId(keyId: string): KeyIdFields {
  if (typeof keyId !== 'string' || keyId.length > 256) {
    throw new AuditContextError('ERR_AUDIT_MALFORMED', 'key id is not a string of at most 256 characters');
  }
  const seen: Partial<Record<'sid' | 'user' | 'requestId', string>> = {};
  for (const part of keyId.split(',')) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? '' : part.slice(0, eq);
    if (!Object.hasOwn(KEY_ID_KEYS, name)) {
      throw new AuditContextError('ERR_AUDIT_MALFORMED', 'key id has an unknown or missing component');
    }
    const field = KEY_ID_KEYS[name as keyof typeof KEY_ID_KEYS];
    if (seen[field] !== undefined) {
      throw new AuditContextError('ERR_AUDIT_MALFORMED', `key id repeats ${name}`, { field });
    }
    seen[field] = checkField(field, part.slice(eq + 1));
  }
  if (seen.sid === undefined || seen.user === undefined) {
    throw new AuditContextError('ERR_AUDIT_MISSING_FIELD', 'key id lacks sid or user');
  }
  const expected = encodeKeyId(seen as KeyIdFields);
  if (expected !== keyId) {
    // Same fields in another order: refuse, so that one context has exactly one Key ID.
    throw new AuditContextError('ERR_AUDIT_MALFORMED', 'key id components out of order');
  }
  return Object.freeze({ ...seen }) as KeyIdFields;
}

// ---------------------------------------------------------------------------------------------------
// SSH environment variables sent by the MCP server (sshd accepts them with `AcceptEnv MCP_*`).
// They are claims by the client, not proofs: the device compares them with the certificate.
// ---------------------------------------------------------------------------------------------------

export const SSH_ENV = Object.freeze({
  user: 'MCP_USER',
  sid: 'MCP_SID',
  requestId: 'MCP_REQUEST_ID',
  tool: 'MCP_TOOL',
} as const);

export type SshEnvFields = Partial<Pick<AuditContext, 'user' | 'sid' | 'requestId' | 'tool'>>;

export function encodeSshEnv(ctx: SshEnvFields): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [field, name] of Object.entries(SSH_ENV) as [keyof typeof SSH_ENV, string][]) {
    const value = ctx[field];
    if (value !== undefined) env[name] = checkField(field, value);
  }
  return env;
}

/** Reads the MCP_* variables that are present; a present but invalid one is an error, not a skip. */
export function parseSshEnv(env: Readonly<Record<string, string | undefined>>): SshEnvFields {
  const out: Record<string, string> = {};
  for (const [field, name] of Object.entries(SSH_ENV) as [keyof typeof SSH_ENV, string][]) {
    const value = env[name];
    if (value !== undefined) out[field] = checkField(field, value);
  }
  return Object.freeze(out);
}

// ---------------------------------------------------------------------------------------------------
// TACACS+ rem_addr (RFC 8907 section 6.1: at most 255 bytes):
// `<user>/cert:<serial>/sid:<sid>/req:<request id>`
// ---------------------------------------------------------------------------------------------------

export const REM_ADDR_MAX = 255;

export type RemAddrFields = Required<Pick<AuditContext, 'user' | 'certSerial' | 'sid' | 'requestId'>>;

export function encodeRemAddr(ctx: RemAddrFields): string {
  const out = `${checkField('user', ctx.user)}/cert:${checkField('certSerial', ctx.certSerial)}/sid:${checkField(
    'sid',
    ctx.sid,
  )}/req:${checkField('requestId', ctx.requestId)}`;
  if (Buffer.byteLength(out) > REM_ADDR_MAX) {
    throw new AuditContextError('ERR_AUDIT_TOO_LONG', `rem_addr longer than ${REM_ADDR_MAX} bytes`);
  }
  return out;
}

const REM_ADDR = /^([^/]+)\/cert:([^/]+)\/sid:([^/]+)\/req:([^/]+)$/;

export function parseRemAddr(remAddr: string): RemAddrFields {
  if (typeof remAddr !== 'string' || Buffer.byteLength(remAddr) > REM_ADDR_MAX) {
    throw new AuditContextError('ERR_AUDIT_MALFORMED', 'rem_addr is not a string of at most 255 bytes');
  }
  const m = REM_ADDR.exec(remAddr);
  if (!m) throw new AuditContextError('ERR_AUDIT_MALFORMED', 'rem_addr does not have the audit layout');
  return Object.freeze({
    user: checkField('user', m[1]),
    certSerial: checkField('certSerial', m[2]),
    sid: checkField('sid', m[3]),
    requestId: checkField('requestId', m[4]),
  });
}

// ---------------------------------------------------------------------------------------------------
// The validator's log prefix, as in the seed: `[net-operator/bob/cert:<serial>/sid:<sid>/req:<id>]`
// ---------------------------------------------------------------------------------------------------

export type LogPrefixFields = RemAddrFields & Pick<AuditContext, 'role'>;

export function formatLogPrefix(ctx: LogPrefixFields): string {
  return `[${checkField('role', ctx.role)}/${encodeRemAddr(ctx)}]`;
}

export function parseLogPrefix(prefix: string): LogPrefixFields {
  if (typeof prefix !== 'string' || !prefix.startsWith('[') || !prefix.endsWith(']')) {
    throw new AuditContextError('ERR_AUDIT_MALFORMED', 'log prefix is not bracketed');
  }
  const inner = prefix.slice(1, -1);
  const slash = inner.indexOf('/');
  if (slash < 0) throw new AuditContextError('ERR_AUDIT_MALFORMED', 'log prefix lacks a role');
  const role = checkField('role', inner.slice(0, slash));
  return Object.freeze({ role, ...parseRemAddr(inner.slice(slash + 1)) });
}
