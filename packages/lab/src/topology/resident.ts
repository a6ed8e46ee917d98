import { chmodSync, chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  forceCommandLine,
  prepareResidentSockets,
  renderResidentShim,
  residentSocketPath,
} from '@netward/forcecommand';
import type { DeviceLayout, LabLayout } from '../layout.ts';
import { ROLES } from '../layout.ts';
import type { ServiceSpec } from '../services/supervisor.ts';
import { primaryGroupId, userId } from '../system/accounts.ts';
import { inNamespaceNamed } from '../system/exec.ts';
import { unixOpen } from '../system/probe.ts';
import { devicePaths, validatorLineOptions, validatorNode } from './sshd.ts';

/**
 * The resident validators (forcecommand's `resident` command): one long-lived validator per device and
 * account, so that a per-call command costs the Perl shim's start (~3 ms) instead of node's (~45 ms
 * from a snapshot). Each runs as its account with the account's groups (frrvty for vtysh), inside the
 * device's network namespace and UTS name (as sshd's children do), listening on
 * `<run>/resident-<device>/<account>/resident.sock`, whose directory only that account can enter.
 * The shim in sshd's ForceCommand connects to it and falls back to a validator process of its own when
 * it cannot: a resident validator that is down slows calls, it never opens or closes anything.
 */
export function residentServiceName(device: DeviceLayout, account: string): string {
  return `resident-${device.name}-${account}`;
}

/** Every resident validator's service name in a lab that runs them (none with `per-process`). */
export function residentServiceNames(layout: LabLayout): string[] {
  if (layout.options.validators !== 'resident') return [];
  return layout.devices.flatMap((d) => ROLES.map((r) => residentServiceName(d, r)));
}

/** `<run>/resident-<device>`: root 0755, one directory per account below it. */
export function residentDeviceDir(device: DeviceLayout, layout: LabLayout): string {
  return join(layout.paths.run, `resident-${device.name}`);
}

/** `<run>/resident-<device>/<account>/resident.sock` (forcecommand's residentSocketPath). */
export function residentSocket(device: DeviceLayout, layout: LabLayout, account: string): string {
  return residentSocketPath(residentDeviceDir(device, layout), account);
}

/** The shim sshd's ForceCommand runs: root-owned 0755 in the lab's bin/, which every account may traverse. */
export function residentShim(layout: LabLayout): string {
  return join(layout.paths.bin, 'netward-resident');
}

export function installResidentShim(layout: LabLayout): void {
  const shim = residentShim(layout);
  writeFileSync(shim, renderResidentShim(), { mode: 0o755 });
  chownSync(shim, 0, 0);
  chmodSync(shim, 0o755);
}

/**
 * A device's ForceCommand: with resident validators, guard → shim → (when the shim cannot connect, or
 * for session mode) the per-process validator line; without, that line alone.
 */
export function deviceForceCommand(
  device: DeviceLayout,
  layout: LabLayout,
  validators: LabLayout['options']['validators'] = layout.options.validators,
): string {
  const line = validatorLineOptions(device, layout);
  if (validators !== 'resident') return forceCommandLine(line);
  // One line for the three accounts: the shim puts its account's name in place of `%u`.
  return forceCommandLine({
    ...line,
    resident: { shim: residentShim(layout), socket: residentSocket(device, layout, '%u') },
  });
}

/**
 * The socket directories, made by root before the validators start (forcecommand's
 * prepareResidentSockets): `<account>:<its primary group> 0700`, so that only the account itself (and
 * root) can connect to the socket its validator creates; a viewer's call can never reach the admin's
 * validator.
 */
export function prepareResidentDirs(device: DeviceLayout, layout: LabLayout): void {
  prepareResidentSockets(residentDeviceDir(device, layout), ROLES);
}

/**
 * `ip netns exec <ns> unshare --uts … setpriv --reuid <account> --regid <gid> --init-groups
 * --reset-env -- <lab node> <validator> resident --config … --socket …`: the namespaces are entered as
 * root, then setpriv drops to the account for good (uid, gid and supplementary groups from
 * initgroups(3); no capability survives the change of uid), with an environment of its own account's
 * (HOME, USER, PATH) instead of the lab's. Ready once its socket accepts a connection.
 */
export function residentSpec(device: DeviceLayout, layout: LabLayout, account: string): ServiceSpec {
  const name = residentServiceName(device, account);
  const socket = residentSocket(device, layout, account);
  const [command, ...args] = inNamespaceNamed(device.ns, device.name, 'setpriv', [
    '--reuid',
    String(userId(account)),
    '--regid',
    String(primaryGroupId(account)),
    '--init-groups',
    '--reset-env',
    '--',
    validatorNode(layout),
    layout.paths.forcecommand,
    'resident',
    '--config',
    devicePaths(device, layout).forcecommandConfig,
    '--socket',
    socket,
  ]);
  return {
    name,
    command,
    args,
    log: join(layout.paths.logs, `${name}.log`),
    ready: () => unixOpen(socket),
  };
}
