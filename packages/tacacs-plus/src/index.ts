// The public API of @netward/tacacs-plus: the client entry (./client) and the server. Anything exported
// here is public; everything else is not.

export { requestView } from './av-pairs.ts';
export * from './client-entry.ts';
export { createTacacsServer } from './server/listener.ts';
export type {
  AuthorizationDecision,
  ServerAccountingRequest,
  ServerAuthenticationRequest,
  ServerAuthorizationRequest,
  TacacsServer,
  TacacsServerHandlers,
  TacacsServerOptions,
} from './server/types.ts';
