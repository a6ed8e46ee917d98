import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { agentSocketPath } from '@netward/forcecommand';
import type { DeviceLayout, LabLayout } from '../layout.ts';
import { ROLES } from '../layout.ts';
import type { ServiceSpec } from '../services/supervisor.ts';
import { inNamespace } from '../system/exec.ts';
import { devicePaths } from './sshd.ts';

/**
 * The device's authorization agent (forcecommand's `agent` command): root, inside the device's
 * namespace so it reaches TACACS+ the way the device does, holding the TACACS+ key (state/, 0600) and
 * one warm TACACS+ connection. The validators, running as the accounts, ask it over
 * `<run>/agent-<device>/<account>/agent.sock`; they hold no key. Started before the device's sshd and
 * stopped with it (service `agent-<device>`, log `agent-<device>.log`, read by `netward-audit trace`).
 */
export function agentServiceName(device: DeviceLayout): string {
  return `agent-${device.name}`;
}

export function agentSocketDir(device: DeviceLayout, layout: LabLayout): string {
  return join(layout.paths.run, agentServiceName(device));
}

export function agentSpec(device: DeviceLayout, layout: LabLayout): ServiceSpec {
  const name = agentServiceName(device);
  const sockets = ROLES.map((r) => agentSocketPath(agentSocketDir(device, layout), r));
  const config = devicePaths(device, layout).forcecommandConfig;
  const [command, ...args] = inNamespace(device.ns, process.execPath, [
    layout.paths.forcecommand,
    'agent',
    '--config',
    config,
  ]);
  return {
    name,
    command,
    args,
    log: join(layout.paths.logs, `${name}.log`),
    ready: async () => sockets.every((s) => existsSync(s)),
  };
}
