// Renders the validator's local rules file (read back by ../local-rules/rules.ts, the lean path).
import { LOCAL_RULES_VERSION } from '../local-rules/rules.ts';
import type { Policy, Rule } from '../types.ts';

export function renderLocalRules(policy: Policy): string {
  const roles: Record<string, { rules: Rule[]; default: 'deny' }> = {};
  for (const r of policy.roles) {
    roles[r.name] = {
      rules: r.rules.map((x) => ({ action: x.action, match: x.match })),
      default: 'deny',
    };
  }
  return `${JSON.stringify({ version: LOCAL_RULES_VERSION, roles }, null, 2)}\n`;
}
