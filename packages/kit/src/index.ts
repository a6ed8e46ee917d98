// `@netward/kit`: what every netward service and program does the same way. Any export here is
// public API; the test harness is `@netward/kit/testing`, the private-file checks alone `@netward/kit/files`.
export {
  type EnsureAccountsOptions,
  ensureAccounts,
  groupId,
  lookupId,
  type Run,
  userId,
} from './accounts.ts';
export {
  DEFAULT_MAX_CONFIG_BYTES,
  type LoadConfigOptions,
  loadConfigFile,
  parseConfig,
  readConfigText,
} from './config.ts';
export { KIT_ERRORS, KitError, type KitErrorCode, type KitIssue, withKitErrors } from './errors.ts';
export {
  assertPrivate,
  checkPrivateFile,
  type PrivateFileOptions,
  readPrivateFile,
  stripNewline,
} from './files.ts';
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
export { type ParsedText, parseConfigText } from './yaml.ts';
