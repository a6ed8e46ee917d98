// Decisions: the command string as tac_plus-ng builds it, and the first-match walk over a role's rules.
import { type CompiledPattern, compilePattern, type PreparedSubject, prepareSubject } from './regex.ts';
import type { Decision, Policy, Role, Rule } from './types.ts';

interface CompiledRole {
  readonly role: Role;
  readonly tests: readonly (CompiledPattern | null)[];
}

// Patterns are compiled once per policy object (policies are frozen, so the cache never goes stale).
const compiled = new WeakMap<Policy, ReadonlyMap<string, CompiledRole>>();

/** Compiles every rule of `policy` (idempotent); throws PolicyError ERR_POLICY_REGEX on a refused pattern. */
export function compileRoles(policy: Policy): ReadonlyMap<string, CompiledRole> {
  let m = compiled.get(policy);
  if (m === undefined) {
    const built = new Map<string, CompiledRole>();
    for (const role of policy.roles) {
      built.set(role.name, {
        role,
        tests: role.rules.map((r) => (r.match === null ? null : compilePattern(r.match))),
      });
    }
    m = built;
    compiled.set(policy, m);
  }
  return m;
}

/**
 * The string tac_plus-ng matches `cmd =~` against: the `cmd=` value, then for every non-empty `cmd-arg=`
 * value a space and the value (tac_plus-ng/author.c skips `cmd-arg=` with an empty value). A NUL is kept:
 * tac_plus-ng answers FAIL to a request whose arguments carry one, and `decide`/`decideLocal` deny any
 * command containing NUL, which they could not do if it were cut here (`show\0` would become `show`).
 */
export function commandString(cmd: string, args: readonly string[]): string {
  let out = cmd;
  for (const a of args) {
    if (a.length > 0) out += ` ${a}`;
  }
  return out;
}

/** Walks compiled rules; shared by `decide` and `decideLocal`. */
export function walk(
  roleName: string,
  rules: readonly Rule[],
  tests: readonly (CompiledPattern | null)[],
  command: string | Uint8Array,
): Decision {
  let subject: PreparedSubject | undefined;
  for (let i = 0; i < rules.length; i++) {
    const t = tests[i];
    let hit = t === null;
    if (t) {
      subject ??= prepareSubject(command);
      hit = t.testPrepared(subject);
    }
    if (hit) {
      const rule = rules[i] as Rule;
      return { decision: rule.action, ruleIndex: i, rule, role: roleName };
    }
  }
  return { decision: 'deny', ruleIndex: null, rule: null, role: roleName };
}

/**
 * The decision of `roleName`'s rules for `command` (a string built by `commandString`, or the bytes of a
 * TACACS+ command line, which need not be UTF-8 and are matched as they are): the first rule
 * whose pattern matches decides; no match, an unknown role or a command containing NUL is a deny with
 * `ruleIndex: null`.
 */
export function decide(policy: Policy, roleName: string, command: string | Uint8Array): Decision {
  const c = compileRoles(policy).get(roleName);
  // tac_plus-ng would match only the part before a NUL; a command carrying one is refused outright.
  if (c === undefined || (typeof command === 'string' ? command.includes('\0') : command.includes(0)))
    return { decision: 'deny', ruleIndex: null, rule: null, role: roleName };
  return walk(roleName, c.role.rules, c.tests, command);
}
