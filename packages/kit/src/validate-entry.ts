// `@netward/kit/validate`: schema validation, the issue format and deep freeze, without the YAML parser:
// for the per-call validator, which reads JSON and loads the YAML half (`@netward/kit`) only when a
// configuration is YAML.
export { KIT_ERRORS, KitError, type KitErrorCode, type KitIssue } from './errors.ts';
export { type DeepReadonly, deepFreeze } from './freeze.ts';
export {
  describeIssues,
  formatIssue,
  formatPath,
  issueMessage,
  type Locate,
  type PathPart,
  sortIssues,
  toIssues,
  type ValidateOptions,
  validateConfig,
} from './issues.ts';
