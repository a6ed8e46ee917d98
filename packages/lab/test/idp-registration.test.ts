import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIdpConfig } from '../src/idp/config.ts';
import { exchangeToken, loginWithPkce } from '../src/idp/login.ts';
import { type RunningIdp, startIdp } from '../src/idp/server.ts';
import { captureLogger, idpFixture, PASSWORDS } from './helpers.ts';

// MCP clients that log in by themselves: the IdP's discovery document, RFC 7591 registration for
// public clients only, and a registered client's login giving a token for the MCP server (RFC 8707)
// that the MCP server can exchange. The headless-browser login through real MCP clients is in
// test/lab (it needs the MCP server's protected resource metadata).
describe('lab IdP: clients that register themselves', () => {
  let fixture: Awaited<ReturnType<typeof idpFixture>>;
  let idp: RunningIdp;
  let reg: string;

  const register = (metadata: Record<string, unknown>) =>
    fetch(reg, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(metadata),
    });
  const publicClient = {
    client_name: 'an MCP client',
    // What MCP clients copy from the protected resource metadata's scopes_supported.
    scope: 'mcp:ctrl-plane:read mcp:diag:run mcp:config:read mcp:config:write',
    redirect_uris: ['http://127.0.0.1:33418/oauth/callback'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  };

  beforeAll(async () => {
    fixture = await idpFixture();
    idp = await startIdp(fixture.config, { logger: captureLogger('idp').logger });
    const discovery = (await (
      await fetch(`${fixture.config.issuer}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    reg = String(discovery['registration_endpoint']);
  });
  afterAll(async () => {
    await idp?.close();
    fixture?.cleanup();
  });

  it('advertises registration, metadata documents, PKCE S256 and the code flow only (no implicit)', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      const res = await fetch(`${fixture.config.issuer}${path}`);
      expect(res.status, path).toBe(200);
      const d = (await res.json()) as Record<string, unknown>;
      expect(d['registration_endpoint'], path).toBe(`${fixture.config.issuer}/reg`);
      expect(d['client_id_metadata_document_supported'], path).toBe(true);
      expect(d['code_challenge_methods_supported'], path).toEqual(['S256']);
      expect(d['response_types_supported'], path).toEqual(['code']);
      expect(d['grant_types_supported'], path).not.toContain('implicit');
      expect(d['grant_types_supported'], path).toContain('authorization_code');
      expect(d['token_endpoint_auth_methods_supported'], path).toContain('none');
    }
  });

  /** bob's PKCE login through a client registered as `publicClient`. */
  const bobThrough = (client: Record<string, unknown>, resource: string, scope: string) =>
    loginAs(fixture, String(client['client_id']), publicClient.redirect_uris[0]!, resource, scope, 'bob');

  it('registers a public client (RFC 7591) that logs in with PKCE for the MCP server, and whose token the MCP server can exchange', async () => {
    const res = await register(publicClient);
    expect(res.status).toBe(201);
    const client = (await res.json()) as Record<string, unknown>;
    expect(client['client_id']).toEqual(expect.any(String));
    expect(client['client_secret']).toBeUndefined();
    expect(client['token_endpoint_auth_method']).toBe('none');

    const login = await bobThrough(
      client,
      fixture.config.mcp.resource,
      'openid mcp:ctrl-plane:read mcp:diag:run',
    );
    const jwks = createRemoteJWKSet(new URL(`${fixture.config.issuer}/jwks`));
    const { payload } = await jwtVerify(login.accessToken, jwks, {
      issuer: fixture.config.issuer,
      audience: fixture.config.mcp.resource,
      typ: 'at+jwt',
    });
    expect(payload).toMatchObject({ client_id: client['client_id'], net_role: 'net-operator', sub: 'bob' });

    const exchanged = await exchangeForBroker(fixture, login.accessToken);
    const { payload: broker } = await jwtVerify(exchanged.accessToken, jwks, {
      issuer: fixture.config.issuer,
      audience: fixture.config.broker.audience,
    });
    expect(broker).toMatchObject({ sub: 'bob', act: { sub: 'netward-mcp-server' } });
    expect(broker.jti).toEqual(expect.any(String));
  });

  it('gives a registered client no token for any other resource (RFC 8707)', async () => {
    const client = (await (await register(publicClient)).json()) as Record<string, unknown>;
    await expect(
      bobThrough(client, fixture.config.broker.audience, 'openid mcp:ctrl-plane:read'),
    ).rejects.toMatchObject({ code: 'ERR_LAB_LOGIN', message: /invalid_target/ });
  });

  it.each([
    ['a confidential client', { token_endpoint_auth_method: 'client_secret_basic' }, /public clients/],
    ['the implicit grant', { grant_types: ['implicit'], response_types: ['id_token'] }, /./],
    ['the token exchange grant', { grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange'] }, /./],
    ['client credentials', { grant_types: ['client_credentials'], response_types: [] }, /./],
    ['a plain-http redirect off loopback', { redirect_uris: ['http://evil.example/cb'] }, /./],
    ['a redirect with a fragment', { redirect_uris: ['https://app.example/cb#x'] }, /./],
    ['an unknown scope', { scope: 'mcp:ctrl-plane:read admin:everything' }, /scope/],
  ])(
    'refuses to register %s with invalid_client_metadata (RFC 7591 section 3.2.2)',
    async (_what, over, why) => {
      const res = await register({ ...publicClient, ...over });
      expect(res.status).toBe(400);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body['error']).toMatch(/invalid_client_metadata|invalid_redirect_uri/);
      expect(String(body['error_description'])).toMatch(why);
    },
  );

  it("lets the login page's form redirect to the client (CSP form-action names its origin)", async () => {
    const client = (await (await register(publicClient)).json()) as Record<string, unknown>;
    const url = new URL(`${fixture.config.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: String(client['client_id']),
      redirect_uri: publicClient.redirect_uris[0]!,
      response_type: 'code',
      scope: 'openid mcp:ctrl-plane:read',
      resource: fixture.config.mcp.resource,
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    }).toString();
    const start = await fetch(url, { redirect: 'manual' });
    expect(start.status).toBe(303);
    const cookie = start.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const login = await fetch(new URL(start.headers.get('location')!, fixture.config.issuer), {
      headers: { cookie },
    });
    expect(login.status).toBe(200);
    expect(login.headers.get('content-security-policy')).toBe(
      "default-src 'none'; form-action 'self' http://127.0.0.1:33418",
    );
  });

  it('refuses a metadata-document client whose document sits on a loopback address (SSRF protection)', async () => {
    const clientId = 'https://127.0.0.1:9/client.json';
    const url = new URL(`${fixture.config.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: clientId,
      redirect_uri: 'https://127.0.0.1:9/cb',
      response_type: 'code',
      scope: 'openid',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    }).toString();
    const res = await fetch(url, { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/invalid_client/);
  });
});

// The 2026-07-28 revision's way: the client_id is an https URL whose document describes the client.
// The document is served here over TLS from 127.0.0.1, an origin the IdP is configured to trust
// (otherwise its SSRF protection refuses loopback, as the test above shows).
describe('lab IdP: a Client ID Metadata Document client', () => {
  let fixture: Awaited<ReturnType<typeof idpFixture>>;
  let idp: RunningIdp;
  let docs: Server;
  let clientId: string;
  let fetched = 0;
  const redirect = 'http://127.0.0.1:33419/oauth/callback';

  beforeAll(async () => {
    fixture = await idpFixture();
    const key = join(fixture.dir, 'docs.key');
    const cert = join(fixture.dir, 'docs.crt');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    docs = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
      fetched++;
      if (req.url !== '/clients/agent.json') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' });
      res.end(
        JSON.stringify({
          client_id: clientId,
          client_name: 'an MCP client of the 2026-07-28 revision',
          redirect_uris: [redirect],
          grant_types: ['authorization_code'],
          response_types: ['code'],
          token_endpoint_auth_method: 'none',
        }),
      );
    });
    await new Promise<void>((r) => docs.listen(0, '127.0.0.1', r));
    const origin = `https://127.0.0.1:${(docs.address() as AddressInfo).port}`;
    clientId = `${origin}/clients/agent.json`;
    const config = parseIdpConfig({
      ...fixture.config,
      clientMetadataDocuments: { trustedOrigins: [origin], caFile: cert },
    });
    idp = await startIdp(config, { logger: captureLogger('idp').logger });
  });
  afterAll(async () => {
    await idp?.close();
    docs?.close();
    fixture?.cleanup();
  });

  it('logs in with the document URL as client_id, and the token is for the MCP server and exchangeable', async () => {
    const login = await loginAs(
      fixture,
      clientId,
      redirect,
      fixture.config.mcp.resource,
      'openid mcp:ctrl-plane:read',
      'alice',
    );
    expect(fetched).toBeGreaterThan(0);
    const jwks = createRemoteJWKSet(new URL(`${fixture.config.issuer}/jwks`));
    const { payload } = await jwtVerify(login.accessToken, jwks, {
      issuer: fixture.config.issuer,
      audience: fixture.config.mcp.resource,
    });
    expect(payload).toMatchObject({ client_id: clientId, sub: 'alice', scope: 'mcp:ctrl-plane:read' });
    const exchanged = await exchangeForBroker(fixture, login.accessToken);
    expect(exchanged.accessToken).toMatch(/^ey/);
  });

  it('refuses a redirect URI the document does not list', async () => {
    await expect(
      loginAs(
        fixture,
        clientId,
        'http://127.0.0.1:33419/elsewhere',
        fixture.config.mcp.resource,
        'openid mcp:ctrl-plane:read',
        'alice',
      ),
    ).rejects.toMatchObject({ code: 'ERR_LAB_LOGIN' });
  });
});

/** `user` logs in with PKCE through `clientId` at the fixture's IdP (with the user's password). */
function loginAs(
  fixture: Awaited<ReturnType<typeof idpFixture>>,
  clientId: string,
  redirectUri: string,
  resource: string,
  scope: string,
  user: keyof typeof PASSWORDS,
) {
  const issuer = fixture.config.issuer;
  return loginWithPkce({
    issuer,
    clientId,
    redirectUri,
    resource,
    scope,
    username: user,
    password: PASSWORDS[user],
  });
}

/** The MCP server's exchange of a user's token for one the CA broker accepts (RFC 8693). */
function exchangeForBroker(fixture: Awaited<ReturnType<typeof idpFixture>>, subjectToken: string) {
  return exchangeToken({
    tokenEndpoint: `${fixture.config.issuer}/token`,
    clientId: 'netward-mcp-server',
    clientSecret: fixture.secret,
    subjectToken,
    audience: fixture.config.broker.audience,
  });
}
