// The public API of @netward/tacacs-plus. Anything exported here is public; everything else is not.
export {
  type AvPair,
  commandLine,
  parseAvPair,
  type RequestView,
  requestView,
  type ShellCommand,
  shellCommand,
} from './av-pairs.ts';
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
export { createTacacsServer } from './server/listener.ts';
export type {
  AccountingDecision,
  AuthenticationDecision,
  AuthorizationDecision,
  ServerAccountingRequest,
  ServerAuthenticationRequest,
  ServerAuthorizationRequest,
  ServerRequestBase,
  TacacsServer,
  TacacsServerHandlers,
  TacacsServerLimits,
  TacacsServerOptions,
} from './server/types.ts';
export type { TacacsClientTls, TacacsTlsFiles } from './tls-options.ts';
