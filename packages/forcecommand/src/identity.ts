import { readFileSync } from 'node:fs';
import {
  type AuditContextError,
  checkField,
  parseKeyId,
  parseSshEnv,
  type SshEnvFields,
} from '@netward/audit-context';
import { type ParsedCertificate, parseCertificate } from '@netward/ssh-certificate';
import { ForceCommandError } from './errors.ts';

/** Who is asking, as far as the device can prove it (certificate) and what the client claims (env). */
export interface Identity {
  /** The account the validator runs as: the account is the role. */
  readonly role: string;
  readonly user: string;
  readonly sid: string;
  readonly requestId: string;
  /** Decimal certificate serial. */
  readonly certSerial: string;
  readonly keyId: string;
  readonly principals: readonly string[];
  /** MCP_TOOL, when the client sent one (a label for the audit trail, not a proof). */
  readonly tool?: string;
  /** MCP_USER / MCP_SID / MCP_REQUEST_ID / MCP_TOOL as sent: logged next to the proven values. */
  readonly claimed: SshEnvFields;
  /**
   * Where the request id came from: the Key ID (`req=`), the client env when the Key ID has none, or
   * the session frame (session mode: one certificate, many requests, each with its own id).
   */
  readonly requestIdSource: 'certificate' | 'client' | 'session';
  /** Session mode: the request the certificate was issued for (the Key ID's `req=`), when it has one. */
  readonly certRequestId?: string;
  /** End of the certificate's validity window, in seconds since the epoch. */
  readonly validBefore: number;
}

/** What is known when identity fails, for the audit record of the refusal. */
export type PartialIdentity = Partial<
  Omit<Identity, 'principals' | 'claimed' | 'requestIdSource' | 'certRequestId' | 'validBefore'>
> & {
  readonly role: string;
};

export interface ReadIdentityInput {
  readonly account: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Injected in tests; default reads the file sshd names in SSH_USER_AUTH. */
  readonly readFile?: (path: string) => string;
  /**
   * This device's inventory name: a certificate may name the account alone (`net-viewer`) or the account
   * on this device (`net-viewer@spine-a`); a principal for another device never counts.
   */
  readonly device?: string;
  /** Wall clock in seconds since the epoch (the certificate's validity is in those). Default Date.now(). */
  readonly nowSeconds?: () => number;
  /**
   * Session mode: the request id and tool of one framed request. The id is the client's word, like
   * MCP_REQUEST_ID; what the device proves is the certificate, whose Key ID stays in the record.
   */
  readonly session?: { readonly requestId: string; readonly tool?: string | undefined };
}

const MAX_AUTH_INFO = 64 * 1024;

function fail(reason: string, partial: PartialIdentity, cause?: unknown): never {
  throw new ForceCommandError('ERR_FC_IDENTITY', undefined, {
    detail: { reason, partial },
    ...(cause === undefined ? {} : { cause }),
  });
}

function defaultReadFile(path: string): string {
  const text = readFileSync(path, 'utf8');
  if (text.length > MAX_AUTH_INFO) throw new RangeError('SSH_USER_AUTH file too large');
  return text;
}

type Partial_ = { -readonly [K in keyof PartialIdentity]: PartialIdentity[K] };

/**
 * Reads the certificate sshd verified (ExposeAuthInfo: one `publickey <type> <base64>` line per
 * successful method) and checks the client's claims against it. Fails closed on anything missing,
 * malformed, ambiguous or disagreeing.
 */
export function readIdentity(input: ReadIdentityInput): Identity {
  const partial: Partial_ = { role: input.account };
  try {
    checkField('role', input.account);
  } catch (e) {
    fail('account name is not a valid role', { role: 'unknown' }, e);
  }
  let claimed: SshEnvFields;
  try {
    claimed = parseSshEnv(input.env);
  } catch (e) {
    fail(`invalid client environment (${(e as AuditContextError).field ?? 'field'})`, partial, e);
  }
  const cert = readCertificate(input, partial);
  let keyId: ReturnType<typeof parseKeyId>;
  try {
    keyId = parseKeyId(cert.keyId);
  } catch (e) {
    fail('certificate Key ID is not sid=..,user=..[,req=..]', partial, e);
  }
  partial.user = keyId.user;
  partial.sid = keyId.sid;
  if (keyId.requestId !== undefined) partial.requestId = keyId.requestId;
  const requestId = checkClaims(input, claimed, keyId, partial);
  checkValidity(input, cert, partial);
  const tool = input.session?.tool ?? claimed.tool;
  return Object.freeze({
    role: input.account,
    user: keyId.user,
    sid: keyId.sid,
    requestId,
    certSerial: cert.serial.toString(10),
    keyId: cert.keyId,
    principals: cert.principals,
    ...(tool === undefined ? {} : { tool }),
    claimed,
    requestIdSource: requestIdSource(input, keyId.requestId),
    ...(input.session === undefined || keyId.requestId === undefined
      ? {}
      : { certRequestId: keyId.requestId }),
    validBefore: Number(cert.validBefore),
  });
}

/** The one certificate login in SSH_USER_AUTH, a user certificate naming the account (or it here). */
function readCertificate(input: ReadIdentityInput, partial: Partial_): ParsedCertificate {
  const authFile = input.env['SSH_USER_AUTH'];
  if (authFile === undefined || authFile === '') fail('no SSH_USER_AUTH (ExposeAuthInfo off?)', partial);
  let text: string;
  try {
    text = (input.readFile ?? defaultReadFile)(authFile);
  } catch (e) {
    fail('SSH_USER_AUTH unreadable', partial, e);
  }
  const certLines = text
    .split('\n')
    .map((l) => l.trim().split(' '))
    .filter((f) => f[0] === 'publickey' && (f[1] ?? '').endsWith('-cert-v01@openssh.com'));
  if (certLines.length !== 1) fail(`expected one certificate login, found ${certLines.length}`, partial);
  const [, type, b64] = certLines[0] as string[];

  // The shared codec of @netward/ssh-certificate: the broker issues Ed25519 certificates only,
  // and so the device accepts only those. sshd already checked the signature; this reads the fields.
  let cert: ParsedCertificate;
  try {
    cert = parseCertificate(`${type} ${b64}`);
  } catch (e) {
    fail('certificate unreadable', partial, e);
  }
  partial.certSerial = cert.serial.toString(10);
  if (cert.type !== 'user') fail('not a user certificate', partial);
  const own = input.device === undefined ? undefined : `${input.account}@${input.device}`;
  if (!cert.principals.some((p) => p === input.account || p === own))
    fail('certificate principals do not include the account', partial);
  return cert;
}

/** The client's MCP_* claims agree with the Key ID; returns the request id this command is recorded under. */
function checkClaims(
  input: ReadIdentityInput,
  claimed: SshEnvFields,
  keyId: ReturnType<typeof parseKeyId>,
  partial: Partial_,
): string {
  if (claimed.user !== undefined && claimed.user !== keyId.user)
    fail('MCP_USER disagrees with the certificate', partial);
  if (claimed.sid !== undefined && claimed.sid !== keyId.sid)
    fail('MCP_SID disagrees with the certificate', partial);
  if (
    claimed.requestId !== undefined &&
    keyId.requestId !== undefined &&
    claimed.requestId !== keyId.requestId
  ) {
    fail('MCP_REQUEST_ID disagrees with the certificate', partial);
  }
  let requestId = keyId.requestId ?? claimed.requestId;
  if (input.session !== undefined) {
    try {
      requestId = checkField('requestId', input.session.requestId);
      if (input.session.tool !== undefined) checkField('tool', input.session.tool);
    } catch (e) {
      fail('session frame: invalid request id or tool', partial, e);
    }
  }
  if (requestId === undefined) fail('no request id in the Key ID or MCP_REQUEST_ID', partial);
  partial.requestId = requestId;
  return requestId;
}

// sshd checks the validity window once, when the connection authenticates (sshkey_cert_check_authority
// in OpenSSH 9.2: valid when valid_after <= now < valid_before). Every later session on the same
// connection reaches this point, so the window is checked again here, against this device's clock,
// for every command (and every framed request of a session): a 60-second certificate then bounds a
// kept-open connection too.
function checkValidity(input: ReadIdentityInput, cert: ParsedCertificate, partial: Partial_): void {
  const now = BigInt(Math.floor(input.nowSeconds?.() ?? Date.now() / 1000));
  if (now < cert.validAfter || now >= cert.validBefore) {
    throw new ForceCommandError('ERR_FC_CERT_EXPIRED', undefined, {
      detail: {
        reason: now < cert.validAfter ? 'certificate not yet valid' : 'certificate expired',
        valid_after: cert.validAfter.toString(),
        valid_before: cert.validBefore.toString(),
        now: now.toString(),
        partial,
      },
    });
  }
}

function requestIdSource(
  input: ReadIdentityInput,
  keyIdRequest: string | undefined,
): Identity['requestIdSource'] {
  if (input.session !== undefined) return 'session';
  return keyIdRequest === undefined ? 'client' : 'certificate';
}
