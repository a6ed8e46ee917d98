// The public API of @netward/tacacs-plus/client: the client without the server, so that a program that
// only asks (the ForceCommand validator, a NAS-side script) does not load or ship the server and its
// decision logger. The main entry (index.ts) re-exports all of this and adds the server. Only names a
// caller uses are here: other packages, the tests, the README's examples and the pack test.
export { commandLine } from './av-pairs.ts';
export {
  type AuthorizationResult,
  type AuthorizationStatus,
  TacacsClient,
  type TacacsClientOptions,
} from './client.ts';
export { TACACS_ERRORS, TacacsError, type TacacsErrorCode } from './errors.ts';
export { readKeyFile } from './key-file.ts';
