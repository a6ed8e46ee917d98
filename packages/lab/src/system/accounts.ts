import { readFileSync } from 'node:fs';
import {
  ensureAccounts as ensureKitAccounts,
  groupId as findGroup,
  userId as findUser,
  withKitErrors,
} from '@netward/kit/files';
import { LabError } from '../errors.ts';

/** gid from /etc/group (devices use local groups, no NSS). */
export function groupId(name: string): number {
  const gid = findGroup(name);
  if (gid === undefined) throw new LabError('ERR_LAB_MISSING_PEER', `group ${name} does not exist`);
  return gid;
}

export function userId(name: string): number {
  const uid = findUser(name);
  if (uid === undefined) throw new LabError('ERR_LAB_MISSING_PEER', `user ${name} does not exist`);
  return uid;
}

export function userExists(name: string): boolean {
  return findUser(name) !== undefined;
}

export function groupExists(name: string): boolean {
  return findGroup(name) !== undefined;
}

/**
 * The three device accounts of the seed (one per role), created once and shared by every lab on the
 * machine (the namespaces share /etc/passwd), by the kit's ensureAccounts (shell /bin/sh, password
 * field `*`, retried when two labs race on a fresh machine), in groups frrvty (vtysh may reach FRR's
 * sockets) and the validator's group (appends to the audit file).
 */
export async function ensureAccounts(roles: readonly string[], groups: readonly string[]): Promise<void> {
  withKitErrors(
    () => ensureKitAccounts({ accounts: roles, groups }),
    (e) => new LabError('ERR_LAB_COMMAND', e.message, { cause: e }),
  );
}

/** The primary gid of a local account (fourth field of /etc/passwd). */
export function primaryGroupId(name: string, passwdFile = '/etc/passwd'): number {
  const line = readFileSync(passwdFile, 'utf8')
    .split('\n')
    .find((l) => l.split(':')[0] === name);
  const gid = line?.split(':')[3];
  if (gid === undefined || !/^\d+$/.test(gid))
    throw new LabError('ERR_LAB_MISSING_PEER', `user ${name} does not exist`);
  return Number(gid);
}
