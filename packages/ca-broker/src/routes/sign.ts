/**
 * POST /v1/ssh/sign: a 60-second user certificate for the verified caller's role. Order of checks
 * (README: HTTP contract): token and actor (the authentication plugin) → rate limit → body → key →
 * role → replay cache → signer → the signer's output, field by field. No path but the last line of
 * the handler ever sends a certificate.
 */
import { encodeKeyId, isValidField } from '@netward/audit-context';
import { type Policy, type Role, roleByIdpRole } from '@netward/policy';
import {
  fingerprint,
  type ParsedCertificate,
  type ParsedPublicKey,
  parseCertificate,
  parseKeyLine,
  parsePublicKey,
  verifyCertificateSignature,
} from '@netward/ssh-certificate';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CaBrokerError } from '../errors.ts';
import type { Decision } from '../plugins/audit.ts';
import { createRateLimiter } from '../rate-limit.ts';
import type { SigningBackend } from '../signers/types.ts';
import type { VerifiedIdentity } from '../tokens.ts';
import { parseBody } from './body.ts';
import type { RouteDeps } from './deps.ts';

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

// The 200 answer, compiled once by fastify (fast-json-stringify) instead of a JSON.stringify per
// certificate. Only these members can ever be written.
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

interface Admitted {
  readonly body: z.infer<typeof signBody>;
  readonly key: ParsedPublicKey;
  readonly role: Role;
  readonly ttl: number;
}

/** Body, key and role, in that order, each filling in the decision line as it passes. */
function admit(input: unknown, id: VerifiedIdentity, policy: Policy, d: Decision): Admitted {
  const body = parseBody(signBody, input);
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
  return { body, key, role, ttl };
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

export async function signRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const { config, backend, policy, replay, trail, authentication, now } = deps;
  const limiter = createRateLimiter(config.rateLimit, now);
  const sourceAddress = config.certificate.sourceAddress?.join(',');
  const criticalOptions: Record<string, string> = sourceAddress ? { 'source-address': sourceAddress } : {};
  const checkIssued = createIssuedCheck(backend, criticalOptions, now);

  app.post(
    '/v1/ssh/sign',
    { schema: { response: SIGN_RESPONSE }, config: { certificate: 'user', auth: 'bearer' } },
    async (req, reply) => {
      const d = trail.decision(req) as Decision;
      const { token, identity: id } = authentication.caller(req);
      const wait = limiter.take(id.user);
      if (wait > 0) {
        reply.header('retry-after', String(wait));
        throw new CaBrokerError('ERR_CA_RATE_LIMITED', 'too many certificate requests');
      }
      const { body, key, role, ttl } = admit(req.body, id, policy, d);
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
      const expected = { blob: key.blob, principal, keyId, ttl, extensions: role.certificate.extensions };
      let line: string;
      try {
        line = await backend.signUser({
          publicKey: key.raw,
          publicKeyLine: `ssh-ed25519 ${key.blob.toString('base64')}`,
          role: role.name,
          principal,
          keyId,
          ttlSeconds: ttl,
          backdateSeconds: config.certificate.backdateSeconds,
          extensions: expected.extensions,
          criticalOptions,
          token,
        });
      } catch (err) {
        throw new CaBrokerError('ERR_CA_BACKEND_UNAVAILABLE', 'signing backend unavailable', { cause: err });
      }
      const cert = await checkIssued(line, expected);
      d.certSerial = cert.serial.toString();
      if (callerGone(req)) d.late = true;
      trail.decide(req);
      return reply.header('cache-control', 'no-store').send({
        certificate: line.trim(),
        serial: d.certSerial,
        key_id: keyId,
        principal,
        valid_after: new Date(Number(cert.validAfter) * 1000).toISOString(),
        valid_before: new Date(Number(cert.validBefore) * 1000).toISOString(),
      });
    },
  );
}

interface Expected {
  readonly blob: Buffer;
  readonly principal: string;
  readonly keyId: string;
  readonly ttl: number;
  readonly extensions: readonly string[];
}

/**
 * The backend's output is checked field by field before it leaves: a misconfigured Vault role (other
 * principals, its own Key ID, a longer TTL) must not reach a device.
 */
function createIssuedCheck(
  backend: SigningBackend,
  criticalOptions: Record<string, string>,
  now: () => number,
): (line: string, expect: Expected) => Promise<ParsedCertificate> {
  let userCaBlob: Buffer | undefined;
  const wanted = Object.entries(criticalOptions)
    .map(([k, v]) => `${k}=${v}`)
    .join(';');
  return async (line, expect) => {
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
    if (cert.criticalOptions.map((o) => `${o.name}=${o.value}`).join(';') !== wanted)
      problems.push('critical options');
    userCaBlob ??= parseKeyLine(await backend.userCaPublicKey()).blob;
    if (!cert.signatureKey.equals(userCaBlob)) problems.push('CA key');
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
  };
}
