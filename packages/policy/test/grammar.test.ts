// Command grammars: the language, the integer ranges, the rendered file, and agreement between what the
// grammar admits and what the rules rendered from it permit (decide, decideLocal and PCRE2 itself on the
// rendered tac_plus-ng profiles).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { grammarAgreement, HOLE_PROBES, roleGrammar } from '../src/grammar/check.ts';
import { matchGrammar } from '../src/grammar/file.ts';
import { GrammarSpecError, intRangePattern, parseEntry } from '../src/grammar/spec.ts';
import {
  decide,
  decideLocal,
  defaultPolicy,
  generateCommands,
  PolicyError,
  parseGrammarFile,
  parseLocalRules,
  parsePolicy,
  renderGrammar,
  renderLocalRules,
  renderTacPlusNg,
} from '../src/index.ts';
import { forbiddenWords, GRAMMAR_WORDS } from '../src/testing/index.ts';
import { designPolicy } from './helpers/design.ts';
import { pcre2Decide, pcre2Matches, readProfiles, readUserProfiles } from './helpers/reference.ts';

const ROLES = ['net-viewer', 'net-operator', 'net-admin'] as const;

describe('grammar language', () => {
  it('parses words, choices, typed values and optional groups into variants', () => {
    const e = parseEntry('ping -c <int:1-5> [-W <int:1-5>] [-I <interface>] <ip>');
    expect(e.variants.map((v) => v.length)).toEqual([8, 6, 6, 4]);
    expect(e.words[0]).toEqual({ token: { kind: 'literal', text: 'ping' }, group: null });
    expect(e.words[3]).toEqual({ token: { kind: 'literal', text: '-W' }, group: 0 });
    expect(parseEntry('ip -4|-6 route').words[1]?.token).toEqual({ kind: 'choice', options: ['-4', '-6'] });
  });

  it.each([
    ['', 'expected 1-256'],
    ['ping  -c', 'single spaces'],
    ['<ip> ping', 'first word must be a literal'],
    ['[ping] x', 'first word must be a literal'],
    ['ping <int>', 'needs bounds'],
    ['ping <int:5-1>', 'MIN <= MAX'],
    ['ping <int:01-5>', 'leading zeros'],
    ['ping <int:1-70000>', 'MIN <= MAX <= 65535'],
    ['ping <file>', 'unknown value type'],
    ['ping [-c [x]]', 'nested'],
    ['ping [-c', '"[" without "]"'],
    ['ping -c]', '"]" without "["'],
    ['description <text> x', 'last word'],
    ['x [<text>]', 'last word'],
    ['a [b] [c] [d] [e]', 'more than 3 optional groups'],
    ['ping a||b', 'distinct literals'],
    ['ping a|a', 'distinct literals'],
    ['ping $(id)', 'not a literal'],
  ])('refuses %j (%s)', (spec, why) => {
    expect(() => parseEntry(spec)).toThrow(GrammarSpecError);
    expect(() => parseEntry(spec)).toThrow(new RegExp(why.replace(/[[\]()$|]/g, '\\$&')));
  });

  it('renders integer ranges as quantifier-free alternations that match exactly the range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 3000 }), (a, b) => {
        const [min, max] = a <= b ? [a, b] : [b, a];
        const p = intRangePattern(min, max);
        expect(p).not.toMatch(/[*+?{]/);
        const re = new RegExp(`^(?:${p})$`);
        for (let n = Math.max(0, min - 15); n <= max + 15; n++)
          expect(re.test(String(n))).toBe(n >= min && n <= max);
        expect(re.test(`0${min}`)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('renders ranges PCRE2 reads the same way', () => {
    const subjects = Array.from({ length: 320 }, (_, i) => String(i));
    for (const [min, max] of [
      [1, 5],
      [1, 30],
      [0, 255],
      [7, 299],
    ] as const) {
      expect(pcre2Matches(`^${intRangePattern(min, max)}$`, subjects)).toEqual(
        subjects.map((s) => Number(s) >= min && Number(s) <= max),
      );
    }
  });
});

describe('policy files with grammars', () => {
  const base = (roles: string, grammars: string) =>
    `version: 1\ngrammars:\n${grammars}\nroles:\n${roles}\ntools: []\n`;
  const set = `  - name: reads\n    scope: a:read\n    class: read\n    commands: [show x, 'show y <int:1-3>']\n`;
  const role = (extra: string, scopes = '[a:read]') =>
    `  - name: r\n    scopes: ${scopes}\n    certificate: { ttlSeconds: 60, maxTtlSeconds: 60, extensions: [] }\n${extra}`;

  it('renders one anchored permit per variant', () => {
    const p = parsePolicy(base(role('    grammar: [reads]\n'), set), 'g.yaml');
    expect(p.roles[0]?.rules).toEqual([
      { action: 'permit', match: '^show x$' },
      { action: 'permit', match: '^show y [1-3]$' },
    ]);
  });

  it.each([
    [
      'a role whose scopes lack the set scope',
      role('    grammar: [reads]\n', '[b:read]'),
      'needs scope a:read',
    ],
    ['an unknown set', role('    grammar: [writes]\n'), 'unknown grammar set "writes"'],
    ['rules and grammar', role('    grammar: [reads]\n    rules: []\n'), 'not both'],
    ['neither', role(''), 'expected rules (hand-written patterns) or grammar'],
  ])('refuses %s', (_, roles, message) => {
    try {
      parsePolicy(base(roles, set), 'g.yaml');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PolicyError);
      expect((e as PolicyError).code).toBe('ERR_POLICY_INVALID');
      expect((e as PolicyError).message).toContain(message);
    }
  });

  it('refuses an entry outside the language or too complex for one tac_plus-ng rule, with its line', () => {
    const bad = `  - name: reads\n    scope: a:read\n    class: read\n    commands:\n      - show <file>\n      - show <prefix> <prefix>\n`;
    try {
      parsePolicy(base(role('    grammar: [reads]\n'), bad), 'g.yaml');
      expect.unreachable();
    } catch (e) {
      const issues = (e as PolicyError).issues;
      expect(issues.map((i) => [i.code, i.path, i.line])).toEqual([
        ['grammar', 'grammars[0].commands[0]', 7],
        ['grammar', 'grammars[0].commands[1]', 8],
      ]);
      expect(issues[1]?.message).toContain('too complex for one tac_plus-ng rule');
    }
  });
});

describe('the default policy: grammar and rendered rules agree', () => {
  const p = defaultPolicy();
  const commands = [...generateCommands(p.grammars ?? []), ...HOLE_PROBES.map((h) => h.command)];

  it('generates a few thousand commands, both admitted and refused', () => {
    expect(commands.length).toBeGreaterThan(1000);
    const sets = roleGrammar(p, 'net-admin') ?? [];
    const admitted = commands.filter((c) => matchGrammar(sets, c.split(' ')).matched).length;
    expect(admitted).toBeGreaterThan(100);
    expect(commands.length - admitted).toBeGreaterThan(500);
  });

  it('check finds no disagreement', () => {
    expect(grammarAgreement(p)).toEqual([]);
  });

  it('PCRE2 on the rendered tac_plus-ng profiles decides as the grammar on every generated command', () => {
    const cfg = renderTacPlusNg(p);
    const profiles = readProfiles(cfg);
    const users = readUserProfiles(cfg);
    for (const role of ROLES) {
      const rules = profiles.get(users.get(role) as string) ?? [];
      expect(rules.length).toBeGreaterThan(10);
      const sets = roleGrammar(p, role) ?? [];
      const byPcre = pcre2Decide(rules, commands);
      const byGrammar = commands.map((c) => (matchGrammar(sets, c.split(' ')).matched ? 'permit' : 'deny'));
      const differ = commands.filter((_, i) => byPcre[i] !== byGrammar[i]);
      expect(differ).toEqual([]);
    }
  });

  it('the local rules file and the grammar file rendered from it decide alike', () => {
    const local = parseLocalRules(renderLocalRules(p), 'local-rules.json');
    const grammars = parseGrammarFile(renderGrammar(p), 'grammar.json');
    for (const role of ROLES) {
      const sets = grammars.roles.get(role);
      if (!sets) throw new Error(`no grammar for ${role}`);
      for (const c of commands) {
        expect(matchGrammar(sets, c.split(' ')).matched).toBe(
          decideLocal(local, role, c).decision === 'permit',
        );
      }
    }
  });
});

// The findings of issue 12, as requests the validator builds (one vtysh -c line, or program + arguments).
const FINDINGS: readonly [string, string, readonly string[]][] = [
  ['a viewer reads a file through ip -b', 'ip -b /etc/netward/tacacs.key /show', ROLES],
  ['an operator reads a file through ip -batch', 'ip -batch /etc/netward/tacacs.key', ROLES],
  ['a viewer adds a route', 'ip route add 10.99.0.0/16 dev lo', ['net-viewer', 'net-operator']],
  ['a viewer flushes addresses', 'ip addr flush dev lo', ['net-viewer', 'net-operator']],
  ['an operator takes a link down', 'ip link set dev eth0 down', ['net-viewer', 'net-operator']],
  ['an operator enters a namespace', 'ip netns exec other sh', ROLES],
  ['an operator runs ip in another namespace', 'ip -n other link show', ROLES],
  ['an operator floods with ping -f', 'ping -f 192.0.2.1', ROLES],
  ['an operator floods with ping -i 0', 'ping -c 5 -i 0 192.0.2.1', ROLES],
  ['an operator preloads 65536', 'ping -c 5 -l 65536 192.0.2.1', ROLES],
  ['an operator pings broadcast', 'ping -c 5 -b 192.0.2.255', ROLES],
  ['a viewer reads the running configuration', 'show running-config', ['net-viewer', 'net-operator']],
];

describe('issue 12 findings', () => {
  it.each(FINDINGS)(
    '%s: permitted by the design rules, denied by the default policy',
    (_, command, roles) => {
      for (const role of roles) {
        expect(decide(defaultPolicy(), role, command).decision).toBe('deny');
        const sets = roleGrammar(defaultPolicy(), role) ?? [];
        expect(matchGrammar(sets, command.split(' ')).matched).toBe(false);
      }
      // the design rules let at least one of those roles through: the finding was real
      expect(roles.some((role) => decide(designPolicy(), role, command).decision === 'permit')).toBe(true);
    },
  );

  it('still gives each role the commands of its MCP tools', () => {
    const allowed = (role: string, c: string) => decide(defaultPolicy(), role, c).decision;
    expect(allowed('net-viewer', 'show bgp summary')).toBe('permit');
    expect(allowed('net-viewer', 'show ip route 10.0.0.0/8')).toBe('permit');
    expect(allowed('net-viewer', 'ping -c 3 192.0.2.1')).toBe('deny');
    expect(allowed('net-operator', 'ping -c 5 2001:db8::1')).toBe('permit');
    expect(allowed('net-operator', 'traceroute -n -m 30 10.1.0.1')).toBe('permit');
    expect(allowed('net-operator', 'traceroute -n -m 31 10.1.0.1')).toBe('deny');
    expect(allowed('net-admin', 'show running-config')).toBe('permit');
    expect(allowed('net-admin', 'description uplink to spine-a')).toBe('permit');
    expect(allowed('net-admin', 'ip link set dev eth0 down')).toBe('permit');
  });

  it('takes addresses and prefix lengths only in canonical form', () => {
    const allowed = (role: string, c: string) => decide(defaultPolicy(), role, c).decision;
    // inet_aton, which ping and traceroute use, reads a leading zero as octal: 010.0.0.1 is 8.0.0.1
    expect(allowed('net-operator', 'ping -c 3 010.0.0.1')).toBe('deny');
    expect(allowed('net-operator', 'ping -c 3 192.168.001.1')).toBe('deny');
    expect(allowed('net-operator', 'ping -c 3 0.0.0.0')).toBe('permit');
    expect(allowed('net-operator', 'ping -c 3 10.0.100.1')).toBe('permit');
    expect(allowed('net-viewer', 'show ip route 10.0.0.0/33')).toBe('deny');
    expect(allowed('net-viewer', 'show ip route 10.0.0.0/08')).toBe('deny');
    expect(allowed('net-viewer', 'show ip route 10.0.0.0/0')).toBe('permit');
    expect(allowed('net-viewer', 'show ip route 10.0.0.0/32')).toBe('permit');
    expect(allowed('net-viewer', 'show ipv6 route 2001:db8::/129')).toBe('deny');
    expect(allowed('net-viewer', 'show ipv6 route 2001:db8::/128')).toBe('permit');
    // the rendered tac_plus-ng rules decide alike (PCRE2, as tac_plus-ng runs them)
    const cfg = renderTacPlusNg(defaultPolicy());
    const rules = readProfiles(cfg).get(readUserProfiles(cfg).get('net-operator') as string) ?? [];
    expect(pcre2Decide(rules, ['ping -c 3 010.0.0.1', 'ping -c 3 10.0.100.1'])).toEqual(['deny', 'permit']);
  });
});

describe('random argv through each role grammar', () => {
  it("checks forbidden words per program: traceroute's required -n is not ip's -n", () => {
    // The grammar admits `traceroute -n <ip>`: a check that forbade -n for every program would fail
    // on a random draw of exactly that command.
    expect(decide(defaultPolicy(), 'net-operator', 'traceroute -n 192.0.2.1').decision).toBe('permit');
    expect(forbiddenWords(['traceroute', '-n', '192.0.2.1'])).toEqual([]);
    expect(forbiddenWords(['ip', '-n', 'other', 'link', 'show'])).toEqual(['-n']);
    expect(forbiddenWords(['ping', '-c', '5', '-f', '192.0.2.1'])).toEqual(['-f']);
    expect(forbiddenWords(['traceroute', '-f', '3', '192.0.2.1'])).toEqual(['-f']);
    expect(forbiddenWords(['show', 'interface', 'netns'])).toEqual([]);
  });

  it.each(ROLES)(
    '%s: never throws, agrees with the rendered rules, admits nothing it does not describe',
    (role) => {
      const p = defaultPolicy();
      const sets = roleGrammar(p, role) ?? [];
      const word = fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...GRAMMAR_WORDS) },
        { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
      );
      fc.assert(
        fc.property(fc.array(word, { minLength: 1, maxLength: 12 }), (words) => {
          const g = matchGrammar(sets, words);
          const command = words.join(' ');
          if (words.some((w) => w === '' || w.includes(' '))) return; // the validator refuses these first
          expect(g.matched).toBe(decide(p, role, command).decision === 'permit');
          if (g.matched) {
            // <text> (a description) may hold any word of the input alphabet; every other position is typed
            const checked = g.entry.endsWith('<text>') ? words.slice(0, 1) : words;
            // The forbidden words are options and subcommands of the programs the validator runs (a file
            // read, a namespace, a flood); as an FRR interface name (`interface netns`) they are harmless.
            expect(forbiddenWords(checked)).toEqual([]);
            expect(sets.some((s) => s.name === g.set && s.entries[g.index]?.spec === g.entry)).toBe(true);
            if (role !== 'net-admin') expect(g.class).not.toBe('configuration');
          } else {
            expect(g.reason.length).toBeGreaterThan(0);
          }
        }),
        { numRuns: 3000 },
      );
    },
  );
});

describe('grammar file', () => {
  it('refuses a file that is not JSON, has unknown keys, bad entries or unknown sets', () => {
    const cases: [string, RegExp][] = [
      ['{', /JSON/],
      ['{"version":1,"sets":{},"roles":{},"x":1}', /Unrecognized key/],
      [
        '{"version":1,"sets":{"a":{"scope":"s","class":"read","commands":["<ip>"]}},"roles":{}}',
        /sets\.a\.commands\[0\]: the first word/,
      ],
      ['{"version":1,"sets":{},"roles":{"net-viewer":["a"]}}', /unknown set "a"/],
    ];
    for (const [text, message] of cases) {
      try {
        parseGrammarFile(text, 'g.json');
        expect.unreachable();
      } catch (e) {
        expect((e as PolicyError).code).toBe('ERR_POLICY_GRAMMAR_INVALID');
        expect((e as PolicyError).message).toMatch(message);
      }
    }
  });

  it('never makes a role of __proto__', () => {
    const g = parseGrammarFile('{"version":1,"sets":{},"roles":{"__proto__":[]}}', 'g.json');
    expect([...g.roles.keys()]).toEqual([]);
  });

  it('keeps a role without grammar as null (the design policy)', () => {
    const g = parseGrammarFile(renderGrammar(designPolicy()), 'g.json');
    expect(g.roles.get('net-viewer')).toBeNull();
    expect(g.roles.has('nobody')).toBe(false);
  });
});
