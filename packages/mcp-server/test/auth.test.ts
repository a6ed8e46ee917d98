/**
 * The resource server half of the MCP authorization spec (2025-11-25): protected resource metadata
 * (RFC 9728), the exact 401/403 challenges, Host/Origin checks, and a table of token attacks.
 * Uses fastify's inject(): no socket needed.
 */
import { createHmac, generateKeyPairSync } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, type LogCapture, startHarness } from './helpers/harness.ts';
import { BROKER_AUDIENCE, CLIENT_ID, CLIENT_SECRET } from './helpers/idp.ts';

let h: Harness;
let app: FastifyInstance;
let logs: LogCapture;
let host: string;
let metadataUrl: string;

beforeAll(async () => {
  h = await startHarness();
  ({ app, logs } = await h.app());
  host = `127.0.0.1:${h.port}`;
  metadataUrl = `http://${host}/.well-known/oauth-protected-resource/mcp`;
}, 30_000);

afterAll(async () => {
  await app?.close();
  await h?.close();
});

const rpc = (method: string, params: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  id: 1,
  method,
  params,
});

/** A POST /mcp as an MCP client sends it, to `target` (default: the suite's app), with a raw payload. */
function postRaw(payload: string, headers: Record<string, string> = {}, target: FastifyInstance = app) {
  return target.inject({
    method: 'POST',
    url: '/mcp',
    headers: {
      host,
      accept: 'application/json, text/event-stream',
      'content-type': 'application/json',
      ...headers,
    },
    payload,
  });
}

const post = (body: unknown, headers: Record<string, string> = {}) => postRaw(JSON.stringify(body), headers);

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

function b64url(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

/** Signs with the IdP's real key, every registered claim under the test's control. */
function signed(payload: Record<string, unknown>, header: Record<string, unknown> = {}) {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'EdDSA', kid: h.idp.kid, typ: 'at+jwt', ...header })
    .sign(h.idp.privateKey);
}

function baseClaims(over: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: h.idp.issuer,
    aud: h.publicUrl,
    sub: 'bob',
    preferred_username: 'bob',
    sid: 'fd9e4bdc77df2fa8',
    net_role: 'net-operator',
    scope: 'mcp:ctrl-plane:read mcp:diag:run',
    iat: now,
    exp: now + 300,
    ...over,
  };
}

describe('liveness', () => {
  it('GET /healthz answers without a token, behind the Host check', async () => {
    const ok = await app.inject({ method: 'GET', url: '/healthz', headers: { host } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ status: 'ok' });
    const rebound = await app.inject({ method: 'GET', url: '/healthz', headers: { host: 'evil.example' } });
    expect(rebound.statusCode).toBe(403);
  });
});

describe('protected resource metadata (RFC 9728)', () => {
  for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp']) {
    it(`serves ${path}`, async () => {
      const res = await app.inject({ method: 'GET', url: path, headers: { host } });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.resource).toBe(h.publicUrl);
      expect(body.authorization_servers).toEqual([h.idp.issuer]);
      expect(body.bearer_methods_supported).toEqual(['header']);
      expect(body.scopes_supported).toEqual(
        expect.arrayContaining([
          'mcp:ctrl-plane:read',
          'mcp:diag:run',
          'mcp:config:read',
          'mcp:config:write',
        ]),
      );
    });
  }
});

describe('challenges', () => {
  it('401 without a token: resource_metadata and scope, no error code (RFC 6750 3.1)', async () => {
    const res = await post(rpc('tools/list'));
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe(
      `Bearer resource_metadata="${metadataUrl}", scope="mcp:ctrl-plane:read"`,
    );
  });

  it('401 invalid_token for a bad token', async () => {
    const res = await post(rpc('tools/list'), bearer('not.a.jwt'));
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe(
      `Bearer error="invalid_token", resource_metadata="${metadataUrl}", scope="mcp:ctrl-plane:read", ` +
        'error_description="the access token is invalid, expired or not for this server"',
    );
    expect(res.json().error).toBe('ERR_MCP_TOKEN_INVALID');
  });

  it('403 insufficient_scope naming the scope a called tool needs', async () => {
    const token = await h.idp.mint({ net_role: 'net-viewer' });
    const res = await post(
      rpc('tools/call', { name: 'ping', arguments: { device: 'device-1', destination: '10.0.0.1' } }),
      bearer(token),
    );
    expect(res.statusCode).toBe(403);
    expect(res.headers['www-authenticate']).toBe(
      `Bearer error="insufficient_scope", resource_metadata="${metadataUrl}", scope="mcp:diag:run", ` +
        'error_description="this tool needs another scope"',
    );
  });

  it('answers 405 to GET and DELETE (stateless: no stream, no session)', async () => {
    for (const method of ['GET', 'DELETE'] as const) {
      const res = await app.inject({ method, url: '/mcp', headers: { host } });
      expect(res.statusCode).toBe(405);
    }
  });
});

describe('RFC 6750 edges', () => {
  const missing = () => `Bearer resource_metadata="${metadataUrl}", scope="mcp:ctrl-plane:read"`;
  const invalidRequest = () =>
    `Bearer error="invalid_request", resource_metadata="${metadataUrl}", scope="mcp:ctrl-plane:read", ` +
    'error_description="send exactly one Authorization: Bearer header"';

  it('two Authorization headers: 400 invalid_request, even when both carry a good token', async () => {
    const token = await signed(baseClaims());
    for (const second of [`Bearer ${token}`, 'Bearer x.y.z', 'Basic Ym9iOmJvYg==']) {
      const res = await post(rpc('tools/list'), {
        // light-my-request sends each array entry as its own header line.
        authorization: [`Bearer ${token}`, second] as unknown as string,
      });
      expect(res.statusCode).toBe(400);
      expect(res.headers['www-authenticate']).toBe(invalidRequest());
      expect(res.json().error).toBe('ERR_MCP_AUTH_REQUEST');
    }
  });

  it('an empty or malformed Bearer credential: 400 invalid_request (section 2.1 syntax)', async () => {
    for (const header of ['Bearer', 'Bearer ', 'Bearer    ', 'Bearer a b', 'Bearer a"b']) {
      const res = await post(rpc('tools/list'), { authorization: header });
      expect(res.statusCode, header).toBe(400);
      expect(res.headers['www-authenticate']).toBe(invalidRequest());
    }
  });

  it('another scheme (Basic, Digest, DPoP): 401 without an error code, like no credentials', async () => {
    for (const header of ['Basic Ym9iOmJvYg==', 'Digest username="bob"', 'DPoP abc', 'Bearerx abc']) {
      const res = await post(rpc('tools/list'), { authorization: header });
      expect(res.statusCode, header).toBe(401);
      expect(res.headers['www-authenticate']).toBe(missing());
      expect(res.json().error).toBe('ERR_MCP_TOKEN_MISSING');
    }
  });
});

describe('RFC 9068 section 4: typ', () => {
  for (const typ of ['JWT', 'jwt', 'JOSE', 'application/jwt', 'at+jwt+x', undefined]) {
    it(`refuses a token typed ${String(typ)}`, async () => {
      const token = await new SignJWT(baseClaims())
        .setProtectedHeader({ alg: 'EdDSA', kid: h.idp.kid, ...(typ === undefined ? {} : { typ }) })
        .sign(h.idp.privateKey);
      const res = await post(rpc('tools/list'), bearer(token));
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
    });
  }
  for (const typ of ['at+jwt', 'AT+JWT', 'application/at+jwt']) {
    it(`accepts ${typ}`, async () => {
      const res = await post(rpc('tools/list'), bearer(await signed(baseClaims(), { typ })));
      expect(res.statusCode).toBe(200);
    });
  }
});

describe('JSON-RPC edges', () => {
  const raw = async (payload: string, headers: Record<string, string> = {}) =>
    postRaw(payload, { ...bearer(await signed(baseClaims())), ...headers });

  it('invalid JSON: a JSON-RPC parse error (-32700), not a framework body', async () => {
    for (const payload of ['{', '{"jsonrpc":"2.0",', 'null x', '', '\u0000']) {
      const res = await raw(payload);
      expect(res.statusCode, payload).toBe(400);
      expect(res.json()).toEqual({
        jsonrpc: '2.0',
        id: null,
        error: { code: -32700, message: 'Parse error' },
      });
    }
  });

  it('refuses batches whole (MCP 2025-06-18 removed them): nothing runs, one refusal logged', async () => {
    const call = { jsonrpc: '2.0', method: 'tools/call', params: { name: 'list_devices', arguments: {} } };
    const batch = Array.from({ length: 5 }, (_, i) => ({ ...call, id: i + 1 }));
    const before = logs.lines.length;
    for (const body of [batch, [], [rpc('tools/list')]]) {
      const res = await raw(JSON.stringify(body));
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({
        jsonrpc: '2.0',
        id: null,
        error: { code: -32600, message: 'JSON-RPC batches are not supported' },
      });
    }
    const events = logs.lines.slice(before).map((l) => l['event']);
    expect(events).not.toContain('tool_call_start');
    expect(events.filter((e) => e === 'request_refused')).toHaveLength(3);
  });

  it('a body that is not a JSON object is an invalid request (-32600)', async () => {
    for (const payload of ['1', '"tools/list"', 'null', 'true']) {
      const res = await raw(payload);
      expect(res.statusCode, payload).toBe(400);
      expect(res.json().error.code).toBe(-32600);
    }
  });

  it('another media type: 415 with a JSON-RPC error', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx']) {
      const res = await raw(JSON.stringify(rpc('tools/list')), { 'content-type': type });
      expect(res.statusCode, type).toBe(415);
      expect(res.json().error.code).toBe(-32600);
    }
  });

  it('a body over limits.maxBodyBytes: 413 with a JSON-RPC error', async () => {
    const res = await raw(JSON.stringify({ ...rpc('tools/list'), pad: 'x'.repeat(300_000) }));
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe(-32600);
  });
});

describe('revision 2026-07-28 on the wire', () => {
  const meta = (version: string) => ({
    'io.modelcontextprotocol/protocolVersion': version,
    'io.modelcontextprotocol/clientInfo': { name: 'wire-test', version: '1' },
    'io.modelcontextprotocol/clientCapabilities': {},
  });
  const modern = async (method: string, version = '2026-07-28') =>
    post(
      { jsonrpc: '2.0', id: 7, method, params: { _meta: meta(version) } },
      {
        ...bearer(await h.idp.mint({ net_role: 'net-viewer' })),
        'mcp-protocol-version': version,
        'mcp-method': method,
      },
    );

  it('server/discover offers 2026-07-28; no session is created', async () => {
    const res = await modern('server/discover');
    expect(res.statusCode).toBe(200);
    expect(res.headers['mcp-session-id']).toBeUndefined();
    expect(res.json().result.supportedVersions).toContain('2026-07-28');
  });

  it('the scope-filtered tools/list is never cacheable across callers (cacheScope private)', async () => {
    const res = await modern('tools/list');
    const result = res.json().result;
    expect(result.cacheScope).toBe('private');
    expect(result.tools.map((t: { name: string }) => t.name)).not.toContain('ping');
  });

  it('an unknown revision gets -32022 naming the supported one', async () => {
    const res = await modern('tools/list', '2099-01-01');
    expect(res.json().error).toMatchObject({ code: -32022, data: { supported: ['2026-07-28'] } });
  });

  it('a 2025 client still initializes (2025-06-18 and 2025-11-25)', async () => {
    for (const protocolVersion of ['2025-06-18', '2025-11-25']) {
      const res = await post(
        rpc('initialize', { protocolVersion, capabilities: {}, clientInfo: { name: 'old', version: '1' } }),
        bearer(await h.idp.mint({ net_role: 'net-viewer' })),
      );
      expect(res.statusCode).toBe(200);
      expect(res.json().result.protocolVersion).toBe(protocolVersion);
      expect(res.headers['mcp-session-id']).toBeUndefined();
    }
  });
});

describe('DNS rebinding protection', () => {
  it('refuses a foreign Host', async () => {
    const token = await h.idp.mint();
    const res = await post(rpc('tools/list'), { ...bearer(token), host: 'evil.example:80' });
    expect(res.statusCode).toBe(403);
    const meta = await app.inject({
      method: 'GET',
      url: '/.well-known/oauth-protected-resource',
      headers: { host: 'evil.example' },
    });
    expect(meta.statusCode).toBe(403);
  });

  it('refuses a foreign Origin and accepts its own', async () => {
    const token = await h.idp.mint();
    expect(
      (await post(rpc('tools/list'), { ...bearer(token), origin: 'http://evil.example' })).statusCode,
    ).toBe(403);
    expect((await post(rpc('tools/list'), { ...bearer(token), origin: `http://${host}` })).statusCode).toBe(
      200,
    );
  });
});

describe('token attacks', () => {
  const cases: [string, () => Promise<string>][] = [
    ['alg none', async () => `${b64url({ alg: 'none', typ: 'at+jwt' })}.${b64url(baseClaims())}.`],
    [
      'HMAC signed with the public key as secret',
      async () => {
        const header = b64url({ alg: 'HS256', kid: h.idp.kid, typ: 'at+jwt' });
        const body = b64url(baseClaims());
        const secret = JSON.stringify(h.idp.publicJwk);
        const mac = createHmac('sha256', secret).update(`${header}.${body}`).digest('base64url');
        return `${header}.${body}.${mac}`;
      },
    ],
    [
      'HMAC signed with the raw public key bytes',
      async () => {
        const header = b64url({ alg: 'HS256', kid: h.idp.kid });
        const body = b64url(baseClaims());
        const secret = Buffer.from(String(h.idp.publicJwk.x), 'base64url');
        return `${header}.${body}.${createHmac('sha256', secret).update(`${header}.${body}`).digest('base64url')}`;
      },
    ],
    ['expired', () => signed(baseClaims({ exp: Math.floor(Date.now() / 1000) - 60 }))],
    [
      'not yet valid (nbf in the future)',
      () => signed(baseClaims({ nbf: Math.floor(Date.now() / 1000) + 3600 })),
    ],
    ['wrong audience', () => signed(baseClaims({ aud: 'http://127.0.0.1:9/mcp' }))],
    ['audience with a trailing slash', () => signed(baseClaims({ aud: `${h.publicUrl}/` }))],
    ['wrong issuer', () => signed(baseClaims({ iss: 'http://evil.example' }))],
    ['no exp', () => signed(baseClaims({ exp: undefined }))],
    [
      'unknown kid',
      async () => {
        const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
        return new SignJWT(baseClaims())
          .setProtectedHeader({ alg: 'EdDSA', kid: 'unknown' })
          .sign(privateKey);
      },
    ],
    [
      'known kid, foreign key',
      async () => {
        const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
        return new SignJWT(baseClaims())
          .setProtectedHeader({ alg: 'EdDSA', kid: h.idp.kid })
          .sign(privateKey);
      },
    ],
    [
      'embedded jwk header',
      async () => {
        const kp = generateKeyPairSync('ed25519');
        return new SignJWT(baseClaims())
          .setProtectedHeader({ alg: 'EdDSA', jwk: await exportJWK(kp.publicKey) })
          .sign(kp.privateKey);
      },
    ],
    [
      'broker-audience token from a real exchange',
      async () => {
        const subject = await h.idp.mint();
        const res = await fetch(h.idp.tokenEndpoint, {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${encodeURIComponent(CLIENT_SECRET).replace(/%20/g, '+')}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: new URLSearchParams({
            grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
            subject_token: subject,
            subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
            audience: BROKER_AUDIENCE,
          }),
        });
        const body = (await res.json()) as { access_token?: string };
        expect(body.access_token).toBeTypeOf('string');
        return body.access_token as string;
      },
    ],
    ['missing role claim', () => signed(baseClaims({ net_role: undefined }))],
    ['role unknown to the policy', () => signed(baseClaims({ net_role: 'net-root' }))],
    ['missing sid', () => signed(baseClaims({ sid: undefined }))],
    ['sid with separators', () => signed(baseClaims({ sid: 'a,user=alice' }))],
    ['user with separators', () => signed(baseClaims({ preferred_username: 'bob/cert:1' }))],
    ['truncated signature', async () => (await signed(baseClaims())).slice(0, -4)],
  ];

  for (const [name, make] of cases) {
    it(`refuses: ${name}`, async () => {
      const token = await make();
      const res = await post(rpc('tools/list'), bearer(token));
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token", resource_metadata="/);
      expect(res.json().error).toBe('ERR_MCP_TOKEN_INVALID');
      // The refused token is never written anywhere.
      expect(logs.raw.join('\n')).not.toContain(token.split('.')[1]);
    });
  }

  it('accepts a well-formed token (control case)', async () => {
    const res = await post(rpc('tools/list'), bearer(await signed(baseClaims())));
    expect(res.statusCode).toBe(200);
  });

  it('a token with no scopes sees no tools and gets 403 on a call', async () => {
    const token = await signed(baseClaims({ scope: '' }));
    const list = await post(rpc('tools/list'), bearer(token));
    expect(list.statusCode).toBe(200);
    expect(list.json().result.tools).toEqual([]);
    const call = await post(rpc('tools/call', { name: 'list_devices', arguments: {} }), bearer(token));
    expect(call.statusCode).toBe(403);
    expect(call.headers['www-authenticate']).toContain('scope="mcp:ctrl-plane:read"');
  });

  it('scopes beyond the role are ignored (a viewer token claiming admin scopes)', async () => {
    const token = await signed(
      baseClaims({ net_role: 'net-viewer', scope: 'mcp:ctrl-plane:read mcp:config:write mcp:config:read' }),
    );
    const list = await post(rpc('tools/list'), bearer(token));
    const names = list.json().result.tools.map((t: { name: string }) => t.name);
    expect(names).not.toContain('set_interface_description');
    expect(names).not.toContain('show_running_config');
    const call = await post(
      rpc('tools/call', { name: 'show_running_config', arguments: { device: 'device-1' } }),
      bearer(token),
    );
    expect(call.statusCode).toBe(403);
  });
});

describe('issuer keys', () => {
  it('discovers the JWKS from the issuer metadata when jwksUri is not configured', async () => {
    const { app: discovering } = await h.app({ jwksUri: undefined });
    try {
      const res = await postRaw(JSON.stringify(rpc('tools/list')), bearer(await h.idp.mint()), discovering);
      expect(res.statusCode).toBe(200);
    } finally {
      await discovering.close();
    }
  });

  it('answers 503, not 401 and never a pass, when the JWKS cannot be fetched', async () => {
    const { app: blind, logs: l } = await h.app({ jwksUri: 'http://127.0.0.1:1/jwks' });
    try {
      const res = await postRaw(JSON.stringify(rpc('tools/list')), bearer(await h.idp.mint()), blind);
      expect(res.statusCode).toBe(503);
      expect(res.json().error).toBe('ERR_MCP_AUTH_UNAVAILABLE');
      expect(res.headers['www-authenticate']).toBeUndefined();
      expect(l.events('auth_refused').at(-1)?.['code']).toBe('ERR_MCP_AUTH_UNAVAILABLE');
    } finally {
      await blind.close();
    }
  });
});

describe('tool filtering per role', () => {
  // Each role sees the tools of the role below it and its own.
  const viewer = ['list_devices', 'show_bgp_summary', 'show_ip_route', 'show_interfaces'];
  const operator = [...viewer, 'ping', 'traceroute'];
  const expected: Record<string, string[]> = {
    'net-viewer': viewer,
    'net-operator': operator,
    'net-admin': [...operator, 'show_running_config', 'set_interface_description'],
  };
  for (const [role, tools] of Object.entries(expected)) {
    it(`${role} sees exactly its tools`, async () => {
      const res = await post(rpc('tools/list'), bearer(await h.idp.mint({ net_role: role })));
      expect(res.statusCode).toBe(200);
      const names = res.json().result.tools.map((t: { name: string }) => t.name);
      expect(names.sort()).toEqual([...tools].sort());
    });
  }
});
