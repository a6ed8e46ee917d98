/**
 * One bearer-token verifier for every netward service that accepts an access token: the MCP server (the
 * agent's token), the CA broker (the exchanged token) and the lab IdP (the subject token of an RFC 8693
 * exchange). A token is accepted only when it is a JWS signed by a key of the issuer's JWKS with an
 * allowed asymmetric algorithm, is typed `at+jwt` (RFC 9068 section 4, so an ID token or any other JWT
 * the issuer signs with the same key is refused: RFC 8725 section 3.11), names the issuer exactly, carries
 * the service's audience (RFC 8707), is within exp/nbf give or take the configured leeway, and carries
 * the identity the audit trail needs. What comes back is that identity, frozen; every refusal is a
 * BearerError with a stable code (errors.ts).
 */
import { createHash } from 'node:crypto';
import { isValidField } from '@netward/audit-context';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import { BearerError, claimError, mapJoseError } from './errors.ts';
import { createJwtVerifier, type SignatureOn } from './jwt.ts';
import type { KeySource } from './keys.ts';

export interface ActorOptions {
  /**
   * Where the acting party is read. `act`: RFC 8693 section 4.1's `act.sub` (nested `act` members are
   * prior actors and carry no authority). `azp`: the client the token was issued to (OpenID Connect
   * Core section 2), for IdPs whose token exchange issues no `act` (Keycloak's standard exchange).
   */
  readonly claim: 'act' | 'azp';
  /** Actors accepted; a token naming any other is refused (ERR_BEARER_ACTOR_NOT_ALLOWED). */
  readonly allowed: readonly string[];
  /** Refuse a token naming no actor (ERR_BEARER_ACTOR_REQUIRED). */
  readonly require: boolean;
}

export interface BearerVerifierOptions {
  readonly issuer: string;
  readonly audience: string;
  /** Asymmetric JWS algorithms only: `none` and HS* are refused at construction (RFC 8725 section 3.1). */
  readonly algorithms: readonly string[];
  /** Leeway on exp/nbf, seconds. */
  readonly clockToleranceSeconds: number;
  /** The issuer's keys: a key function (tests, a local set) or a refreshable remote source (keys.ts). */
  readonly keys: JWTVerifyGetKey | KeySource;
  /** Claims that must be present besides iss, aud and exp (e.g. `sub`, `jti`, `client_id`). */
  readonly requiredClaims?: readonly string[];
  /** Scopes the token must all carry (ERR_BEARER_SCOPE). Default none. */
  readonly requiredScopes?: readonly string[];
  /** Claims naming the user, tried in order: the first string one is used. Default preferred_username, sub. */
  readonly userClaims?: readonly string[];
  /** The login session claim. Default `sid` (OpenID Connect Back-Channel Logout section 2.4). */
  readonly sidClaim?: string;
  /** The role claim, when the service maps the IdP's role itself. Default: no role is read. */
  readonly roleClaim?: string;
  /** Default: the actor is neither read nor checked. */
  readonly actor?: ActorOptions;
  /** Milliseconds since the epoch; tests freeze it. */
  readonly clock?: () => number;
  /**
   * Keep the identity of up to this many verified tokens, keyed by the SHA-256 of the whole token, and
   * answer a token seen again from it (its `exp` checked again, with the leeway) instead of verifying
   * its signature again. Default 0: every token is verified in full. A key removed from the issuer's
   * set goes on vouching for the tokens it signed that are cached, until they expire.
   */
  readonly cacheEntries?: number;
  /**
   * Where the token's signature is checked: `event-loop` (default: synchronously, no thread-pool
   * hand-off) or `thread-pool` (node:crypto's callback form).
   */
  readonly signatureOn?: SignatureOn;
}

/** Who is calling, as the audit trail records it. */
export interface BearerIdentity {
  readonly user: string;
  readonly sid: string;
  /** `sub`, when the token has one. */
  readonly subject: string | undefined;
  /** The role claim's value, when `roleClaim` is set. */
  readonly role: string | undefined;
  /** `scope` (space-separated, RFC 9068 section 2.2.3) or, from IdPs that use it, an `scp` array. */
  readonly scopes: readonly string[];
  /** `client_id` (RFC 9068 section 2.2): the client the token was issued to. */
  readonly clientId: string | undefined;
  /** The acting party, when `actor` is configured and the token names one. */
  readonly actor: string | undefined;
  /** The token's identifier (RFC 7519 section 4.1.7), when it has one. */
  readonly jti: string | undefined;
  /** `exp`, seconds since the epoch. */
  readonly expiresAt: number;
  /** The whole verified claims set, for what a service reads beyond the identity. */
  readonly claims: Readonly<JWTPayload>;
}

export interface BearerVerifier {
  verify(token: string): Promise<BearerIdentity>;
  /** Fetches the issuer's keys now unless they are fresh (readiness); a no-op for a key function. */
  reload(): Promise<void>;
}

function scopesOf(payload: JWTPayload): string[] {
  const scope = payload['scope'];
  if (typeof scope === 'string') return scope.split(' ').filter(Boolean);
  // RFC 9068 defines `scope` only; some IdPs send an `scp` array. Either one, never both merged.
  const scp = payload['scp'];
  if (Array.isArray(scp) && scp.every((s) => typeof s === 'string')) return scp as string[];
  return [];
}

function actorOf(payload: JWTPayload, options: ActorOptions | undefined): string | undefined {
  if (options === undefined) return undefined;
  const raw = payload[options.claim];
  if (raw === undefined) {
    if (options.require) throw new BearerError('ERR_BEARER_ACTOR_REQUIRED');
    return undefined;
  }
  const actor =
    options.claim === 'azp'
      ? raw
      : typeof raw === 'object' && raw !== null
        ? (raw as Record<string, unknown>)['sub']
        : undefined;
  if (!isValidField('actor', actor) || !options.allowed.includes(actor)) {
    throw new BearerError('ERR_BEARER_ACTOR_NOT_ALLOWED', undefined, { detail: { claim: options.claim } });
  }
  return actor;
}

/** The audited identity from a verified claims set; a missing or malformed field refuses the token. */
function identityOf(payload: JWTPayload, options: BearerVerifierOptions): BearerIdentity {
  const userClaim = (options.userClaims ?? ['preferred_username', 'sub']).find(
    (c) => typeof payload[c] === 'string',
  );
  const user = userClaim === undefined ? undefined : payload[userClaim];
  if (!isValidField('user', user)) throw claimError('user');
  const sidClaim = options.sidClaim ?? 'sid';
  const sid = payload[sidClaim];
  if (!isValidField('sid', sid)) throw claimError(sidClaim);
  let role: string | undefined;
  if (options.roleClaim !== undefined) {
    const value = payload[options.roleClaim];
    if (typeof value !== 'string' || value.length === 0 || value.length > 128) {
      throw claimError(options.roleClaim);
    }
    role = value;
  }
  // Without a usable jti one token cannot be told from another (the broker's replay cache keys on it).
  const jti = payload.jti;
  if (jti !== undefined && (typeof jti !== 'string' || jti.length === 0 || jti.length > 256)) {
    throw claimError('jti');
  }
  const scopes = scopesOf(payload);
  const missing = (options.requiredScopes ?? []).filter((s) => !scopes.includes(s));
  if (missing.length > 0) throw new BearerError('ERR_BEARER_SCOPE', undefined, { detail: { missing } });
  const clientId = payload['client_id'];
  return Object.freeze({
    user,
    sid,
    subject: typeof payload.sub === 'string' ? payload.sub : undefined,
    role,
    scopes: Object.freeze(scopes),
    clientId: typeof clientId === 'string' ? clientId : undefined,
    actor: actorOf(payload, options.actor),
    jti,
    expiresAt: payload.exp as number,
    claims: Object.freeze(payload),
  });
}

export function createBearerVerifier(options: BearerVerifierOptions): BearerVerifier {
  if (options.algorithms.length === 0) throw new TypeError('at least one JWS algorithm must be allowed');
  if (options.algorithms.some((a) => a === 'none' || a.startsWith('HS'))) {
    throw new TypeError('only asymmetric JWS algorithms may be allowed');
  }
  const source = typeof options.keys === 'function' ? undefined : options.keys;
  const getKey: JWTVerifyGetKey = source ? source.getKey : (options.keys as JWTVerifyGetKey);
  // jose's jwtVerify semantics with node:crypto's verification (jwt.ts).
  const jwt = createJwtVerifier(
    {
      issuer: options.issuer,
      audience: options.audience,
      algorithms: options.algorithms,
      clockTolerance: options.clockToleranceSeconds,
      requiredClaims: [...new Set(['exp', ...(options.requiredClaims ?? [])])],
      typ: 'at+jwt',
      ...(options.signatureOn ? { signatureOn: options.signatureOn } : {}),
    },
    getKey,
    options.clock,
  );
  const cache = createVerifiedCache(options.cacheEntries ?? 0, options.clockToleranceSeconds, options.clock);
  return {
    async reload() {
      await source?.reload();
    },
    async verify(token) {
      const cached = cache.get(token);
      if (cached !== undefined) return cached;
      let payload: JWTPayload;
      try {
        payload = await jwt.verify(token);
      } catch (err) {
        throw mapJoseError(err);
      }
      const id = identityOf(payload, options);
      cache.set(token, id);
      return id;
    },
  };
}

interface VerifiedCache {
  /** The identity of `token` if it was verified before and has not expired since. */
  get(token: string): BearerIdentity | undefined;
  set(token: string, id: BearerIdentity): void;
}

/**
 * Verified tokens by the SHA-256 of the whole token: a token differing in any byte (another
 * signature, a changed claim) has another key, so it is verified in full. Only successes are kept.
 * Bounded: past `max`, the oldest entry goes (a Map keeps insertion order).
 */
function createVerifiedCache(max: number, toleranceSeconds: number, clock = Date.now): VerifiedCache {
  const entries = new Map<string, BearerIdentity>();
  const key = (token: string) => createHash('sha256').update(token, 'utf8').digest('base64');
  // The verifier's own rule (jwt.ts): expired once exp <= now - leeway.
  const expired = (id: BearerIdentity) => id.expiresAt <= Math.floor(clock() / 1000) - toleranceSeconds;
  if (max <= 0) return { get: () => undefined, set: () => undefined };
  return {
    get(token) {
      const k = key(token);
      const id = entries.get(k);
      if (id === undefined) return undefined;
      if (!expired(id)) return id;
      entries.delete(k);
      return undefined;
    },
    set(token, id) {
      if (entries.size >= max) entries.delete(entries.keys().next().value as string);
      entries.set(key(token), id);
    },
  };
}
