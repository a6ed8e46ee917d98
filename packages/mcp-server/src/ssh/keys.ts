/**
 * The per-call key pair and the object ssh2 authenticates with.
 *
 * The Ed25519 private key lives only in a Node KeyObject in memory (never exported, never written
 * anywhere); the broker sees the public half. ssh2 cannot take a certificate in `privateKey`
 * (mscdex/ssh2#551), so `certificateAuthKey` builds the key object ssh2's `authHandler` accepts: it
 * presents the certificate blob under the certificate algorithm and signs with the KeyObject. The
 * signature blob then has to name the base algorithm, which is what patches/ssh2@1.17.0.patch fixes.
 */
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import {
  ED25519,
  ED25519_CERT,
  formatPublicKey,
  keyFromBlob,
  parseCertificate,
  parseKeyLine as parseOpenSshKeyLine,
  publicKeyBlob,
  SshCertificateError,
} from '@netward/ssh-certificate';
import type { ParsedKey } from 'ssh2';
import ssh2 from 'ssh2';
import { McpServerError, type McpServerErrorCode } from '../errors.ts';

// One SSH wire codec in the tree, @netward/ssh-certificate, which parses everything the broker issues.
export { ED25519, ED25519_CERT };

export interface EphemeralKey {
  /** `ssh-ed25519 AAAA...`: what the broker signs. */
  readonly publicKeyLine: string;
  readonly privateKey: KeyObject;
}

/** ~0.05 ms here (docs/node.md): cheap enough to make one per tool call. */
export function generateEphemeralKey(): EphemeralKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { publicKeyLine: formatPublicKey(publicKey), privateKey };
}

/** RFC 8709 section 4: `string "ssh-ed25519", string key` (32 bytes). */
export function ed25519Blob(key: KeyObject): Buffer {
  return publicKeyBlob(key);
}

export interface KeyLine {
  readonly type: string;
  readonly blob: Buffer;
}

/** Runs a codec call, turning its typed error into this server's code for the caller's context. */
function as<T>(code: McpServerErrorCode, message: string, fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    if (cause instanceof SshCertificateError) throw new McpServerError(code, message, { cause });
    throw cause;
  }
}

/** Splits `type base64 [comment]`; the blob's own type name must match the line's. */
export function parseKeyLine(line: string, code: 'ERR_MCP_CONFIG' | 'ERR_MCP_BROKER_BAD_RESPONSE'): KeyLine {
  const { type, blob } = as(code, 'not a valid OpenSSH key line', () => parseOpenSshKeyLine(line));
  return { type, blob };
}

/** An ed25519 public KeyObject from a `ssh-ed25519` blob. */
export function ed25519FromBlob(blob: Buffer): KeyObject {
  const key = as('ERR_MCP_HOST_KEY', 'malformed ssh-ed25519 key', () => keyFromBlob(blob));
  if (key.asymmetricKeyType !== 'ed25519')
    throw new McpServerError('ERR_MCP_HOST_KEY', 'not an ssh-ed25519 key');
  return key;
}

/**
 * The ssh2 key object for certificate login. It inherits from ssh2's parse of the plain public key
 * (so ssh2 recognises it as a parsed key) and overrides what certificate login changes: the type and
 * public blob become the certificate's, and signing uses the in-memory KeyObject.
 */
export function certificateAuthKey(key: EphemeralKey, certificateLine: string): ParsedKey {
  const cert = as('ERR_MCP_BROKER_BAD_RESPONSE', 'not an ssh-ed25519-cert-v01 certificate', () =>
    parseCertificate(certificateLine),
  );
  // The certificate must certify this very key.
  if (!cert.publicKeyBlob.equals(ed25519Blob(key.privateKey))) {
    throw new McpServerError('ERR_MCP_BROKER_BAD_RESPONSE', 'certificate is for another key');
  }
  const base = ssh2.utils.parseKey(key.publicKeyLine);
  if (base instanceof Error || Array.isArray(base)) {
    throw new McpServerError('ERR_MCP_INTERNAL', 'ssh2 could not parse the ephemeral public key', {
      cause: base,
    });
  }
  const privateKey = key.privateKey;
  return Object.create(base, {
    type: { value: ED25519_CERT, enumerable: true },
    getPublicSSH: { value: () => cert.blob },
    isPrivateKey: { value: () => true },
    // Ed25519 signs the message itself (RFC 8032): no digest algorithm.
    sign: { value: (data: Buffer) => sign(null, data, privateKey) },
  }) as ParsedKey;
}
