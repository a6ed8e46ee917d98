/**
 * Device host key verification, with no trust-on-first-use: either the device presents a host
 * certificate signed by the configured host CA (the `@cert-authority` line of ssh(1)'s known_hosts),
 * or its plain host key equals a key pinned for it in the inventory. Anything else is refused.
 *
 * Host certificate layout (OpenSSH PROTOCOL.certkeys, ssh-ed25519-cert-v01@openssh.com):
 *
 *   string    "ssh-ed25519-cert-v01@openssh.com"
 *   string    nonce
 *   string    pk
 *   uint64    serial
 *   uint32    type                 1 = user, 2 = host
 *   string    key id
 *   string    valid principals     packed strings; hostnames for a host certificate
 *   uint64    valid after          seconds since the epoch
 *   uint64    valid before
 *   string    critical options
 *   string    extensions
 *   string    reserved
 *   string    signature key        the CA's public key blob
 *   string    signature            over every preceding byte
 */
import { timingSafeEqual } from 'node:crypto';
import { parseCertificate, verifyCertificateSignature } from '@netward/ssh-certificate';
import { McpServerError } from '../errors.ts';
import { ED25519 } from './keys.ts';

const SSH_CERT_TYPE_HOST = 2;

export interface HostCertificate {
  readonly serial: bigint;
  readonly certType: number;
  readonly keyId: string;
  readonly principals: readonly string[];
  readonly validAfter: bigint;
  readonly validBefore: bigint;
  readonly signatureKey: Buffer;
  /** `ssh-ed25519` blob of the certified host key. */
  readonly publicKey: Buffer;
}

/** How one device's identity is checked. Exactly one of the two is set. */
export type HostKeyPolicy =
  | { readonly kind: 'ca'; readonly caBlobs: readonly Buffer[] }
  | { readonly kind: 'pinned'; readonly keyBlobs: readonly Buffer[] };

/** Reads a host certificate blob with the shared codec; anything malformed is ERR_MCP_HOST_KEY. */
export function parseHostCertificate(blob: Buffer): HostCertificate & { readonly verifies: () => boolean } {
  let cert: ReturnType<typeof parseCertificate>;
  try {
    cert = parseCertificate(blob);
  } catch (cause) {
    throw new McpServerError('ERR_MCP_HOST_KEY', 'not an ssh-ed25519-cert-v01 certificate', { cause });
  }
  return {
    serial: cert.serial,
    certType: cert.type === 'host' ? SSH_CERT_TYPE_HOST : 1,
    keyId: cert.keyId,
    principals: cert.principals,
    validAfter: cert.validAfter,
    validBefore: cert.validBefore,
    signatureKey: cert.signatureKey,
    publicKey: cert.publicKeyBlob,
    // Only Ed25519 host CAs are configured (config.ts); the signature must be the CA's own algorithm.
    verifies: () =>
      cert.signatureKeyType === ED25519 &&
      cert.signature.algorithm === ED25519 &&
      verifyCertificateSignature(cert),
  };
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Checks the key blob the device presented in the key exchange (ssh2 has already verified that the
 * device holds the private half). `names` are the identities the device may prove: its inventory
 * name and the address connected to. Throws ERR_MCP_HOST_KEY with the reason for the operator.
 */
export function verifyHostKey(
  policy: HostKeyPolicy,
  presented: Buffer,
  names: readonly string[],
  now: Date,
): void {
  if (policy.kind === 'pinned') {
    if (!policy.keyBlobs.some((k) => sameBytes(k, presented))) {
      throw new McpServerError('ERR_MCP_HOST_KEY', 'host key does not match the pinned key');
    }
    return;
  }
  let cert: ReturnType<typeof parseHostCertificate>;
  try {
    cert = parseHostCertificate(presented);
  } catch (cause) {
    throw new McpServerError('ERR_MCP_HOST_KEY', 'device did not present a host certificate', { cause });
  }
  if (cert.certType !== SSH_CERT_TYPE_HOST) {
    throw new McpServerError('ERR_MCP_HOST_KEY', 'certificate is not a host certificate');
  }
  const ca = policy.caBlobs.find((k) => sameBytes(k, cert.signatureKey));
  if (ca === undefined)
    throw new McpServerError('ERR_MCP_HOST_KEY', 'host certificate signed by an unknown CA');
  if (!cert.verifies()) {
    throw new McpServerError('ERR_MCP_HOST_KEY', 'host certificate signature does not verify');
  }
  const t = BigInt(Math.floor(now.getTime() / 1000));
  if (t < cert.validAfter || t >= cert.validBefore) {
    throw new McpServerError('ERR_MCP_HOST_KEY', 'host certificate is not valid now');
  }
  // Stricter than OpenSSH, which accepts a host certificate without principals for any host: here a
  // certificate must name the device, so one device's certificate cannot stand in for another's.
  if (!cert.principals.some((p) => names.includes(p))) {
    throw new McpServerError('ERR_MCP_HOST_KEY', 'host certificate does not name this device');
  }
}
