// The validator's local rules file: the same ordered rules as the tac_plus-ng profiles, for devices that
// decide without a TACACS+ server. JSON, so the validator parses it without a YAML dependency.
//
// This module is what `@netward/policy/local-rules` loads in the ForceCommand validator, once per SSH
// command, so it imports nothing that loads full zod or yaml: the schema is `zod/mini`. In a
// self-contained bundle full zod is ~0.8 MB and ~33 ms to load, zod/mini ~1 ms (packages/forcecommand
// README, "Speed"). Issues are worded by zod's own English locale, passed per parse rather than through
// the global `z.config` (which would change every other zod user in the process), so the messages are the
// ones full zod gave before this file moved to zod/mini (test/local-rules-lean.test.ts compares both).
import * as z from 'zod/mini';
import { walk } from '../decide.ts';
import type { PolicyIssue } from '../errors.ts';
import { failWith, parseJsonFile } from '../json-file.ts';
import { ACCOUNT_NAME } from '../names.ts';
import { type CompiledPattern, compilePattern, patternProblem } from '../regex.ts';
import type { Decision, Rule } from '../types.ts';

export const LOCAL_RULES_VERSION = 1;

/** A parsed, validated local rules file with its patterns compiled. Opaque: use `decideLocal`. */
export interface LocalRules {
  readonly source: string;
  readonly roles: ReadonlyMap<
    string,
    { readonly rules: readonly Rule[]; readonly tests: readonly (CompiledPattern | null)[] }
  >;
}

const localRulesSchema = z.strictObject({
  version: z.literal(LOCAL_RULES_VERSION),
  roles: z.record(
    z.string().check(z.regex(ACCOUNT_NAME, 'expected an account name')),
    z.strictObject({
      rules: z.array(
        z.strictObject({
          action: z.enum(['permit', 'deny']),
          match: z.nullable(z.string().check(z.minLength(1), z.maxLength(256))),
        }),
      ),
      default: z.literal('deny'),
    }),
  ),
});

/**
 * Parses a local rules file. Throws PolicyError ERR_POLICY_LOCAL_RULES_INVALID naming the file and every
 * problem (JSON syntax, schema, refused pattern).
 */
export function parseLocalRules(text: string, fileName: string): LocalRules {
  const fail = failWith('ERR_POLICY_LOCAL_RULES_INVALID', 'local rules file', fileName);
  const file = parseJsonFile(text, localRulesSchema, fail);
  const issues: PolicyIssue[] = [];
  const roles = new Map<string, { rules: readonly Rule[]; tests: readonly (CompiledPattern | null)[] }>();
  for (const [name, role] of Object.entries(file.roles)) {
    const rules = role.rules.map((r): Rule => Object.freeze({ action: r.action, match: r.match }));
    const tests: (CompiledPattern | null)[] = [];
    rules.forEach((r, k) => {
      if (r.match === null) {
        tests.push(null);
        return;
      }
      const problem = patternProblem(r.match);
      if (problem === null) tests.push(compilePattern(r.match));
      else
        issues.push({
          code: problem.issue,
          path: `roles.${name}.rules[${k}].match`,
          message: problem.message,
        });
    });
    roles.set(name, Object.freeze({ rules: Object.freeze(rules), tests: Object.freeze(tests) }));
  }
  if (issues.length > 0) fail(issues);
  return Object.freeze({ source: fileName, roles });
}

/** Same answer as `decide` on the policy the file was rendered from. Unknown role or NUL in the command: deny. */
export function decideLocal(rules: LocalRules, roleName: string, command: string): Decision {
  const r = rules.roles.get(roleName);
  if (r === undefined || command.includes('\0'))
    return { decision: 'deny', ruleIndex: null, rule: null, role: roleName };
  return walk(roleName, r.rules, r.tests, command);
}
