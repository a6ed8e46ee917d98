// `@netward/kit/files`: the private-file checks alone, with no YAML or zod behind them, for the
// publishable TACACS+ library and the per-call validator.
export { KIT_ERRORS, KitError, type KitErrorCode } from './errors.ts';
export {
  assertPrivate,
  checkPrivateFile,
  type PrivateFileOptions,
  readPrivateFile,
  stripNewline,
} from './files.ts';
