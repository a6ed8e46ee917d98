// A security lint of permit rules: a pattern is searched anywhere in the command string, so a permit
// pattern that is not anchored at the start also permits commands whose program is something else, as
// long as the permitted text appears in an argument. The seed's `(^|/)show($| )` is one: with the default
// policy a viewer may run `ip link set dev eth0 down /show`. (`(^|/)` was meant for a program given by
// path, but the ForceCommand validator reduces the program to its base name, so the `/` alternative only
// ever matches inside arguments.)
import { decide } from './decide.ts';
import { checkPattern, compilePattern, type PatternNode, parsePattern } from './regex.ts';
import type { Policy, UnanchoredPermitWarning } from './types.ts';

/**
 * Commands that a read-only or diagnostics role must never run, tried as the program in front of the
 * permitted text. `ip link set ... down` first: ip is on every device's allowlist, and this takes an
 * interface down.
 */
export const LINT_PROBES: readonly string[] = Object.freeze([
  'ip link set dev eth0 down',
  'reboot',
  'rm -rf /',
  'sh -c id',
  'vtysh -c clear ip bgp *',
]);

/**
 * True when every match of the sequence must start with `^`: its first element is `^`, or a group (or a
 * group repeated at least once) each of whose alternatives is anchored. Anything else, an optional
 * prefix included, counts as unanchored: the lint may then warn about an odd but harmless pattern, never
 * stay silent about a harmful one.
 */
function anchored(seq: readonly PatternNode[]): boolean {
  const first = seq[0];
  if (first === undefined) return false;
  if (first.t === 'bol') return true;
  if (first.t === 'group') return first.alts.every(anchored);
  if (first.t === 'rep' && first.min >= 1 && first.node.t === 'group') return first.node.alts.every(anchored);
  return false;
}

/**
 * Whether `source` can only match at the start of the command string: `^` begins every top-level
 * alternative. (In tac_plus-ng's multiline mode `^` also matches after a line feed; the ForceCommand
 * validator refuses commands containing one, see README.) Throws PolicyError ERR_POLICY_REGEX for a
 * pattern outside the subset.
 */
export function isAnchoredAtStart(source: string): boolean {
  checkPattern(source);
  return anchored([parsePattern(source)]);
}

const MAX_SAMPLES = 32;

function classChar(negated: boolean, items: readonly (readonly [string, string])[]): string | null {
  const inside = (c: string) => items.some(([a, b]) => c >= a && c <= b);
  if (!negated) return items[0]?.[0] ?? null;
  for (const c of 'xa0-./_:') if (!inside(c)) return c;
  return null;
}

/**
 * A few texts the node matches, shortest choices first; `^` and `$` contribute nothing (the caller checks
 * every candidate with the real matcher, so a text whose anchors cannot hold is simply not used).
 */
function samples(n: PatternNode): string[] {
  switch (n.t) {
    case 'lit':
      return [n.ch];
    case 'any':
      return ['x'];
    case 'bol':
    case 'eol':
      return [''];
    case 'class': {
      const c = classChar(n.negated, n.items);
      return c === null ? [] : [c];
    }
    case 'group':
      return n.alts.flatMap(sequenceSamples).slice(0, MAX_SAMPLES);
    case 'rep': {
      const inner = samples(n.node);
      const counts = [...new Set([n.min, Math.max(n.min, 1)])];
      return counts.flatMap((k) => inner.map((s) => s.repeat(k))).slice(0, MAX_SAMPLES);
    }
  }
}

function sequenceSamples(seq: readonly PatternNode[]): string[] {
  let out = [''];
  for (const node of seq) {
    const next = samples(node);
    out = out.flatMap((a) => next.map((b) => a + b)).slice(0, MAX_SAMPLES);
  }
  return out;
}

/**
 * Commands shaped like what a client sends (words separated by single spaces, no space at either end)
 * come first, so the example reads like a real command when one exists.
 */
function candidates(source: string): string[] {
  const texts = [...new Set(samples(parsePattern(source)))];
  const tidy = (t: string) => t !== '' && !t.startsWith(' ') && !t.endsWith(' ') && !t.includes('  ');
  return [...texts.filter(tidy), ...texts.filter((t) => !tidy(t))];
}

/**
 * A command the rule at `ruleIndex` of `roleName` permits although its program is not one the rule was
 * written for: a probe from LINT_PROBES that the role's rules deny and the pattern does not match on its
 * own, followed by a text the pattern matches, which `decide` permits by that very rule. Null when no probe gets through (the
 * pattern may still match after the start; earlier deny rules may catch every probe).
 */
export function lookAlikeExample(policy: Policy, roleName: string, ruleIndex: number): string | null {
  const role = policy.roles.find((r) => r.name === roleName);
  const source = role?.rules[ruleIndex]?.match;
  if (typeof source !== 'string') return null;
  const pattern = compilePattern(source);
  const texts = candidates(source);
  for (const probe of LINT_PROBES) {
    // the probe must be refused on its own: the example shows the rule widening the role
    if (pattern.test(probe) || decide(policy, roleName, probe).decision === 'permit') continue;
    for (const text of texts) {
      const command = `${probe} ${text}`;
      const d = decide(policy, roleName, command);
      if (d.decision === 'permit' && d.ruleIndex === ruleIndex) return command;
    }
  }
  return null;
}

/**
 * `unanchored-permit` warnings, in rule order: every permit rule with a pattern that is not anchored at
 * the start of the command string (`^` at each top-level alternative), with an example command it permits
 * for another program. Rules without a pattern (permit everything, the admin profile) are left alone:
 * they say what they mean.
 */
export function unanchoredPermits(policy: Policy, roleName: string): UnanchoredPermitWarning[] {
  const role = policy.roles.find((r) => r.name === roleName);
  if (role === undefined) return [];
  const out: UnanchoredPermitWarning[] = [];
  role.rules.forEach((rule, i) => {
    if (rule.action !== 'permit' || rule.match === null || isAnchoredAtStart(rule.match)) return;
    const example = lookAlikeExample(policy, role.name, i);
    out.push({
      kind: 'unanchored-permit',
      role: role.name,
      tool: null,
      scope: null,
      command: example,
      ruleIndex: i,
      pattern: rule.match,
      message:
        `${role.name} rule ${i} (permit ${rule.match}) is not anchored at the start of the command (write ^ before each alternative), so it also permits commands that merely carry the permitted text in an argument` +
        (example === null
          ? ' (no example found among the probe commands; earlier deny rules may catch them)'
          : `, e.g. "${example}"`),
    });
  });
  return out;
}
