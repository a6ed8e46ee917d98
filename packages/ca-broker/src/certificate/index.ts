// `@netward/ca-broker/certificate`: the OpenSSH certificate codec on its own, with no dependency beyond
// node:crypto, so the device-side validator can bundle it without the service (fastify, jose, vault).

export { CaBrokerError, type CaBrokerErrorCode } from '../errors.ts';
export {
  type CertificateFields,
  type CertificateOption,
  type CertificateType,
  type CheckCertificateOptions,
  certificateTime,
  checkCertificate,
  encodeCertificateBody,
  FOREVER,
  type ParsedCertificate,
  parseCertificate,
  type SignedCertificate,
  signCertificate,
  signCertificateAsync,
  verifyCertificateSignature,
} from './certificate.ts';
export {
  ED25519,
  ED25519_CERT,
  ed25519KeyFromRaw,
  fingerprint,
  formatPublicKey,
  keyFromBlob,
  type OpenSshKeyLine,
  type ParsedPublicKey,
  parseKeyLine,
  parsePublicKey,
  publicKeyBlob,
} from './keys.ts';
export { formatPrivateKey, parsePrivateKey } from './private-key.ts';
