/**
 * Every failure of the codec is an SshCertificateError with a stable code. Messages name what was wrong
 * (a truncated field, a small-order point), never the bytes that were refused. The codec answers no
 * HTTP and ends no program: a service maps these codes to its own where it answers (the CA broker turns
 * the key codes into its 400s), so no `status` or `exit` here.
 */
import { defineCatalogue, NetwardError } from '@netward/errors';

export const SSH_CERTIFICATE_ERRORS = defineCatalogue({
  // Public keys (parseKeyLine, parsePublicKey, keyFromBlob)
  ERR_SSH_MALFORMED_KEY: { message: 'not a readable OpenSSH public key' },
  ERR_SSH_UNSUPPORTED_KEY: { message: 'unsupported key type' },
  ERR_SSH_CERTIFICATE_NOT_KEY: { message: 'a certificate was given where a public key belongs' },
  ERR_SSH_WEAK_KEY: { message: 'key refused as weak' },
  // Private keys (parsePrivateKey)
  ERR_SSH_MALFORMED_PRIVATE_KEY: { message: 'not a usable Ed25519 private key' },
  // Certificates (parseCertificate, checkCertificate)
  ERR_SSH_MALFORMED_CERTIFICATE: { message: 'not a readable OpenSSH certificate' },
  ERR_SSH_CERTIFICATE_SIGNATURE: { message: 'certificate signature does not verify' },
  ERR_SSH_CERTIFICATE_UNTRUSTED: { message: 'certificate is not signed by a trusted CA' },
  ERR_SSH_CERTIFICATE_EXPIRED: { message: 'certificate expired' },
  ERR_SSH_CERTIFICATE_NOT_YET_VALID: { message: 'certificate not yet valid' },
  ERR_SSH_CERTIFICATE_TYPE: { message: 'certificate of the wrong type' },
  ERR_SSH_CERTIFICATE_PRINCIPAL: { message: 'certificate does not name the principal' },
});

export type SshCertificateErrorCode = keyof typeof SSH_CERTIFICATE_ERRORS;

export class SshCertificateError extends NetwardError<SshCertificateErrorCode> {
  static override readonly catalogue = SSH_CERTIFICATE_ERRORS;
  override readonly name = 'SshCertificateError';
}
