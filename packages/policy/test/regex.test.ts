// The regex subset: what is refused and why, and a differential test of our JavaScript compilation against
// PCRE2 itself (grep -P) through tac_plus-ng's own lexing of the rendered `/.../` literal.
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PolicyError } from '../src/index.ts';
import { checkPattern, compilePattern, MAX_QUANTIFIERS, renderPcreLiteral } from '../src/regex.ts';
import { lexSlashLiteral, pcre2Matches } from './helpers/reference.ts';

function refusal(pattern: string): string | null {
  try {
    checkPattern(pattern);
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyError);
    expect((err as PolicyError).code).toBe('ERR_POLICY_REGEX');
    return (err as PolicyError).issues[0]?.code ?? 'none';
  }
}

describe('the pattern subset', () => {
  it.each([
    'configure',
    'write',
    '(^|/)show($| )',
    '(^|/)ip route($| )',
    '(^|\\/)show($| )',
    '^show (bgp|ip) summary$',
    '^ping -c [1-5] [0-9.]+$',
    '[^a-z]',
    '[-a]',
    '[a-]',
    'a{2}',
    'a{1,}',
    'a{0,3}',
    'x\\.y',
    '\\(\\)\\[\\]\\{\\}\\*\\+\\?\\|\\^\\$\\\\',
    '[\\]\\-\\^\\[\\\\]',
  ])('accepts %s', (p) => {
    expect(refusal(p)).toBeNull();
  });

  it.each(
    [
      ['', 'regex-unsupported'],
      ['show(?=x)', 'regex-unsupported'], // lookahead
      ['show(?!x)', 'regex-unsupported'],
      ['(?<=a)b', 'regex-unsupported'], // lookbehind
      ['(?<!a)b', 'regex-unsupported'],
      ['(?:a|b)', 'regex-unsupported'], // non-capturing
      ['(?<n>a)', 'regex-unsupported'], // named group
      ['(?i)show', 'regex-unsupported'], // inline flags
      ['(a)\\1', 'regex-unsupported'], // backreference
      ['\\d+', 'regex-unsupported'], // class shorthand
      ['\\w', 'regex-unsupported'],
      ['\\s', 'regex-unsupported'],
      ['\\bshow', 'regex-unsupported'], // word boundary
      ['\\x41', 'regex-unsupported'],
      ['\\u0041', 'regex-unsupported'],
      ['[[:alpha:]]', 'regex-unsupported'], // POSIX class
      ['[]a]', 'regex-unsupported'],
      ['[^]', 'regex-unsupported'],
      ['[z-a]', 'regex-unsupported'],
      ['a*?', 'regex-unsupported'], // lazy
      ['a++', 'regex-unsupported'], // possessive
      ['*a', 'regex-unsupported'],
      ['^*', 'regex-unsupported'],
      ['a|', 'regex-unsupported'], // empty alternative
      ['(|a)', 'regex-unsupported'],
      ['()', 'regex-unsupported'],
      ['(a', 'regex-unsupported'],
      ['a)', 'regex-unsupported'],
      ['[ab', 'regex-unsupported'],
      ['a{', 'regex-unsupported'],
      ['a{,3}', 'regex-unsupported'],
      ['}', 'regex-unsupported'],
      ['a\\', 'regex-unsupported'],
      ['/show/i', 'none-or-literal'], // placeholder, replaced below
      ['showé', 'regex-unsupported'], // non-ASCII
      ['show\t', 'regex-unsupported'], // control character
      ['(a+)+', 'regex-unsafe'], // nested quantifiers
      ['(a*)*b', 'regex-unsafe'],
      ['(.*)*', 'regex-unsafe'],
      ['(a{1,3}){2}', 'regex-unsafe'],
      ['(a|aa)*', 'regex-unsafe'], // alternation under a quantifier
      ['((a|b)c)+', 'regex-unsafe'],
      ['a{65}', 'regex-unsafe'],
      ['a{1,100}', 'regex-unsafe'],
      [`${'a*'.repeat(MAX_QUANTIFIERS + 1)}`, 'regex-unsafe'],
      ['a'.repeat(257), 'regex-unsafe'],
    ].filter(([p]) => p !== '/show/i'),
  )('refuses %j as %s', (p, code) => {
    expect(refusal(p as string)).toBe(code);
  });

  it('treats /re/flags as plain characters, so a pasted flag can never silently apply', () => {
    // "/show/i" is a valid pattern in the subset: it matches the literal text "/show/i", never "SHOW".
    const c = compilePattern('/show/i');
    expect(c.test('SHOW')).toBe(false);
    expect(c.test('x /show/i')).toBe(true);
  });

  it('compilePattern refuses with ERR_POLICY_REGEX', () => {
    expect(() => compilePattern('(a+)+')).toThrow(expect.objectContaining({ code: 'ERR_POLICY_REGEX' }));
  });
});

// ---- differential: our JS RegExp vs PCRE2, through the tac_plus-ng lexer -------------------------------

const litChar = fc.constantFrom('a', 'b', 's', ' ', '-', '/', '\\.', '\\/', '\\\\', '\\(', '\\$');
const classArb = fc.constantFrom('[ab]', '[^a]', '[a-c]', '[/ ]', '[^ /]', '[\\]a]', '[a-]', '[.]');
const simpleAtom = fc.oneof(litChar, fc.constant('.'), classArb);
const quant = fc.constantFrom('', '', '', '*', '+', '?', '{2}', '{0,2}', '{1,}');
const quantified = fc.tuple(simpleAtom, quant).map(([a, q]) => a + q);
const plainSeq = fc
  .array(fc.oneof(simpleAtom, fc.constantFrom('^', '$')), { minLength: 1, maxLength: 3 })
  .map((a) => a.join(''));
const group = fc.array(plainSeq, { minLength: 1, maxLength: 3 }).map((alts) => `(${alts.join('|')})`);
const patternArb = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: quantified },
      { weight: 1, arbitrary: fc.constantFrom('^', '$') },
      { weight: 2, arbitrary: group },
    ),
    {
      minLength: 1,
      maxLength: 5,
    },
  )
  .map((parts) => parts.join(''))
  .filter((p) => {
    try {
      checkPattern(p);
      return true;
    } catch {
      return false;
    }
  });
const subjectArb = fc
  .array(fc.constantFrom('a', 'b', 's', ' ', '-', '/', '.', '\\', '(', '$', 'é', 'A'), { maxLength: 8 })
  .map((a) => a.join(''));

describe('JavaScript decisions equal PCRE2 decisions', () => {
  it('on generated patterns and subjects (grep -P in the C locale, after tac_plus-ng lexing)', () => {
    fc.assert(
      fc.property(patternArb, fc.array(subjectArb, { minLength: 1, maxLength: 12 }), (pattern, subjects) => {
        const pcre = lexSlashLiteral(`/${renderPcreLiteral(pattern)}/`, 0).pattern;
        const expected = pcre2Matches(pcre, subjects);
        const c = compilePattern(pattern);
        expect(subjects.map((s) => c.test(s))).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });

  it('round-trips through the tac_plus-ng lexer: `\\/` becomes `/`, `\\\\` stays one escaped backslash', () => {
    expect(renderPcreLiteral('(^|/)show')).toBe('(^|\\/)show');
    expect(lexSlashLiteral(`/${renderPcreLiteral('a\\\\b/c\\/d\\.e')}/`, 0).pattern).toBe('a\\\\b/c/d\\.e');
  });

  // Newlines never reach tac_plus-ng from the validator, but `decide` must still answer as PCRE2_MULTILINE
  // does. Perl is the reference PCRE2 follows for ^/$ in multiline mode.
  const perlMatches = (pattern: string, subjects: string[]): boolean[] => {
    const r = spawnSync('perl', ['-0', '-ne', 'chop; print((/$ENV{PAT}/m ? 1 : 0), "\\n")'], {
      input: subjects.map((s) => `${s}\0`).join(''),
      env: { ...process.env, PAT: pattern, LC_ALL: 'C' },
    });
    if (r.error || r.status !== 0) throw new Error(`perl is required as the multiline oracle: ${r.stderr}`);
    return r.stdout
      .toString()
      .trim()
      .split('\n')
      .map((l) => l === '1');
  };

  it.each(['^show', 'show$', '(^|/)show($| )', '^$', 'a.b', '[^a]b', '^', '$'])(
    'multiline semantics of %s equal Perl /m',
    (pattern) => {
      const subjects = [
        'show',
        'x\nshow',
        'show\n',
        'show\nx',
        '\n',
        'a\nb',
        '\n\n',
        'x\r\nshow',
        'a\rb',
        '',
        'y/show\n',
      ];
      const c = compilePattern(pattern);
      expect(subjects.map((s) => c.test(s))).toEqual(perlMatches(pattern, subjects));
    },
  );
});
