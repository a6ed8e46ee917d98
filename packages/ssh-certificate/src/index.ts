// `@netward/ssh-certificate`: the OpenSSH key and certificate codec, with no dependency beyond node's
// built-ins and @netward/errors, so the device-side validator bundles it without any service code.

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
  SSH_CERTIFICATE_ERRORS,
  SshCertificateError,
  type SshCertificateErrorCode,
} from './errors.ts';
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
export { freshRandomBytes } from './random.ts';
