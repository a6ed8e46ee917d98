// `@netward/kit/files`: the private-file checks and local accounts alone, with no YAML or zod
// behind them, for the publishable TACACS+ library and the per-call validator.
export {
  type EnsureAccountsOptions,
  ensureAccounts,
  groupId,
  lookupId,
  type Run,
  userId,
} from './accounts.ts';
export { KIT_ERRORS, KitError, type KitErrorCode } from './errors.ts';
export {
  assertPrivate,
  checkPrivateFile,
  type PrivateFileOptions,
  readPrivateFile,
  stripNewline,
} from './files.ts';
