// The public API of @netward/tacacs-plus/client: the client without the server, so that a program that
// only asks (the ForceCommand validator, a NAS-side script) does not load or ship the server and its
// decision logger. Anything exported here is public.
export { type AvPair, commandLine, parseAvPair } from './av-pairs.ts';
export {
  type AccountingResult,
  type AccountRequest,
  type AuthenticateRequest,
  type AuthenticationResult,
  type AuthorizationResult,
  type AuthorizationStatus,
  type AuthorizeRequest,
  TacacsClient,
  type TacacsClientOptions,
  type TacacsServerAddress,
} from './client.ts';
export { isTacacsError, TacacsError, type TacacsErrorCode } from './errors.ts';
export { readKeyFile } from './key-file.ts';
export type { TacacsClientTls, TacacsTlsFiles } from './tls-options.ts';
