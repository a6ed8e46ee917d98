/**
 * Ed25519 private keys in the two forms an operator will have: PKCS#8 PEM (Node, openssl) and OpenSSH's
 * own `openssh-key-v1` format (ssh-keygen, PROTOCOL.key), unencrypted. CA keys are written in the OpenSSH
 * form so that `ssh-keygen -s <state>/user_ca` can sign with the same key in an emergency.
 *
 *   "openssh-key-v1\0"
 *   string ciphername ("none")   string kdfname ("none")   string kdfoptions ("")
 *   uint32 number of keys (1)    string public key blob
 *   string private section:
 *     uint32 checkint, uint32 checkint (equal)
 *     string "ssh-ed25519", string pk (32), string sk (64 = seed || pk), string comment
 *     padding 1, 2, 3, ... to a multiple of 8
 */
import { createPrivateKey, type KeyObject, randomBytes } from 'node:crypto';
import { SshCertificateError } from './errors.ts';
import { ED25519, ed25519Raw } from './keys.ts';
import { SshReader, SshWriter } from './wire.ts';

const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');
const BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';
const END = '-----END OPENSSH PRIVATE KEY-----';

/** Reads an Ed25519 private key from PKCS#8 PEM or unencrypted OpenSSH format. Throws ERR_SSH_MALFORMED_PRIVATE_KEY. */
export function parsePrivateKey(text: string): KeyObject {
  const trimmed = text.trim();
  let key: KeyObject;
  if (trimmed.startsWith(BEGIN)) {
    key = parseOpenSshPrivateKey(trimmed);
  } else {
    try {
      key = createPrivateKey({ key: trimmed, format: 'pem' });
    } catch (err) {
      throw new SshCertificateError('ERR_SSH_MALFORMED_PRIVATE_KEY', 'not a PEM or OpenSSH private key', {
        cause: err,
      });
    }
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new SshCertificateError('ERR_SSH_MALFORMED_PRIVATE_KEY', 'the CA key must be an Ed25519 key');
  }
  return key;
}

function parseOpenSshPrivateKey(text: string): KeyObject {
  if (!text.endsWith(END))
    throw new SshCertificateError('ERR_SSH_MALFORMED_PRIVATE_KEY', 'OpenSSH private key is not terminated');
  const body = Buffer.from(text.slice(BEGIN.length, -END.length).replace(/\s+/g, ''), 'base64');
  if (!body.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new SshCertificateError('ERR_SSH_MALFORMED_PRIVATE_KEY', 'not an openssh-key-v1 key');
  }
  const r = new SshReader(body.subarray(MAGIC.length), 'ERR_SSH_MALFORMED_PRIVATE_KEY');
  if (r.text('cipher') !== 'none' || r.text('kdf') !== 'none') {
    throw new SshCertificateError(
      'ERR_SSH_MALFORMED_PRIVATE_KEY',
      'encrypted OpenSSH private keys are not supported',
    );
  }
  r.bytes('kdf options');
  if (r.uint32('key count') !== 1)
    throw new SshCertificateError('ERR_SSH_MALFORMED_PRIVATE_KEY', 'expected exactly one key');
  r.bytes('public key');
  const priv = new SshReader(r.bytes('private section'), 'ERR_SSH_MALFORMED_PRIVATE_KEY');
  r.end('private key file');
  const check1 = priv.uint32('check');
  const check2 = priv.uint32('check');
  if (check1 !== check2)
    throw new SshCertificateError('ERR_SSH_MALFORMED_PRIVATE_KEY', 'check integers differ');
  if (priv.text('key type') !== ED25519) {
    throw new SshCertificateError('ERR_SSH_MALFORMED_PRIVATE_KEY', 'the CA key must be an Ed25519 key');
  }
  const pk = priv.bytes('public key');
  const sk = priv.bytes('private key');
  if (pk.length !== 32 || sk.length !== 64 || !sk.subarray(32).equals(pk)) {
    throw new SshCertificateError('ERR_SSH_MALFORMED_PRIVATE_KEY', 'inconsistent Ed25519 key');
  }
  try {
    return createPrivateKey({
      key: {
        kty: 'OKP',
        crv: 'Ed25519',
        d: sk.subarray(0, 32).toString('base64url'),
        x: pk.toString('base64url'),
      },
      format: 'jwk',
    });
  } catch (err) {
    throw new SshCertificateError('ERR_SSH_MALFORMED_PRIVATE_KEY', 'invalid Ed25519 private key', {
      cause: err,
    });
  }
}

/** Writes an Ed25519 private key in unencrypted OpenSSH format (what `ssh-keygen -t ed25519 -N ''` writes). */
export function formatPrivateKey(key: KeyObject, comment = ''): string {
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519') {
    throw new TypeError('expected an Ed25519 private key');
  }
  const jwk = key.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d as string, 'base64url');
  const pk = ed25519Raw(key);
  const pubBlob = new SshWriter().text(ED25519).bytes(pk).toBuffer();
  const check = randomBytes(4).readUInt32BE(0);
  const priv = new SshWriter()
    .uint32(check)
    .uint32(check)
    .text(ED25519)
    .bytes(pk)
    .bytes(Buffer.concat([seed, pk]))
    .text(comment);
  for (let i = 1; priv.length % 8 !== 0; i++) priv.raw(Buffer.from([i]));
  const body = Buffer.concat([
    MAGIC,
    new SshWriter()
      .text('none')
      .text('none')
      .bytes(Buffer.alloc(0))
      .uint32(1)
      .bytes(pubBlob)
      .bytes(priv.toBuffer())
      .toBuffer(),
  ]).toString('base64');
  const lines = body.match(/.{1,70}/g) ?? [];
  return `${BEGIN}\n${lines.join('\n')}\n${END}\n`;
}
