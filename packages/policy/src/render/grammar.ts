// Renders the validator's grammar file (read back by ../grammar/file.ts, the lean path): the sets as
// written in the policy and, per role, the names of its sets, or null for a role of hand-written rules.
import { GRAMMAR_FILE_VERSION } from '../grammar/file.ts';
import type { Policy } from '../types.ts';

export function renderGrammar(policy: Policy): string {
  const sets: Record<string, { scope: string; class: string; commands: string[] }> = {};
  for (const s of policy.grammars ?? []) {
    sets[s.name] = { scope: s.scope, class: s.class, commands: s.entries.map((e) => e.spec) };
  }
  const roles: Record<string, string[] | null> = {};
  for (const r of policy.roles) roles[r.name] = r.grammar === undefined ? null : [...r.grammar];
  return `${JSON.stringify({ version: GRAMMAR_FILE_VERSION, sets, roles }, null, 2)}\n`;
}
