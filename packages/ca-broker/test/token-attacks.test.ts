import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claims, MCP_CLIENT, signRequest, startBroker, type TestBroker } from '../src/testing/broker.ts';
import { startIdp, type TestIdp } from '../src/testing/idp.ts';

// Each row: a token an attacker (or a broken client) could present, the status and the code the broker
// must answer with, and — checked for every row — no certificate anywhere in the answer, and one
// `refused` audit line with that code and without the token.
let idp: TestIdp;
let broker: TestBroker;
let strict: TestBroker;

beforeAll(async () => {
  idp = await startIdp();
  await idp.addKey('unpublished', false);
  broker = startBroker(idp);
  strict = startBroker(idp, { token: { actor: { allowed: [MCP_CLIENT], require: true } } as never });
});
afterAll(async () => {
  await broker.close();
  await strict.close();
  await idp.close();
});

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

interface Row {
  name: string;
  token: () => Promise<string | undefined>;
  body?: Record<string, unknown>;
  status: number;
  code: string;
  strict?: boolean;
}

const rows: Row[] = [
  { name: 'no token at all', token: async () => undefined, status: 401, code: 'ERR_CA_TOKEN_MISSING' },
  {
    name: 'not a JWT',
    token: async () => 'definitely-not-a-jwt',
    status: 401,
    code: 'ERR_CA_TOKEN_MALFORMED',
  },
  {
    name: 'alg none, no signature',
    token: async () => `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims(idp))}.`,
    status: 401,
    code: 'ERR_CA_TOKEN_ALGORITHM',
  },
  {
    name: 'HS256 signed with the IdP public key as secret (key confusion)',
    token: async () => {
      const jwk = idp.publicJwk('rs1');
      const input = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: 'rs1' })}.${b64(claims(idp))}`;
      const sig = createHmac('sha256', JSON.stringify(jwk)).update(input).digest('base64url');
      return `${input}.${sig}`;
    },
    status: 401,
    code: 'ERR_CA_TOKEN_ALGORITHM',
  },
  {
    name: 'HS256 signed with the raw Ed25519 public key',
    token: async () => {
      const x = Buffer.from(idp.publicJwk('ed1').x!, 'base64url');
      const input = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: 'ed1' })}.${b64(claims(idp))}`;
      return `${input}.${createHmac('sha256', x).update(input).digest('base64url')}`;
    },
    status: 401,
    code: 'ERR_CA_TOKEN_ALGORITHM',
  },
  {
    name: 'signature of another key under a published kid',
    token: async () => {
      const good = await idp.sign(claims(idp), { kid: 'unpublished' });
      const [, payload, sig] = good.split('.');
      return `${b64({ alg: 'EdDSA', typ: 'at+jwt', kid: 'ed1' })}.${payload}.${sig}`;
    },
    status: 401,
    code: 'ERR_CA_TOKEN_SIGNATURE',
  },
  {
    name: 'payload changed after signing (role escalation)',
    token: async () => {
      const [h, , s] = (await idp.sign(claims(idp))).split('.');
      return `${h}.${b64(claims(idp, { net_role: 'net-admin' }))}.${s}`;
    },
    status: 401,
    code: 'ERR_CA_TOKEN_SIGNATURE',
  },
  {
    name: 'typed JWT instead of at+jwt (RFC 9068 section 4)',
    token: () => idp.sign(claims(idp), { typ: 'JWT' }),
    status: 401,
    code: 'ERR_CA_TOKEN_TYPE',
  },
  {
    name: 'typed application/jwt, the media type of any JWT',
    token: () => idp.sign(claims(idp), { typ: 'application/jwt' }),
    status: 401,
    code: 'ERR_CA_TOKEN_TYPE',
  },
  {
    name: 'expired',
    token: () => idp.sign(claims(idp, { iat: now() - 600, exp: now() - 60 })),
    status: 401,
    code: 'ERR_CA_TOKEN_EXPIRED',
  },
  {
    name: 'no exp at all',
    token: () => idp.sign(claims(idp, { exp: undefined })),
    status: 401,
    code: 'ERR_CA_TOKEN_CLAIMS',
  },
  {
    name: 'not-before in the future (beyond skew)',
    token: () => idp.sign(claims(idp, { nbf: now() + 120 })),
    status: 401,
    code: 'ERR_CA_TOKEN_NOT_YET_VALID',
  },
  {
    name: 'wrong audience (a token for the MCP server replayed here)',
    token: () => idp.sign(claims(idp, { aud: 'netward-mcp-server' })),
    status: 401,
    code: 'ERR_CA_TOKEN_AUDIENCE',
  },
  {
    name: 'wrong issuer',
    token: () => idp.sign(claims(idp, { iss: 'https://evil.example/realms/netward' })),
    status: 401,
    code: 'ERR_CA_TOKEN_ISSUER',
  },
  {
    name: 'unknown key id (not in the JWKS even after refetch)',
    token: () => idp.sign(claims(idp), { kid: 'unpublished' }),
    status: 401,
    code: 'ERR_CA_TOKEN_UNKNOWN_KEY',
  },
  {
    name: 'missing role claim',
    token: () => idp.sign(claims(idp, { net_role: undefined })),
    status: 401,
    code: 'ERR_CA_TOKEN_CLAIMS',
  },
  {
    name: 'missing sid claim',
    token: () => idp.sign(claims(idp, { sid: undefined })),
    status: 401,
    code: 'ERR_CA_TOKEN_CLAIMS',
  },
  {
    name: 'user name that would forge a Key ID (comma and equals)',
    token: () => idp.sign(claims(idp, { preferred_username: 'bob,user=alice' })),
    status: 401,
    code: 'ERR_CA_TOKEN_CLAIMS',
  },
  {
    name: 'actor not on the allowlist',
    token: () => idp.sign(claims(idp, { act: { sub: 'rogue-agent' } })),
    status: 403,
    code: 'ERR_CA_ACTOR_NOT_ALLOWED',
  },
  {
    name: 'act that is not an object',
    token: () => idp.sign(claims(idp, { act: MCP_CLIENT })),
    status: 403,
    code: 'ERR_CA_ACTOR_NOT_ALLOWED',
  },
  {
    name: 'no actor while the broker requires one',
    token: () => idp.sign(claims(idp, { act: undefined })),
    status: 403,
    code: 'ERR_CA_ACTOR_REQUIRED',
    strict: true,
  },
  {
    name: 'requested role differs from the token role',
    token: () => idp.sign(claims(idp)),
    body: { role: 'net-admin' },
    status: 403,
    code: 'ERR_CA_ROLE_MISMATCH',
  },
  {
    name: 'role not in the policy',
    token: () => idp.sign(claims(idp, { net_role: 'domain-admin' })),
    status: 403,
    code: 'ERR_CA_ROLE_NOT_PERMITTED',
  },
];

describe('token attacks', () => {
  for (const row of rows) {
    it(`${row.name} → ${row.status} ${row.code}`, async () => {
      const target = row.strict ? strict : broker;
      const before = target.audit.lines.length;
      const token = await row.token();
      const res = await signRequest(target.app, token, row.body);
      expect(res.statusCode).toBe(row.status);
      const body = res.json();
      expect(body).toEqual({ error: { code: row.code, message: expect.any(String) } });
      expect(res.body).not.toMatch(/cert-v01|AAAA/);
      if (row.status === 401) {
        expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="netward-ca-broker"/);
        if (row.code !== 'ERR_CA_TOKEN_MISSING')
          expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
      }
      const lines = target.audit.lines.slice(before);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ decision: 'refused', code: row.code, http_status: row.status });
      expect(lines[0]!['cert_serial']).toBeUndefined();
      if (token)
        expect(target.audit.raw.slice(before).join('\n')).not.toContain(token.split('.')[2] || token);
    });
  }

  it('the same token passes when nothing is wrong with it (the table is not vacuous)', async () => {
    const res = await signRequest(broker.app, await idp.sign(claims(idp)), { role: 'net-operator' });
    expect(res.statusCode).toBe(200);
    const res2 = await signRequest(strict.app, await idp.sign(claims(idp)));
    expect(res2.statusCode).toBe(200);
    for (const alg of ['ES256', 'RS256', 'PS256'] as const) {
      const kid = { ES256: 'es1', RS256: 'rs1', PS256: 'ps1' }[alg];
      const r = await signRequest(broker.app, await idp.sign(claims(idp), { alg, kid }));
      expect(r.statusCode, alg).toBe(200);
    }
  });

  it('fetches a key published after start on an unknown kid', async () => {
    const fetchesBefore = idp.fetches;
    await idp.addKey('rotated', true);
    const fresh = startBroker(idp, { token: { jwksCooldownSeconds: 0 } as never });
    try {
      expect((await signRequest(fresh.app, await idp.sign(claims(idp)))).statusCode).toBe(200);
      await idp.addKey('rotated-2', true);
      expect(
        (await signRequest(fresh.app, await idp.sign(claims(idp), { kid: 'rotated-2' }))).statusCode,
      ).toBe(200);
      expect(idp.fetches - fetchesBefore).toBe(2);
      // a known kid does not refetch
      expect((await signRequest(fresh.app, await idp.sign(claims(idp)))).statusCode).toBe(200);
      expect(idp.fetches - fetchesBefore).toBe(2);
    } finally {
      await fresh.close();
    }
  });

  it('answers 503 (not 401) when the IdP keys cannot be fetched', async () => {
    const fresh = startBroker(idp);
    idp.setDown(true);
    try {
      const res = await signRequest(fresh.app, await idp.sign(claims(idp)));
      expect(res.statusCode).toBe(503);
      expect(res.json().error.code).toBe('ERR_CA_JWKS_UNAVAILABLE');
      expect((await fresh.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    } finally {
      idp.setDown(false);
      await fresh.close();
    }
  });
});
