/**
 * The MCP server's side of POST /v1/ssh/sign. It never trusts the broker's word alone: the certificate
 * it returns is parsed and must be a user certificate for exactly the public key that was sent, with
 * the serial, Key ID and principal the body claims.
 *
 * `@netward/ca-broker/client` is this file alone: it pulls in the codec and the error catalogue, never
 * the service's fastify, jose or node-vault (test/client-entry.test.ts holds it to that).
 */
import type { KeyObject } from 'node:crypto';
import {
  certificateTime,
  formatPublicKey,
  type ParsedCertificate,
  parseCertificate,
  parsePublicKey,
} from '@netward/ssh-certificate';
import { BrokerClientError } from './errors.ts';

export { BrokerClientError, type BrokerClientErrorCode } from './errors.ts';

export interface BrokerClientOptions {
  /** e.g. `http://127.0.0.1:8200`. A path prefix is kept (`https://ca.example/broker/`). */
  readonly baseUrl: string;
  /** Whole-request timeout (connect, send, answer). Default 5000 ms. */
  readonly timeoutMs?: number;
}

export interface SignRequest {
  /** The caller's verified access token for this broker (its own audience). Never logged. */
  readonly token: string;
  /** The ephemeral Ed25519 public key: an OpenSSH line or a KeyObject. */
  readonly publicKey: string | KeyObject;
  readonly requestId: string;
  /** When given, must equal the token's role or the broker refuses (403 ERR_CA_ROLE_MISMATCH). */
  readonly role?: string;
  /** The device the call targets; the broker binds the certificate to it when configured to. */
  readonly device?: string;
}

export interface SignedUserCertificate {
  /** `ssh-ed25519-cert-v01@openssh.com AAAA...` */
  readonly certificate: string;
  /** Decimal unsigned 64-bit serial. */
  readonly serial: string;
  readonly keyId: string;
  readonly principal: string;
  /** From the certificate itself, not from the JSON around it. */
  readonly validAfter: Date;
  readonly validBefore: Date;
  /** The parsed certificate, for callers that want more than the summary. */
  readonly parsed: ParsedCertificate;
}

export interface BrokerClient {
  sign(request: SignRequest): Promise<SignedUserCertificate>;
}

const DEFAULT_TIMEOUT_MS = 5000;

export function createBrokerClient(options: BrokerClientOptions): BrokerClient {
  let base: URL;
  try {
    base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
  } catch (err) {
    throw new TypeError('baseUrl is not a URL', { cause: err });
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError('baseUrl must be http(s)');
  const url = new URL('v1/ssh/sign', base);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
    throw new TypeError('timeoutMs must be a positive integer');

  return {
    async sign(request) {
      const line =
        typeof request.publicKey === 'string' ? request.publicKey.trim() : formatPublicKey(request.publicKey);
      let sent: Buffer;
      try {
        sent = parsePublicKey(line).blob;
      } catch (err) {
        throw new TypeError('publicKey is not an ssh-ed25519 public key', { cause: err });
      }
      if (typeof request.token !== 'string' || request.token.length === 0)
        throw new TypeError('token is required');
      const body: Record<string, string> = { public_key: line, request_id: request.requestId };
      if (request.role !== undefined) body['role'] = request.role;
      if (request.device !== undefined) body['device'] = request.device;

      const json = await post(url, request.token, body, timeoutMs);
      return checkAnswer(json, sent);
    },
  };
}

/** POSTs the request and reads the JSON answer; anything but a 2xx JSON answer throws. */
async function post(
  url: URL,
  token: string,
  body: Record<string, string>,
  timeoutMs: number,
): Promise<unknown> {
  const signal = AbortSignal.timeout(timeoutMs);
  let status: number;
  let text: string;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body: JSON.stringify(body),
      signal,
      redirect: 'error',
    });
    status = res.status;
    text = await res.text();
  } catch (err) {
    if (signal.aborted) {
      throw new BrokerClientError('ERR_BROKER_TIMEOUT', `CA broker did not answer within ${timeoutMs} ms`, {
        cause: err,
      });
    }
    throw new BrokerClientError('ERR_BROKER_UNAVAILABLE', 'CA broker unreachable', { cause: err });
  }

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    if (status < 200 || status > 299) {
      throw new BrokerClientError('ERR_BROKER_REFUSED', `CA broker refused with HTTP ${status}`, {
        status,
        cause: err,
      });
    }
    throw new BrokerClientError('ERR_BROKER_BAD_RESPONSE', 'CA broker answer is not JSON', {
      cause: err,
    });
  }
  if (status < 200 || status > 299) {
    const error = (json as { error?: { code?: unknown } } | null)?.error;
    const brokerCode = typeof error?.code === 'string' ? error.code : undefined;
    throw new BrokerClientError(
      'ERR_BROKER_REFUSED',
      `CA broker refused with HTTP ${status}${brokerCode ? ` (${brokerCode})` : ''}`,
      brokerCode === undefined ? { status } : { status, brokerCode },
    );
  }
  return json;
}

function bad(message: string, cause?: unknown): BrokerClientError {
  return new BrokerClientError(
    'ERR_BROKER_BAD_RESPONSE',
    message,
    cause === undefined ? undefined : { cause },
  );
}

function checkAnswer(json: unknown, sentBlob: Buffer): SignedUserCertificate {
  if (typeof json !== 'object' || json === null) throw bad('CA broker answer is not an object');
  const o = json as Record<string, unknown>;
  const { certificate, serial, key_id: keyId, principal } = o;
  if (
    typeof certificate !== 'string' ||
    typeof serial !== 'string' ||
    typeof keyId !== 'string' ||
    typeof principal !== 'string'
  ) {
    throw bad('CA broker answer lacks certificate, serial, key_id or principal');
  }
  let parsed: ParsedCertificate;
  try {
    parsed = parseCertificate(certificate);
  } catch (err) {
    throw bad('CA broker returned an unreadable certificate', err);
  }
  if (parsed.type !== 'user') throw bad('CA broker returned a host certificate');
  if (!parsed.publicKeyBlob.equals(sentBlob)) throw bad('CA broker certified another key');
  if (parsed.serial.toString() !== serial) throw bad('certificate serial differs from the answer');
  if (parsed.keyId !== keyId) throw bad('certificate Key ID differs from the answer');
  if (parsed.principals.length !== 1 || parsed.principals[0] !== principal) {
    throw bad('certificate principals differ from the answer');
  }
  const validAfter = certificateTime(parsed.validAfter);
  const validBefore = certificateTime(parsed.validBefore);
  // A per-call credential that never expires is a broker fault, not something to use.
  if (validAfter === null || validBefore === null)
    throw bad('CA broker returned a certificate without expiry');
  if (validBefore.getTime() <= Date.now()) throw bad('CA broker returned an expired certificate');
  return Object.freeze({
    certificate: certificate.trim(),
    serial,
    keyId,
    principal,
    validAfter,
    validBefore,
    parsed,
  });
}
