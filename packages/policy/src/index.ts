// The public API of @netward/policy. Anything exported here is public; everything else is not.
export { decide } from './decide.ts';
export { lineDiff } from './diff.ts';
export { checkDeployed, checkDrift, type DeployedCheck, TARGETS, type Target } from './drift.ts';
export {
  POLICY_ERRORS,
  PolicyError,
  type PolicyErrorCode,
  type PolicyIssue,
  type PolicyIssueCode,
} from './errors.ts';
export {
  CONFIG_READ_SCOPE,
  CONFIG_WRITE_SCOPE,
  findHoles,
  type GrammarDisagreement,
  generateCommands,
  grammarAgreement,
  HOLE_PROBES,
  type HoleProbe,
  type HoleWarning,
  type NoGrammarWarning,
  roleGrammar,
  rolesWithoutGrammar,
} from './grammar/check.ts';
export {
  GrammarSpecError,
  intRangePattern,
  parseEntry,
  VALUE_TYPES,
  type ValueType,
  variantPattern,
} from './grammar/spec.ts';
export { isAnchoredAtStart, LINT_PROBES, lookAlikeExample } from './lint.ts';
export {
  defaultPolicy,
  deviceAllowed,
  loadPolicy,
  parsePolicy,
  roleByIdpRole,
  roleByName,
  toolsForScopes,
} from './load.ts';
// Everything the validator's light entry has (grammar matching, local rules), under the same names.
export * from './local-rules/index.ts';
export { checkPattern, MAX_PATTERN_LENGTH, MAX_QUANTIFIERS, MAX_REPEAT } from './regex.ts';
export { renderGrammar } from './render/grammar.ts';
export { renderLocalRules } from './render/local-rules.ts';
export {
  type IdpFormat,
  type IdpOptions,
  KEYCLOAK_IN_ACCESS_TOKEN,
  KEYCLOAK_ROLE_SCOPE,
  keycloakClientScope,
  keycloakMapper,
  keycloakRealmParts,
  ROLE_CLAIM,
  renderBrokerRoles,
  renderIdp,
  renderKeycloakRealm,
  renderMcpTools,
} from './render/services.ts';
export { renderTacPlusNg, TACACS_KEY_ENV, type TacPlusNgOptions } from './render/tac-plus-ng.ts';
export { CERTIFICATE_EXTENSIONS, MAX_CERTIFICATE_TTL_SECONDS } from './schema.ts';
export type {
  CertificateProfile,
  Decision,
  DeviceAttributes,
  DeviceInfo,
  DriftKind,
  DriftWarning,
  Policy,
  Role,
  Rule,
  TacacsNames,
  Tool,
  ToolDriftWarning,
  UnanchoredPermitWarning,
} from './types.ts';
