import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exchangeToken, loginWithPkce } from '../src/idp/login.ts';
import { type RunningIdp, startIdp } from '../src/idp/server.ts';
import { captureLogger, idpFixture, PASSWORDS, ROLES } from './helpers.ts';

const ALL_SCOPES = 'openid mcp:ctrl-plane:read mcp:diag:run mcp:config:read mcp:config:write';
const REDIRECT = 'http://127.0.0.1:8976/callback';

describe('lab IdP (oidc-provider, real HTTP)', () => {
  let fixture: Awaited<ReturnType<typeof idpFixture>>;
  let idp: RunningIdp;
  let lines: Record<string, unknown>[];

  const login = (username: keyof typeof PASSWORDS, password: string = PASSWORDS[username]) =>
    loginWithPkce({
      issuer: fixture.config.issuer,
      clientId: 'mcp-agent',
      redirectUri: REDIRECT,
      resource: fixture.config.mcp.resource,
      scope: ALL_SCOPES,
      username,
      password,
    });

  const exchange = (subjectToken: string, over: { clientSecret?: string; audience?: string } = {}) =>
    exchangeToken({
      tokenEndpoint: `${fixture.config.issuer}/token`,
      clientId: 'netward-mcp-server',
      clientSecret: over.clientSecret ?? fixture.secret,
      subjectToken,
      audience: over.audience ?? fixture.config.broker.audience,
    });

  beforeAll(async () => {
    fixture = await idpFixture();
    const captured = captureLogger('idp');
    lines = captured.lines;
    idp = await startIdp(fixture.config, { logger: captured.logger });
  });
  afterAll(async () => {
    await idp?.close();
    fixture?.cleanup();
  });

  it('issues an MCP-audience JWT with the role scopes, net_role, preferred_username and sid', async () => {
    const result = await login('bob');
    const jwks = createRemoteJWKSet(new URL(`${fixture.config.issuer}/jwks`));
    const { payload, protectedHeader } = await jwtVerify(result.accessToken, jwks, {
      issuer: fixture.config.issuer,
      audience: fixture.config.mcp.resource,
    });
    expect(protectedHeader.typ).toBe('at+jwt');
    expect(payload.sub).toBe('bob');
    expect(payload['preferred_username']).toBe('bob');
    expect(payload['net_role']).toBe('net-operator');
    expect(String(payload['scope']).split(' ').sort()).toEqual([...ROLES['net-operator']].sort());
    expect(payload['sid']).toMatch(/^[A-Za-z0-9_-]{16,96}$/);
    const loginLine = lines.find(
      (l) => l['event'] === 'login' && l['user'] === 'bob' && l['decision'] === 'ok',
    );
    expect(loginLine?.['sid']).toBe(payload['sid']);
    const issued = lines.find((l) => l['event'] === 'token_issued' && l['jti'] === payload.jti);
    expect(issued).toMatchObject({ user: 'bob', sid: payload['sid'], grant_type: 'authorization_code' });
    expect(JSON.stringify(lines)).not.toContain(result.accessToken);
  });

  it('grants a viewer only the read scope however much it asks for', async () => {
    const { accessToken, scope } = await login('alice');
    expect(scope).toBe('mcp:ctrl-plane:read');
    expect(decodeJwt(accessToken)['net_role']).toBe('net-viewer');
  });

  it('gives each login its own session id', async () => {
    const a = decodeJwt((await login('carol')).accessToken)['sid'];
    const b = decodeJwt((await login('carol')).accessToken)['sid'];
    expect(a).not.toBe(b);
  });

  it('refuses a wrong password with ERR_LAB_LOGIN and logs the refusal without the password', async () => {
    await expect(login('bob', 'not-the-password')).rejects.toMatchObject({ code: 'ERR_LAB_LOGIN' });
    expect(
      lines.some((l) => l['event'] === 'login' && l['decision'] === 'refused' && l['user'] === 'bob'),
    ).toBe(true);
    expect(JSON.stringify(lines)).not.toContain('not-the-password');
  });

  it('exchanges an MCP token for a broker token naming the MCP server as actor (RFC 8693 4.1)', async () => {
    const { accessToken } = await login('bob');
    const subject = decodeJwt(accessToken);
    const { accessToken: brokerToken, expiresIn } = await exchange(accessToken);
    const jwks = createRemoteJWKSet(new URL(`${fixture.config.issuer}/jwks`));
    const { payload } = await jwtVerify(brokerToken, jwks, {
      issuer: fixture.config.issuer,
      audience: fixture.config.broker.audience,
    });
    expect(payload).toMatchObject({
      sub: 'bob',
      preferred_username: 'bob',
      net_role: 'net-operator',
      sid: subject['sid'],
      act: { sub: 'netward-mcp-server' },
      client_id: 'netward-mcp-server',
    });
    expect(expiresIn).toBeLessThanOrEqual(60);
    expect(
      lines.some((l) => l['grant_type'] === 'token-exchange' && l['actor'] === 'netward-mcp-server'),
    ).toBe(true);
  });

  it('refuses to exchange a token that was not minted for the MCP server', async () => {
    const { accessToken } = await login('bob');
    const { accessToken: brokerToken } = await exchange(accessToken);
    await expect(exchange(brokerToken)).rejects.toMatchObject({
      code: 'ERR_LAB_LOGIN',
      message: /invalid_grant/,
    });
  });

  it('refuses an exchange for another audience, with a wrong secret, or by the agent client', async () => {
    const { accessToken } = await login('bob');
    await expect(exchange(accessToken, { audience: 'http://evil.example/' })).rejects.toThrow(
      /invalid_target/,
    );
    await expect(exchange(accessToken, { clientSecret: 'x'.repeat(40) })).rejects.toThrow(/invalid_client/);
    const res = await fetch(`${fixture.config.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        client_id: 'mcp-agent',
        subject_token: accessToken,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/invalid_request|unauthorized_client/);
  });

  it('refuses a tampered subject token', async () => {
    const { accessToken } = await login('alice');
    const [h, p, s] = accessToken.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    claims['net_role'] = 'net-admin';
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    await expect(exchange(forged)).rejects.toThrow(/invalid_grant/);
  });
});
