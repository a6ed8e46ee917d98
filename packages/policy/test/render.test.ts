// Golden files for every rendered artifact (test/golden/). UPDATE_GOLDEN=1 rewrites them; review the diff.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  decide,
  decideLocal,
  defaultPolicy,
  keycloakRealmParts,
  PolicyError,
  parseLocalRules,
  parsePolicy,
  renderBrokerRoles,
  renderGrammar,
  renderIdp,
  renderLocalRules,
  renderMcpTools,
  renderTacPlusNg,
} from '../src/index.ts';
import { renderKeycloakRealm } from '../src/render/services.ts';
import { designPolicy } from './helpers/design.ts';
import { readProfiles, readUserProfiles } from './helpers/reference.ts';

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), 'golden');

// The .cfg golden is compared byte for byte. JSON goldens are compared as values (the formatter may lay
// them out differently), plus a check that the rendering itself is 2-space JSON with a final newline.
function golden(name: string, actual: string): void {
  const file = join(GOLDEN, name);
  if (process.env['UPDATE_GOLDEN'] === '1' || !existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual);
  }
  const expected = readFileSync(file, 'utf8');
  if (name.endsWith('.json')) {
    expect(JSON.parse(actual)).toEqual(JSON.parse(expected));
    expect(actual).toBe(`${JSON.stringify(JSON.parse(actual), null, 2)}\n`);
  } else {
    expect(actual).toBe(expected);
  }
}

const labOptions = {
  key: 'labsecret',
  listen: { address: '127.0.0.1', port: 4949 },
  device: { name: 'localhost', address: '127.0.0.1' },
  logDir: '/var/log/tac_plus-ng',
};

describe('rendered artifacts of the default policy', () => {
  const p = defaultPolicy();
  it('tac_plus-ng (key from the environment)', () => golden('tac_plus-ng.cfg', renderTacPlusNg(p)));
  it('tac_plus-ng (lab options)', () => golden('tac_plus-ng.lab.cfg', renderTacPlusNg(p, labOptions)));
  it('local rules', () => golden('local-rules.json', renderLocalRules(p)));
  it('grammar', () => golden('grammar.json', renderGrammar(p)));
  it('broker role map', () => golden('broker.json', renderBrokerRoles(p)));
  it('MCP tool map', () => golden('mcp.json', renderMcpTools(p)));
  it('IdP roles and scopes', () => golden('idp.json', renderIdp(p)));
  it('Keycloak realm', () => golden('keycloak-realm.json', renderKeycloakRealm(p)));
});

describe('rendered artifacts of the design policy (policy/design.yaml)', () => {
  const p = designPolicy();
  it('tac_plus-ng (key from the environment)', () => golden('design/tac_plus-ng.cfg', renderTacPlusNg(p)));
  it('tac_plus-ng (lab options)', () => golden('design/tac_plus-ng.lab.cfg', renderTacPlusNg(p, labOptions)));
  it('local rules', () => golden('design/local-rules.json', renderLocalRules(p)));
  it('broker role map', () => golden('design/broker.json', renderBrokerRoles(p)));
  it('MCP tool map', () => golden('design/mcp.json', renderMcpTools(p)));
  it('IdP roles and scopes', () => golden('design/idp.json', renderIdp(p)));
  it('Keycloak realm', () => golden('design/keycloak-realm.json', renderKeycloakRealm(p)));
});

describe('Keycloak realm', () => {
  const realm = JSON.parse(renderIdp(defaultPolicy(), { format: 'keycloak-realm', realm: 'lab' }));

  it('is renderIdp with format keycloak-realm', () => {
    expect(realm).toEqual(JSON.parse(renderKeycloakRealm(defaultPolicy(), { realm: 'lab' })));
    expect(realm.realm).toBe('lab');
  });

  it('gates every MCP scope on exactly the roles that grant it', () => {
    const byScope = Object.fromEntries(
      realm.scopeMappings.map((m: { clientScope: string; roles: string[] }) => [m.clientScope, m.roles]),
    );
    expect(byScope).toEqual({
      'mcp:config:read': ['net-admin'],
      'mcp:config:write': ['net-admin'],
      'mcp:ctrl-plane:read': ['net-viewer', 'net-operator', 'net-admin'],
      'mcp:diag:run': ['net-operator', 'net-admin'],
    });
    expect(realm.defaultOptionalClientScopes).toEqual(Object.keys(byScope));
  });

  it('fills net_role from the realm roles, single-valued, as the realm a real Keycloak loads does', () => {
    const scope = realm.clientScopes.find((c: { name: string }) => c.name === 'netward-role');
    const mapper = scope.protocolMappers[0];
    expect(mapper.protocolMapper).toBe('oidc-usermodel-realm-role-mapper');
    expect(mapper.config).toMatchObject({
      'claim.name': 'net_role',
      multivalued: 'false',
      'access.token.claim': 'true',
    });
    expect(realm.roles.realm.map((r: { name: string }) => r.name)).toEqual([
      'net-viewer',
      'net-operator',
      'net-admin',
    ]);
    expect(realm.defaultDefaultClientScopes).toEqual(['netward-role']);
  });

  it('is the policy part of the compose realm, not a second rendering of it', () => {
    const parts = keycloakRealmParts(defaultPolicy());
    expect(realm.clientScopes).toEqual([parts.roleScope, ...parts.scopeScopes]);
    expect(realm.scopeMappings).toEqual(parts.scopeMappings);
  });

  it('refuses names that are not plain identifiers', () => {
    expect(() => renderKeycloakRealm(defaultPolicy(), { realm: 'a/b' })).toThrow(
      expect.objectContaining({ code: 'ERR_POLICY_TARGET' }),
    );
  });
});

describe('tac_plus-ng rendering', () => {
  it('carries the same profiles and user mapping as the reference, read by the same reader', () => {
    const ours = renderTacPlusNg(designPolicy(), labOptions);
    const reference = readFileSync(
      join(dirname(fileURLToPath(import.meta.url)), 'fixtures/tac_plus-ng/tac_plus-ng.cfg'),
      'utf8',
    );
    expect(readUserProfiles(ours)).toEqual(readUserProfiles(reference));
    // Profiles agree except admin: the reference permits every service, ours only shell commands.
    const a = readProfiles(ours);
    const b = readProfiles(reference);
    for (const name of ['viewer-profile', 'operator-profile']) expect(a.get(name)).toEqual(b.get(name));
    expect(a.get('admin-profile')).toEqual(b.get('admin-profile'));
  });

  it('pins case-sensitive matching and never writes a key it was not given', () => {
    const text = renderTacPlusNg(defaultPolicy());
    expect(text).toContain('\tregex-match-case = yes\n');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: tac_plus-ng's ${VAR} syntax
    expect(text).toContain('key = "${NETWARD_TACACS_KEY}"');
    expect(renderTacPlusNg(defaultPolicy(), { key: 'a"b\\c' })).toContain('key = "a\\"b\\\\c"');
  });

  it('refuses option values that would break out of the configuration syntax', () => {
    for (const opts of [
      { key: 'x\ny' },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: tac_plus-ng's ${VAR} syntax
      { key: '${HOME}' },
      { device: { name: 'a b', address: '127.0.0.1' } },
      { device: { name: 'n', address: '127.0.0.1 }' } },
      { listen: { address: '127.0.0.1', port: 70000 } },
      { logDir: '/tmp/\nx' },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: tac_plus-ng's ${VAR} syntax
      { pidFile: '/run/${X}' },
    ]) {
      expect(() => renderTacPlusNg(defaultPolicy(), opts as never)).toThrow(
        expect.objectContaining({ code: 'ERR_POLICY_TARGET' }),
      );
    }
  });

  it('escapes / and backslash for the tac_plus-ng lexer', () => {
    const p = parsePolicy(
      `version: 1
roles:
  - name: r
    scopes: []
    certificate: { ttlSeconds: 60, maxTtlSeconds: 60, extensions: [] }
    rules: [{ action: deny, match: 'a\\\\b/c\\/d' }]
tools: []
`,
      'esc.yaml',
    );
    expect(renderTacPlusNg(p)).toContain('if (cmd =~ /a\\\\\\\\b\\/c\\/d/) deny');
  });
});

describe('local rules file', () => {
  it('round-trips: decideLocal equals decide', () => {
    const p = defaultPolicy();
    const local = parseLocalRules(renderLocalRules(p), 'rules.json');
    for (const role of ['net-viewer', 'net-operator', 'net-admin', 'nobody']) {
      for (const cmd of ['show x', 'configure terminal', 'ping 1', 'ip link', 'write', '', '/bin/show']) {
        expect(decideLocal(local, role, cmd)).toEqual(decide(p, role, cmd));
      }
    }
  });

  it('never makes a role of __proto__', () => {
    const local = parseLocalRules(
      '{"version":1,"roles":{"__proto__":{"rules":[{"action":"permit","match":null}],"default":"deny"}}}',
      'proto.json',
    );
    expect(decideLocal(local, '__proto__', 'show')).toMatchObject({ decision: 'deny', ruleIndex: null });
    expect(decideLocal(local, 'constructor', 'show')).toMatchObject({ decision: 'deny', ruleIndex: null });
  });

  it.each([
    ['not json', '{'],
    ['wrong version', '{"version":2,"roles":{}}'],
    ['unknown key', '{"version":1,"roles":{},"extra":1}'],
    ['default permit', '{"version":1,"roles":{"r":{"rules":[],"default":"permit"}}}'],
    ['bad role name', '{"version":1,"roles":{"Bad Name":{"rules":[],"default":"deny"}}}'],
    [
      'lookahead',
      '{"version":1,"roles":{"r":{"rules":[{"action":"deny","match":"a(?=b)"}],"default":"deny"}}}',
    ],
    [
      'nested quantifier',
      '{"version":1,"roles":{"r":{"rules":[{"action":"deny","match":"(a+)+"}],"default":"deny"}}}',
    ],
    ['missing match', '{"version":1,"roles":{"r":{"rules":[{"action":"deny"}],"default":"deny"}}}'],
  ])('refuses %s with ERR_POLICY_LOCAL_RULES_INVALID', (_name, text) => {
    try {
      parseLocalRules(text, 'bad.json');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(PolicyError);
      expect((err as PolicyError).code).toBe('ERR_POLICY_LOCAL_RULES_INVALID');
      expect((err as PolicyError).file).toBe('bad.json');
      expect((err as PolicyError).issues.length).toBeGreaterThan(0);
    }
  });
});
