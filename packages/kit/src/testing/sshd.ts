/**
 * A real OpenSSH sshd on 127.0.0.1 for tests and benchmarks: the caller writes the keys, principals and
 * ForceCommand it needs and gives the directives; the harness adds where to listen, starts `sshd -D`,
 * waits for its banner, and retries on a port another process took between freePort and listen.
 * Needs root and /usr/sbin/sshd; without them it throws ERR_KIT_TEST_PREREQUISITE, so a test fails
 * loudly instead of passing without a peer.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ensureAccounts } from '../accounts.ts';
import { KitError } from '../errors.ts';
import { freePort } from './ports.ts';

export const SSHD = '/usr/sbin/sshd';
export const SSH = '/usr/bin/ssh';
export const SSH_KEYGEN = '/usr/bin/ssh-keygen';
/** The three device accounts of the design, one per role. */
export const DEVICE_ACCOUNTS = ['net-viewer', 'net-operator', 'net-admin'] as const;

/** Throws ERR_KIT_TEST_PREREQUISITE unless running as root with every program present. */
export function requireRoot(why: string, programs: readonly string[] = []): void {
  if (process.getuid?.() !== 0) {
    throw new KitError('ERR_KIT_TEST_PREREQUISITE', `${why}: these tests must run as root`);
  }
  for (const p of programs) {
    if (!existsSync(p)) {
      throw new KitError(
        'ERR_KIT_TEST_PREREQUISITE',
        `${why}: ${p} is missing (apt-get install openssh-server)`,
      );
    }
  }
}

/** The device accounts, usable with `UsePAM no`; extra `groups` as the validator needs. Never deleted. */
export function ensureDeviceAccounts(groups: readonly string[] = []): void {
  requireRoot('device accounts');
  ensureAccounts({ accounts: DEVICE_ACCOUNTS, groups });
}

/** `ssh-keygen -q` with argv, failing with its stderr. */
export function sshKeygen(args: readonly string[]): void {
  execFileSync(SSH_KEYGEN, ['-q', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

export interface SshdOptions {
  /** Where sshd_config, sshd.log and the pid file go; the caller's keys and files live here too. */
  readonly dir: string;
  /** sshd_config directives, one per line, without Port/ListenAddress/PidFile (the harness adds them). */
  readonly directives?: readonly string[];
  /**
   * Instead of `directives`: the whole sshd_config for a port, for a caller that renders its own
   * (the validator's installer renders ListenAddress and PidFile itself).
   */
  readonly render?: (port: number) => string;
  /** Run `sshd -t` on the file first, so a bad directive fails with sshd's own message. Default false. */
  readonly check?: boolean;
}

export interface RunningSshd {
  readonly port: number;
  readonly configFile: string;
  readonly logFile: string;
  /** sshd's log so far (LogLevel as the directives say). */
  log(): string;
  /** SIGTERM, and wait for sshd to exit. */
  stop(): Promise<void>;
}

export async function startSshd(options: SshdOptions): Promise<RunningSshd> {
  requireRoot('sshd', [SSHD]);
  // sshd's privilege separation directory; there is no systemd here to create it.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const configFile = join(options.dir, 'sshd_config');
  const logFile = join(options.dir, 'sshd.log');
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const lines = [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `PidFile ${join(options.dir, 'sshd.pid')}`,
      ...(options.directives ?? []),
    ];
    writeFileSync(configFile, options.render ? options.render(port) : `${lines.join('\n')}\n`);
    if (options.check) execFileSync(SSHD, ['-t', '-f', configFile], { stdio: 'pipe' });
    const child: ChildProcess = spawn(SSHD, ['-D', '-f', configFile, '-E', logFile], { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (await banner(port, child)) {
      return {
        port,
        configFile,
        logFile,
        log,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
        },
      };
    }
    child.kill('SIGKILL');
    await exited;
    if (attempt >= 5) throw new KitError('ERR_KIT_SSHD_START', `sshd did not start:\n${log()}`);
  }
}

/** True once sshd answers with its SSH-2.0 banner (RFC 4253 section 4.2); false when it exited. */
async function banner(port: number, child: ChildProcess): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString('latin1').startsWith('SSH-2.0-'));
      });
      s.once('error', () => resolve(false));
      s.once('close', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
