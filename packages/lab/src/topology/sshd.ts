import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  type ForceCommandLineOptions,
  renderSshdConfig as renderDeviceSshdConfig,
} from '@netward/forcecommand';
import { LabError } from '../errors.ts';
import type { DeviceLayout, LabLayout } from '../layout.ts';
import { inNamespaceNamed } from '../system/exec.ts';

export const SSHD = '/usr/sbin/sshd';

export interface DevicePaths {
  readonly sshdConfig: string;
  readonly sshdLog: string;
  readonly hostKey: string;
  readonly hostCert: string;
  readonly principalsDir: string;
  readonly forcecommandConfig: string;
  readonly auditFile: string;
  readonly pidFile: string;
}

export function devicePaths(device: DeviceLayout, layout: LabLayout): DevicePaths {
  return {
    sshdConfig: join(device.dir, 'sshd_config'),
    sshdLog: join(layout.paths.logs, `sshd-${device.name}.log`),
    hostKey: join(device.dir, 'ssh_host_ed25519_key'),
    hostCert: join(device.dir, 'ssh_host_ed25519_key-cert.pub'),
    principalsDir: join(device.dir, 'principals'),
    forcecommandConfig: join(device.dir, 'forcecommand.json'),
    auditFile: join(layout.paths.logs, `forcecommand-${device.name}.jsonl`),
    pidFile: join(layout.paths.run, `sshd-${device.name}.sshd.pid`),
  };
}

/**
 * One device's sshd, from forcecommand's own renderer (standalone form, one sshd per namespace):
 * certificates from the broker's user CA only, one principals file per account, nothing but the
 * validator runs, MCP_* pass through as claims, the verified certificate is exposed to the validator
 * (ExposeAuthInfo). The lab adds the host certificate, and limits sized for 10 concurrent agents and
 * session mode (a connection kept open with a channel per call).
 */
export function renderSshdConfig(device: DeviceLayout, layout: LabLayout, forceCommand: string): string {
  const p = devicePaths(device, layout);
  const base = renderDeviceSshdConfig({
    caKeysFile: layout.paths.userCaPub,
    principalsDir: p.principalsDir,
    forceCommand,
    maxSessions: 32,
    standalone: {
      listenAddress: device.mgmtAddress,
      port: 22,
      hostKeys: [p.hostKey],
      hostCertificate: p.hostCert,
      pidFile: p.pidFile,
    },
  });
  return [
    `# netward lab device ${device.name}: written by netward-lab up`,
    base.trimEnd(),
    'MaxStartups 64:30:128',
    'LoginGraceTime 20',
    'ClientAliveInterval 15',
    '',
  ].join('\n');
}

/**
 * The node binary the accounts' validators run: a copy of the lab's own in the lab's root-owned bin/
 * (lab.ts installs it), since the lab's node may sit inside the checkout (setup's project-local Node 24
 * under .cache/), which a 0700 `mktemp -d` folder or a 0750 home keeps the accounts from executing.
 */
export function validatorNode(layout: LabLayout): string {
  return join(layout.paths.bin, 'node');
}

/**
 * What the per-process validator line is made of (forcecommand's `forceCommandLine` checks the paths
 * need no quoting): the lab's node, the start-up snapshot when it was built (the plain bundle
 * otherwise), the device's config, the env guard in front.
 */
export function validatorLineOptions(device: DeviceLayout, layout: LabLayout): ForceCommandLineOptions {
  const config = devicePaths(device, layout).forcecommandConfig;
  const guard = join(dirname(layout.paths.forcecommand), 'netward-env-guard');
  const node = validatorNode(layout);
  return existsSync(layout.paths.forcecommandBlob)
    ? { node, snapshotBlob: layout.paths.forcecommandBlob, config, guard }
    : { node, script: layout.paths.forcecommand, config, guard };
}

/** sshd in the device's namespaces (`inNamespaceNamed`), foreground, logging to stderr (timestamped by the lab). */
export function sshdCommand(device: DeviceLayout, layout: LabLayout): string[] {
  if (!existsSync(SSHD))
    throw new LabError('ERR_LAB_MISSING_PEER', `${SSHD} not found: install openssh-server`);
  const p = devicePaths(device, layout);
  return inNamespaceNamed(device.ns, device.name, SSHD, ['-D', '-e', '-f', p.sshdConfig]);
}
