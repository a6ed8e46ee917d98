/**
 * Service accounts and groups on a device: created when missing, never deleted (other labs and tests on
 * the same machine use the same accounts). Local files are read directly: devices use local accounts,
 * with no NSS module in between.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { KitError } from './errors.ts';

/** Runs a program with argv (never a shell). Injected in tests. */
export type Run = (file: string, args: readonly string[]) => void;

const defaultRun: Run = (file, args) => {
  execFileSync(file, [...args], { stdio: 'pipe' });
};

/** The numeric id (third field) of `name` in a passwd- or group-format file; undefined when absent. */
export function lookupId(file: string, name: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [n, , id] = line.split(':');
    if (n === name && id !== undefined && /^\d+$/.test(id)) return Number(id);
  }
  return undefined;
}

/** gid of a local group, undefined when there is none. */
export function groupId(name: string, groupFile = '/etc/group'): number | undefined {
  return lookupId(groupFile, name);
}

/** uid of a local account, undefined when there is none. */
export function userId(name: string, passwdFile = '/etc/passwd'): number | undefined {
  return lookupId(passwdFile, name);
}

export interface EnsureAccountsOptions {
  readonly accounts: readonly string[];
  /** Supplementary groups, created (`--system`) when missing and added to every account. */
  readonly groups?: readonly string[];
  readonly run?: Run;
  /** Where accounts and groups are looked up. Default /etc/passwd, /etc/group. */
  readonly passwdFile?: string;
  readonly groupFile?: string;
}

/**
 * Makes sure each account exists and can log in with a certificate:
 * - shell /bin/sh, because sshd runs the ForceCommand through the account's shell;
 * - password field `*`, not the `!` useradd leaves: with `UsePAM no`, sshd treats `!` as a locked
 *   account and refuses even a valid certificate (docs/sshd.md; OpenSSH auth.c, allowed_user);
 * - member of every group in `groups`.
 * Two callers at once (parallel test files, two labs) race on a fresh machine: useradd finds the account
 * the other just created, or /etc/passwd locked by the other's usermod. A failed step is retried a few
 * times, and is no failure when what it was to do is done.
 */
export function ensureAccounts(options: EnsureAccountsOptions): void {
  const run = options.run ?? defaultRun;
  const passwd = options.passwdFile ?? '/etc/passwd';
  const groupFile = options.groupFile ?? '/etc/group';
  const groups = options.groups ?? [];
  for (const g of groups) {
    if (lookupId(groupFile, g) === undefined) {
      retried(
        `groupadd ${g}`,
        () => run('groupadd', ['--system', g]),
        () => lookupId(groupFile, g) !== undefined,
      );
    }
  }
  const groupArgs = groups.length > 0 ? ['--groups', groups.join(',')] : [];
  for (const account of options.accounts) {
    if (lookupId(passwd, account) === undefined) {
      retried(
        `useradd ${account}`,
        () => run('useradd', ['--create-home', '--shell', '/bin/sh', ...groupArgs, account]),
        () => lookupId(passwd, account) !== undefined,
      );
    } else {
      retried(`usermod ${account}`, () =>
        run('usermod', [
          ...(groups.length > 0 ? ['--append', ...groupArgs] : []),
          '--shell',
          '/bin/sh',
          account,
        ]),
      );
    }
    retried(`usermod --password ${account}`, () => run('usermod', ['--password', '*', account]));
  }
}

function retried(what: string, fn: () => void, done: () => boolean = () => false): void {
  for (let attempt = 1; ; attempt++) {
    try {
      fn();
      return;
    } catch (cause) {
      if (done()) return;
      if (attempt >= 5) throw new KitError('ERR_KIT_ACCOUNT', `${what} failed`, { cause });
      // A synchronous pause: account creation runs before anything else is started. Made here, not at
      // load: a V8 start-up snapshot (the validator's) has no SharedArrayBuffer while it is built.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200 * attempt);
    }
  }
}
