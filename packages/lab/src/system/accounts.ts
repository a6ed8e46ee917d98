import { readFileSync } from 'node:fs';
import { LabError } from '../errors.ts';
import { run, sleep } from './exec.ts';

function lookup(file: string, name: string): number | undefined {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [n, , id] = line.split(':');
    if (n === name && id !== undefined) return Number(id);
  }
  return undefined;
}

/** gid from /etc/group (devices use local groups, no NSS). */
export function groupId(name: string): number {
  const gid = lookup('/etc/group', name);
  if (gid === undefined) throw new LabError('ERR_LAB_MISSING_PEER', `group ${name} does not exist`);
  return gid;
}

export function userId(name: string): number {
  const uid = lookup('/etc/passwd', name);
  if (uid === undefined) throw new LabError('ERR_LAB_MISSING_PEER', `user ${name} does not exist`);
  return uid;
}

export function userExists(name: string): boolean {
  return lookup('/etc/passwd', name) !== undefined;
}

export function groupExists(name: string): boolean {
  return lookup('/etc/group', name) !== undefined;
}

/**
 * The three device accounts of the seed (one per role), created once and shared by every lab on the
 * machine (the namespaces share /etc/passwd):
 * - shell /bin/sh, because sshd runs the ForceCommand through the account's shell;
 * - password `*`, not `!`: with `UsePAM no` sshd treats `!` as a locked account and refuses even a
 *   valid certificate (docs/sshd.md);
 * - groups frrvty (vtysh may reach FRR's sockets) and the validator's group (reads the TACACS+ key,
 *   appends to the audit file).
 */
export async function ensureAccounts(roles: readonly string[], groups: readonly string[]): Promise<void> {
  for (const g of groups) {
    if (!groupExists(g))
      await retried(
        () => run('groupadd', ['--system', g]),
        () => groupExists(g),
      );
  }
  for (const role of roles) {
    if (!userExists(role)) {
      await retried(
        () => run('useradd', ['--create-home', '--shell', '/bin/sh', '--groups', groups.join(','), role]),
        () => userExists(role),
      );
    }
    await retried(() =>
      run('usermod', ['--append', '--groups', groups.join(','), '--shell', '/bin/sh', role]),
    );
    await retried(() => run('usermod', ['--password', '*', role]));
  }
}

/**
 * Two labs coming up at once (the end-to-end suite runs its lab files in parallel) race on a fresh
 * machine: one `useradd` finds the account just created, or /etc/passwd locked by the other's
 * `usermod`. A failure is retried a few times, and is no failure when the account now exists.
 */
async function retried(fn: () => Promise<unknown>, done: () => boolean = () => false): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await fn();
      return;
    } catch (err) {
      if (done()) return;
      if (attempt >= 5) throw err;
      await sleep(200 * attempt);
    }
  }
}
