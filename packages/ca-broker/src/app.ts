/**
 * The broker service: `buildApp(config, deps)` returns a fastify instance (tests use inject(); server.ts
 * only listens). Every request to a signing endpoint ends in exactly one audit line, issued or refused,
 * and no path but the last line of a successful handler ever sends a certificate.
 */
import { createHash, type KeyObject, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import {
  type CreateLoggerOptions,
  contextFields,
  createLogger,
  encodeKeyId,
  isValidField,
  type Logger,
} from '@netward/audit-context';
import { type Policy, roleByIdpRole } from '@netward/policy';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import {
  type ParsedCertificate,
  parseCertificate,
  verifyCertificateSignature,
} from './certificate/certificate.ts';
import { fingerprint, parseKeyLine, parsePublicKey } from './certificate/keys.ts';
import type { BrokerConfig } from './config.ts';
import { CaBrokerError, type CaBrokerErrorCode } from './errors.ts';
import { readCredentialFile } from './private-file.ts';
import { createRateLimiter } from './rate-limit.ts';
import { createDirectoryReplayCache, createMemoryReplayCache, type ReplayCache } from './replay.ts';
import type { SigningBackend } from './signers/types.ts';
import { createTokenVerifier, type TokenVerifier } from './tokens.ts';

export interface AppDeps {
  readonly backend: SigningBackend;
  readonly policy: Policy;
  /** Audit logger; default: createLogger({ component: 'ca-broker', destination }). */
  readonly logger?: Logger;
  /** Where audit lines go when no logger is given. Default stdout. */
  readonly logDestination?: CreateLoggerOptions['destination'];
  /** Token keys instead of the remote JWKS (tests). */
  readonly keys?: JWTVerifyGetKey;
  /** Clock, ms since the epoch. */
  readonly now?: () => number;
  /** Replay cache; default: from `config.replay` (see createReplayCache). Closed with the app. */
  readonly replay?: ReplayCache;
}

/** HTTP status of each refusal. RFC 6750 section 3.1: invalid_token → 401, insufficient rights → 403. */
export const HTTP_STATUS: Readonly<Partial<Record<CaBrokerErrorCode, number>>> = Object.freeze({
  ERR_CA_BAD_REQUEST: 400,
  ERR_CA_MALFORMED_KEY: 400,
  ERR_CA_UNSUPPORTED_KEY: 400,
  ERR_CA_CERTIFICATE_NOT_KEY: 400,
  ERR_CA_WEAK_KEY: 400,
  ERR_CA_TOKEN_MISSING: 401,
  ERR_CA_TOKEN_MALFORMED: 401,
  ERR_CA_TOKEN_TYPE: 401,
  ERR_CA_TOKEN_ALGORITHM: 401,
  ERR_CA_TOKEN_SIGNATURE: 401,
  ERR_CA_TOKEN_UNKNOWN_KEY: 401,
  ERR_CA_TOKEN_EXPIRED: 401,
  ERR_CA_TOKEN_NOT_YET_VALID: 401,
  ERR_CA_TOKEN_ISSUER: 401,
  ERR_CA_TOKEN_AUDIENCE: 401,
  ERR_CA_TOKEN_CLAIMS: 401,
  ERR_CA_TOKEN_REPLAYED: 401,
  ERR_CA_OPERATOR_UNAUTHORIZED: 401,
  ERR_CA_ROLE_NOT_PERMITTED: 403,
  ERR_CA_ROLE_MISMATCH: 403,
  ERR_CA_ACTOR_NOT_ALLOWED: 403,
  ERR_CA_ACTOR_REQUIRED: 403,
  ERR_CA_NOT_FOUND: 404,
  ERR_CA_RATE_LIMITED: 429,
  ERR_CA_INTERNAL: 500,
  ERR_CA_JWKS_UNAVAILABLE: 503,
  ERR_CA_BACKEND_UNAVAILABLE: 503,
  ERR_CA_REPLAY_CACHE_UNAVAILABLE: 503,
  ERR_CA_NOT_READY: 503,
});

const REALM = 'netward-ca-broker';
const OPERATOR_REALM = 'netward-ca-broker-operator';

const signBody = z.strictObject({
  public_key: z.string().min(1).max(8192),
  request_id: z.string().refine((v) => isValidField('requestId', v)),
  role: z.string().max(128).optional(),
  /** The device the certificate is for (see certificate.devicePrincipal). */
  device: z
    .string()
    .refine((v) => isValidField('device', v))
    .optional(),
});

// The 200 answer of POST /v1/ssh/sign, compiled once by fastify (fast-json-stringify) instead of a
// JSON.stringify per certificate. Only these members can ever be written.
const SIGN_RESPONSE = Object.freeze({
  200: {
    type: 'object',
    additionalProperties: false,
    required: ['certificate', 'serial', 'key_id', 'principal', 'valid_after', 'valid_before'],
    properties: {
      certificate: { type: 'string' },
      serial: { type: 'string' },
      key_id: { type: 'string' },
      principal: { type: 'string' },
      valid_after: { type: 'string' },
      valid_before: { type: 'string' },
    },
  },
});

// Host names and addresses as they appear in known_hosts patterns, without wildcards or negation.
const HOST_PRINCIPAL = /^[A-Za-z0-9]([A-Za-z0-9.:_-]{0,252})$/;

const signHostBody = z.strictObject({
  public_key: z.string().min(1).max(8192),
  principals: z.array(z.string().regex(HOST_PRINCIPAL)).min(1).max(64),
  validity_days: z.int().min(1).optional(),
  key_id: z
    .string()
    .regex(/^[\x21-\x7e]{1,128}$/)
    .optional(),
});

function bearer(header: string | undefined, code: CaBrokerErrorCode): string {
  // RFC 6750 section 2.1; the scheme is case-insensitive (RFC 9110 section 11.1).
  const m = header === undefined ? null : /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  if (!m) throw new CaBrokerError(code, 'bearer token required');
  return m[1]!;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Reads the operator token file, which must be private like a key. */
function readOperatorToken(file: string): Buffer {
  const token = readCredentialFile(file, 'operator token file').toString('utf8').trim();
  if (token.length < 16)
    throw new CaBrokerError('ERR_CA_CONFIG', `${file}: operator token shorter than 16 characters`);
  return digest(token);
}

/** The replay cache `config` asks for: its directory, `<stateDir>/replay`, or this process's memory. */
export function createReplayCache(config: BrokerConfig, now?: () => number): ReplayCache {
  // Kept a minute beyond the verifier's tolerance: brokers sharing the directory may disagree on the
  // time by a few seconds, and one must not forget a token another would still accept.
  const options = { graceSeconds: config.token.clockToleranceSeconds + 60, ...(now ? { now } : {}) };
  const directory = replayDirectory(config);
  return directory === undefined
    ? createMemoryReplayCache(options)
    : createDirectoryReplayCache(directory, options);
}

export function replayDirectory(config: BrokerConfig): string | undefined {
  if (config.replay.directory !== undefined) return config.replay.directory;
  if (config.backend.type === 'local' && config.backend.stateDir !== undefined) {
    return join(config.backend.stateDir, 'replay');
  }
  return undefined;
}

/** A request path for the audit line: without the query, bounded, nested under `detail` by callers. */
function requestPath(url: string): string {
  const path = url.split('?', 1)[0] ?? '';
  return path.length > 256 ? `${path.slice(0, 256)}…` : path;
}

interface Decision {
  user?: string;
  sid?: string;
  role?: string;
  requestId?: string;
  certSerial?: string;
  actor?: string;
  keyFingerprint?: string;
  ttl?: number;
  /** Issued after the caller had closed its connection (it timed out): the certificate is never used. */
  late?: boolean;
}

/**
 * The caller gave up before the answer: its connection is closed or half-closed. A broker stalled
 * (SIGSTOP, a slow signer) used to log "issued" for certificates whose calls had already timed out,
 * and the audit trail read as if they had been used.
 */
function callerGone(req: FastifyRequest): boolean {
  const socket = req.raw.socket;
  return socket === undefined || socket === null || socket.destroyed || socket.readableEnded;
}

export function buildApp(config: BrokerConfig, deps: AppDeps): FastifyInstance {
  const now = deps.now ?? Date.now;
  const log =
    deps.logger ??
    createLogger({
      component: 'ca-broker',
      level: config.log.level,
      ...(deps.logDestination ? { destination: deps.logDestination } : {}),
    });
  const verifier: TokenVerifier = createTokenVerifier(config.token, deps.keys);
  const limiter = createRateLimiter(config.rateLimit, now);
  const { backend, policy } = deps;
  const operatorDigest = config.hostSigning.operatorTokenFile
    ? readOperatorToken(config.hostSigning.operatorTokenFile)
    : undefined;
  const sourceAddress = config.certificate.sourceAddress?.join(',');
  const criticalOptions: Record<string, string> = sourceAddress ? { 'source-address': sourceAddress } : {};
  let userCaBlob: Buffer | undefined;
  const replay = deps.replay ?? createReplayCache(config, deps.now);
  // Requests whose audit line has been written. The certificate endpoints write theirs before the
  // answer (README: Audit); every other request gets one from the refusal or from onResponse, so each
  // request, refused or not, leaves exactly one line.
  const audited = new WeakSet<FastifyRequest>();

  const app = Fastify({
    // The audit line is the request log; fastify's own would duplicate it without the decision.
    logger: false,
    bodyLimit: 16 * 1024,
    return503OnClosing: true,
    // A URL fastify cannot decode (`/%zz`) is refused before routing, and so before any hook: it gets
    // its line and the usual refusal body here.
    frameworkErrors: (err, req, reply) => {
      const e = new CaBrokerError('ERR_CA_BAD_REQUEST', 'malformed request', { cause: err });
      auditRequest(req, 400, e);
      void (reply as unknown as FastifyReply)
        .code(400)
        .header('cache-control', 'no-store')
        .send({ error: { code: e.code, message: e.message } });
    },
  });
  // JSON only: a text/plain body is refused with 415 rather than handed to the validators as a string.
  app.removeContentTypeParser('text/plain');

  function refuse(req: FastifyRequest, reply: FastifyReply, err: CaBrokerError, realm = REALM) {
    const status = HTTP_STATUS[err.code] ?? 500;
    if (!audited.has(req)) auditRequest(req, status, err);
    if (status === 401) {
      // RFC 6750 section 3: no error attribute when the request carried no credentials at all.
      const missing = err.code === 'ERR_CA_TOKEN_MISSING' || err.code === 'ERR_CA_OPERATOR_UNAUTHORIZED';
      reply.header(
        'www-authenticate',
        missing
          ? `Bearer realm="${realm}"`
          : `Bearer realm="${realm}", error="invalid_token", error_description="${err.message.replace(/["\\]/g, '')}"`,
      );
    }
    const message = status === 500 ? 'internal error' : err.message;
    return reply
      .code(status)
      .header('cache-control', 'no-store')
      .send({ error: { code: status === 500 ? 'ERR_CA_INTERNAL' : err.code, message } });
  }

  /** The line of a request that is not a certificate decision (GET endpoints, 404, unparsable bodies). */
  function auditRequest(req: FastifyRequest, status: number, err?: CaBrokerError) {
    audited.add(req);
    const route = req.routeOptions?.url;
    const fields = {
      decision: status < 400 ? 'served' : 'refused',
      http_method: req.method,
      ...(route !== undefined ? { route } : {}),
      http_status: status,
      ...(err ? { code: status === 500 ? 'ERR_CA_INTERNAL' : err.code } : {}),
      ...(err || route === undefined
        ? {
            detail: {
              ...(route === undefined ? { path: requestPath(req.url) } : {}),
              ...(err ? { message: err.message, cause: describeCause(err.cause) } : {}),
            },
          }
        : {}),
    };
    if (status >= 500) log.error(fields, 'request failed');
    else if (status >= 400) log.warn(fields, 'request refused');
    else log.info(fields, 'request served');
  }

  function audit(req: FastifyRequest, d: Decision, kind: 'user' | 'host', err?: CaBrokerError) {
    audited.add(req);
    const fields = {
      ...contextFields({
        ...(d.user !== undefined ? { user: d.user } : {}),
        ...(d.sid !== undefined ? { sid: d.sid } : {}),
        ...(d.role !== undefined ? { role: d.role } : {}),
        ...(d.requestId !== undefined ? { requestId: d.requestId } : {}),
        ...(d.certSerial !== undefined ? { certSerial: d.certSerial } : {}),
      }),
      decision: err ? 'refused' : 'issued',
      ...(d.late ? { late: true } : {}),
      certificate_type: kind,
      ...(d.actor !== undefined ? { actor: d.actor } : {}),
      ...(d.keyFingerprint !== undefined ? { key_fingerprint: d.keyFingerprint } : {}),
      ...(d.ttl !== undefined ? { ttl: d.ttl } : {}),
      http_status: err ? (HTTP_STATUS[err.code] ?? 500) : 200,
      ...(err
        ? {
            code: err.code,
            detail: { message: err.message, cause: describeCause(err.cause) },
          }
        : {}),
    };
    if (err) log.warn(fields, `${kind} certificate refused`);
    else if (d.late) log.warn(fields, `${kind} certificate issued late: the caller had already gone`);
    else log.info(fields, `${kind} certificate issued`);
  }

  function asBrokerError(err: unknown): CaBrokerError {
    if (err instanceof CaBrokerError) return err;
    return new CaBrokerError('ERR_CA_INTERNAL', 'internal error', { cause: err });
  }

  async function caBlob(): Promise<Buffer> {
    userCaBlob ??= parseKeyLine(await backend.userCaPublicKey()).blob;
    return userCaBlob;
  }

  /** The backend's output is checked field by field before it leaves: a misconfigured Vault role
   *  (other principals, its own Key ID, a longer TTL) must not reach a device. */
  async function checkIssued(
    line: string,
    expect: { blob: Buffer; principal: string; keyId: string; ttl: number; extensions: readonly string[] },
  ): Promise<ParsedCertificate> {
    const t = Math.floor(now() / 1000);
    let cert: ParsedCertificate;
    try {
      cert = parseCertificate(line);
    } catch (err) {
      throw new CaBrokerError(
        'ERR_CA_BACKEND_UNAVAILABLE',
        'signing backend returned an unreadable certificate',
        {
          cause: err,
        },
      );
    }
    const problems: string[] = [];
    if (cert.type !== 'user') problems.push('type');
    if (!cert.publicKeyBlob.equals(expect.blob)) problems.push('public key');
    if (cert.principals.length !== 1 || cert.principals[0] !== expect.principal) problems.push('principals');
    if (cert.keyId !== expect.keyId) problems.push('key id');
    // 5 s of slack for a remote signer's clock.
    if (cert.validBefore > BigInt(t + expect.ttl + 5) || cert.validBefore <= BigInt(t))
      problems.push('validity');
    const granted = new Set(expect.extensions);
    if (cert.extensions.some((e) => !granted.has(e.name))) problems.push('extensions');
    const critical = cert.criticalOptions.map((o) => `${o.name}=${o.value}`).join(';');
    const wanted = Object.entries(criticalOptions)
      .map(([k, v]) => `${k}=${v}`)
      .join(';');
    if (critical !== wanted) problems.push('critical options');
    if (!cert.signatureKey.equals(await caBlob())) problems.push('CA key');
    // An in-process signature was made a moment ago with the key the broker holds: verifying it again
    // costs an Ed25519 verification per certificate (15% of a request's CPU in the benchmark profile)
    // and proves nothing new. Remote signers are verified.
    else if (!backend.inProcess && !verifyCertificateSignature(cert)) problems.push('signature');
    if (problems.length > 0) {
      throw new CaBrokerError(
        'ERR_CA_BACKEND_UNAVAILABLE',
        'signing backend returned an unexpected certificate',
        {
          cause: new Error(`certificate differs in: ${problems.join(', ')}`),
        },
      );
    }
    return cert;
  }

  app.setNotFoundHandler((req, reply) =>
    refuse(req, reply, new CaBrokerError('ERR_CA_NOT_FOUND', 'not found')),
  );
  app.setErrorHandler((err: { code?: string; statusCode?: number }, req, reply) => {
    // fastify's own refusals: unsupported media type (415), body too large (413), bad JSON (400).
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      if (!audited.has(req)) {
        auditRequest(
          req,
          err.statusCode,
          new CaBrokerError('ERR_CA_BAD_REQUEST', 'malformed request', { cause: err }),
        );
      }
      return reply
        .code(err.statusCode)
        .header('cache-control', 'no-store')
        .send({ error: { code: 'ERR_CA_BAD_REQUEST', message: 'malformed request' } });
    }
    return refuse(req, reply, new CaBrokerError('ERR_CA_INTERNAL', 'internal error', { cause: err }));
  });
  // Whatever did not write its own line (a served GET, an answer fastify gave by itself such as the
  // 503 while closing) is written here; a request whose client went away before the answer, below.
  app.addHook('onResponse', async (req, reply) => {
    if (!audited.has(req)) auditRequest(req, reply.statusCode);
  });
  app.addHook('onRequestAbort', async (req) => {
    // A certificate request's handler goes on after the client left and writes its decision line
    // itself (an issued certificate is never logged as merely "aborted").
    const route = req.routeOptions?.url;
    if (audited.has(req) || route === '/v1/ssh/sign' || route === '/v1/ssh/sign-host') return;
    audited.add(req);
    log.warn(
      {
        decision: 'aborted',
        http_method: req.method,
        ...(route !== undefined ? { route } : {}),
      },
      'request aborted by the client',
    );
  });

  app.post('/v1/ssh/sign', { schema: { response: SIGN_RESPONSE } }, async (req, reply) => {
    const d: Decision = {};
    try {
      const token = bearer(req.headers.authorization, 'ERR_CA_TOKEN_MISSING');
      const id = await verifier.verify(token);
      d.user = id.user;
      d.sid = id.sid;
      if (id.actor !== undefined) d.actor = id.actor;
      const wait = limiter.take(id.user);
      if (wait > 0) {
        reply.header('retry-after', String(wait));
        throw new CaBrokerError('ERR_CA_RATE_LIMITED', 'too many certificate requests');
      }
      const parsed = signBody.safeParse(req.body);
      if (!parsed.success) {
        const bad = parsed.error.issues.map((i) => i.path.join('.') || '(body)').join(', ');
        throw new CaBrokerError('ERR_CA_BAD_REQUEST', `invalid request: ${bad}`);
      }
      const body = parsed.data;
      d.requestId = body.request_id;
      const key = parsePublicKey(body.public_key);
      d.keyFingerprint = fingerprint(key.blob);
      const role = roleByIdpRole(policy, id.idpRole);
      if (body.role !== undefined && body.role !== id.idpRole && body.role !== role?.name) {
        throw new CaBrokerError('ERR_CA_ROLE_MISMATCH', 'requested role differs from the token role');
      }
      if (role === undefined) throw new CaBrokerError('ERR_CA_ROLE_NOT_PERMITTED', 'role not permitted');
      d.role = role.name;
      const ttl = Math.min(role.certificate.ttlSeconds, role.certificate.maxTtlSeconds);
      d.ttl = ttl;
      // Last check before signing, so a request refused for its body or key does not use the token
      // up. From here the token is spent even if the signer fails: the MCP server exchanges a new one
      // per call, and a retry with the old one is exactly what this refuses.
      if (!(await replay.claim(id.jti, id.expiresAt))) {
        throw new CaBrokerError('ERR_CA_TOKEN_REPLAYED', 'token already used for a certificate');
      }
      const keyId = encodeKeyId({ user: id.user, sid: id.sid, requestId: body.request_id });
      if (config.certificate.devicePrincipal && body.device === undefined)
        throw new CaBrokerError('ERR_CA_BAD_REQUEST', 'invalid request: device');
      const principal = config.certificate.devicePrincipal ? `${role.name}@${body.device}` : role.name;
      let line: string;
      try {
        line = await backend.signUser({
          publicKey: key.raw,
          publicKeyLine: `ssh-ed25519 ${key.blob.toString('base64')}`,
          principal,
          keyId,
          ttlSeconds: ttl,
          backdateSeconds: config.certificate.backdateSeconds,
          extensions: role.certificate.extensions,
          criticalOptions,
          token,
        });
      } catch (err) {
        throw new CaBrokerError('ERR_CA_BACKEND_UNAVAILABLE', 'signing backend unavailable', { cause: err });
      }
      const cert = await checkIssued(line, {
        blob: key.blob,
        principal,
        keyId,
        ttl,
        extensions: role.certificate.extensions,
      });
      d.certSerial = cert.serial.toString();
      if (callerGone(req)) d.late = true;
      audit(req, d, 'user');
      return reply.header('cache-control', 'no-store').send({
        certificate: line.trim(),
        serial: d.certSerial,
        key_id: keyId,
        principal,
        valid_after: new Date(Number(cert.validAfter) * 1000).toISOString(),
        valid_before: new Date(Number(cert.validBefore) * 1000).toISOString(),
      });
    } catch (err) {
      const e = asBrokerError(err);
      audit(req, d, 'user', e);
      return refuse(req, reply, e);
    }
  });

  app.post('/v1/ssh/sign-host', async (req, reply) => {
    const d: Decision = {};
    if (!operatorDigest) return refuse(req, reply, new CaBrokerError('ERR_CA_NOT_FOUND', 'not found'));
    try {
      const given = digest(bearer(req.headers.authorization, 'ERR_CA_OPERATOR_UNAUTHORIZED'));
      // Compared as digests so that neither the length nor the content leaks through timing.
      if (!timingSafeEqual(given, operatorDigest)) {
        throw new CaBrokerError('ERR_CA_OPERATOR_UNAUTHORIZED', 'operator token required');
      }
      d.user = 'operator';
      const parsed = signHostBody.safeParse(req.body);
      if (!parsed.success) {
        const bad = parsed.error.issues.map((i) => i.path.join('.') || '(body)').join(', ');
        throw new CaBrokerError('ERR_CA_BAD_REQUEST', `invalid request: ${bad}`);
      }
      const body = parsed.data;
      const days = body.validity_days ?? config.hostSigning.maxValidityDays;
      if (days > config.hostSigning.maxValidityDays) {
        throw new CaBrokerError('ERR_CA_BAD_REQUEST', 'validity_days above the configured maximum');
      }
      const key = parsePublicKey(body.public_key);
      d.keyFingerprint = fingerprint(key.blob);
      d.ttl = days * 86_400;
      const keyId = body.key_id ?? `host:${body.principals[0]}`;
      const line = await signHostCertificate(backend, {
        publicKey: key.raw,
        blob: key.blob,
        principals: body.principals,
        keyId,
        validitySeconds: d.ttl,
        backdateSeconds: config.certificate.backdateSeconds,
      });
      const cert = parseCertificate(line);
      d.certSerial = cert.serial.toString();
      audit(req, d, 'host');
      return reply.header('cache-control', 'no-store').send({
        certificate: line.trim(),
        serial: d.certSerial,
        key_id: keyId,
        principals: cert.principals,
        valid_after: new Date(Number(cert.validAfter) * 1000).toISOString(),
        valid_before: new Date(Number(cert.validBefore) * 1000).toISOString(),
      });
    } catch (err) {
      const e = asBrokerError(err);
      audit(req, d, 'host', e);
      return refuse(req, reply, e, OPERATOR_REALM);
    }
  });

  app.get('/v1/ssh/ca.pub', async (req, reply) => {
    try {
      return reply.type('text/plain; charset=utf-8').send(`${await backend.userCaPublicKey()}\n`);
    } catch (err) {
      return refuse(
        req,
        reply,
        new CaBrokerError('ERR_CA_BACKEND_UNAVAILABLE', 'signing backend unavailable', { cause: err }),
      );
    }
  });

  app.get('/v1/ssh/host-ca.pub', async (req, reply) => {
    let line: string | undefined;
    try {
      line = await backend.hostCaPublicKey();
    } catch (err) {
      return refuse(
        req,
        reply,
        new CaBrokerError('ERR_CA_BACKEND_UNAVAILABLE', 'signing backend unavailable', { cause: err }),
      );
    }
    if (line === undefined)
      return refuse(req, reply, new CaBrokerError('ERR_CA_NOT_FOUND', 'no host CA configured'));
    return reply.type('text/plain; charset=utf-8').send(`${line}\n`);
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (req, reply) => {
    try {
      await backend.ready();
      await verifier.reload();
      return { status: 'ready' };
    } catch (err) {
      return refuse(req, reply, new CaBrokerError('ERR_CA_NOT_READY', 'not ready', { cause: err }));
    }
  });

  app.addHook('onClose', async () => {
    replay.close();
    await backend.close();
  });

  return app;
}

/** Signs and checks a host certificate (shared by the HTTP endpoint and the offline CLI). */
export async function signHostCertificate(
  backend: SigningBackend,
  req: {
    publicKey: KeyObject | Uint8Array;
    blob: Buffer;
    principals: readonly string[];
    keyId: string;
    validitySeconds: number;
    backdateSeconds: number;
  },
): Promise<string> {
  let line: string;
  try {
    line = await backend.signHost({
      publicKey: req.publicKey,
      publicKeyLine: `ssh-ed25519 ${req.blob.toString('base64')}`,
      principals: req.principals,
      keyId: req.keyId,
      validitySeconds: req.validitySeconds,
      backdateSeconds: req.backdateSeconds,
    });
  } catch (err) {
    if (err instanceof CaBrokerError && err.code === 'ERR_CA_BACKEND_UNAVAILABLE') throw err;
    throw new CaBrokerError('ERR_CA_BACKEND_UNAVAILABLE', 'signing backend unavailable', { cause: err });
  }
  const cert = parseCertificate(line);
  const hostCa = await backend.hostCaPublicKey();
  if (
    cert.type !== 'host' ||
    !cert.publicKeyBlob.equals(req.blob) ||
    cert.principals.join(',') !== req.principals.join(',') ||
    hostCa === undefined ||
    !cert.signatureKey.equals(parseKeyLine(hostCa).blob) ||
    !verifyCertificateSignature(cert)
  ) {
    throw new CaBrokerError(
      'ERR_CA_BACKEND_UNAVAILABLE',
      'signing backend returned an unexpected host certificate',
    );
  }
  return line.trim();
}

function describeCause(cause: unknown, depth = 0): unknown {
  if (cause === undefined || depth > 4) return undefined;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return {
      type: cause.name,
      message: cause.message,
      ...(code !== undefined ? { code } : {}),
      ...(cause.cause !== undefined ? { cause: describeCause(cause.cause, depth + 1) } : {}),
    };
  }
  // jose puts { claim, reason, payload } here: keep the first two, never the (unverified) payload.
  if (typeof cause === 'object' && cause !== null) {
    const { claim, reason } = cause as { claim?: unknown; reason?: unknown };
    return {
      ...(typeof claim === 'string' ? { claim } : {}),
      ...(typeof reason === 'string' ? { reason } : {}),
    };
  }
  return String(cause);
}
