// The unanchored-permit lint: which patterns count as anchored (checked against PCRE2 itself), and the
// example commands it reports (checked with decide, decideLocal and PCRE2 on the seed's own profiles).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkDrift } from '../src/drift.ts';
import { decide, decideLocal, parseLocalRules, parsePolicy, renderLocalRules } from '../src/index.ts';
import { isAnchoredAtStart, LINT_PROBES, lookAlikeExample } from '../src/lint.ts';
import { checkPattern, renderPcreLiteral } from '../src/regex.ts';
import { designPolicy } from './helpers/design.ts';
import { lexSlashLiteral, pcre2Decide, pcre2Matches, readReference } from './helpers/reference.ts';

const unanchored = (p = designPolicy()) => checkDrift(p).filter((w) => w.kind === 'unanchored-permit');

describe('unanchored-permit on the default policy', () => {
  const p = designPolicy();
  const warnings = unanchored(p);

  it('names every permit pattern of the seed, with a look-alike example for each', () => {
    expect(
      warnings.map((w) => [w.role, w.ruleIndex, w.kind === 'unanchored-permit' && w.pattern, w.command]),
    ).toEqual([
      ['net-viewer', 2, '(^|/)show($| )', 'ip link set dev eth0 down /show'],
      ['net-viewer', 3, '(^|/)ip route($| )', 'ip link set dev eth0 down /ip route'],
      ['net-viewer', 4, '(^|/)ip addr($| )', 'ip link set dev eth0 down /ip addr'],
      // operators may run `ip link set` anyway, so their example starts from a program they are denied
      ['net-operator', 2, '(^|/)show($| )', 'reboot /show'],
      ['net-operator', 3, '(^|/)ping($| )', 'reboot /ping'],
      ['net-operator', 4, '(^|/)traceroute($| )', 'reboot /traceroute'],
      ['net-operator', 5, '(^|/)ip($| )', 'reboot /ip'],
    ]);
  });

  it('gives examples that decide and decideLocal permit by that rule, and that are denied without the suffix', () => {
    const local = parseLocalRules(renderLocalRules(p), 'rules.json');
    for (const w of warnings) {
      const command = w.command as string;
      expect(decide(p, w.role, command)).toMatchObject({ decision: 'permit', ruleIndex: w.ruleIndex });
      expect(decideLocal(local, w.role, command)).toMatchObject({
        decision: 'permit',
        ruleIndex: w.ruleIndex,
      });
      const probe = LINT_PROBES.find((x) => command.startsWith(`${x} `));
      expect(probe).toBeDefined();
      expect(decide(p, w.role, probe as string).decision).toBe('deny');
      expect(w.message).toContain(
        `${w.role} rule ${w.ruleIndex} (permit ${w.kind === 'unanchored-permit' ? w.pattern : ''})`,
      );
      expect(w.message).toContain(`e.g. "${command}"`);
    }
  });

  it('gives examples that the seed tac_plus-ng profiles permit too (PCRE2)', () => {
    const { profiles, users } = readReference();
    for (const w of warnings) {
      const rules = profiles.get(users.get(w.role) as string) ?? [];
      expect(pcre2Decide(rules, [w.command as string])).toEqual(['permit']);
    }
  });

  it('leaves the admin profile alone: a rule without a pattern says what it means', () => {
    expect(warnings.some((w) => w.role === 'net-admin')).toBe(false);
  });
});

describe('which patterns are anchored', () => {
  it.each([
    ['^show', true],
    ['^show($| )', true],
    ['^show|^ip', true],
    ['(^show|^ip)( |$)', true],
    ['((^a|^b)|^c)d', true],
    ['(^a)+b', true],
    ['show', false],
    ['(^|/)show($| )', false],
    ['^show|ip', false],
    ['(^a)?b', false],
    ['a^', false],
    ['$', false],
    ['.^a', false],
    ['( |^)show', false],
  ])('%s -> %s', (pattern, expected) => {
    expect(isAnchoredAtStart(pattern)).toBe(expected);
  });

  it('refuses a pattern outside the subset with ERR_POLICY_REGEX', () => {
    expect(() => isAnchoredAtStart('^a(?=b)')).toThrow(expect.objectContaining({ code: 'ERR_POLICY_REGEX' }));
  });

  // Sound against PCRE2 itself: a pattern said to be anchored finds exactly what it finds when pinned to
  // the absolute start of the subject (\A), on subjects without line feeds.
  const atom = fc.constantFrom('a', 's', ' ', '/', '.', '[^ ]', '[a-s]', '\\/');
  const quant = fc.constantFrom('', '', '*', '+', '?');
  const seq = fc
    .tuple(
      fc.array(
        fc.tuple(atom, quant).map(([a, q]) => a + q),
        { minLength: 1, maxLength: 3 },
      ),
      fc.constantFrom('', '', '', '$'),
    )
    .map(([a, end]) => a.join('') + end);
  const group = fc
    .array(fc.tuple(fc.constantFrom(true, true, false), seq), { minLength: 1, maxLength: 3 })
    .map((alts) => `(${alts.map(([bol, s]) => (bol ? `^${s}` : s)).join('|')})`);
  const patternArb = fc
    .tuple(fc.constantFrom('', '', '^'), fc.array(fc.oneof(group, seq), { minLength: 1, maxLength: 2 }))
    .map(([head, parts]) => head + parts.join(''))
    .filter((p) => {
      try {
        checkPattern(p);
        return true;
      } catch {
        return false;
      }
    });
  const subjectArb = fc
    .array(fc.constantFrom('a', 's', ' ', '/', 'x'), { maxLength: 7 })
    .map((a) => a.join(''));

  it('a pattern called anchored matches as if pinned to the start (PCRE2, generated patterns)', () => {
    let anchoredSeen = 0;
    let unanchoredMatchedLater = 0;
    fc.assert(
      fc.property(patternArb, fc.array(subjectArb, { minLength: 8, maxLength: 16 }), (pattern, subjects) => {
        const pcre = lexSlashLiteral(`/${renderPcreLiteral(pattern)}/`, 0).pattern;
        const found = pcre2Matches(pcre, subjects);
        const pinned = pcre2Matches(`\\A(?:${pcre})`, subjects);
        if (isAnchoredAtStart(pattern)) {
          anchoredSeen++;
          expect(found).toEqual(pinned);
        } else if (found.some((f, i) => f && !pinned[i])) {
          unanchoredMatchedLater++;
        }
      }),
      { numRuns: 120 },
    );
    // the generator reaches both sides
    expect(anchoredSeen).toBeGreaterThan(15);
    expect(unanchoredMatchedLater).toBeGreaterThan(10);
  });
});

describe('unanchored-permit on other policies', () => {
  const policy = (rules: string) =>
    parsePolicy(
      `version: 1\nroles:\n  - name: r\n    scopes: []\n    certificate: { ttlSeconds: 60, maxTtlSeconds: 60, extensions: [] }\n    rules: ${rules}\ntools: []\n`,
      'lint.yaml',
    );

  it('derives the example from the pattern: class, repeat and alternatives', () => {
    const p = policy(`[{ action: permit, match: 'sh[o]w +(version|bgp)$' }]`);
    const [w, ...rest] = unanchored(p);
    expect(rest).toEqual([]);
    expect(w?.command).toBe('ip link set dev eth0 down show version');
    expect(decide(p, 'r', w?.command as string).decision).toBe('permit');
  });

  it('reports the rule without an example when earlier deny rules catch every probe', () => {
    const p = policy(`[{ action: deny, match: ' ' }, { action: permit, match: 'show' }]`);
    const [w] = unanchored(p);
    expect(w).toMatchObject({ kind: 'unanchored-permit', ruleIndex: 1, command: null, pattern: 'show' });
    expect(w?.message).toContain('no example found');
    expect(lookAlikeExample(p, 'r', 1)).toBeNull();
  });

  it('ignores deny rules, anchored permits and rules without a pattern', () => {
    const p = policy(
      `[{ action: deny, match: 'write' }, { action: permit, match: '^show|^ip( |$)' }, { action: permit }]`,
    );
    expect(unanchored(p)).toEqual([]);
  });
});
