import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEVICE_ACCOUNTS,
  ensureDeviceAccounts,
  type RunningSshd,
  SSH,
  sshClientArgs,
  startSshd as startKitSshd,
} from '@netward/kit/testing';
import { requireProgram } from './openssh.ts';

export { freePort, type RunningSshd, SSH, SSHD } from '@netward/kit/testing';

/**
 * A real sshd trusting `trustedUserCaKeys`, with one principals file per device account naming the
 * account (the broker's role principals) and a ForceCommand that prints the account it logged in as.
 */
export async function startSshd(options: {
  dir: string;
  trustedUserCaKeys: string;
  hostKey: string;
  hostCertificate?: string;
}): Promise<RunningSshd> {
  requireProgram(SSH);
  ensureDeviceAccounts();
  const { dir } = options;
  const principals = join(dir, 'principals');
  mkdirSync(principals, { recursive: true });
  // sshd reads the principals file as the target user (it has dropped privileges by then).
  chmodSync(dir, 0o755);
  chmodSync(principals, 0o755);
  for (const a of DEVICE_ACCOUNTS) writeFileSync(join(principals, a), `${a}\n`, { mode: 0o644 });
  writeFileSync(join(dir, 'trusted-user-ca.pub'), `${options.trustedUserCaKeys}\n`);
  return startKitSshd({
    dir,
    directives: [
      `HostKey ${options.hostKey}`,
      ...(options.hostCertificate ? [`HostCertificate ${options.hostCertificate}`] : []),
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
    ],
  });
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
    ...sshClientArgs({ ...options, options: ['ConnectTimeout=10'] }),
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
