// The verified-token cache the server turns on by default (config verifiedTokenCacheEntries): an agent's
// token is verified in full once, then answered from the cache, with the same identity and the same
// refusals for everything that is not byte-for-byte that token.
import { defaultPolicy } from '@netward/policy';
import { createLocalJWKSet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier } from '../src/auth/token.ts';
import { startIdp, type TestIdp } from './helpers/idp.ts';

const AUDIENCE = 'http://127.0.0.1:1/mcp';
let idp: TestIdp;

beforeAll(async () => {
  idp = await startIdp(() => AUDIENCE);
});
afterAll(async () => idp?.close());

/** A verifier whose key lookups are counted: one lookup = one full verification. */
function verifier(cacheEntries: number) {
  const keys = createLocalJWKSet({ keys: [idp.publicJwk] });
  const counted = { lookups: 0 };
  const verify = createTokenVerifier({
    issuer: idp.issuer,
    audience: AUDIENCE,
    algorithms: ['EdDSA'],
    roleClaim: 'net_role',
    clockToleranceSeconds: 5,
    policy: defaultPolicy(),
    jwks: (header, token) => {
      counted.lookups++;
      return keys(header, token);
    },
    cacheEntries,
  });
  return { verify, counted };
}

describe('verified-token cache', () => {
  it('verifies a token in full once and answers it again from the cache', async () => {
    const { verify, counted } = verifier(100);
    const token = await idp.mint();
    const first = await verify(token);
    const again = await verify(token);
    expect(counted.lookups).toBe(1);
    expect(again).toEqual(first);
    await verify(await idp.mint({ sid: 'another-session' }));
    expect(counted.lookups).toBe(2);
  });

  it('with 0 entries verifies every time', async () => {
    const { verify, counted } = verifier(0);
    const token = await idp.mint();
    await verify(token);
    await verify(token);
    expect(counted.lookups).toBe(2);
  });

  it('a cached token with one byte changed is verified in full, and refused', async () => {
    const { verify, counted } = verifier(100);
    const token = await idp.mint();
    await verify(token);
    const last = token.at(-2) === 'A' ? 'B' : 'A';
    const tampered = `${token.slice(0, -2)}${last}${token.at(-1)}`;
    await expect(verify(tampered)).rejects.toMatchObject({ code: 'ERR_MCP_TOKEN_INVALID' });
    expect(counted.lookups).toBe(2);
  });
});
