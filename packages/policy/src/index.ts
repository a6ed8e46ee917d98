// The public API of @netward/policy: what the other packages, the end-to-end tests and the programs import.
// Anything exported here is public; everything else (the checks, drift and lint behind `netward-policy`,
// the grammar language's internals) is not, and the package's own tests import it from its module.
export { decide } from './decide.ts';
export { lineDiff } from './diff.ts';
export {
  POLICY_ERRORS,
  PolicyError,
  type PolicyErrorCode,
  type PolicyIssue,
} from './errors.ts';
export { generateCommands } from './grammar/check.ts';
export {
  defaultPolicy,
  deviceAllowed,
  loadPolicy,
  parsePolicy,
  roleByIdpRole,
  roleByName,
} from './load.ts';
// The validator's light entry (@netward/policy/local-rules) is the one implementation of these.
export {
  commandString,
  decideLocal,
  type Grammars,
  type LocalRules,
  parseGrammarFile,
  parseLocalRules,
} from './local-rules/index.ts';
export { renderGrammar } from './render/grammar.ts';
export { renderLocalRules } from './render/local-rules.ts';
export {
  KEYCLOAK_IN_ACCESS_TOKEN,
  KEYCLOAK_ROLE_SCOPE,
  keycloakClientScope,
  keycloakMapper,
  keycloakRealmParts,
  ROLE_CLAIM,
  renderBrokerRoles,
  renderIdp,
  renderMcpTools,
} from './render/services.ts';
export { renderTacPlusNg, TACACS_KEY_ENV } from './render/tac-plus-ng.ts';
export type { Policy, Role, Tool } from './types.ts';
