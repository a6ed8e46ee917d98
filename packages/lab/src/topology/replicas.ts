import { join } from 'node:path';
import type { LabLayout } from '../layout.ts';

/**
 * The services `--replicas 2` runs twice. The first replica keeps the single-instance name (service,
 * config file, log), so a lab without replicas is unchanged and `netward-audit trace` reads both.
 *
 * Ports with replicas (N = --port-base): HAProxy takes the broker's and the MCP server's usual ports
 * (N+1, N+2), so every URL the IdP, the tokens' audiences and the agents use stays the same; the
 * brokers listen on N+3 and N+4, the MCP servers on N+5 and N+6. The TACACS+ servers listen on the
 * management address at --tacacs-port and the port after it: the devices are given both.
 */
export const REPLICATED = ['tacacs', 'ca-broker', 'mcp-server'] as const;
export type Replicated = (typeof REPLICATED)[number];

/** The load balancer's service name (supervised like the others). */
export const HAPROXY = 'haproxy';

/** 1-based indexes of the replicas a lab runs. */
export function replicaIndexes(layout: LabLayout): number[] {
  return Array.from({ length: layout.options.replicas }, (_, i) => i + 1);
}

/** True when the brokers and MCP servers sit behind HAProxy. */
export function behindProxy(layout: LabLayout): boolean {
  return layout.options.replicas > 1;
}

export function replicaName(service: Replicated, index: number): string {
  return index === 1 ? service : `${service}-${index}`;
}

export function replicaNames(layout: LabLayout, service: Replicated): string[] {
  return replicaIndexes(layout).map((i) => replicaName(service, i));
}

/** The port replica `index` of `service` listens on (see the module comment). */
export function replicaPort(layout: LabLayout, service: Replicated, index: number): number {
  if (service === 'tacacs') return layout.options.tacacsPort + index - 1;
  const shared = service === 'ca-broker' ? layout.ports.broker : layout.ports.mcp;
  if (!behindProxy(layout)) return shared;
  return layout.options.portBase + (service === 'ca-broker' ? 2 : 4) + index;
}

/** The replica's own base URL (the broker's and MCP server's; not the public one). */
export function replicaUrl(layout: LabLayout, service: 'ca-broker' | 'mcp-server', index: number): string {
  return `http://127.0.0.1:${replicaPort(layout, service, index)}`;
}

export function replicaConfigFile(layout: LabLayout, service: Replicated, index: number): string {
  return join(layout.paths.config, `${replicaName(service, index)}.json`);
}

export function replicaLog(layout: LabLayout, service: Replicated, index: number): string {
  return join(layout.paths.logs, `${replicaName(service, index)}.log`);
}

/**
 * A service order with every replicated service followed by its further replicas, and HAProxy after
 * the last MCP server: it starts once every backend answers, so its first health checks pass.
 */
export function withReplicas(layout: LabLayout, order: readonly string[]): string[] {
  const out: string[] = [];
  for (const name of order) {
    const service = REPLICATED.find((s) => s === name);
    if (service === undefined) {
      out.push(name);
      continue;
    }
    out.push(...replicaNames(layout, service));
    if (service === 'mcp-server' && behindProxy(layout)) out.push(HAPROXY);
  }
  return out;
}

/** One line for `up`'s summary: where the replicas behind the usual addresses listen. */
export function describeReplicas(layout: LabLayout): string | undefined {
  if (!behindProxy(layout)) return undefined;
  const ports = (service: Replicated) =>
    replicaIndexes(layout)
      .map((i) => replicaPort(layout, service, i))
      .join(', ');
  return `HAProxy → CA brokers on :${ports('ca-broker')}, MCP servers on :${ports('mcp-server')}; TACACS+ on :${ports('tacacs')}`;
}
