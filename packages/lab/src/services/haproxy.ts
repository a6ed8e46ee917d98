import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabLayout } from '../layout.ts';
import { httpOk } from '../system/probe.ts';
import { HAPROXY, replicaIndexes, replicaName, replicaPort } from '../topology/replicas.ts';
import type { ServiceSpec } from './supervisor.ts';

/** Debian's HAProxy (2.6 in bookworm), installed by scripts/setup.sh. */
export const HAPROXY_BINARY = '/usr/sbin/haproxy';

export function haproxyConfigFile(layout: LabLayout): string {
  return join(layout.paths.config, 'haproxy.cfg');
}

function backend(
  layout: LabLayout,
  name: string,
  service: 'ca-broker' | 'mcp-server',
  healthPath: string,
): string[] {
  const publicHost = `127.0.0.1:${service === 'ca-broker' ? layout.ports.broker : layout.ports.mcp}`;
  return [
    `backend ${name}`,
    '  balance roundrobin',
    '  option httpchk',
    // HTTP/1.1 with the public Host: the MCP server refuses a Host it does not serve (DNS rebinding).
    `  http-check send meth GET uri ${healthPath} ver HTTP/1.1 hdr Host ${publicHost}`,
    '  http-check expect status 200',
    ...replicaIndexes(layout).map(
      (i) => `  server ${replicaName(service, i)} 127.0.0.1:${replicaPort(layout, service, i)} check`,
    ),
    '',
  ];
}

/**
 * Two frontends on the broker's and the MCP server's usual ports, each balancing over its replicas.
 *
 * Retries: only `conn-failure`, a connection that could not be opened, so the request never reached a
 * server; `option redispatch 1` sends that retry to the other replica. A request that reached a replica
 * which then died (empty response, reset, timeout) is answered 502/504 and never sent again: for the
 * MCP server it may be a tool call that already ran on a device, for the broker a token whose `jti` the
 * shared replay cache already claimed. `option http-server-close`: a connection to a replica carries
 * one request, so no request is ever written on an idle keep-alive connection the replica is closing.
 * Health checks every 500 ms, down after 2 failures, up after 2 successes: the broker's /readyz (its
 * backend and the IdP's keys), the MCP server's protected-resource metadata (RFC 9728), which it serves
 * without a token. HAProxy logs only server state changes (stderr): it sees no correlation ids, and
 * the trace does not need it.
 */
export function renderHaproxyConfig(layout: LabLayout): string {
  const lines = [
    '# Rendered by netward-lab (src/services/haproxy.ts); rewritten by every `up`.',
    'global',
    '  maxconn 2000',
    '',
    'defaults',
    '  mode http',
    '  timeout connect 1s',
    '  timeout check 1s',
    // A tool call lasts as long as its device command (a bounded ping or traceroute: seconds).
    '  timeout client 120s',
    '  timeout server 120s',
    '  retries 2',
    '  retry-on conn-failure',
    '  option redispatch 1',
    '  option http-server-close',
    '  default-server inter 500ms fall 2 rise 2',
    '',
    'frontend ca-broker',
    `  bind 127.0.0.1:${layout.ports.broker}`,
    '  default_backend ca-brokers',
    '',
    'frontend mcp-server',
    `  bind 127.0.0.1:${layout.ports.mcp}`,
    '  default_backend mcp-servers',
    '',
    ...backend(layout, 'ca-brokers', 'ca-broker', '/readyz'),
    ...backend(layout, 'mcp-servers', 'mcp-server', '/.well-known/oauth-protected-resource/mcp'),
  ];
  return `${lines.join('\n')}`;
}

export function writeHaproxyConfig(layout: LabLayout): void {
  writeFileSync(haproxyConfigFile(layout), renderHaproxyConfig(layout), { mode: 0o644 });
}

/** HAProxy in the foreground (`-db`), ready when both frontends reach a healthy replica. */
export function haproxySpec(layout: LabLayout): ServiceSpec {
  return {
    name: HAPROXY,
    command: HAPROXY_BINARY,
    args: ['-db', '-f', haproxyConfigFile(layout)],
    log: join(layout.paths.logs, 'haproxy.log'),
    ready: async () =>
      (await httpOk(`${layout.urls.broker}/readyz`)) &&
      httpOk(`${layout.urls.mcpBase}/.well-known/oauth-protected-resource/mcp`),
  };
}
