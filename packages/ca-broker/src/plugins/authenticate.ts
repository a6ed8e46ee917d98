/**
 * The credential each route declares (`config.auth`), checked before its handler: the IdP's access
 * token through tokens.ts for `bearer`, the operator token file's for `operator`. A refusal is thrown
 * to the error handler, after the decision line has what is known of the caller.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { SignatureOn } from '@netward/bearer';
import type { FastifyRequest } from 'fastify';
import type { JWTVerifyGetKey } from 'jose';
import type { BrokerConfig } from '../config.ts';
import { CaBrokerError, type CaBrokerErrorCode } from '../errors.ts';
import { readCredentialFile } from '../private-file.ts';
import { createTokenVerifier, type TokenVerifier, type VerifiedIdentity } from '../tokens.ts';
import { appWide, routeConfig } from './app-wide.ts';
import type { AuditTrail } from './audit.ts';

export interface Caller {
  /** The bearer token as presented: the Vault backend logs in with it. Never logged. */
  readonly token: string;
  readonly identity: VerifiedIdentity;
}

export interface Authentication {
  readonly verifier: TokenVerifier;
  /** Whether `POST /v1/ssh/sign-host` is on (an operator token file is configured). */
  readonly operatorConfigured: boolean;
  /** The verified caller of a `bearer` route. */
  caller(req: FastifyRequest): Caller;
}

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

/**
 * The authentication plugin and what routes read from it. The operator token file is read here, at
 * build time, so a readable-by-others file stops the broker before it listens.
 */
export function createAuthentication(
  config: BrokerConfig,
  trail: AuditTrail,
  keys?: JWTVerifyGetKey,
  signatureOn?: SignatureOn,
): { authentication: Authentication; plugin: ReturnType<typeof appWide> } {
  const verifier = createTokenVerifier(config.token, keys, signatureOn);
  const operatorFile = config.hostSigning.operatorTokenFile;
  const operatorDigest = operatorFile ? readOperatorToken(operatorFile) : undefined;
  const callers = new WeakMap<FastifyRequest, Caller>();

  async function verifyBearer(req: FastifyRequest): Promise<void> {
    const token = bearer(req.headers.authorization, 'ERR_CA_TOKEN_MISSING');
    const identity = await verifier.verify(token);
    const d = trail.decision(req);
    if (d !== undefined) {
      d.user = identity.user;
      d.sid = identity.sid;
      if (identity.actor !== undefined) d.actor = identity.actor;
    }
    callers.set(req, { token, identity });
  }

  function verifyOperator(req: FastifyRequest): void {
    const given = digest(bearer(req.headers.authorization, 'ERR_CA_OPERATOR_UNAUTHORIZED'));
    // Compared as digests so that neither the length nor the content leaks through timing.
    if (operatorDigest === undefined || !timingSafeEqual(given, operatorDigest)) {
      throw new CaBrokerError('ERR_CA_OPERATOR_UNAUTHORIZED', 'operator token required');
    }
    const d = trail.decision(req);
    if (d !== undefined) d.user = 'operator';
  }

  const plugin = appWide(async (app) => {
    app.addHook('preHandler', async (req) => {
      const auth = routeConfig(req).auth;
      if (auth === 'bearer') await verifyBearer(req);
      else if (auth === 'operator') verifyOperator(req);
    });
  });

  const authentication: Authentication = {
    verifier,
    operatorConfigured: operatorDigest !== undefined,
    caller(req) {
      const caller = callers.get(req);
      if (caller === undefined) throw new CaBrokerError('ERR_CA_INTERNAL', 'route without authentication');
      return caller;
    },
  };
  return { authentication, plugin };
}
