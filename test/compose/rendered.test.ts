// The compose lab's configuration files against the policy: byte-identical re-rendering (drift check),
// `netward-policy check` on the artifacts it knows, each service's own config schema on its file, and
// the security-relevant facts of the realm and of OpenBao spelled out independently of the renderer.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeKeyId, encodeRemAddr, formatLogPrefix } from '@netward/audit-context';
import { parseConfig as parseBrokerConfig } from '@netward/ca-broker';
import { validateConfig } from '@netward/forcecommand';
import {
  CLIENTS,
  CORRELATIONS,
  compareWithDisk,
  correlationQuery,
  DEVICES,
  formatJson,
  ISSUER,
  MCP_RESOURCE,
  renderAll,
} from '@netward/lab/compose';
import { parseConfig as parseMcpConfig } from '@netward/mcp-server';
import { defaultPolicy, type Policy, parsePolicy } from '@netward/policy';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './compose-files.ts';

const policy = defaultPolicy();
const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
const readJson = <T = Record<string, unknown>>(path: string) => JSON.parse(read(path)) as T;

describe('rendered files match the policy', () => {
  it('re-rendering from the current policy gives byte-identical files', () => {
    const drift = compareWithDisk(renderAll(policy));
    // On failure: pnpm -s render-compose, and commit the result.
    expect(drift.map((d) => d.diff).join('\n')).toBe('');
  });

  it('render-compose --check, the command CI and operators run, agrees', () => {
    const run = spawnSync('pnpm', ['-s', 'render-compose', '--check'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    expect(run.stderr).toContain('rendered files match policy/default.yaml');
    expect(run.status).toBe(0);
  });

  it('the drift check catches a policy change (a longer certificate TTL for net-operator)', () => {
    const source = read('packages/policy/policy/default.yaml');
    const changed = source.replace(
      /(name: net-operator[\s\S]*?ttlSeconds: )60(, maxTtlSeconds: )60/,
      '$1120$2120',
    );
    expect(changed).not.toBe(source);
    const drift = compareWithDisk(renderAll(parsePolicy(changed, 'changed.yaml'))).map((d) => d.path);
    expect(drift).toContain('docker/openbao-init/ssh-roles/net-operator.json');
    expect(drift).toContain('docker/ca-broker/broker-roles.json');
    expect(drift).not.toContain('docker/openbao-init/ssh-roles/net-viewer.json');
  });

  it('netward-policy check accepts the tac_plus-ng, local-rules, broker, MCP and IdP artifacts', () => {
    const out = execFileSync(
      process.execPath,
      [
        '--conditions=netward-source',
        '--import',
        'tsx',
        'packages/policy/src/cli/netward-policy.ts',
        'check',
        '--json',
        ...['--tac-plus-ng', 'docker/tac_plus-ng/tac_plus-ng.cfg'],
        ...['--local-rules', 'docker/device-frr/validator/local-rules.json'],
        ...['--broker', 'docker/ca-broker/broker-roles.json'],
        ...['--mcp', 'docker/mcp-server/mcp-tools.json'],
        ...['--idp', 'docker/keycloak/idp-roles.json'],
      ],
      { cwd: REPO_ROOT, encoding: 'utf8' },
    );
    const result = JSON.parse(out) as { files: Array<{ target: string; matches: boolean }> };
    expect(result.files.map((f) => [f.target, f.matches])).toEqual([
      ['tac_plus-ng', true],
      ['local-rules', true],
      ['broker', true],
      ['mcp', true],
      ['idp', true],
    ]);
  });

  it('netward-policy check refuses a tac_plus-ng config whose rules were edited by hand', () => {
    const tampered = read('docker/tac_plus-ng/tac_plus-ng.cfg').replace(
      'if (cmd =~ /^show running-config$/) permit',
      'if (cmd =~ /^show running-config$/) deny',
    );
    const dir = mkdtempSync(join(tmpdir(), 'netward-compose-'));
    try {
      const file = join(dir, 'tac_plus-ng.cfg');
      writeFileSync(file, tampered);
      const run = spawnSync(
        process.execPath,
        [
          '--conditions=netward-source',
          '--import',
          'tsx',
          'packages/policy/src/cli/netward-policy.ts',
          'check',
          '--tac-plus-ng',
          file,
        ],
        { cwd: REPO_ROOT, encoding: 'utf8' },
      );
      expect(run.status).toBe(1);
      expect(run.stdout).toContain('MISMATCH');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the rendered JSON is in the formatter\u2019s layout (so the repository lint stays clean)', () => {
    const value = { a: ['x', 'y'], b: { c: 1 }, d: [], e: {}, f: [{ g: null }] };
    expect(formatJson(value)).toBe(
      '{\n  "a": ["x", "y"],\n  "b": {\n    "c": 1\n  },\n  "d": [],\n  "e": {},\n  "f": [\n    {\n      "g": null\n    }\n  ]\n}\n',
    );
  });
});

describe('tac_plus-ng configuration', () => {
  const cfg = read('docker/tac_plus-ng/tac_plus-ng.cfg');

  it('listens on the TACACS+ port for the management network, key from the environment', () => {
    expect(cfg).toContain('listen { address = 0.0.0.0 port = 49 }');
    const device = cfg.slice(cfg.indexOf('device netward-devices {'), cfg.indexOf('single-connection'));
    expect(device).toContain('address = 172.30.0.0/24');
    // tac_plus-ng's own ${VAR} syntax: the key comes from the container's environment.
    expect(device).toContain(['key = "$', '{NETWARD_TACACS_KEY}"'].join(''));
  });

  it('holds the operator profile rendered from its grammar: anchored permits only, no configuration', () => {
    const operator = cfg.slice(cfg.indexOf('profile operator-profile'), cfg.indexOf('profile admin-profile'));
    const rules = [...operator.matchAll(/if \(cmd =~ \/(.*)\/\) (permit|deny)/g)].map(
      (m) => `${m[2]} ${m[1]}`,
    );
    expect(rules.length).toBeGreaterThan(10);
    for (const r of rules) expect(r).toMatch(/^permit \^.*\$$/);
    expect(rules).toContain('permit ^show bgp summary$');
    expect(rules.some((r) => r.includes('running-config') || r.startsWith('permit ^configure'))).toBe(false);
  });
});

describe('Keycloak realm', () => {
  interface Realm {
    realm: string;
    roles: { realm: Array<{ name: string }> };
    users: Array<{ username: string; realmRoles: string[]; credentials: Array<{ value: string }> }>;
    clients: Array<{
      clientId: string;
      publicClient?: boolean;
      bearerOnly?: boolean;
      secret?: string;
      fullScopeAllowed?: boolean;
      attributes?: Record<string, string>;
      defaultClientScopes?: string[];
      optionalClientScopes?: string[];
    }>;
    clientScopes: Array<{
      name: string;
      protocolMappers: Array<{ protocolMapper: string; config: Record<string, string> }>;
    }>;
    scopeMappings: Array<{ client?: string; clientScope?: string; roles: string[] }>;
  }
  const realm = readJson<Realm>('docker/keycloak/netward-realm.json');
  const client = (id: string) => realm.clients.find((c) => c.clientId === id);
  const scope = (name: string) => realm.clientScopes.find((s) => s.name === name);

  it('has the three roles and the seed\u2019s users: alice viewer, bob operator, carol admin', () => {
    expect(realm.roles.realm.map((r) => r.name).sort()).toEqual(['net-admin', 'net-operator', 'net-viewer']);
    expect(realm.users.map((u) => [u.username, u.realmRoles])).toEqual([
      ['alice', ['net-viewer']],
      ['bob', ['net-operator']],
      ['carol', ['net-admin']],
    ]);
  });

  it('commits no secret: passwords and the client secret are environment placeholders', () => {
    // Keycloak's own ${VAR} syntax, resolved from its environment when the realm is imported.
    const placeholder = (name: string) => `\${${name}}`;
    for (const u of realm.users) expect(u.credentials[0]?.value).toBe(placeholder('NETWARD_DEMO_PASSWORD'));
    expect(client(CLIENTS.mcp)?.secret).toBe(placeholder('NETWARD_MCP_CLIENT_SECRET'));
  });

  it('grants each MCP scope to exactly the roles the policy grants it', () => {
    const grants = Object.fromEntries(
      realm.scopeMappings.filter((m) => m.clientScope !== undefined).map((m) => [m.clientScope, m.roles]),
    );
    // The default policy, written out: read for all, diagnostics for operator and admin, config for admin.
    expect(grants).toEqual({
      'mcp:config:read': ['net-admin'],
      'mcp:config:write': ['net-admin'],
      'mcp:ctrl-plane:read': ['net-viewer', 'net-operator', 'net-admin'],
      'mcp:diag:run': ['net-operator', 'net-admin'],
    });
  });

  it('issues the net_role claim, single-valued, from the realm roles in the clients\u2019 scope', () => {
    const mapper = scope('netward-role')?.protocolMappers[0];
    expect(mapper?.protocolMapper).toBe('oidc-usermodel-realm-role-mapper');
    expect(mapper?.config).toMatchObject({
      'claim.name': 'net_role',
      multivalued: 'false',
      'access.token.claim': 'true',
    });
    for (const id of [CLIENTS.agent, CLIENTS.mcp]) {
      expect(client(id)?.fullScopeAllowed, id).toBe(false);
      expect(realm.scopeMappings.find((m) => m.client === id)?.roles.sort()).toEqual([
        'net-admin',
        'net-operator',
        'net-viewer',
      ]);
    }
  });

  it('agents\u2019 tokens carry the MCP server\u2019s URL and client id as audience', () => {
    const configs = scope('netward-mcp-audience')?.protocolMappers.map((m) => m.config);
    expect(configs?.map((c) => c['included.custom.audience'] ?? c['included.client.audience'])).toEqual([
      MCP_RESOURCE,
      CLIENTS.mcp,
    ]);
    expect(client(CLIENTS.agent)?.defaultClientScopes).toContain('netward-mcp-audience');
    expect(client(CLIENTS.agent)?.attributes?.['pkce.code.challenge.method']).toBe('S256');
    expect(client(CLIENTS.agent)?.publicClient).toBe(true);
  });

  it('the MCP server\u2019s confidential client exchanges tokens (standard token exchange) for the broker', () => {
    const mcp = client(CLIENTS.mcp);
    expect(mcp?.publicClient).toBe(false);
    expect(mcp?.attributes?.['standard.token.exchange.enabled']).toBe('true');
    expect(mcp?.defaultClientScopes).toContain('netward-broker-audience');
    expect(scope('netward-broker-audience')?.protocolMappers[0]?.config['included.client.audience']).toBe(
      CLIENTS.broker,
    );
    expect(client(CLIENTS.broker)?.bearerOnly).toBe(true);
  });
});

describe('OpenBao', () => {
  const rolesOf = (p: Policy) => p.roles.map((r) => r.name);

  it('one SSH signing role per net role: principal, 60-second TTL, user key ids, policy extensions', () => {
    for (const role of policy.roles) {
      const r = readJson(`docker/openbao-init/ssh-roles/${role.name}.json`);
      expect(r).not.toHaveProperty('default_user');
      expect(r).toMatchObject({
        key_type: 'ca',
        allow_user_certificates: true,
        allow_host_certificates: false,
        // `<role>@<device>` for every device of the lab, nothing else: no bare role, no default.
        allowed_users: DEVICES.map((d) => `${role.name}@${d.name}`).join(','),
        allow_user_key_ids: true,
        ttl: '60s',
        max_ttl: '60s',
        default_extensions: Object.fromEntries(role.certificate.extensions.map((e) => [e, ''])),
      });
    }
    expect(rolesOf(policy)).toEqual(['net-viewer', 'net-operator', 'net-admin']);
  });

  it('JWT login per role: broker audience, net_role bound, only that role\u2019s signing policy', () => {
    expect(readJson('docker/openbao-init/jwt-config.json')).toMatchObject({
      jwks_url: `${ISSUER}/protocol/openid-connect/certs`,
      bound_issuer: ISSUER,
    });
    for (const role of policy.roles) {
      const r = readJson(`docker/openbao-init/jwt-roles/${role.name}.json`);
      expect(r).toMatchObject({
        role_type: 'jwt',
        bound_audiences: [CLIENTS.broker],
        bound_claims: { net_role: role.idpRole },
        token_policies: [`ssh-${role.name}`],
        token_no_default_policy: true,
      });
      expect(read(`docker/openbao-init/policies/ssh-${role.name}.hcl`)).toContain(
        `path "ssh/sign/${role.name}" {\n  capabilities = ["update"]\n}`,
      );
    }
  });

  it('the init script applies every rendered file it is given', () => {
    const init = read('docker/openbao-init/init.sh');
    for (const needle of [
      'ssh-roles/*.json',
      'jwt-roles/*.json',
      'policies/*.hcl',
      'jwt-config.json',
      'ssh-host-role.json',
    ]) {
      expect(init).toContain(needle);
    }
  });
});

describe('service configurations pass each service\u2019s own schema', () => {
  it('CA broker: vault backend, JWT login with the exchanged token, broker audience', () => {
    const cfg = parseBrokerConfig(readJson('docker/ca-broker/ca-broker.json'), 'ca-broker.json');
    expect(cfg.backend.type).toBe('vault');
    expect(cfg.token.audience).toBe(CLIENTS.broker);
    expect(cfg.token.issuer).toBe(ISSUER);
  });

  for (const file of ['mcp-server.json', 'mcp-server-unsafe.json']) {
    it(`MCP server (${file}): audience, exchange client, FRR inventory`, () => {
      // A syntactically valid ssh-ed25519 public key stands for the host CA fetched at start.
      const blob = Buffer.concat([
        Buffer.from([0, 0, 0, 11]),
        Buffer.from('ssh-ed25519'),
        Buffer.from([0, 0, 0, 32]),
        Buffer.alloc(32, 7),
      ]);
      const files: Record<string, string> = {
        '/run/netward/mcp-client-secret': 'lab-secret\n',
        '/run/netward/known_hosts': `@cert-authority * ssh-ed25519 ${blob.toString('base64')}\n`,
      };
      const cfg = parseMcpConfig(readJson(`docker/mcp-server/config/${file}`), file, (p) => {
        const text = files[p];
        if (text === undefined) throw new Error(`unexpected read of ${p}`);
        return text;
      });
      expect(cfg.publicUrl).toBe(MCP_RESOURCE);
      expect(cfg.tokenExchange.clientId).toBe(CLIENTS.mcp);
      expect(cfg.tokenExchange.audience).toBe(CLIENTS.broker);
      expect(cfg.inventory.map((d) => d.name)).toEqual(
        DEVICES.filter((d) => d.vendor === 'frr').map((d) => d.name),
      );
      expect(cfg.unsafeRawCommandTool).toBe(file === 'mcp-server-unsafe.json');
    });
  }

  for (const device of DEVICES) {
    it(`validator on ${device.name}: TACACS+ at tac_plus-ng, audit to file and syslog`, () => {
      const folder = device.vendor === 'frr' ? 'device-frr' : 'device-vyos';
      const cfg = validateConfig(readJson(`docker/${folder}/validator/${device.name}.json`), device.name);
      expect(cfg.device).toBe(device.name);
      expect(cfg.authorization.mode).toBe('tacacs');
      expect(cfg.audit.syslog?.host).toBeDefined();
    });
  }
});

describe('Grafana: one saved query per correlation id', () => {
  const dashboard = readJson<{
    templating: { list: Array<{ name: string }> };
    panels: Array<{ targets: Array<{ expr: string }> }>;
  }>('docker/grafana/dashboards/netward-audit.json');

  it('has a variable and a panel for user, sid, cert_serial and request_id', () => {
    expect(dashboard.templating.list.map((v) => v.name)).toEqual([
      'user',
      'sid',
      'cert_serial',
      'request_id',
    ]);
    const exprs = dashboard.panels.map((p) => p.targets[0]?.expr);
    for (const c of CORRELATIONS) expect(exprs).toContain(correlationQuery(c));
  });

  // Lines as the components write them, built with audit-context's own encoders.
  const ctx = {
    user: 'bob',
    sid: '5f0c1e2a-9b7d-4c3e-8a61-2d4f6b8e0c13',
    certSerial: '15800344769086219675',
    requestId: 'a1b2c3d4e5f6a7b8c9d0',
  };
  const lines = [
    JSON.stringify({
      level: 30,
      user: ctx.user,
      sid: ctx.sid,
      cert_serial: ctx.certSerial,
      request_id: ctx.requestId,
    }),
    `Accepted publickey for net-operator from 172.30.0.3 port 40000 ssh2: ED25519-CERT SHA256:x ID ${encodeKeyId({ user: ctx.user, sid: ctx.sid, requestId: ctx.requestId })} (serial ${ctx.certSerial}) CA ED25519 SHA256:y`,
    `${formatLogPrefix({ role: 'net-operator', ...ctx })} DENY (TACACS+): vtysh -c 'configure terminal'`,
    `172.30.0.10\tnet-operator\tssh\t${encodeRemAddr(ctx)}\toperator-profile\tdeny`,
  ];
  const values = { user: ctx.user, sid: ctx.sid, cert_serial: ctx.certSerial, request_id: ctx.requestId };

  for (const c of CORRELATIONS) {
    it(`the ${c.field} query finds the id in the formats that carry it, and not another value`, () => {
      // The LogQL line filter's regex (RE2) with the variable filled in, as JavaScript sees it.
      const source = c.patterns.join('|').replaceAll(`$${c.field}`, values[c.field]);
      const re = new RegExp(source);
      const hits = lines.filter((l) => re.test(l)).length;
      // The sshd line has no cert_serial in `cert:` form and no request id in JSON form: each id
      // appears in at least three of the four formats.
      expect(hits).toBeGreaterThanOrEqual(3);
      const other = new RegExp(c.patterns.join('|').replaceAll(`$${c.field}`, 'zz-not-there'));
      expect(lines.filter((l) => other.test(l))).toEqual([]);
    });
  }
});
