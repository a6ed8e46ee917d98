// The public API of @netward/ca-broker: what other packages and tests embed (the service on a port of
// their own). The broker's HTTP client alone is `@netward/ca-broker/client` (no fastify, jose or
// node-vault); the OpenSSH codec is @netward/ssh-certificate.

export { type AppDeps, buildApp } from './app.ts';
export { type AuditDestinationOptions, auditDestination } from './audit-destination.ts';
export { type BrokerConfig, type BrokerConfigInput, loadConfig, parseConfig } from './config.ts';
export {
  BrokerClientError,
  type BrokerClientErrorCode,
  CA_BROKER_ERRORS,
  CaBrokerError,
  type CaBrokerErrorCode,
} from './errors.ts';
export { type RunningBroker, startServer } from './server.ts';
export { createLocalBackend, type LocalBackendOptions } from './signers/local.ts';
export type { SigningBackend } from './signers/types.ts';
export { createVaultBackend, type VaultBackendOptions } from './signers/vault.ts';
