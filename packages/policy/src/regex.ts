// The regular-expression subset a policy may use, and its compilation to a JavaScript RegExp that gives the
// same match/no-match answer as tac_plus-ng.
//
// What tac_plus-ng does (event-driven-servers, tac_plus-ng/config.c and the shared lexer):
//   - `cmd =~ /re/` is compiled with PCRE2 and PCRE2_MULTILINE; `regex-match-case = yes` clears its default
//     PCRE2_CASELESS|PCRE2_UTF flags, so matching is case-sensitive and byte-wise. Our tac_plus-ng renderer
//     always writes `regex-match-case = yes`: without it tac_plus-ng matches case-insensitively, unlike us.
//   - the match is a search (unanchored) and only its success is used (no captures), so leftmost-longest
//     (POSIX) versus leftmost-first (PCRE, JS) never changes an answer.
//   - the lexer turns `\/` into `/` and `\\` into `\` before PCRE2 sees the pattern; `renderPcreLiteral`
//     writes what survives that step.
//
// The subset: printable ASCII; literals; `.`; `^` `$`; `[...]` classes with literal members and ranges;
// groups `( )`; alternation `|`; quantifiers `* + ? {n} {n,} {n,m}`; backslash before punctuation only.
// Refused with a reason: lookarounds, named/non-capturing groups, inline flags, backreferences, class
// shorthands (\d \w \s: PCRE2 and JS differ once UTF or locale is involved), word boundaries, POSIX
// classes, lazy/possessive quantifiers, empty alternatives, and everything that can take super-linear time
// (a quantifier applied to a group that contains a quantifier or an alternation, more than
// MAX_QUANTIFIERS quantifiers, bounded repeats above MAX_REPEAT). These patterns run on every device command.

import { PolicyError, type PolicyIssueCode } from './errors.ts';

/** Longest pattern accepted. tac_plus-ng copies a condition into a 4096-byte buffer; ours are far shorter. */
export const MAX_PATTERN_LENGTH = 256;
/** Most quantifiers in one pattern: bounds the polynomial cost of adjacent `.*`-like repeats. */
export const MAX_QUANTIFIERS = 8;
/** Largest bound in `{n,m}`. */
export const MAX_REPEAT = 64;

/** A parsed pattern (`parsePattern`): what the lint in lint.ts reasons about. */
export type PatternNode =
  | { readonly t: 'lit'; readonly ch: string }
  | { readonly t: 'any' }
  | { readonly t: 'bol' }
  | { readonly t: 'eol' }
  | { readonly t: 'class'; readonly negated: boolean; readonly items: readonly (readonly [string, string])[] }
  | { readonly t: 'group'; readonly alts: readonly (readonly Node[])[] }
  | { readonly t: 'rep'; readonly node: Node; readonly min: number; readonly max: number };

type Node = PatternNode;

/** A pattern refused by `checkPattern`: `code` says whether it is unsupported or unsafe. */
export class PatternError extends Error {
  override readonly name = 'PatternError';
  constructor(
    readonly issue: Extract<PolicyIssueCode, 'regex-unsupported' | 'regex-unsafe'>,
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const ESCAPABLE = new Set([...'.^$|?*+()[]{}\\/-']);
const CLASS_ESCAPABLE = new Set([...'\\]-^[']);

function escapeReason(c: string): string {
  if (/[1-9]/.test(c)) return `backreference \\${c} is not supported`;
  if (c === '0') return 'octal escape \\0 is not supported';
  if ('dDwWsS'.includes(c)) return `class shorthand \\${c} is not supported (write a [...] class)`;
  if ('bB'.includes(c)) return `word boundary \\${c} is not supported`;
  if ('kgpPxuc'.includes(c)) return `escape \\${c} is not supported`;
  if ('AzZGQEK'.includes(c)) return `PCRE-only escape \\${c} is not supported`;
  return `escape \\${c} is not supported (only punctuation may be escaped)`;
}

class Parser {
  private i = 0;
  quantifiers = 0;
  constructor(private readonly s: string) {}

  private fail(message: string, at = this.i): never {
    throw new PatternError('regex-unsupported', `${message} (at offset ${at})`, at);
  }

  parse(): Node {
    const alts = this.alternation();
    if (this.i < this.s.length) this.fail("unbalanced ')'");
    return { t: 'group', alts };
  }

  private alternation(): Node[][] {
    const alts: Node[][] = [this.sequence()];
    while (this.s[this.i] === '|') {
      this.i++;
      alts.push(this.sequence());
    }
    for (const a of alts) if (a.length === 0) this.fail('empty alternative');
    return alts;
  }

  private sequence(): Node[] {
    const out: Node[] = [];
    for (;;) {
      const c = this.s[this.i];
      if (c === undefined || c === '|' || c === ')') return out;
      const start = this.i;
      const atom = this.atom();
      const rep = this.quantifier(atom, start);
      out.push(rep ?? atom);
    }
  }

  private atom(): Node {
    const c = this.s[this.i] as string;
    switch (c) {
      case '.':
        this.i++;
        return { t: 'any' };
      case '^':
        this.i++;
        return { t: 'bol' };
      case '$':
        this.i++;
        return { t: 'eol' };
      case '(': {
        if (this.s[this.i + 1] === '?') {
          const n = this.s.slice(this.i + 2, this.i + 4);
          if (n.startsWith('=') || n.startsWith('!')) this.fail('lookahead (?= / (?! is not supported');
          if (n === '<=' || n === '<!') this.fail('lookbehind (?<= / (?<! is not supported');
          if (n.startsWith(':')) this.fail('non-capturing group (?: is not supported (write a plain group)');
          if (n.startsWith('<') || n.startsWith('P')) this.fail('named group is not supported');
          this.fail('inline flags and (? constructs are not supported');
        }
        const at = this.i;
        this.i++;
        const alts = this.alternation();
        if (this.s[this.i] !== ')') this.fail("unclosed '('", at);
        this.i++;
        return { t: 'group', alts };
      }
      case '[':
        return this.cls();
      case '\\': {
        const e = this.s[this.i + 1];
        if (e === undefined) this.fail('trailing backslash');
        if (!ESCAPABLE.has(e)) this.fail(escapeReason(e));
        this.i += 2;
        return { t: 'lit', ch: e };
      }
      case '*':
      case '+':
      case '?':
        this.fail(`quantifier '${c}' has nothing to repeat`);
        break;
      case '{':
        this.fail("literal '{' must be written \\{");
        break;
      case '}':
        this.fail("literal '}' must be written \\}");
        break;
      case ']':
        this.fail("literal ']' must be written \\]");
        break;
    }
    this.i++;
    return { t: 'lit', ch: c };
  }

  private cls(): Node {
    const at = this.i;
    this.i++;
    let negated = false;
    if (this.s[this.i] === '^') {
      negated = true;
      this.i++;
    }
    if (this.s[this.i] === ']') this.fail("a class cannot start with ']' (write \\] or avoid empty classes)");
    const items: (readonly [string, string])[] = [];
    const member = (): string => {
      const c = this.s[this.i];
      if (c === undefined) this.fail("unclosed '['", at);
      if (c === '[')
        this.fail("'[' inside a class (POSIX classes like [:alpha:] are not supported; write \\[)");
      if (c === '\\') {
        const e = this.s[this.i + 1];
        if (e === undefined) this.fail('trailing backslash');
        if (!CLASS_ESCAPABLE.has(e)) this.fail(`${escapeReason(e)} inside a class`);
        this.i += 2;
        return e;
      }
      this.i++;
      return c;
    };
    while (this.s[this.i] !== ']') {
      if (this.s[this.i] === undefined) this.fail("unclosed '['", at);
      const from = member();
      if (this.s[this.i] === '-' && this.s[this.i + 1] !== ']' && this.s[this.i + 1] !== undefined) {
        this.i++;
        const to = member();
        if (to < from) this.fail(`range ${from}-${to} is out of order`);
        items.push([from, to]);
      } else {
        items.push([from, from]);
      }
    }
    this.i++;
    return { t: 'class', negated, items };
  }

  private quantifier(atom: Node, start: number): Node | null {
    const c = this.s[this.i];
    let min: number;
    let max: number;
    if (c === '*') [min, max] = [0, Number.POSITIVE_INFINITY];
    else if (c === '+') [min, max] = [1, Number.POSITIVE_INFINITY];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{') {
      const m = /^\{(\d{1,3})(,(\d{0,3}))?\}/.exec(this.s.slice(this.i));
      if (!m) this.fail("'{' does not start a quantifier {n}, {n,} or {n,m} (write \\{ for a literal)");
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Number.POSITIVE_INFINITY : Number(m[3]);
      if (max < min) this.fail(`quantifier {${min},${max}} has max below min`);
      if (min > MAX_REPEAT || (max !== Number.POSITIVE_INFINITY && max > MAX_REPEAT)) {
        throw new PatternError(
          'regex-unsafe',
          `repeat count above ${MAX_REPEAT} (at offset ${this.i})`,
          this.i,
        );
      }
      this.i += m[0].length - 1;
    } else return null;
    if (atom.t === 'bol' || atom.t === 'eol') this.fail('a quantifier cannot apply to an anchor');
    this.i++;
    const next = this.s[this.i];
    if (next === '?' || next === '+' || next === '*' || next === '{') {
      this.fail('lazy, possessive or stacked quantifiers are not supported');
    }
    if (atom.t === 'group') {
      if (containsQuantifier(atom)) {
        throw new PatternError(
          'regex-unsafe',
          `nested quantifier: a repeated group contains a quantifier (at offset ${start}); this can take exponential time`,
          start,
        );
      }
      if (containsAlternation(atom)) {
        throw new PatternError(
          'regex-unsafe',
          `a repeated group contains an alternation (at offset ${start}); overlapping branches can take exponential time, use a [...] class`,
          start,
        );
      }
    }
    this.quantifiers++;
    if (this.quantifiers > MAX_QUANTIFIERS) {
      throw new PatternError('regex-unsafe', `more than ${MAX_QUANTIFIERS} quantifiers`, start);
    }
    return { t: 'rep', node: atom, min, max };
  }
}

function containsQuantifier(n: Node): boolean {
  if (n.t === 'rep') return true;
  if (n.t === 'group') return n.alts.some((a) => a.some(containsQuantifier));
  return false;
}

function containsAlternation(n: Node): boolean {
  if (n.t === 'group') return n.alts.length > 1 || n.alts.some((a) => a.some(containsAlternation));
  if (n.t === 'rep') return containsAlternation(n.node);
  return false;
}

/** The syntax tree of `source` (a top-level group); throws PatternError when it is refused. */
export function parsePattern(source: string): Node {
  if (typeof source !== 'string' || source.length === 0) {
    throw new PatternError(
      'regex-unsupported',
      'empty pattern (omit `match` for a rule that always applies)',
      0,
    );
  }
  if (source.length > MAX_PATTERN_LENGTH) {
    throw new PatternError('regex-unsafe', `pattern longer than ${MAX_PATTERN_LENGTH} characters`, 0);
  }
  const bad = /[^\x20-\x7e]/.exec(source);
  if (bad) {
    throw new PatternError(
      'regex-unsupported',
      `only printable ASCII is allowed (character U+${(bad[0].codePointAt(0) ?? 0).toString(16).padStart(4, '0')} at offset ${bad.index})`,
      bad.index,
    );
  }
  return new Parser(source).parse();
}

// JS translations that reproduce PCRE2_MULTILINE with the default LF newline convention:
// `^` matches at the start and after an LF that is not the last character; `$` before any LF and at the end;
// `.` matches anything but LF (JS's own `.` also refuses CR, U+2028 and U+2029; PCRE2's does not).
const JS_BOL = '(?:(?<![\\s\\S])|(?<=\\n)(?=[\\s\\S]))';
const JS_EOL = '(?=\\n|(?![\\s\\S]))';
const JS_ANY = '[^\\n]';

function jsChar(c: string, inClass: boolean): string {
  if (inClass) return /[\\\]\-^[]/.test(c) ? `\\${c}` : c;
  return /[\\^$.|?*+()[\]{}/]/.test(c) ? `\\${c}` : c;
}

// `lineMode`: the subject is known to hold no LF, so `^` and `$` are the native string anchors (which V8
// also optimises), and the lookaround forms are not needed.
function toJs(n: Node, lineMode: boolean): string {
  switch (n.t) {
    case 'lit':
      return jsChar(n.ch, false);
    case 'any':
      return JS_ANY;
    case 'bol':
      return lineMode ? '^' : JS_BOL;
    case 'eol':
      return lineMode ? '$' : JS_EOL;
    case 'class':
      return `[${n.negated ? '^' : ''}${n.items.map(([a, b]) => (a === b ? jsChar(a, true) : `${jsChar(a, true)}-${jsChar(b, true)}`)).join('')}]`;
    case 'group':
      return `(?:${n.alts.map((a) => a.map((x) => toJs(x, lineMode)).join('')).join('|')})`;
    case 'rep': {
      const q =
        n.min === 0 && n.max === Number.POSITIVE_INFINITY
          ? '*'
          : n.min === 1 && n.max === Number.POSITIVE_INFINITY
            ? '+'
            : n.min === 0 && n.max === 1
              ? '?'
              : n.max === Number.POSITIVE_INFINITY
                ? `{${n.min},}`
                : n.min === n.max
                  ? `{${n.min}}`
                  : `{${n.min},${n.max}}`;
      return toJs(n.node, lineMode) + q;
    }
  }
}

/** The reason `source` is refused, or null when it is inside the subset and safe. */
export function patternProblem(source: string): PatternError | null {
  try {
    parsePattern(source);
    return null;
  } catch (err) {
    if (err instanceof PatternError) return err;
    throw err;
  }
}

/**
 * Throws PolicyError ERR_POLICY_REGEX when `source` is outside the subset JavaScript and tac_plus-ng agree
 * on, or can take super-linear time; its single issue says which (`regex-unsupported` / `regex-unsafe`).
 */
export function checkPattern(source: string): void {
  const p = patternProblem(source);
  if (p !== null) {
    throw new PolicyError('ERR_POLICY_REGEX', `pattern /${source}/: ${p.message}`, {
      issues: [{ code: p.issue, path: '', message: p.message }],
      cause: p,
    });
  }
}

/**
 * A compiled rule pattern. `test` answers as tac_plus-ng would for the same command string: the subject is
 * matched byte-wise (UTF-8), as PCRE2 does without PCRE2_UTF.
 */
export interface CompiledPattern {
  readonly source: string;
  test(subject: string): boolean;
  /** Same as `test` on a subject already passed through `prepareSubject` (once per decision). */
  testPrepared(subject: PreparedSubject): boolean;
}

/** A command string ready for matching: byte-wise form, and whether it holds a line feed. */
export interface PreparedSubject {
  readonly text: string;
  readonly multiline: boolean;
}

/** A string is matched on its UTF-8 bytes; bytes (a TACACS+ argument need not be UTF-8) as they are. */
export function prepareSubject(subject: string | Uint8Array): PreparedSubject {
  const text =
    typeof subject === 'string'
      ? toMatchSubject(subject)
      : Buffer.from(subject.buffer, subject.byteOffset, subject.byteLength).toString('latin1');
  return { text, multiline: text.includes('\n') };
}

/** Throws PolicyError ERR_POLICY_REGEX for a refused pattern. */
export function compilePattern(source: string): CompiledPattern {
  checkPattern(source);
  const ast = parsePattern(source);
  const multiline = new RegExp(toJs(ast, false));
  const line = new RegExp(toJs(ast, true));
  const testPrepared = (p: PreparedSubject) => (p.multiline ? multiline : line).test(p.text);
  return Object.freeze({
    source,
    test: (subject: string) => testPrepared(prepareSubject(subject)),
    testPrepared,
  });
}

/** Non-ASCII subjects are matched on their UTF-8 bytes, one JS char per byte, as PCRE2 in 8-bit mode. */
export function toMatchSubject(subject: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is the point
  return /[^\x00-\x7f]/.test(subject) ? Buffer.from(subject, 'utf8').toString('latin1') : subject;
}

/**
 * The pattern as it must appear between slashes in a tac_plus-ng configuration: its lexer turns `\/` into
 * `/` and `\\` into `\`, so `/` is written `\/` and a literal backslash (`\\` in the policy) `\\\\`.
 */
export function renderPcreLiteral(source: string): string {
  checkPattern(source);
  let out = '';
  for (let i = 0; i < source.length; i++) {
    const c = source[i] as string;
    if (c === '\\') {
      const e = source[i + 1] as string;
      i++;
      out += e === '\\' ? '\\\\\\\\' : e === '/' ? '\\/' : `\\${e}`;
    } else if (c === '/') {
      out += '\\/';
    } else {
      out += c;
    }
  }
  return out;
}
