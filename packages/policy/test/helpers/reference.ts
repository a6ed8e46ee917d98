// Independent readers for the test oracles: the reference tac_plus-ng.cfg (profiles, users, ruleset), a
// PCRE2 matcher (GNU grep -P, the same library tac_plus-ng compiles `/.../` with), and tac_plus-ng's
// own lexing of `/.../` literals. Nothing here imports the package under test.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
export const REFERENCE_CFG = join(FIXTURES, 'tac_plus-ng', 'tac_plus-ng.cfg');

export interface RefRule {
  readonly action: 'permit' | 'deny';
  /** The pattern PCRE2 receives (after tac_plus-ng's lexer), or null for an unconditional action. */
  readonly pcre: string | null;
}

/**
 * tac_plus-ng's lexer for `/.../` (its shared parser, case '/' with flag_parse_pcre): a backslash before
 * `\` or `/` is dropped, any other backslash is kept; the literal ends at the first unescaped `/`.
 */
export function lexSlashLiteral(text: string, start: number): { pattern: string; end: number } {
  if (text[start] !== '/') throw new Error('not a / literal');
  let out = '';
  let i = start + 1;
  while (text[i] !== '/') {
    if (i >= text.length || text[i] === '\n') throw new Error('unterminated / literal');
    if (text[i] === '\\') {
      i++;
      if (text[i] !== '\\' && text[i] !== '/') out += '\\';
    }
    out += text[i];
    i++;
  }
  return { pattern: out, end: i + 1 };
}

/** Profiles of a tac_plus-ng config written in the reference's style: `profile NAME { script { ... } }`. */
export function readProfiles(cfg: string): Map<string, RefRule[]> {
  const out = new Map<string, RefRule[]>();
  const re = /profile\s+(\S+)\s*\{/g;
  for (let m = re.exec(cfg); m !== null; m = re.exec(cfg)) {
    // the profile's extent: balance braces (regex literals in this style contain no braces)
    let depth = 1;
    let i = m.index + m[0].length;
    const begin = i;
    while (depth > 0) {
      if (cfg[i] === '{') depth++;
      else if (cfg[i] === '}') depth--;
      i++;
    }
    const body = cfg.slice(begin, i - 1);
    const rules: RefRule[] = [];
    for (const line of body.split('\n')) {
      const t = line.replace(/#.*$/, '').trim();
      const cond = /^if \(cmd =~ (\/.*)\) (permit|deny)$/.exec(t);
      if (cond) {
        rules.push({
          action: cond[2] as 'permit' | 'deny',
          pcre: lexSlashLiteral(cond[1] as string, 0).pattern,
        });
        continue;
      }
      const bare = /^(permit|deny)$/.exec(t);
      if (bare) {
        rules.push({ action: bare[1] as 'permit' | 'deny', pcre: null });
        break; // the first unconditional action ends the walk
      }
    }
    out.set(m[1] as string, rules);
  }
  return out;
}

/** user -> profile, through `member = GROUP` and the ruleset's `if (member == GROUP) { profile = P permit }`. */
export function readUserProfiles(cfg: string): Map<string, string> {
  const groupProfile = new Map<string, string>();
  for (const m of cfg.matchAll(/if \(member == (\S+)\)\s*\{\s*profile\s*=\s*(\S+)\s+permit\s*\}/g)) {
    groupProfile.set(m[1] as string, m[2] as string);
  }
  const out = new Map<string, string>();
  for (const m of cfg.matchAll(/user (\S+) \{[^}]*member = (\S+)/g)) {
    const p = groupProfile.get(m[2] as string);
    if (p !== undefined) out.set(m[1] as string, p);
  }
  return out;
}

export function readReference(): { profiles: Map<string, RefRule[]>; users: Map<string, string> } {
  const cfg = readFileSync(REFERENCE_CFG, 'utf8');
  return { profiles: readProfiles(cfg), users: readUserProfiles(cfg) };
}

/**
 * For each subject, whether PCRE2 finds `pattern` in it: one `grep -P` run over all subjects (one per line),
 * in the C locale so PCRE2 works byte-wise without PCRE2_UTF, like tac_plus-ng with regex-match-case = yes
 * (`caseless` adds -i: tac_plus-ng's default). Subjects must not contain newlines.
 */
export function pcre2Matches(pattern: string, subjects: readonly string[], caseless = false): boolean[] {
  for (const s of subjects) if (s.includes('\n')) throw new Error('subjects are lines');
  const r = spawnSync('grep', ['-P', '-n', '-a', ...(caseless ? ['-i'] : []), '-e', pattern], {
    input: Buffer.from(subjects.map((s) => `${s}\n`).join(''), 'utf8'),
    env: { ...process.env, LC_ALL: 'C' },
  });
  if (r.error) throw new Error(`grep -P is required as the PCRE2 oracle: ${r.error.message}`);
  if (r.status === 2) throw new Error(`grep -P refused /${pattern}/: ${r.stderr.toString()}`);
  const hits = new Set(
    r.stdout
      .toString('latin1')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => Number(l.slice(0, l.indexOf(':'))) - 1),
  );
  return subjects.map((_, i) => hits.has(i));
}

/** Decisions of reference profiles for many commands, evaluated with PCRE2. */
export function pcre2Decide(
  rules: readonly RefRule[],
  commands: readonly string[],
  caseless = false,
): ('permit' | 'deny')[] {
  const matches = rules.map((r) =>
    r.pcre === null ? commands.map(() => true) : pcre2Matches(r.pcre, commands, caseless),
  );
  return commands.map((_, i) => {
    for (let k = 0; k < rules.length; k++) if (matches[k]?.[i]) return (rules[k] as RefRule).action;
    return 'deny';
  });
}
