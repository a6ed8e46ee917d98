// The verifier as services use it: the audited identity it returns, and one code per kind of refusal,
// against a real JWKS endpoint on 127.0.0.1 (jose's remote set over HTTP, discovery included).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BEARER_ERRORS,
  BearerError,
  type BearerErrorCode,
  createBearerVerifier,
  remoteKeys,
} from '../src/index.ts';

const AUDIENCE = 'https://mcp.example/mcp';
const NOW = 1_800_000_000;
const clock = () => NOW * 1000;

let server: Server;
let issuer: string;
let jwks: { keys: JWK[] };
let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let fetches = 0;

beforeAll(async () => {
  const pair = await generateKeyPair('EdDSA', { extractable: true });
  privateKey = pair.privateKey;
  jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'EdDSA', use: 'sig' }] };
  server = createServer((req, res) => {
    // Metadata for `${issuer}/other` that names the root issuer instead: a mix-up to refuse.
    if (
      req.url === '/.well-known/openid-configuration' ||
      req.url === '/other/.well-known/openid-configuration'
    ) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
      return;
    }
    if (req.url === '/jwks') {
      fetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(jwks));
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const baseClaims = (): JWTPayload => ({
  iss: issuer,
  aud: AUDIENCE,
  sub: 'u-1',
  preferred_username: 'alice',
  sid: 'sess-1',
  net_role: 'net-operator',
  scope: 'net:read net:write',
  client_id: 'mcp-agent',
  jti: 'jti-1',
  iat: NOW,
  exp: NOW + 60,
});

function sign(claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k1', ...header })
    .sign(privateKey);
}

const verifier = (extra: Partial<Parameters<typeof createBearerVerifier>[0]> = {}) =>
  createBearerVerifier({
    issuer,
    audience: AUDIENCE,
    algorithms: ['EdDSA'],
    clockToleranceSeconds: 5,
    keys: remoteKeys({ issuer }),
    roleClaim: 'net_role',
    clock,
    ...extra,
  });

async function codeOf(p: Promise<unknown>): Promise<BearerErrorCode> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BearerError);
  return (err as BearerError).code;
}

describe('createBearerVerifier', () => {
  it('returns the audited identity of a valid access token, keys found through discovery', async () => {
    const id = await verifier().verify(await sign(baseClaims()));
    expect(id).toMatchObject({
      user: 'alice',
      sid: 'sess-1',
      subject: 'u-1',
      role: 'net-operator',
      scopes: ['net:read', 'net:write'],
      clientId: 'mcp-agent',
      actor: undefined,
      jti: 'jti-1',
      expiresAt: NOW + 60,
    });
    expect(Object.isFrozen(id)).toBe(true);
  });

  it('accepts an exp within the leeway and refuses one beyond it', async () => {
    const v = verifier();
    await expect(v.verify(await sign({ ...baseClaims(), exp: NOW - 4 }))).resolves.toBeDefined();
    expect(await codeOf(v.verify(await sign({ ...baseClaims(), exp: NOW - 5 })))).toBe('ERR_BEARER_EXPIRED');
  });

  it.each<[string, () => Promise<string>, BearerErrorCode]>([
    ['not a JWS', async () => 'nope', 'ERR_BEARER_MALFORMED'],
    ['an ID token (typ JWT)', () => sign(baseClaims(), { typ: 'JWT' }), 'ERR_BEARER_TYPE'],
    [
      'another algorithm',
      async () =>
        `${(await sign(baseClaims())).replace(/^[^.]+/, Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url'))}`,
      'ERR_BEARER_ALGORITHM',
    ],
    [
      'a forged signature',
      async () => `${(await sign(baseClaims())).slice(0, -4)}AAAA`,
      'ERR_BEARER_SIGNATURE',
    ],
    ['an unknown kid', () => sign(baseClaims(), { kid: 'k9' }), 'ERR_BEARER_UNKNOWN_KEY'],
    ['not yet valid', () => sign({ ...baseClaims(), nbf: NOW + 60 }), 'ERR_BEARER_NOT_YET_VALID'],
    ['another issuer', () => sign({ ...baseClaims(), iss: 'https://evil.example' }), 'ERR_BEARER_ISSUER'],
    ['another audience', () => sign({ ...baseClaims(), aud: 'netward-ca-broker' }), 'ERR_BEARER_AUDIENCE'],
    ['no sid', () => sign({ ...baseClaims(), sid: undefined }), 'ERR_BEARER_CLAIMS'],
    ['a malformed user', () => sign({ ...baseClaims(), preferred_username: 'a b' }), 'ERR_BEARER_CLAIMS'],
    ['no role', () => sign({ ...baseClaims(), net_role: undefined }), 'ERR_BEARER_CLAIMS'],
    ['an empty jti', () => sign({ ...baseClaims(), jti: '' }), 'ERR_BEARER_CLAIMS'],
  ])('refuses %s with its code', async (_name, token, code) => {
    expect(await codeOf(verifier().verify(await token()))).toBe(code);
    expect(BEARER_ERRORS[code].status).toBe(401);
  });

  it('names a missing required claim for the operator, never its value', async () => {
    const err = await verifier({ requiredClaims: ['client_id'] })
      .verify(await sign({ ...baseClaims(), client_id: undefined }))
      .catch((e: unknown) => e as BearerError);
    expect(err).toMatchObject({ code: 'ERR_BEARER_CLAIMS', detail: { claim: 'client_id' } });
  });

  it('refuses a token without a required scope (403)', async () => {
    const v = verifier({ requiredScopes: ['net:admin'] });
    const code = await codeOf(v.verify(await sign(baseClaims())));
    expect(code).toBe('ERR_BEARER_SCOPE');
    expect(BEARER_ERRORS[code].status).toBe(403);
  });

  it('reads the actor from act.sub or azp and refuses one not allowed, or none when required', async () => {
    const act = verifier({ actor: { claim: 'act', allowed: ['netward-mcp-server'], require: true } });
    const azp = verifier({ actor: { claim: 'azp', allowed: ['netward-mcp-server'], require: false } });
    const acting = { ...baseClaims(), act: { sub: 'netward-mcp-server', act: { sub: 'earlier' } } };
    expect((await act.verify(await sign(acting))).actor).toBe('netward-mcp-server');
    expect((await azp.verify(await sign({ ...baseClaims(), azp: 'netward-mcp-server' }))).actor).toBe(
      'netward-mcp-server',
    );
    expect(await codeOf(act.verify(await sign({ ...baseClaims(), act: { sub: 'other' } })))).toBe(
      'ERR_BEARER_ACTOR_NOT_ALLOWED',
    );
    expect(await codeOf(azp.verify(await sign({ ...baseClaims(), azp: 'other' })))).toBe(
      'ERR_BEARER_ACTOR_NOT_ALLOWED',
    );
    expect(await codeOf(act.verify(await sign(baseClaims())))).toBe('ERR_BEARER_ACTOR_REQUIRED');
    expect((await azp.verify(await sign(baseClaims()))).actor).toBeUndefined();
  });

  it('refuses symmetric and none algorithms at construction', () => {
    expect(() => verifier({ algorithms: ['HS256'] })).toThrow(TypeError);
    expect(() => verifier({ algorithms: ['none'] })).toThrow(TypeError);
  });
});

describe('the verified-token cache', () => {
  /** A real key set over HTTP, counting how often a token's key is looked up (once per verification). */
  function counted(clockAt: { now: number }, cacheEntries: number) {
    const keys = remoteKeys({ issuer });
    let lookups = 0;
    const v = createBearerVerifier({
      issuer,
      audience: AUDIENCE,
      algorithms: ['EdDSA'],
      clockToleranceSeconds: 5,
      keys: (header, input) => {
        lookups++;
        return keys.getKey(header, input);
      },
      roleClaim: 'net_role',
      clock: () => clockAt.now * 1000,
      cacheEntries,
    });
    return { v, lookups: () => lookups };
  }

  it('answers a token seen again without verifying it again, and verifies every other token', async () => {
    const { v, lookups } = counted({ now: NOW }, 10);
    const token = await sign(baseClaims());
    const first = await v.verify(token);
    expect(await v.verify(token)).toBe(first);
    expect(lookups()).toBe(1);
    // One character inside the signature changed (not the last, whose low bits are padding): another
    // key of the cache, verified in full, refused.
    const at = token.length - 10;
    const forged = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
    expect(await codeOf(v.verify(forged))).toBe('ERR_BEARER_SIGNATURE');
    // A refused token is not kept: verified (and refused) again.
    expect(await codeOf(v.verify(forged))).toBe('ERR_BEARER_SIGNATURE');
    // Same claims, another token (another jti): verified in full.
    expect((await v.verify(await sign({ ...baseClaims(), jti: 'jti-2' }))).jti).toBe('jti-2');
    expect(lookups()).toBe(4);
  });

  it('refuses a cached token once it has expired, with the same leeway as a full verification', async () => {
    const at = { now: NOW };
    const { v } = counted(at, 10);
    const token = await sign(baseClaims()); // exp NOW + 60
    await v.verify(token);
    at.now = NOW + 64;
    await expect(v.verify(token)).resolves.toBeDefined();
    at.now = NOW + 65;
    expect(await codeOf(v.verify(token))).toBe('ERR_BEARER_EXPIRED');
  });

  it('keeps at most cacheEntries tokens, and none by default', async () => {
    const { v, lookups } = counted({ now: NOW }, 2);
    const tokens = await Promise.all(['a', 'b', 'c'].map((j) => sign({ ...baseClaims(), jti: j })));
    for (const t of tokens) await v.verify(t);
    await v.verify(tokens[2]!);
    await v.verify(tokens[1]!);
    expect(lookups()).toBe(3);
    await v.verify(tokens[0]!); // the oldest, evicted: verified again
    expect(lookups()).toBe(4);
    const none = counted({ now: NOW }, 0);
    await none.v.verify(tokens[0]!);
    await none.v.verify(tokens[0]!);
    expect(none.lookups()).toBe(2);
  });
});

describe('remoteKeys', () => {
  it('caches the set and refetches only when reload finds it stale', async () => {
    const keys = remoteKeys({ issuer, jwksUri: `${issuer}/jwks`, cacheMaxAgeMs: 60_000 });
    const v = verifier({ keys });
    const before = fetches;
    await v.verify(await sign(baseClaims()));
    await v.verify(await sign(baseClaims()));
    await v.reload();
    expect(fetches - before).toBe(1);
  });

  it('reports keys that cannot be fetched as unavailable (503), not as a bad token', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const gone = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((r) => closed.close(() => r()));
    const token = await sign(baseClaims());
    for (const keys of [remoteKeys({ issuer, jwksUri: `${gone}/jwks` }), remoteKeys({ issuer: gone })]) {
      const code = await codeOf(verifier({ keys }).verify(token));
      expect(code).toBe('ERR_BEARER_KEYS_UNAVAILABLE');
      expect(BEARER_ERRORS[code].status).toBe(503);
      expect(await codeOf(keys.reload())).toBe('ERR_BEARER_KEYS_UNAVAILABLE');
    }
    // A metadata document naming another issuer is not used (RFC 8414 section 3.3).
    const wrongIssuer = remoteKeys({ issuer: `${issuer}/other` });
    expect(await codeOf(verifier({ keys: wrongIssuer }).verify(token))).toBe('ERR_BEARER_KEYS_UNAVAILABLE');
  });
});
