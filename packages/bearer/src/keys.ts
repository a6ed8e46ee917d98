/**
 * Where the issuer's signing keys come from: jose's remote JWK set (cached for `cacheMaxAgeMs`, refetched
 * on an unknown `kid` at most once per `cooldownMs`), at `jwksUri` when it is configured, else at the
 * `jwks_uri` of the issuer's metadata (OpenID Connect Discovery 1.0 section 4, then RFC 8414 section 3),
 * discovered on first use and again after a failed discovery.
 *
 * A failure to obtain the keys (no metadata, a refused connection, a timeout, a bad JWKS document) is
 * raised as ERR_BEARER_KEYS_UNAVAILABLE: the token may be fine, so it is not the caller's fault.
 */
import { createRemoteJWKSet, type JWTVerifyGetKey, errors as joseErrors } from 'jose';
import { BearerError, mapJoseError } from './errors.ts';

export interface RemoteKeysOptions {
  readonly issuer: string;
  /** Default: discovered from the issuer's metadata. */
  readonly jwksUri?: string | undefined;
  /** How long a fetched set is used before it is refetched. Default 600 000 (jose's own default). */
  readonly cacheMaxAgeMs?: number;
  /** The shortest time between two fetches triggered by an unknown `kid`. Default 30 000 (jose's). */
  readonly cooldownMs?: number;
  /** Per fetch. Default 5000 (jose's). */
  readonly timeoutMs?: number;
}

/** A key function that can also be refreshed ahead of need (readiness probes). */
export interface KeySource {
  readonly getKey: JWTVerifyGetKey;
  /** Fetches the set now unless the cached one is still fresh. */
  reload(): Promise<void>;
}

type RemoteSet = ReturnType<typeof createRemoteJWKSet>;

/** Key fetching failed: jose's fetch codes, or anything that is not a jose verdict on the token. */
function unavailable(e: unknown): BearerError | undefined {
  const mapped = mapJoseError(e);
  if (mapped.code === 'ERR_BEARER_KEYS_UNAVAILABLE') return mapped;
  if (!(e instanceof joseErrors.JOSEError) && !(e instanceof BearerError)) {
    return new BearerError('ERR_BEARER_KEYS_UNAVAILABLE', undefined, { cause: e });
  }
  return undefined;
}

async function discoverJwksUri(issuer: string, timeoutMs: number): Promise<URL> {
  const base = issuer.endsWith('/') ? issuer : `${issuer}/`;
  const iss = new URL(issuer);
  const candidates = [
    new URL('.well-known/openid-configuration', base),
    new URL(`/.well-known/oauth-authorization-server${iss.pathname === '/' ? '' : iss.pathname}`, iss),
  ];
  for (const u of candidates) {
    try {
      const res = await fetch(u, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
      if (!res.ok) continue;
      const meta = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
      // RFC 8414 section 3.3: the metadata must name exactly the issuer it was fetched for.
      if (meta.issuer !== issuer || typeof meta.jwks_uri !== 'string') continue;
      return new URL(meta.jwks_uri);
    } catch {
      // try the next location
    }
  }
  throw new BearerError('ERR_BEARER_KEYS_UNAVAILABLE', undefined, {
    detail: { reason: 'no authorization server metadata with a jwks_uri for the issuer' },
  });
}

export function remoteKeys(options: RemoteKeysOptions): KeySource {
  const timeoutMs = options.timeoutMs ?? 5000;
  const open = (url: URL): RemoteSet =>
    createRemoteJWKSet(url, {
      timeoutDuration: timeoutMs,
      ...(options.cacheMaxAgeMs === undefined ? {} : { cacheMaxAge: options.cacheMaxAgeMs }),
      ...(options.cooldownMs === undefined ? {} : { cooldownDuration: options.cooldownMs }),
    });
  let resolved: Promise<RemoteSet> | undefined =
    options.jwksUri === undefined ? undefined : Promise.resolve(open(new URL(options.jwksUri)));
  const remote = (): Promise<RemoteSet> => {
    resolved ??= discoverJwksUri(options.issuer, timeoutMs)
      .then(open)
      .catch((e: unknown) => {
        resolved = undefined;
        throw e;
      });
    return resolved;
  };
  return {
    async getKey(header, input) {
      try {
        return await (await remote())(header, input);
      } catch (e) {
        throw unavailable(e) ?? e;
      }
    },
    async reload() {
      try {
        const set = await remote();
        if (!set.fresh) await set.reload();
      } catch (e) {
        throw unavailable(e) ?? e;
      }
    },
  };
}
