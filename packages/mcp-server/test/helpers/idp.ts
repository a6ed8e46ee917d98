/**
 * A small stand-in for the identity provider, for this package's tests only (the real lab IdP is
 * oidc-provider in @netward/lab, which depends on this package, so it is exercised in test/):
 * JWKS, OpenID discovery, and an RFC 8693 token endpoint that checks client_secret_basic, the form
 * parameters and the subject token, and issues broker-audience tokens with `act`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CryptoKey,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';

export const CLIENT_ID = 'netward-mcp-server';
export const CLIENT_SECRET = 'test-client-secret with spaces:and+colons';
export const BROKER_AUDIENCE = 'netward-ca-broker';

/** `no-actor`: issue the broker token without `act` (an IdP that cannot name the actor). */
export type ExchangeMode = 'ok' | 'refuse' | 'error500' | 'hang' | 'no-actor' | 'forbid';

export interface ExchangeRecord {
  readonly authorization: string | undefined;
  readonly params: Record<string, string>;
}

export interface TestIdp {
  readonly issuer: string;
  readonly jwksUri: string;
  readonly tokenEndpoint: string;
  /** Kid of the signing key. */
  readonly kid: string;
  exchangeMode: ExchangeMode;
  readonly exchanges: ExchangeRecord[];
  /** Issued broker tokens (to prove the caller's token never reaches the broker). */
  readonly issued: string[];
  /** An access token for the MCP server; `claims` override/remove (undefined) the defaults. */
  mint(
    claims?: Record<string, unknown>,
    opts?: { expiresIn?: number | string; typ?: string },
  ): Promise<string>;
  /** Verifies a broker-audience token as the broker would. */
  verifyBrokerToken(token: string): Promise<JWTPayload>;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  close(): Promise<void>;
}

export const ROLE_SCOPES: Record<string, string> = {
  'net-viewer': 'mcp:ctrl-plane:read',
  'net-operator': 'mcp:ctrl-plane:read mcp:diag:run',
  'net-admin': 'mcp:ctrl-plane:read mcp:diag:run mcp:config:read mcp:config:write',
};

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startIdp(audience: () => string): Promise<TestIdp> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const kid = 'test-key-1';
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  const jwks = createLocalJWKSet({ keys: [publicJwk] });
  let base = '';
  const exchanges: ExchangeRecord[] = [];
  const issued: string[] = [];
  const hanging = new Set<import('node:http').ServerResponse>();

  const state = { exchangeMode: 'ok' as ExchangeMode };

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', base);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration') {
      return json(200, { issuer: base, jwks_uri: `${base}/jwks`, token_endpoint: `${base}/token` });
    }
    if (req.method === 'GET' && url.pathname === '/jwks') return json(200, { keys: [publicJwk] });
    if (req.method === 'POST' && url.pathname === '/token') {
      const params = Object.fromEntries(new URLSearchParams(await readBody(req)));
      exchanges.push({ authorization: req.headers.authorization, params });
      if (state.exchangeMode === 'hang') {
        hanging.add(res);
        return;
      }
      if (state.exchangeMode === 'error500') return json(500, { error: 'server_error' });
      const expected = `Basic ${Buffer.from(
        `${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET).replace(/%20/g, '+')}`,
      ).toString('base64')}`;
      if (req.headers.authorization !== expected) return json(401, { error: 'invalid_client' });
      if (state.exchangeMode === 'refuse') return json(400, { error: 'invalid_grant' });
      if (state.exchangeMode === 'forbid') return json(400, { error: 'unauthorized_client' });
      if (
        params['grant_type'] !== 'urn:ietf:params:oauth:grant-type:token-exchange' ||
        params['subject_token_type'] !== 'urn:ietf:params:oauth:token-type:access_token' ||
        params['audience'] !== BROKER_AUDIENCE
      ) {
        return json(400, { error: 'invalid_request' });
      }
      let subject: JWTPayload;
      try {
        ({ payload: subject } = await jwtVerify(params['subject_token'] ?? '', jwks, {
          issuer: base,
          audience: audience(),
        }));
      } catch {
        return json(400, { error: 'invalid_grant' });
      }
      const token = await new SignJWT({
        sub: subject.sub ?? '',
        preferred_username: subject['preferred_username'],
        sid: subject['sid'],
        net_role: subject['net_role'],
        scope: subject['scope'],
        client_id: CLIENT_ID,
        ...(state.exchangeMode === 'no-actor' ? {} : { act: { sub: CLIENT_ID } }),
      })
        .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' })
        .setIssuer(base)
        .setAudience(BROKER_AUDIENCE)
        .setIssuedAt()
        // Like oidc-provider and Keycloak: every exchanged token has its own id (the broker requires one).
        .setJti(randomUUID())
        .setExpirationTime('60s')
        .sign(privateKey);
      issued.push(token);
      return json(200, {
        access_token: token,
        issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        token_type: 'Bearer',
        expires_in: 60,
      });
    }
    json(404, { error: 'not_found' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer: base,
    jwksUri: `${base}/jwks`,
    tokenEndpoint: `${base}/token`,
    kid,
    get exchangeMode() {
      return state.exchangeMode;
    },
    set exchangeMode(m: ExchangeMode) {
      state.exchangeMode = m;
    },
    exchanges,
    issued,
    privateKey: privateKey as CryptoKey,
    publicJwk,
    async mint(claims = {}, opts = {}) {
      const role = typeof claims['net_role'] === 'string' ? claims['net_role'] : 'net-operator';
      const payload: Record<string, unknown> = {
        sub: 'bob',
        preferred_username: 'bob',
        sid: 'fd9e4bdc77df2fa8',
        net_role: role,
        scope: ROLE_SCOPES[role] ?? '',
        client_id: 'agent-cli',
      };
      for (const [k, v] of Object.entries(claims)) {
        if (v === undefined) delete payload[k];
        else payload[k] = v;
      }
      return new SignJWT(payload as JWTPayload)
        .setProtectedHeader({ alg: 'EdDSA', kid, typ: opts.typ ?? 'at+jwt' })
        .setIssuer(base)
        .setAudience(audience())
        .setIssuedAt()
        .setExpirationTime(opts.expiresIn ?? '5m')
        .sign(privateKey);
    },
    async verifyBrokerToken(token) {
      const { payload } = await jwtVerify(token, jwks, { issuer: base, audience: BROKER_AUDIENCE });
      return payload;
    },
    async close() {
      for (const r of hanging) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
