// policy/hardened.yaml: the default policy with every permit anchored at the start of the command. Same
// roles, scopes, certificates and tools; no unanchored-permit warning; on the 64-row table it decides as
// the default policy except on the rows whose program is given by path, which only the seed's `(^|/)`
// alternative permitted (the validator never sends such a command: it reduces the program to its base
// name). Its decisions are checked against PCRE2 on its own rendered tac_plus-ng configuration.
import { describe, expect, it } from 'vitest';
import {
  checkDrift,
  commandString,
  decide,
  decideLocal,
  defaultPolicy,
  parseLocalRules,
  renderBrokerRoles,
  renderIdp,
  renderKeycloakRealm,
  renderLocalRules,
  renderMcpTools,
  renderTacPlusNg,
} from '../src/index.ts';
import { hardenedPolicy } from './helpers/hardened.ts';
import { pcre2Decide, readProfiles, readUserProfiles } from './helpers/reference.ts';
import { TABLE } from './helpers/table.ts';

const hardened = hardenedPolicy();
const seed = defaultPolicy();

describe('policy/hardened.yaml', () => {
  it('has the default policy roles, scopes, certificates and tools', () => {
    for (const render of [renderBrokerRoles, renderMcpTools, renderIdp]) {
      expect(render(hardened)).toBe(render(seed));
    }
    // the realm names the policy file it was rendered from
    expect(renderKeycloakRealm(hardened).replace('policy/hardened.yaml', 'policy/default.yaml')).toBe(
      renderKeycloakRealm(seed),
    );
    expect(hardened.roles.map((r) => [r.name, r.tacacs, r.rules.length])).toEqual(
      seed.roles.map((r) => [r.name, r.tacacs, r.rules.length]),
    );
  });

  it('keeps every deny and anchors every permit: (^|/)X becomes ^X', () => {
    seed.roles.forEach((role, i) => {
      role.rules.forEach((rule, k) => {
        const h = hardened.roles[i]?.rules[k];
        if (rule.action === 'deny' || rule.match === null) expect(h).toEqual(rule);
        else expect(h).toEqual({ action: 'permit', match: rule.match.replace(/^\(\^\|\/\)/, '^') });
      });
    });
  });

  it('draws no unanchored-permit warning; the tool and scope findings of the seed remain', () => {
    const warnings = checkDrift(hardened);
    expect(warnings.filter((w) => w.kind === 'unanchored-permit')).toEqual([]);
    expect(warnings.map((w) => [w.kind, w.role, w.tool, w.ruleIndex])).toEqual(
      checkDrift(seed)
        .filter((w) => w.kind !== 'unanchored-permit')
        .map((w) => [w.kind, w.role, w.tool, w.ruleIndex]),
    );
  });

  it('denies every look-alike the lint found in the default policy (decide and PCRE2 on its tac_plus-ng)', () => {
    const cfg = renderTacPlusNg(hardened);
    const profiles = readProfiles(cfg);
    const users = readUserProfiles(cfg);
    const examples = checkDrift(seed).filter((w) => w.kind === 'unanchored-permit');
    expect(examples.length).toBe(7);
    for (const w of examples) {
      const command = w.command as string;
      expect(decide(seed, w.role, command).decision).toBe('permit');
      expect(decide(hardened, w.role, command).decision).toBe('deny');
      expect(pcre2Decide(profiles.get(users.get(w.role) as string) ?? [], [command])).toEqual(['deny']);
    }
    // the example, by hand
    expect(decide(hardened, 'net-viewer', 'ip link set dev eth0 down /show').decision).toBe('deny');
    expect(decide(seed, 'net-viewer', 'ip link set dev eth0 down /show').decision).toBe('permit');
  });

  describe('on the command x role table', () => {
    const commands = TABLE.map(([, cmd, args]) => commandString(cmd, args));
    const cfg = renderTacPlusNg(hardened);
    const profiles = readProfiles(cfg);
    const users = readUserProfiles(cfg);
    const local = parseLocalRules(renderLocalRules(hardened), 'hardened-rules.json');

    it('differs from the default policy exactly on the rows with a program given by path', () => {
      const differing = TABLE.flatMap(([role], i) => {
        const c = commands[i] as string;
        const a = decide(seed, role, c).decision;
        const b = decide(hardened, role, c).decision;
        return a === b ? [] : [`${role}: ${c}: ${a} -> ${b}`];
      });
      expect(differing).toEqual([
        'net-viewer: /usr/bin/show ip route: permit -> deny',
        'net-viewer: /usr/local/sbin/show version: permit -> deny',
        'net-viewer: a/show x: permit -> deny',
        'net-operator: /bin/ping -c 3 192.0.2.1: permit -> deny',
      ]);
    });

    it('decides as PCRE2 on its rendered tac_plus-ng profiles, and decideLocal as decide', () => {
      const ours = TABLE.map(([role], i) => decide(hardened, role, commands[i] as string).decision);
      // unknown users have no profile: tac_plus-ng fails them
      const oracle: string[] = TABLE.map(() => 'deny');
      for (const [user, profile] of users) {
        const idx = TABLE.map((row, i) => (row[0] === user ? i : -1)).filter((i) => i >= 0);
        const answers = pcre2Decide(
          profiles.get(profile) ?? [],
          idx.map((i) => commands[i] as string),
        );
        idx.forEach((i, k) => {
          oracle[i] = answers[k] as string;
        });
      }
      expect(ours).toEqual(oracle);
      expect(TABLE.map(([role], i) => decideLocal(local, role, commands[i] as string).decision)).toEqual(
        ours,
      );
    });
  });
});
