import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIdpConfig } from '../src/idp/config.ts';
import { exchangeToken, loginWithPkce } from '../src/idp/login.ts';
import { startIdp } from '../src/idp/server.ts';
import { captureLogger, idpFixture, PASSWORDS } from './helpers.ts';

/** An agent logged in before an IdP restart must still be served after it (issue 17). */
describe('lab IdP restart', () => {
  let fixture: Awaited<ReturnType<typeof idpFixture>>;
  beforeAll(async () => {
    fixture = await idpFixture();
  });
  afterAll(() => fixture?.cleanup());

  async function loginThenRestart(storeFile: string | undefined) {
    const config = parseIdpConfig({ ...fixture.config, ...(storeFile ? { storeFile } : {}) });
    const first = await startIdp(config, { logger: captureLogger('idp').logger });
    let token: string;
    try {
      ({ accessToken: token } = await loginWithPkce({
        issuer: config.issuer,
        clientId: 'mcp-agent',
        redirectUri: 'http://127.0.0.1:8976/callback',
        resource: config.mcp.resource,
        scope: 'openid mcp:ctrl-plane:read',
        username: 'bob',
        password: PASSWORDS.bob,
      }));
    } finally {
      await first.close();
    }
    const second = await startIdp(config, { logger: captureLogger('idp').logger });
    try {
      return await exchangeToken({
        tokenEndpoint: `${config.issuer}/token`,
        clientId: 'netward-mcp-server',
        clientSecret: fixture.secret,
        subjectToken: token,
        audience: config.broker.audience,
      }).then(
        (r) => ({ ok: true as const, token: r.accessToken }),
        (e: unknown) => ({ ok: false as const, error: e }),
      );
    } finally {
      await second.close();
    }
  }

  it('keeps login sessions in its store: a token from before the restart still exchanges', async () => {
    const r = await loginThenRestart(join(fixture.dir, 'store.json'));
    expect(r.ok).toBe(true);
  });

  it('without a store (the old behaviour) the restart ends every session and the exchange is refused', async () => {
    const r = await loginThenRestart(undefined);
    expect(r.ok).toBe(false);
  });
});
