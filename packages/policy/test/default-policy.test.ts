// The shipped policy: embedded copy identical to policy/default.yaml, the names others build against, its
// grammar; and the design policy (policy/design.yaml), whose rules are the seed's tac_plus-ng profiles
// (read from the reference configuration).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_YAML } from '../src/default-policy.ts';
import {
  decide,
  defaultPolicy,
  deviceAllowed,
  loadPolicy,
  parsePolicy,
  roleByIdpRole,
  roleByName,
} from '../src/index.ts';
import { toolsForScopes } from '../src/load.ts';
import { designPolicy } from './helpers/design.ts';
import { readReference } from './helpers/reference.ts';

const PKG = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('default policy', () => {
  it('embeds policy/default.yaml byte for byte (run `pnpm run embed` after editing it)', () => {
    expect(DEFAULT_POLICY_YAML).toBe(readFileSync(join(PKG, 'policy', 'default.yaml'), 'utf8'));
  });

  it('parses the same from the file and from the embedded copy', () => {
    const fromFile = loadPolicy(join(PKG, 'policy', 'default.yaml'));
    expect({ ...fromFile, source: '' }).toEqual({ ...defaultPolicy(), source: '' });
  });

  it('is parsed once and frozen', () => {
    const p = defaultPolicy();
    expect(defaultPolicy()).toBe(p);
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.roles)).toBe(true);
    expect(Object.isFrozen(p.roles[0])).toBe(true);
    expect(Object.isFrozen(p.roles[0]?.rules)).toBe(true);
    expect(Object.isFrozen(p.roles[0]?.rules[0])).toBe(true);
    expect(Object.isFrozen(p.tools[0])).toBe(true);
  });

  it('has the three roles with their scopes and certificates', () => {
    const p = defaultPolicy();
    expect(
      p.roles.map((r) => ({
        name: r.name,
        idpRole: r.idpRole,
        scopes: r.scopes,
        certificate: r.certificate,
      })),
    ).toEqual([
      {
        name: 'net-viewer',
        idpRole: 'net-viewer',
        scopes: ['mcp:ctrl-plane:read'],
        certificate: { ttlSeconds: 60, maxTtlSeconds: 60, extensions: [] },
      },
      {
        name: 'net-operator',
        idpRole: 'net-operator',
        scopes: ['mcp:ctrl-plane:read', 'mcp:diag:run'],
        certificate: { ttlSeconds: 60, maxTtlSeconds: 60, extensions: [] },
      },
      {
        name: 'net-admin',
        idpRole: 'net-admin',
        scopes: ['mcp:ctrl-plane:read', 'mcp:diag:run', 'mcp:config:read', 'mcp:config:write'],
        certificate: { ttlSeconds: 60, maxTtlSeconds: 60, extensions: [] },
      },
    ]);
    expect(p.roles.every((r) => r.devices === undefined)).toBe(true);
  });

  it('has the tools with their scopes and device commands', () => {
    expect(defaultPolicy().tools.map((t) => [t.name, t.scope, t.command ?? null, t.unsafe ?? false])).toEqual(
      [
        ['list_devices', 'mcp:ctrl-plane:read', null, false],
        ['show_bgp_summary', 'mcp:ctrl-plane:read', 'show bgp summary', false],
        ['show_ip_route', 'mcp:ctrl-plane:read', 'show ip route', false],
        ['show_interfaces', 'mcp:ctrl-plane:read', 'show interface brief', false],
        ['ping', 'mcp:diag:run', 'ping -c 3 192.0.2.1', false],
        ['traceroute', 'mcp:diag:run', 'traceroute -n -m 15 192.0.2.1', false],
        ['show_running_config', 'mcp:config:read', 'show running-config', false],
        ['set_interface_description', 'mcp:config:write', 'configure terminal', false],
        ['run_raw_command_on_device', 'mcp:ctrl-plane:read', null, true],
      ],
    );
  });

  it('gives each role the grammar sets of its MCP scopes, and rules rendered from them only', () => {
    const p = defaultPolicy();
    expect(p.roles.map((r) => [r.name, r.grammar])).toEqual([
      ['net-viewer', ['read-state']],
      ['net-operator', ['read-state', 'diagnostics']],
      ['net-admin', ['read-state', 'diagnostics', 'config-read', 'config-write', 'admin-operations']],
    ]);
    for (const r of p.roles) {
      expect(r.rules.length).toBeGreaterThan(0);
      // Every rule permits one anchored variant; nothing is permitted by default.
      for (const rule of r.rules) {
        expect(rule.action).toBe('permit');
        expect(rule.match).toMatch(/^\^.*\$$/);
      }
    }
  });

  it('is the same roles, scopes, certificates and tools as the design policy', () => {
    const strip = (x: ReturnType<typeof defaultPolicy>) => ({
      roles: x.roles.map((r) => ({ ...r, rules: [], grammar: [] })),
      tools: x.tools.map((t) => ({ ...t, command: t.name === 'traceroute' ? '' : t.command })),
    });
    expect(strip(defaultPolicy())).toEqual(strip(designPolicy()));
  });
});

describe('design policy (policy/design.yaml)', () => {
  it("reproduces the seed's profiles exactly (reference tac_plus-ng.cfg)", () => {
    const { profiles, users } = readReference();
    for (const role of designPolicy().roles) {
      const profile = users.get(role.name);
      expect(profile).toBe(role.tacacs.profile);
      const ref = profiles.get(profile as string) ?? [];
      // the reference ends with an explicit `deny`; ours is implicit (default deny)
      const refRules = ref.at(-1)?.action === 'deny' && ref.at(-1)?.pcre === null ? ref.slice(0, -1) : ref;
      expect(role.rules.map((r) => ({ action: r.action, pcre: r.match }))).toEqual(refRules);
    }
  });

  it('decides as the seed describes', () => {
    const p = designPolicy();
    const d = (role: string, cmd: string) => decide(p, role, cmd);
    expect(d('net-viewer', 'show bgp summary')).toEqual({
      decision: 'permit',
      ruleIndex: 2,
      rule: { action: 'permit', match: '(^|/)show($| )' },
      role: 'net-viewer',
    });
    expect(d('net-viewer', 'configure terminal')).toMatchObject({ decision: 'deny', ruleIndex: 0 });
    expect(d('net-viewer', 'ping 192.0.2.1')).toEqual({
      decision: 'deny',
      ruleIndex: null,
      rule: null,
      role: 'net-viewer',
    });
    expect(d('net-operator', 'ping 192.0.2.1')).toMatchObject({ decision: 'permit', ruleIndex: 3 });
    expect(d('net-operator', 'write memory')).toMatchObject({ decision: 'deny', ruleIndex: 1 });
    expect(d('net-admin', 'configure terminal')).toEqual({
      decision: 'permit',
      ruleIndex: 0,
      rule: { action: 'permit', match: null },
      role: 'net-admin',
    });
    expect(d('nobody', 'show')).toEqual({ decision: 'deny', ruleIndex: null, rule: null, role: 'nobody' });
    expect(d('net-admin', 'show\0x')).toMatchObject({ decision: 'deny', ruleIndex: null });
  });
});

describe('default policy lookups', () => {
  it('finds roles by name and by IdP role, and tools by scope', () => {
    const p = defaultPolicy();
    expect(roleByName(p, 'net-operator')?.idpRole).toBe('net-operator');
    expect(roleByName(p, 'operator')).toBeUndefined();
    expect(roleByIdpRole(p, 'net-admin')?.name).toBe('net-admin');
    expect(roleByIdpRole(p, 'admin')).toBeUndefined();
    expect(toolsForScopes(p, ['mcp:diag:run']).map((t) => t.name)).toEqual(['ping', 'traceroute']);
    expect(toolsForScopes(p, [])).toEqual([]);
    expect(toolsForScopes(p, roleByName(p, 'net-viewer')?.scopes ?? []).map((t) => t.name)).toEqual([
      'list_devices',
      'show_bgp_summary',
      'show_ip_route',
      'show_interfaces',
      'run_raw_command_on_device',
    ]);
  });
});

describe('device attributes', () => {
  const p = parsePolicy(
    `version: 1
roles:
  - name: dc-viewer
    idpRole: dc-viewers
    scopes: [mcp:ctrl-plane:read]
    certificate: { ttlSeconds: 30, maxTtlSeconds: 60, extensions: [permit-pty] }
    rules: [{ action: permit, match: '^show' }]
    devices: { site: [ams1, fra2], vendor: [frr] }
  - name: anywhere
    scopes: []
    certificate: { ttlSeconds: 60, maxTtlSeconds: 60, extensions: [] }
    rules: []
tools: []
`,
    'attrs.yaml',
  );
  const limited = roleByName(p, 'dc-viewer');
  const free = roleByName(p, 'anywhere');

  it('limits a role to the listed values of each attribute it names', () => {
    if (!limited || !free) throw new Error('roles missing');
    expect(deviceAllowed(limited, { site: 'ams1', vendor: 'frr' })).toBe(true);
    expect(deviceAllowed(limited, { site: 'fra2', vendor: 'frr', tenant: 'anything' })).toBe(true);
    expect(deviceAllowed(limited, { site: 'lon1', vendor: 'frr' })).toBe(false);
    expect(deviceAllowed(limited, { site: 'ams1', vendor: 'vyos' })).toBe(false);
  });

  it('refuses a device whose limited attribute is unknown (fail closed)', () => {
    if (!limited) throw new Error('role missing');
    expect(deviceAllowed(limited, { vendor: 'frr' })).toBe(false);
    expect(deviceAllowed(limited, {})).toBe(false);
  });

  it('allows every device when the role has no limits', () => {
    if (!free) throw new Error('role missing');
    expect(deviceAllowed(free, {})).toBe(true);
    expect(deviceAllowed(free, { site: 'x' })).toBe(true);
  });

  it('fills defaults: idpRole = name, tacacs names from the role name; empty rules deny everything', () => {
    expect(free?.idpRole).toBe('anywhere');
    expect(free?.tacacs).toEqual({ group: 'anywhere', profile: 'anywhere-profile' });
    expect(limited?.idpRole).toBe('dc-viewers');
    expect(decide(p, 'anywhere', 'show')).toMatchObject({ decision: 'deny', ruleIndex: null });
    expect(decide(p, 'dc-viewer', 'show x')).toMatchObject({ decision: 'permit', ruleIndex: 0 });
  });
});
