import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../errors.ts';
import type { DeviceLayout, LabLayout } from '../layout.ts';

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
 * One device's sshd: the seed's gatekeeper. Certificates only (the broker's user CA), the principal
 * selects the account (one principals file per account), nothing but the validator ever runs, the
 * MCP_* variables pass through (claims, checked by the validator against the certificate), and the
 * certificate actually used is exposed to the validator (`ExposeAuthInfo`, SSH_USER_AUTH).
 */
export function renderSshdConfig(device: DeviceLayout, layout: LabLayout, forceCommand: string): string {
  const p = devicePaths(device, layout);
  return [
    `# netward lab device ${device.name}: written by netward-lab up`,
    `ListenAddress ${device.mgmtAddress}:22`,
    `PidFile ${p.pidFile}`,
    `HostKey ${p.hostKey}`,
    `HostCertificate ${p.hostCert}`,
    'LogLevel INFO',
    'SyslogFacility AUTHPRIV',
    '',
    '# who: certificates from the broker user CA; principal = role = account',
    `TrustedUserCAKeys ${layout.paths.userCaPub}`,
    `AuthorizedPrincipalsFile ${p.principalsDir}/%u`,
    'AuthorizedKeysFile none',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'HostbasedAuthentication no',
    'UsePAM no',
    'PermitRootLogin no',
    'AllowUsers net-viewer net-operator net-admin',
    'StrictModes yes',
    '',
    '# what: only the validator runs, with the certificate it was given',
    `ForceCommand ${forceCommand}`,
    'ExposeAuthInfo yes',
    'AcceptEnv MCP_*',
    'PermitUserEnvironment no',
    'PermitUserRC no',
    'PermitTTY no',
    'X11Forwarding no',
    'AllowTcpForwarding no',
    'AllowStreamLocalForwarding no',
    'AllowAgentForwarding no',
    'PermitTunnel no',
    'GatewayPorts no',
    'DisableForwarding yes',
    '',
    '# load: 10 concurrent agents, and session mode keeps a connection open with a channel per call',
    'MaxStartups 64:30:128',
    'MaxSessions 32',
    'LoginGraceTime 20',
    'ClientAliveInterval 15',
    '',
  ].join('\n');
}

/** `ip netns exec <ns> sshd -D -e -f <config>`: foreground, logging to stderr (timestamped by the lab). */
export function sshdCommand(device: DeviceLayout, layout: LabLayout): string[] {
  if (!existsSync(SSHD))
    throw new LabError('ERR_LAB_MISSING_PEER', `${SSHD} not found: install openssh-server`);
  const p = devicePaths(device, layout);
  return ['ip', 'netns', 'exec', device.ns, SSHD, '-D', '-e', '-f', p.sshdConfig];
}
