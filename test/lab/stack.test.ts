/**
 * End to end on the design's stack (`netward-lab up --stack keycloak`): Keycloak as the IdP with the
 * realm rendered from the policy, OpenBao as the SSH CA behind the broker's vault backend, both really
 * started from their pinned downloads (.cache/stack/). The demo's five steps, the token attacks that
 * apply to Keycloak's tokens (at the MCP server, the broker and OpenBao itself) and one full audit
 * trace. Its own directory, prefix, management network and ports, beside lab.test.ts's lab.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exchangeForBroker, type LabLayout, labDown, loginAs } from '@netward/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoStepTests, downSuiteLab, suiteLabNames, tracedCall, upSuiteLab } from './suite-lab.ts';

const STACK_ROOT = '/var/lib/netward-lab-stack-e2e-';
const OPTIONS = {
  ...suiteLabNames(STACK_ROOT, 'k', 253),
  portBase: 20_001 + ((process.pid + 1_999) % 4_000) * 3,
  stack: 'keycloak' as const,
};

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;

describe('native lab on Keycloak and OpenBao', () => {
  let layout: LabLayout;
  let up = false;

  beforeAll(async () => {
    layout = await upSuiteLab(STACK_ROOT, OPTIONS);
    up = true;
  }, 600_000);

  afterAll(async () => {
    await downSuiteLab(OPTIONS.dir, up);
  }, 120_000);

  it("tokens are Keycloak's: RS256, the realm's issuer, the role claim, and no act after the exchange", async () => {
    const login = await loginAs(layout, 'bob');
    const user = claimsOf(login.accessToken);
    expect(user['iss']).toBe(`http://${layout.hostMgmtAddress}:8080/realms/netward`);
    expect(user['net_role']).toBe('net-operator');
    expect(user['aud']).toEqual(expect.arrayContaining([layout.urls.mcp]));
    const exchanged = claimsOf(await exchangeForBroker(layout, login.accessToken));
    expect(exchanged).toMatchObject({ aud: 'netward-ca-broker', azp: 'netward-mcp', sid: user['sid'] });
    expect(exchanged['act']).toBeUndefined();
  });

  // Signed by OpenBao here: the broker's vault backend issues every certificate the steps use.
  demoStepTests(() => layout);

  describe('token attacks with Keycloak tokens', () => {
    /** An OpenSSH public key line of a fresh Ed25519 key (RFC 8709 section 4: string name, string key). */
    const publicKeyLine = () => {
      const raw = generateKeyPairSync('ed25519')
        .publicKey.export({ format: 'der', type: 'spki' })
        .subarray(-32);
      const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
      return `ssh-ed25519 ${Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]).toString('base64')}`;
    };
    const sign = async (token: string, body: Record<string, unknown> = {}) => {
      const key = publicKeyLine();
      const res = await fetch(`${layout.urls.broker}/v1/ssh/sign`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        // A request id as the MCP server makes them: 16 random bytes, base64url (22 characters).
        // For spine-a, as the MCP server asks: certificates are bound to one device.
        body: JSON.stringify({
          public_key: key,
          request_id: randomBytes(16).toString('base64url'),
          device: 'spine-a',
          ...body,
        }),
      });
      const json = (await res.json()) as { certificate?: string; error?: { code?: string } };
      return { status: res.status, code: json.error?.code, certificate: json.certificate };
    };

    it('the exchanged token itself is accepted (the table below is not vacuous)', async () => {
      const login = await loginAs(layout, 'bob');
      const r = await sign(await exchangeForBroker(layout, login.accessToken));
      expect(r.status).toBe(200);
      expect(r.certificate).toMatch(/^ssh-ed25519-cert-v01@openssh.com /);
      // Signed by OpenBao for spine-a alone: its role allows `<role>@<device>`, never the bare role.
      const listing = execFileSync('ssh-keygen', ['-L', '-f', '-'], {
        input: `${r.certificate}\n`,
        encoding: 'utf8',
      });
      expect(listing).toMatch(/Principals: *\n\s+net-operator@spine-a\n\s+Critical/);
    });

    it.each([
      ["the agent's own token (audience the MCP server, azp the agent)", 'own', 401, 'ERR_CA_TOKEN_AUDIENCE'],
      ['an exchanged token with its signature altered', 'tampered', 401, 'ERR_CA_TOKEN_SIGNATURE'],
      ['an exchanged token re-signed with alg none', 'none', 401, 'ERR_CA_TOKEN_ALGORITHM'],
      ["bob's exchanged token asking for net-admin", 'role', 403, 'ERR_CA_ROLE_MISMATCH'],
    ])('%s [%s] → %i %s', async (_name, kind, status, code) => {
      const login = await loginAs(layout, 'bob');
      const exchanged = await exchangeForBroker(layout, login.accessToken);
      const [h, p, s] = exchanged.split('.') as [string, string, string];
      const token =
        kind === 'own'
          ? login.accessToken
          : kind === 'tampered'
            ? `${h}.${p}.${s.slice(0, -4)}${s.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`
            : kind === 'none'
              ? `${b64({ alg: 'none', typ: 'JWT' })}.${p}.`
              : exchanged;
      const r = await sign(token, kind === 'role' ? { role: 'net-admin' } : {});
      expect(r.status).toBe(status);
      expect(r.code).toBe(code);
      expect(r.certificate).toBeUndefined();
    });

    it("refuses the broker's token at the MCP server (another audience): 401", async () => {
      const login = await loginAs(layout, 'bob');
      const res = await fetch(layout.urls.mcp, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${await exchangeForBroker(layout, login.accessToken)}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      await res.arrayBuffer();
      expect(res.status).toBe(401);
    });

    it("OpenBao itself: the agent's token cannot log in, and alice's login cannot sign for net-admin", async () => {
      const bao = `http://${layout.hostMgmtAddress}:8200/v1`;
      const alice = await loginAs(layout, 'alice');
      const own = await fetch(`${bao}/auth/jwt/login`, {
        method: 'POST',
        body: JSON.stringify({ role: 'net-viewer', jwt: alice.accessToken }),
      });
      await own.arrayBuffer();
      expect(own.status).toBe(400); // bound_audiences: only tokens for the broker
      const exchanged = await exchangeForBroker(layout, alice.accessToken);
      const wrongRole = await fetch(`${bao}/auth/jwt/login`, {
        method: 'POST',
        body: JSON.stringify({ role: 'net-admin', jwt: exchanged }),
      });
      await wrongRole.arrayBuffer();
      expect(wrongRole.status).toBe(400); // bound_claims: net_role must be net-admin
      const login = (await (
        await fetch(`${bao}/auth/jwt/login`, {
          method: 'POST',
          body: JSON.stringify({ role: 'net-viewer', jwt: exchanged }),
        })
      ).json()) as { auth: { client_token: string } };
      const headers = { 'x-vault-token': login.auth.client_token };
      const key = publicKeyLine();
      const admin = await fetch(`${bao}/ssh/sign/net-admin`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ public_key: key }),
      });
      await admin.arrayBuffer();
      expect(admin.status).toBe(403);
      const viewer = await fetch(`${bao}/ssh/sign/net-viewer`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ public_key: key, valid_principals: 'net-admin' }),
      });
      const body = (await viewer.json()) as { errors?: string[] };
      expect(viewer.status).toBe(400); // allowed_users: the role's own principal only
      expect(body.errors?.join(' ')).toMatch(/net-admin/);
    });
  });

  it('traces one call through every component, Keycloak login and exchange included', async () => {
    const { chain } = await tracedCall(layout);
    const idp = chain.events.filter((e) => e.component === 'idp').map((e) => e.summary);
    expect(idp).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^keycloak LOGIN/),
        expect.stringMatching(/^keycloak TOKEN_EXCHANGE/),
      ]),
    );
    const broker = chain.events.find((e) => e.component === 'ca-broker');
    expect(broker?.summary).toMatch(/act=netward-mcp/);
  });

  it('no secret of the stack in argv or in its logs', async () => {
    const { execFileSync } = await import('node:child_process');
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    const secrets = [
      readFileSync(layout.paths.exchangeSecret, 'utf8').trim(),
      readFileSync(join(layout.paths.state, 'keycloak-admin.password'), 'utf8').trim(),
      ...Object.values(
        JSON.parse(readFileSync(layout.paths.usersFile, 'utf8')) as Record<string, { password: string }>,
      ).map((u) => u.password),
    ];
    const logs = ['keycloak.log', 'openbao.log', 'ca-broker.log', 'mcp-server.log'].map((f) =>
      readFileSync(join(layout.paths.logs, f), 'utf8'),
    );
    for (const s of secrets) {
      expect(ps.includes(s)).toBe(false);
      for (const l of logs) expect(l.includes(s)).toBe(false);
    }
    // OpenBao's root token is never written: no `s.` token anywhere in its log.
    expect(logs[1]).not.toMatch(/\bs\.[A-Za-z0-9]{20,}/);
  });

  it('lab down stops Keycloak and OpenBao too', async () => {
    await labDown(OPTIONS.dir);
    up = false;
    const { execFileSync } = await import('node:child_process');
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    const mine = (l: string) =>
      l.includes(OPTIONS.dir) || l.includes(`--http-host=${layout.hostMgmtAddress} `);
    expect(ps.split('\n').filter(mine)).toEqual([]);
  }, 120_000);
});
