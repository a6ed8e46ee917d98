// The public API of @netward/ca-broker. Anything exported here is public; everything else is not.
// The certificate codec alone is also available as `@netward/ca-broker/certificate` (no service deps).

export { type AppDeps, buildApp, HTTP_STATUS, signHostCertificate } from './app.ts';
export {
  type CertificateFields,
  type CertificateOption,
  type CertificateType,
  type CheckCertificateOptions,
  certificateTime,
  checkCertificate,
  ED25519,
  ED25519_CERT,
  ed25519KeyFromRaw,
  encodeCertificateBody,
  FOREVER,
  fingerprint,
  formatPrivateKey,
  formatPublicKey,
  keyFromBlob,
  type OpenSshKeyLine,
  type ParsedCertificate,
  type ParsedPublicKey,
  parseCertificate,
  parseKeyLine,
  parsePrivateKey,
  parsePublicKey,
  publicKeyBlob,
  type SignedCertificate,
  signCertificate,
  signCertificateAsync,
  verifyCertificateSignature,
} from './certificate/index.ts';
export {
  type BrokerClient,
  type BrokerClientOptions,
  createBrokerClient,
  type SignedUserCertificate,
  type SignRequest,
} from './client.ts';
export {
  type BrokerConfig,
  type BrokerConfigInput,
  loadConfig,
  parseConfig,
  TOKEN_ALGORITHMS,
} from './config.ts';
export {
  BrokerClientError,
  type BrokerClientErrorCode,
  CA_BROKER_ERROR_CODES,
  CaBrokerError,
  type CaBrokerErrorCode,
} from './errors.ts';
export { type RunningBroker, startServer } from './server.ts';
export { createBackend } from './signers/index.ts';
export { createLocalBackend, type LocalBackendOptions } from './signers/local.ts';
export type { HostCertificateRequest, SigningBackend, UserCertificateRequest } from './signers/types.ts';
export { createVaultBackend } from './signers/vault.ts';
