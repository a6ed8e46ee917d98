/**
 * The embedded backend: CA keys on local disk, signatures by Node's native Ed25519 (~24,000 per second
 * on the lab machine: docs/node.md), serials from the CSPRNG.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import {
  formatPrivateKey,
  formatPublicKey,
  freshRandomBytes,
  parsePrivateKey,
  SshCertificateError,
  signCertificate,
  signCertificateAsync,
} from '@netward/ssh-certificate';
import { CaBrokerError } from '../errors.ts';
import { readCredentialFile } from '../private-file.ts';
import type { HostCertificateRequest, SigningBackend, UserCertificateRequest } from './types.ts';

export const USER_CA_FILE = 'user_ca';
export const HOST_CA_FILE = 'host_ca';

export interface LocalBackendOptions {
  readonly stateDir?: string | undefined;
  readonly userCaKeyFile?: string | undefined;
  readonly hostCaKeyFile?: string | undefined;
  /** Generate missing keys in stateDir (default true; the CLI's `ca-pub` and `sign-host` pass false). */
  readonly create?: boolean;
  /** Clock, ms since the epoch (tests). */
  readonly now?: () => number;
  /**
   * Sign user certificates on libuv's thread pool instead of on the event loop (the benchmark's
   * comparison with the former path). Default false: an Ed25519 signature (~55 µs of CPU) costs less
   * than the wake-up of the event loop a thread-pool job's completion costs (~57 µs on the 2-core VM).
   */
  readonly threadPool?: boolean;
}

/** Random 64-bit serial; 0 is avoided because OpenSSH treats it as "no serial". Unique across restarts
 *  with overwhelming probability (birthday bound 2^32 certificates), with no state to lose. */
export function randomSerial(): bigint {
  for (;;) {
    const s = freshRandomBytes(8).readBigUInt64BE(0);
    if (s !== 0n) return s;
  }
}

/** Reads a CA private key, refusing a file that the group or others may read (as sshd does for host keys). */
export function readCaKey(file: string): KeyObject {
  const text = readCredentialFile(file, 'CA key').toString('utf8');
  try {
    return parsePrivateKey(text);
  } catch (err) {
    if (err instanceof SshCertificateError)
      throw new CaBrokerError('ERR_CA_KEY_FILE', `${file}: ${err.message}`, { cause: err });
    throw new CaBrokerError('ERR_CA_KEY_FILE', `${file}: cannot read CA key`, { cause: err });
  }
}

/**
 * Loads `<stateDir>/<name>`, or creates it (0600, with `<name>.pub` 0644) when it does not exist.
 * Creation uses O_EXCL so two processes starting at once end up with the same key.
 */
export function loadOrCreateCaKey(stateDir: string, name: string, create: boolean): KeyObject {
  const file = join(stateDir, name);
  try {
    return readCaKey(file);
  } catch (err) {
    if (!(err instanceof CaBrokerError) || err.code !== 'ERR_CA_KEY_FILE' || !isMissing(err.cause)) throw err;
  }
  if (!create) throw new CaBrokerError('ERR_CA_KEY_FILE', `${file}: no CA key (run: netward-ca-broker init)`);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('ed25519');
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readCaKey(file);
    throw new CaBrokerError('ERR_CA_KEY_FILE', `${file}: cannot create CA key`, { cause: err });
  }
  try {
    writeSync(fd, formatPrivateKey(privateKey, `netward ${name}`));
  } finally {
    closeSync(fd);
  }
  writeFileSync(`${file}.pub`, `${formatPublicKey(privateKey, `netward ${name}`)}\n`, { mode: 0o644 });
  return privateKey;
}

function isMissing(cause: unknown): boolean {
  return (cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

export function createLocalBackend(options: LocalBackendOptions): SigningBackend {
  const create = options.create ?? true;
  const now = options.now ?? Date.now;
  let userCa: KeyObject;
  if (options.userCaKeyFile) userCa = readCaKey(options.userCaKeyFile);
  else if (options.stateDir) userCa = loadOrCreateCaKey(options.stateDir, USER_CA_FILE, create);
  else throw new TypeError('local backend needs stateDir or userCaKeyFile');
  let hostCa: KeyObject | undefined;
  if (options.hostCaKeyFile) hostCa = readCaKey(options.hostCaKeyFile);
  else if (options.stateDir) hostCa = loadOrCreateCaKey(options.stateDir, HOST_CA_FILE, create);
  const userCaPub = formatPublicKey(userCa);
  const hostCaPub = hostCa ? formatPublicKey(hostCa) : undefined;
  if (hostCaPub === userCaPub) {
    // One key for both would let a user certificate's CA vouch for hosts and vice versa.
    throw new CaBrokerError('ERR_CA_KEY_FILE', 'the host CA key must differ from the user CA key');
  }

  return {
    kind: 'local',
    inProcess: true,
    async signUser(req: UserCertificateRequest) {
      const t = Math.floor(now() / 1000);
      const sign = options.threadPool ? signCertificateAsync : signCertificate;
      const signed = await sign(
        {
          publicKey: req.publicKey,
          type: 'user',
          serial: randomSerial(),
          keyId: req.keyId,
          principals: [req.principal],
          validAfter: BigInt(t - req.backdateSeconds),
          validBefore: BigInt(t + req.ttlSeconds),
          criticalOptions: req.criticalOptions,
          extensions: req.extensions,
        },
        userCa,
      );
      return signed.line;
    },
    async signHost(req: HostCertificateRequest) {
      if (!hostCa) throw new CaBrokerError('ERR_CA_BACKEND_UNAVAILABLE', 'no host CA key configured');
      const t = Math.floor(now() / 1000);
      return signCertificate(
        {
          publicKey: req.publicKey,
          type: 'host',
          serial: randomSerial(),
          keyId: req.keyId,
          principals: req.principals,
          validAfter: BigInt(t - req.backdateSeconds),
          validBefore: BigInt(t + req.validitySeconds),
        },
        hostCa,
      ).line;
    },
    async userCaPublicKey() {
      return userCaPub;
    },
    async hostCaPublicKey() {
      return hostCaPub;
    },
    async ready() {},
    async close() {},
  };
}
