import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { join } from 'node:path';
import { requireProgram } from './openssh.ts';

export const SSHD = '/usr/sbin/sshd';
export const SSH = '/usr/bin/ssh';
export const ACCOUNTS = ['net-viewer', 'net-operator', 'net-admin'] as const;

/**
 * Makes sure the three device accounts exist and are usable with `UsePAM no` (password field `*`, not
 * the locked `!` useradd leaves: docs/sshd.md). Idempotent, and never deletes: other packages' tests and
 * the lab use the same accounts.
 */
export function ensureAccounts(): void {
  if (process.getuid?.() !== 0)
    throw new Error('the real-sshd tests must run as root (they create net-* accounts)');
  for (const name of ACCOUNTS) {
    if (!accountExists(name)) {
      try {
        execFileSync('/usr/sbin/useradd', ['-m', '-s', '/bin/sh', name], { stdio: 'pipe' });
      } catch (err) {
        // Another test may have created it at the same moment.
        if (!accountExists(name)) throw err;
      }
    }
    const shadow = readFileSync('/etc/shadow', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${name}:`));
    if (shadow?.split(':')[1]?.startsWith('!')) {
      execFileSync('/usr/sbin/usermod', ['-p', '*', name], { stdio: 'pipe' });
    }
  }
}

function accountExists(name: string): boolean {
  try {
    execFileSync('/usr/bin/id', ['-u', name], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** sshd cannot listen on port 0 and report it: take a free port from the kernel and release it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface RunningSshd {
  readonly port: number;
  log(): string;
  stop(): Promise<void>;
}

export async function startSshd(options: {
  dir: string;
  trustedUserCaKeys: string;
  hostKey: string;
  hostCertificate?: string;
}): Promise<RunningSshd> {
  requireProgram(SSHD);
  requireProgram(SSH);
  ensureAccounts();
  // sshd's privilege separation directory; there is no systemd here to create it.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const { dir } = options;
  const principals = join(dir, 'principals');
  mkdirSync(principals, { recursive: true });
  // sshd reads the principals file as the target user (it has dropped privileges by then).
  chmodSync(dir, 0o755);
  chmodSync(principals, 0o755);
  for (const a of ACCOUNTS) writeFileSync(join(principals, a), `${a}\n`, { mode: 0o644 });
  writeFileSync(join(dir, 'trusted-user-ca.pub'), `${options.trustedUserCaKeys}\n`);
  const logFile = join(dir, 'sshd.log');
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const config = [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${options.hostKey}`,
      ...(options.hostCertificate ? [`HostCertificate ${options.hostCertificate}`] : []),
      `PidFile ${join(dir, 'sshd.pid')}`,
      `TrustedUserCAKeys ${join(dir, 'trusted-user-ca.pub')}`,
      `AuthorizedPrincipalsFile ${principals}/%u`,
      'AuthorizedKeysFile none',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      // The principals files live in a temp dir that is not owned by the accounts.
      'StrictModes no',
      'ExposeAuthInfo yes',
      'ForceCommand /usr/bin/id -un',
      'LogLevel VERBOSE',
      'MaxStartups 50',
      '',
    ].join('\n');
    const configFile = join(dir, 'sshd_config');
    writeFileSync(configFile, config);
    const child: ChildProcess = spawn(SSHD, ['-D', '-f', configFile, '-E', logFile], { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (await listening(port, child)) {
      return {
        port,
        log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
        async stop() {
          if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
        },
      };
    }
    lastError = new Error(`sshd did not start:\n${existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''}`);
    child.kill('SIGKILL');
    await exited;
  }
  throw lastError;
}

async function listening(port: number, child: ChildProcess): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) return false;
    const ok = await new Promise<boolean>((resolve) => {
      const s = new Socket();
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
      s.connect(port, '127.0.0.1');
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

export interface SshResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** One login with the OpenSSH client, non-interactive, trusting only the given known_hosts. */
export function sshLogin(options: {
  port: number;
  user: string;
  identity: string;
  certificate: string;
  knownHosts: string;
}): Promise<SshResult> {
  const args = [
    '-F',
    '/dev/null',
    '-p',
    String(options.port),
    '-i',
    options.identity,
    '-o',
    `CertificateFile=${options.certificate}`,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${options.knownHosts}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'ConnectTimeout=10',
    '-o',
    'LogLevel=ERROR',
    `${options.user}@127.0.0.1`,
    'ignored-by-forcecommand',
  ];
  return new Promise((resolve) => {
    const child = spawn(SSH, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
