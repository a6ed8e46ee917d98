/**
 * A real OpenSSH sshd on 127.0.0.1, configured as a netward device: TrustedUserCAKeys, principals per
 * role account, a host certificate from a host CA, AcceptEnv MCP_*, and a ForceCommand that echoes what
 * it was asked to run (the real validator is tested end to end in test/). Used by the tests and the
 * benchmark. Needs root and /usr/sbin/sshd: without them it throws, so the test fails loudly.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEVICE_ACCOUNTS,
  ensureDeviceAccounts,
  sshKeygen,
  startSshd as startKitSshd,
  tempDir,
} from '@netward/kit/testing';

export { SSHD } from '@netward/kit/testing';
export const ROLES = DEVICE_ACCOUNTS;

export interface SshdFixture {
  readonly dir: string;
  readonly port: number;
  readonly userCaKey: string;
  readonly userCaPub: string;
  readonly hostCaKey: string;
  readonly hostCaPub: string;
  /** The plain host key line (for pinned mode). */
  readonly hostKeyPub: string;
  readonly logFile: string;
  /** Signs `publicKeyLine` with the user CA via ssh-keygen; returns the certificate line. */
  signUserKey(
    publicKeyLine: string,
    opts: { principal: string; keyId: string; validity?: string; serial?: number },
  ): string;
  log(): string;
  stop(): Promise<void>;
}

export interface StartSshdOptions {
  /** Host certificate principals. Default: device-1 and 127.0.0.1. */
  readonly hostPrincipals?: readonly string[];
  /** Shell script body run as ForceCommand. Default: echo command and MCP_* variables. */
  readonly forceCommand?: string;
}

const DEFAULT_FORCE_COMMAND = `#!/bin/sh
# Test stand-in for the validator: shows what arrived.
account=$(id -un)
# Session mode: each framed request runs this script again, with the frame's command and request id.
if [ "$SSH_ORIGINAL_COMMAND" = netward-session ]; then exec /usr/bin/node "$0.session.cjs" "$0"; fi
case "$SSH_ORIGINAL_COMMAND" in
  deny*) echo "DENY: $SSH_ORIGINAL_COMMAND" >&2; exit 13 ;;
  sleep*|*192.0.2.99*) sleep 5; exit 0 ;;
  flood*) head -c 200000 /dev/zero | tr '\\0' x; exit 0 ;;
  *configure*)
    if [ "$account" != net-admin ]; then
      echo "DENY (local): $account may not run: $SSH_ORIGINAL_COMMAND" >&2
      exit 1
    fi ;;
esac
echo "cmd=$SSH_ORIGINAL_COMMAND"
echo "user=$MCP_USER sid=$MCP_SID req=$MCP_REQUEST_ID tool=$MCP_TOOL"
echo "account=$account"
`;

/**
 * The session side of the stand-in (the validator's framing, @netward/session-protocol,
 * written out for /usr/bin/node): READY, then per REQUEST the stand-in script's output as STDOUT and
 * STDERR frames and an EXIT frame. The real validator's session mode is tested in packages/forcecommand
 * and through the lab.
 */
const SESSION_STAND_IN = `'use strict';
const { spawn } = require('node:child_process');
const frame = (type, body) => {
  const b = Buffer.from(body);
  const h = Buffer.alloc(5);
  h.writeUInt32BE(b.length + 1, 0);
  h.writeUInt8(type, 4);
  return Buffer.concat([h, b]);
};
process.stdout.write(frame(5, '{"version":1}'));
let buf = Buffer.alloc(0);
let busy = Promise.resolve();
process.stdin.on('data', (chunk) => {
  buf = Buffer.concat([buf, chunk]);
  while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
    const len = buf.readUInt32BE(0);
    const req = JSON.parse(buf.subarray(5, 4 + len).toString());
    buf = buf.subarray(4 + len);
    busy = busy.then(() => new Promise((done) => {
      const env = { ...process.env, SSH_ORIGINAL_COMMAND: req.command, MCP_REQUEST_ID: req.id, MCP_TOOL: req.tool ?? '' };
      const child = spawn('/bin/sh', [process.argv[2]], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (d) => process.stdout.write(frame(2, d)));
      child.stderr.on('data', (d) => process.stdout.write(frame(3, d)));
      child.on('close', (code) => {
        process.stdout.write(frame(4, JSON.stringify({ id: req.id, exit: code ?? 1 })));
        done();
      });
    }));
  }
});
`;

export async function startSshd(options: StartSshdOptions = {}): Promise<SshdFixture> {
  ensureDeviceAccounts();
  // Role accounts must reach the ForceCommand script inside.
  const dir = tempDir('mcp-sshd', { mode: 0o755 }).path;
  const p = (f: string) => join(dir, f);
  const keygen = sshKeygen;
  keygen(['-t', 'ed25519', '-N', '', '-C', 'user-ca', '-f', p('user_ca')]);
  keygen(['-t', 'ed25519', '-N', '', '-C', 'host-ca', '-f', p('host_ca')]);
  keygen(['-t', 'ed25519', '-N', '', '-C', 'host', '-f', p('host_key')]);
  const principals = (options.hostPrincipals ?? ['device-1', '127.0.0.1']).join(',');
  keygen([
    '-s',
    p('host_ca'),
    '-h',
    '-I',
    'device-1-host',
    '-n',
    principals,
    '-V',
    '-5m:+1h',
    p('host_key.pub'),
  ]);
  mkdirSync(p('principals'));
  for (const role of ROLES) writeFileSync(p(`principals/${role}`), `${role}\n`, { mode: 0o644 });
  writeFileSync(p('force.sh'), options.forceCommand ?? DEFAULT_FORCE_COMMAND, { mode: 0o755 });
  writeFileSync(p('force.sh.session.cjs'), SESSION_STAND_IN, { mode: 0o644 });
  let sshd: Awaited<ReturnType<typeof startKitSshd>>;
  try {
    sshd = await startKitSshd({
      dir,
      directives: [
        `HostKey ${p('host_key')}`,
        `HostCertificate ${p('host_key-cert.pub')}`,
        `TrustedUserCAKeys ${p('user_ca.pub')}`,
        `AuthorizedPrincipalsFile ${p('principals')}/%u`,
        'AuthorizedKeysFile none',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'ExposeAuthInfo yes',
        'AcceptEnv MCP_USER MCP_SID MCP_REQUEST_ID MCP_TOOL',
        `ForceCommand ${p('force.sh')}`,
        'PermitTTY no',
        'AllowTcpForwarding no',
        'X11Forwarding no',
        'MaxStartups 100:30:200',
        // MaxSessions stays at OpenSSH's default (10): session mode must live within it.
        'LogLevel VERBOSE',
      ],
    });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const port = sshd.port;
  const logFile = sshd.logFile;
  return {
    dir,
    port,
    userCaKey: p('user_ca'),
    userCaPub: readFileSync(p('user_ca.pub'), 'utf8').trim(),
    hostCaKey: p('host_ca'),
    hostCaPub: readFileSync(p('host_ca.pub'), 'utf8').trim(),
    hostKeyPub: readFileSync(p('host_key.pub'), 'utf8').trim(),
    logFile,
    signUserKey(publicKeyLine, opts) {
      const work = mkdtempSync(join(dir, 'sign-'));
      try {
        writeFileSync(join(work, 'k.pub'), `${publicKeyLine}\n`);
        keygen([
          '-s',
          p('user_ca'),
          '-I',
          opts.keyId,
          '-n',
          opts.principal,
          '-V',
          opts.validity ?? '-1m:+1m',
          '-z',
          String(opts.serial ?? 1),
          join(work, 'k.pub'),
        ]);
        return readFileSync(join(work, 'k-cert.pub'), 'utf8').trim();
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    },
    log: sshd.log,
    async stop() {
      await sshd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
