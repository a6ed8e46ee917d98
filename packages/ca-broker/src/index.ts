// The public API of @netward/ca-broker. Anything exported here is public; everything else is not.
// The certificate codec alone is also available as `@netward/ca-broker/certificate` (no service deps).
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
  parseCertificate,
  parseKeyLine,
  parsePrivateKey,
  parsePublicKey,
  publicKeyBlob,
  type SignedCertificate,
  signCertificate,
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
  BrokerClientError,
  type BrokerClientErrorCode,
  CA_BROKER_ERROR_CODES,
  CaBrokerError,
  type CaBrokerErrorCode,
} from './errors.ts';
