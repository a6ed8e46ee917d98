/**
 * The per-call key pair and the object ssh2 authenticates with.
 *
 * The Ed25519 private key lives only in a Node KeyObject in memory (never exported, never written
 * anywhere); the broker sees the public half. ssh2 cannot take a certificate in `privateKey`
 * (mscdex/ssh2#551), so `certificateAuthKey` builds the key object ssh2's `authHandler` accepts: it
 * presents the certificate blob under the certificate algorithm and signs with the KeyObject. The
 * signature blob then has to name the base algorithm, which is what patches/ssh2@1.17.0.patch fixes.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import type { ParsedKey } from 'ssh2';
import ssh2 from 'ssh2';
import { McpServerError } from '../errors.ts';
import { sshString, WireReader } from './wire.ts';

export const ED25519 = 'ssh-ed25519';
export const ED25519_CERT = 'ssh-ed25519-cert-v01@openssh.com';

export interface EphemeralKey {
  /** `ssh-ed25519 AAAA...`: what the broker signs. */
  readonly publicKeyLine: string;
  readonly privateKey: KeyObject;
}

/** ~0.05 ms here (LAB-NOTES): cheap enough to make one per tool call. */
export function generateEphemeralKey(): EphemeralKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { publicKeyLine: `${ED25519} ${ed25519Blob(publicKey).toString('base64')}`, privateKey };
}

/** RFC 8709 section 4: `string "ssh-ed25519", string key` (32 bytes). */
export function ed25519Blob(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType !== 'ed25519') throw new TypeError('not an Ed25519 key');
  const x = pub.export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new TypeError('Ed25519 key without x');
  return Buffer.concat([sshString(ED25519), sshString(Buffer.from(x, 'base64url'))]);
}

export interface KeyLine {
  readonly type: string;
  readonly blob: Buffer;
}

const KEY_LINE = /^\s*([A-Za-z0-9@._-]{1,64})\s+([A-Za-z0-9+/]+={0,2})(?:\s.*)?$/s;

/** Splits `type base64 [comment]`; the blob's own type name must match the line's. */
export function parseKeyLine(line: string, code: 'ERR_MCP_CONFIG' | 'ERR_MCP_BROKER_BAD_RESPONSE'): KeyLine {
  const m = typeof line === 'string' && line.length < 16_384 ? KEY_LINE.exec(line.trim()) : null;
  if (!m) throw new McpServerError(code, 'not an OpenSSH key line');
  const type = m[1]!;
  const blob = Buffer.from(m[2]!, 'base64');
  let inner: string;
  try {
    inner = new WireReader(blob).text('key type');
  } catch (cause) {
    throw new McpServerError(code, 'malformed OpenSSH key blob', { cause });
  }
  if (inner !== type) throw new McpServerError(code, 'key line type does not match its blob');
  return { type, blob };
}

/** An ed25519 public KeyObject from a `ssh-ed25519` blob. */
export function ed25519FromBlob(blob: Buffer): KeyObject {
  const r = new WireReader(blob);
  if (r.text('key type') !== ED25519) throw new McpServerError('ERR_MCP_HOST_KEY', 'not an ssh-ed25519 key');
  const raw = r.bytes('ed25519 key');
  if (raw.length !== 32 || r.remaining !== 0) {
    throw new McpServerError('ERR_MCP_HOST_KEY', 'malformed ssh-ed25519 key');
  }
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
    format: 'jwk',
  });
}

/**
 * The ssh2 key object for certificate login. It inherits from ssh2's parse of the plain public key
 * (so ssh2 recognises it as a parsed key) and overrides what certificate login changes: the type and
 * public blob become the certificate's, and signing uses the in-memory KeyObject.
 */
export function certificateAuthKey(key: EphemeralKey, certificateLine: string): ParsedKey {
  const cert = parseKeyLine(certificateLine, 'ERR_MCP_BROKER_BAD_RESPONSE');
  if (cert.type !== ED25519_CERT) {
    throw new McpServerError('ERR_MCP_BROKER_BAD_RESPONSE', 'certificate is not ssh-ed25519-cert-v01');
  }
  // The certificate must certify this very key: `string type, string nonce, string pk, ...`.
  const r = new WireReader(cert.blob);
  r.text('type');
  r.bytes('nonce');
  const certified = Buffer.concat([sshString(ED25519), sshString(r.bytes('pk'))]);
  if (!certified.equals(ed25519Blob(key.privateKey))) {
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
