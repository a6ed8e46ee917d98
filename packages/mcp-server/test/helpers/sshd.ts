/**
 * A real OpenSSH sshd on 127.0.0.1, configured as a netward device: TrustedUserCAKeys, principals per
 * role account, a host certificate from a host CA, AcceptEnv MCP_*, and a ForceCommand that echoes what
 * it was asked to run (the real validator is tested end to end in test/). Used by the tests and the
 * benchmark. Needs root and /usr/sbin/sshd: without them it throws, so the test fails loudly.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SSHD = '/usr/sbin/sshd';
export const ROLES = ['net-viewer', 'net-operator', 'net-admin'] as const;

/** Creates the role accounts if missing (shared with other packages' tests: never deleted). */
export function ensureRoleAccounts(): void {
  for (const role of ROLES) {
    try {
      execFileSync('id', ['-u', role], { stdio: 'ignore' });
    } catch {
      try {
        execFileSync('useradd', ['-m', '-s', '/bin/sh', role], { stdio: 'ignore' });
      } catch {
        // Another test created it between the check and here.
      }
    }
    // useradd leaves '!' (locked): with UsePAM no, sshd refuses a locked account (LAB-NOTES).
    execFileSync('usermod', ['-p', '*', role], { stdio: 'ignore' });
  }
}

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

function keygen(args: string[]): void {
  execFileSync('ssh-keygen', ['-q', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForBanner(port: number, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = tcpConnect(port, '127.0.0.1');
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString().startsWith('SSH-2.0'));
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not come up on port ${port}`);
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
 * The session side of the stand-in (the validator's framing, @netward/forcecommand/session-protocol,
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
  if (!existsSync(SSHD)) {
    throw new Error(
      `${SSHD} is missing: install openssh-server (the certificate login test needs a real sshd)`,
    );
  }
  if (process.getuid?.() !== 0)
    throw new Error('the sshd fixture needs root (it runs sshd and role accounts)');
  ensureRoleAccounts();
  mkdirSync('/run/sshd', { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'netward-mcp-sshd-'));
  // Role accounts must reach the ForceCommand script inside.
  chmodSync(dir, 0o755);
  const p = (f: string) => join(dir, f);
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
  const port = await freePort();
  writeFileSync(
    p('sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${p('host_key')}`,
      `HostCertificate ${p('host_key-cert.pub')}`,
      `TrustedUserCAKeys ${p('user_ca.pub')}`,
      `AuthorizedPrincipalsFile ${p('principals')}/%u`,
      'AuthorizedKeysFile none',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'PidFile none',
      'ExposeAuthInfo yes',
      'AcceptEnv MCP_USER MCP_SID MCP_REQUEST_ID MCP_TOOL',
      `ForceCommand ${p('force.sh')}`,
      'PermitTTY no',
      'AllowTcpForwarding no',
      'X11Forwarding no',
      'MaxStartups 100:30:200',
      // MaxSessions stays at OpenSSH's default (10): session mode must live within it.
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  const logFile = p('sshd.log');
  const child: ChildProcess = spawn(SSHD, ['-D', '-f', p('sshd_config'), '-E', logFile], { stdio: 'ignore' });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  try {
    await waitForBanner(port, Date.now() + 5000);
  } catch (e) {
    child.kill();
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(e as Error).message}\n${log}`);
  }
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
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    async stop() {
      if (!exited) {
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
