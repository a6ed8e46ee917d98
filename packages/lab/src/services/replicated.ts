import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabLayout } from '../layout.ts';
import { programPath, programPathLazy } from '../system/packages.ts';
import { httpOk, tcpOpen } from '../system/probe.ts';
import {
  behindProxy,
  HAPROXY,
  replicaConfigFile,
  replicaIndexes,
  replicaLog,
  replicaName,
  replicaPort,
  replicaUrl,
} from '../topology/replicas.ts';
import { haproxySpec } from './haproxy.ts';
import type { ServiceSpec } from './supervisor.ts';

function labProgram(): string {
  return programPath('@netward/lab', 'netward-lab');
}

function tacacsSpec(layout: LabLayout, index: number): ServiceSpec {
  const name = replicaName('tacacs', index);
  const log = replicaLog(layout, 'tacacs', index);
  const ready = () => tcpOpen(layout.hostMgmtAddress, replicaPort(layout, 'tacacs', index));
  if (layout.options.tacacs === 'tac_plus-ng') {
    return {
      name,
      command: 'tac_plus-ng',
      args: [join(layout.paths.config, 'tac_plus-ng.cfg')],
      env: { NETWARD_TACACS_KEY: readFileSync(layout.paths.tacacsKey, 'utf8').trim() },
      log,
      ready,
    };
  }
  return {
    name,
    command: process.execPath,
    args: [labProgram(), 'serve-tacacs', '--config', replicaConfigFile(layout, 'tacacs', index)],
    log,
    ready,
  };
}

/** A broker or MCP server replica: its built program, `serve --config <its file>`, ready on its own port. */
function httpSpec(layout: LabLayout, service: 'ca-broker' | 'mcp-server', index: number): ServiceSpec {
  const readyPath = service === 'ca-broker' ? '/readyz' : '/.well-known/oauth-protected-resource/mcp';
  return {
    name: replicaName(service, index),
    command: process.execPath,
    args: [
      programPathLazy(`@netward/${service}`, `netward-${service}`),
      'serve',
      '--config',
      replicaConfigFile(layout, service, index),
    ],
    log: replicaLog(layout, service, index),
    ready: () => httpOk(`${replicaUrl(layout, service, index)}${readyPath}`),
  };
}

/**
 * The TACACS+ servers, CA brokers and MCP servers of a lab, one of each or two (`--replicas 2`), and
 * with two the HAProxy in front of the brokers and MCP servers.
 */
export function replicatedSpecs(layout: LabLayout): Record<string, ServiceSpec> {
  const specs: Record<string, ServiceSpec> = {};
  for (const i of replicaIndexes(layout)) {
    specs[replicaName('tacacs', i)] = tacacsSpec(layout, i);
    specs[replicaName('ca-broker', i)] = httpSpec(layout, 'ca-broker', i);
    specs[replicaName('mcp-server', i)] = httpSpec(layout, 'mcp-server', i);
  }
  if (behindProxy(layout)) specs[HAPROXY] = haproxySpec(layout);
  return specs;
}
