// The drift check the seed asks for: do the MCP layer (scopes) and the device layer (command rules) agree,
// and do the files deployed at each enforcement point still say what the policy says?
import { decide } from './decide.ts';
import { lineDiff } from './diff.ts';
import { PolicyError } from './errors.ts';
import { unanchoredPermits } from './lint.ts';
import { renderGrammar } from './render/grammar.ts';
import { renderLocalRules } from './render/local-rules.ts';
import { renderBrokerRoles, renderIdp, renderKeycloakRealm, renderMcpTools } from './render/services.ts';
import { extractTacPlusNgPolicySection, renderTacPlusNgPolicySection } from './render/tac-plus-ng.ts';
import type { DriftWarning, Policy } from './types.ts';

/**
 * Cross-layer warnings, in policy order (role, then tool):
 * - `granted-tool-denied-command`: the role holds the tool's scope, but its rules deny the tool's command,
 *   so every call fails on the device (a broken tool, or a scope granted too widely);
 * - `denied-tool-permitted-command`: the role lacks the scope, yet its rules permit the command, so the
 *   device would run it for anyone holding that role by another path (rules wider than intended);
 * - `unsafe-tool-granted`: a tool marked `unsafe` is reachable by the role;
 * - `unanchored-permit`: a permit rule whose pattern is not anchored at the start of the command string,
 *   so it also permits other commands carrying the permitted text as an argument (see lint.ts); these
 *   come first for each role, in rule order.
 * Tools without a fixed `command` are only checked for `unsafe`.
 */
export function checkDrift(policy: Policy): DriftWarning[] {
  const out: DriftWarning[] = [];
  for (const role of policy.roles) {
    out.push(...unanchoredPermits(policy, role.name));
    const scopes = new Set(role.scopes);
    for (const tool of policy.tools) {
      const granted = scopes.has(tool.scope);
      if (tool.unsafe === true && granted) {
        out.push({
          kind: 'unsafe-tool-granted',
          role: role.name,
          tool: tool.name,
          scope: tool.scope,
          command: tool.command ?? null,
          ruleIndex: null,
          message: `${role.name} can call ${tool.name}, which is marked unsafe (scope ${tool.scope})`,
        });
      }
      if (tool.command === undefined) continue;
      const d = decide(policy, role.name, tool.command);
      const rule =
        d.ruleIndex === null
          ? 'default deny'
          : `rule ${d.ruleIndex} (${d.rule?.action} ${d.rule?.match ?? 'always'})`;
      if (granted && d.decision === 'deny') {
        out.push({
          kind: 'granted-tool-denied-command',
          role: role.name,
          tool: tool.name,
          scope: tool.scope,
          command: tool.command,
          ruleIndex: d.ruleIndex,
          message: `${role.name} is granted ${tool.name} (scope ${tool.scope}) but its device rules deny "${tool.command}" by ${rule}`,
        });
      } else if (!granted && d.decision === 'permit') {
        out.push({
          kind: 'denied-tool-permitted-command',
          role: role.name,
          tool: tool.name,
          scope: tool.scope,
          command: tool.command,
          ruleIndex: d.ruleIndex,
          message: `${role.name} is denied ${tool.name} (lacks scope ${tool.scope}) but its device rules permit "${tool.command}" by ${rule}`,
        });
      }
    }
  }
  return out;
}

/** Targets `render` writes and `check` can compare. */
export const TARGETS = [
  'tac_plus-ng',
  'local-rules',
  'grammar',
  'broker',
  'mcp',
  'idp',
  'keycloak-realm',
] as const;
export type Target = (typeof TARGETS)[number];

export interface DeployedCheck {
  readonly target: Target;
  readonly file: string;
  readonly matches: boolean;
  /** Readable diff from the deployed file to what the policy renders; empty when they match. */
  readonly diff: string;
}

function canonicalJson(text: string, target: Target, file: string): string {
  try {
    return `${JSON.stringify(JSON.parse(text), null, 2)}\n`;
  } catch (err) {
    throw new PolicyError(
      'ERR_POLICY_MISMATCH',
      `${file} is not JSON, so it cannot be a ${target} artifact`,
      {
        file,
        cause: err,
      },
    );
  }
}

/**
 * Compares a deployed artifact with what `policy` renders. For tac_plus-ng only the section between the
 * netward-policy markers is compared (listen address, key and log paths are the deployment's business);
 * JSON artifacts are compared after re-formatting, so indentation does not count.
 */
export function checkDeployed(policy: Policy, target: Target, text: string, file: string): DeployedCheck {
  let deployed: string;
  let expected: string;
  let fromStart = 1;
  switch (target) {
    case 'tac_plus-ng': {
      const section = extractTacPlusNgPolicySection(text);
      if (section === null) {
        throw new PolicyError(
          'ERR_POLICY_MISMATCH',
          `${file} has no "# BEGIN netward-policy" / "# END netward-policy" section: not rendered by netward-policy`,
          { file },
        );
      }
      deployed = section.text;
      fromStart = section.line;
      expected = renderTacPlusNgPolicySection(policy);
      break;
    }
    case 'local-rules':
      deployed = canonicalJson(text, target, file);
      expected = renderLocalRules(policy);
      break;
    case 'grammar':
      deployed = canonicalJson(text, target, file);
      expected = renderGrammar(policy);
      break;
    case 'broker':
      deployed = canonicalJson(text, target, file);
      expected = renderBrokerRoles(policy);
      break;
    case 'mcp':
      deployed = canonicalJson(text, target, file);
      expected = renderMcpTools(policy);
      break;
    case 'idp':
      deployed = canonicalJson(text, target, file);
      expected = renderIdp(policy);
      break;
    case 'keycloak-realm': {
      deployed = canonicalJson(text, target, file);
      // Compared with a rendering for the deployed realm's own name.
      const realm = JSON.parse(text) as { realm?: unknown };
      expected = renderKeycloakRealm(policy, typeof realm.realm === 'string' ? { realm: realm.realm } : {});
      break;
    }
  }
  const diff = lineDiff(deployed, expected, {
    fromLabel: target === 'tac_plus-ng' ? `${file} (deployed)` : `${file} (deployed, JSON re-formatted)`,
    toLabel: `${policy.source} (rendered now)`,
    fromStart,
  });
  return { target, file, matches: diff === '', diff };
}
