// The compose lab and the native lab's `--stack keycloak` from one source: the realm Keycloak imports,
// OpenBao's configuration and the broker's configuration of the native lab are compared, value by
// value, with the committed compose files, once each site's own addresses and the secrets the compose
// files leave as `${...}` placeholders are replaced by the same markers. Any other difference fails.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brokerConfigObject, FILES, labLayout, openBaoRequests, stackRealm, stackSite } from '@netward/lab';
import { COMPOSE_SITE, KEYCLOAK_ENV, type StackSite } from '@netward/lab/compose';
import { defaultPolicy } from '@netward/policy';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './compose-files.ts';

const policy = defaultPolicy();
const layout = labLayout({
  dir: '/var/lib/netward-lab-parity',
  mgmtNet: '10.77.0',
  portBase: 9400,
  stack: 'keycloak',
});
const site = stackSite(layout);
const readJson = (path: string) => JSON.parse(readFileSync(join(REPO_ROOT, path), 'utf8')) as unknown;

/** Every string with the site's own values, and the given secrets, replaced by fixed markers. */
function normalise(value: unknown, s: StackSite, secrets: Record<string, string> = {}): unknown {
  const swaps: Array<[string, string]> = [
    [s.keycloakUrl, '<keycloak>'],
    [s.mcpResource, '<mcp-resource>'],
    [s.baoAddr, '<openbao>'],
    // OpenBao's signing roles list `<role>@<device>` for the site's devices (the compose lab has a VyOS
    // device the native lab does not).
    ...policy.roles.map((r): [string, string] => [
      s.devices.map((d) => `${r.name}@${d}`).join(','),
      `<${r.name}@devices>`,
    ]),
    ...Object.entries(secrets).map(([secret, marker]): [string, string] => [secret, marker]),
  ];
  if (typeof value === 'string') {
    let out = value;
    for (const [from, to] of swaps) out = out.replaceAll(from, to);
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => normalise(v, s, secrets));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v, s, secrets)]));
  }
  return value;
}

describe('compose lab and native --stack keycloak: one source', () => {
  it('the realm the native lab imports is the compose realm, but for its addresses and secrets', () => {
    const passwords = { alice: 'pw-alice-x1', bob: 'pw-bob-x2', carol: 'pw-carol-x3' };
    const native = stackRealm(layout, policy, { mcpClientSecret: 'mcp-secret-x0', passwords });
    const compose = readJson('docker/keycloak/netward-realm.json');
    const secrets = {
      'mcp-secret-x0': `\${${KEYCLOAK_ENV.mcpClientSecret}}`,
      ...Object.fromEntries(Object.values(passwords).map((p) => [p, `\${${KEYCLOAK_ENV.demoPassword}}`])),
    };
    expect(normalise(native, site, secrets)).toEqual(normalise(compose, COMPOSE_SITE));
    // Not vacuous: the site really differs, and a drifted realm is caught.
    expect(site.mcpResource).not.toBe(COMPOSE_SITE.mcpResource);
    const drifted = structuredClone(native) as { accessTokenLifespan: number };
    drifted.accessTokenLifespan += 1;
    expect(normalise(drifted, site, secrets)).not.toEqual(normalise(compose, COMPOSE_SITE));
  });

  it("OpenBao gets exactly docker/openbao-init's files, on the paths init.sh writes them to", () => {
    const calls = openBaoRequests(policy, layout);
    const dir = 'docker/openbao-init';
    const expected = new Map<string, unknown>();
    expected.set('auth/jwt/config', readJson(`${dir}/jwt-config.json`));
    for (const f of readdirSync(join(REPO_ROOT, dir, 'jwt-roles'))) {
      expected.set(`auth/jwt/role/${f.replace(/\.json$/, '')}`, readJson(`${dir}/jwt-roles/${f}`));
    }
    for (const f of readdirSync(join(REPO_ROOT, dir, 'ssh-roles'))) {
      expected.set(`ssh/roles/${f.replace(/\.json$/, '')}`, readJson(`${dir}/ssh-roles/${f}`));
    }
    expected.set('ssh-host/roles/device-host', readJson(`${dir}/ssh-host-role.json`));
    for (const f of readdirSync(join(REPO_ROOT, dir, 'policies'))) {
      expected.set(`sys/policies/acl/${f.replace(/\.hcl$/, '')}`, {
        policy: readFileSync(join(REPO_ROOT, dir, 'policies', f), 'utf8'),
      });
    }
    const configured = new Map(
      calls.filter((c) => expected.has(c.path)).map((c) => [c.path, normalise(c.body, site)]),
    );
    expect([...configured.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [path, body] of expected)
      expect(configured.get(path), path).toEqual(normalise(body, COMPOSE_SITE));
    // The rest: the two SSH engines with an Ed25519 CA each, and JWT auth, as init.sh enables them.
    const rest = calls
      .filter((c) => !expected.has(c.path))
      .map((c) => `${c.method} ${c.path} ${JSON.stringify(c.body)}`);
    expect(rest).toEqual([
      'POST sys/mounts/ssh {"type":"ssh"}',
      'POST ssh/config/ca {"generate_signing_key":true,"key_type":"ed25519"}',
      'POST sys/mounts/ssh-host {"type":"ssh"}',
      'POST ssh-host/config/ca {"generate_signing_key":true,"key_type":"ed25519"}',
      'POST sys/auth/jwt {"type":"jwt"}',
    ]);
    const init = readFileSync(join(REPO_ROOT, dir, 'init.sh'), 'utf8');
    for (const line of [
      'bao secrets enable -path="$mount" ssh',
      'bao write "$mount/config/ca" generate_signing_key=true key_type=ed25519',
      'bao write "ssh/roles/$role" @"$f"',
      'bao write ssh-host/roles/device-host @"$dir/ssh-host-role.json"',
      'bao policy write "$(basename "$f" .hcl)" "$f"',
      'bao auth enable jwt',
      'bao write auth/jwt/config @"$dir/jwt-config.json"',
      'bao write "auth/jwt/role/$role" @"$f"',
    ]) {
      expect(init).toContain(line);
    }
  });

  it("the broker's configuration is the compose one, plus the lab's policy file and rate limit", () => {
    const native = brokerConfigObject(layout);
    const compose = readJson('docker/ca-broker/ca-broker.json') as Record<string, unknown>;
    const { policyFile, rateLimit, listen, ...shared } = native;
    const { listen: composeListen, ...composeShared } = compose;
    expect(normalise(shared, site)).toEqual(normalise(composeShared, COMPOSE_SITE));
    expect(policyFile).toBe(FILES.policy(layout));
    expect(rateLimit).toBeDefined();
    expect(listen).toEqual({ host: '127.0.0.1', port: layout.ports.broker });
    expect(composeListen).toEqual({ host: '0.0.0.0', port: 8443 });
  });
});
