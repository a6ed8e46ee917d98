import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLabEvents } from '../src/audit/sources.ts';
import { serviceOrder } from '../src/lab.ts';
import { labLayout } from '../src/layout.ts';
import { brokerConfigObject, forcecommandConfigObject, mcpConfigObject } from '../src/services/configs.ts';
import { HAPROXY_BINARY, renderHaproxyConfig } from '../src/services/haproxy.ts';
import { describeReplicas, replicaNames, replicaPort } from '../src/topology/replicas.ts';

const listenPort = (o: Record<string, unknown>) => (o['listen'] as { port: number }).port;

describe('lab replicas', () => {
  it('without replicas, every service keeps its single name and port', () => {
    const l = labLayout();
    expect(serviceOrder(l)).toEqual(['syslog', 'tacacs', 'idp', 'ca-broker', 'mcp-server']);
    expect(listenPort(mcpConfigObject(l))).toBe(9402);
    expect(listenPort(brokerConfigObject(l))).toBe(9401);
    const device = l.devices[0] as (typeof l.devices)[number];
    const auth = forcecommandConfigObject(device, l)['authorization'] as { servers: unknown[] };
    expect(auth.servers).toEqual([{ host: '10.255.0.1', port: 49 }]);
  });

  it('with two, the replicas listen on their own ports behind the usual ones, each once', () => {
    const l = labLayout({ replicas: 2 });
    expect(serviceOrder(l)).toEqual([
      'syslog',
      'tacacs',
      'tacacs-2',
      'idp',
      'ca-broker',
      'ca-broker-2',
      'mcp-server',
      'mcp-server-2',
      'haproxy',
    ]);
    const ports = (['ca-broker', 'mcp-server'] as const).flatMap((s) =>
      [1, 2].map((i) => replicaPort(l, s, i)),
    );
    expect(ports).toEqual([9403, 9404, 9405, 9406]);
    // The public URL (the tokens' audience) stays the balancer's; the listen port is the replica's.
    const mcp2 = mcpConfigObject(l, {}, 2);
    expect([listenPort(mcp2), mcp2['publicUrl']]).toEqual([9406, 'http://127.0.0.1:9402/mcp']);
    expect(mcp2['broker']).toEqual({ url: 'http://127.0.0.1:9401' });
    expect(listenPort(brokerConfigObject(l, 2))).toBe(9404);
    const device = l.devices[0] as (typeof l.devices)[number];
    const auth = forcecommandConfigObject(device, l)['authorization'] as { servers: unknown[] };
    expect(auth.servers).toEqual([
      { host: '10.255.0.1', port: 49 },
      { host: '10.255.0.1', port: 50 },
    ]);
    expect(replicaNames(l, 'tacacs')).toEqual(['tacacs', 'tacacs-2']);
    expect(describeReplicas(l)).toBe(
      'HAProxy → CA brokers on :9403, 9404, MCP servers on :9405, 9406; TACACS+ on :49, 50',
    );
    expect(describeReplicas(labLayout())).toBeUndefined();
  });

  it('refuses replicas it cannot run', () => {
    expect(() => labLayout({ replicas: 3 as 2 })).toThrow(/replicas must be 1 or 2/);
    expect(() => labLayout({ replicas: 2, stack: 'keycloak' })).toThrow(/embedded/);
    expect(() => labLayout({ replicas: 2, tacacs: 'tac_plus-ng' })).toThrow(/embedded/);
    expect(() => labLayout({ replicas: 2, portBase: 65_530 })).toThrow(/portBase\+6/);
  });

  it('renders an HAProxy configuration that HAProxy itself accepts, retrying only connections that never opened', () => {
    const l = labLayout({ replicas: 2 });
    const cfg = renderHaproxyConfig(l);
    expect(cfg).toMatch(/^\s*retry-on conn-failure$/m);
    expect(cfg).toContain('bind 127.0.0.1:9401');
    expect(cfg).toContain('bind 127.0.0.1:9402');
    expect(cfg.match(/^\s*server .* check$/gm)).toEqual([
      '  server ca-broker 127.0.0.1:9403 check',
      '  server ca-broker-2 127.0.0.1:9404 check',
      '  server mcp-server 127.0.0.1:9405 check',
      '  server mcp-server-2 127.0.0.1:9406 check',
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'haproxy-'));
    try {
      writeFileSync(join(dir, 'haproxy.cfg'), cfg);
      // `-c` parses and checks the file without binding anything.
      const out = execFileSync(HAPROXY_BINARY, ['-c', '-f', join(dir, 'haproxy.cfg')], { encoding: 'utf8' });
      expect(out).toMatch(/Configuration file is valid/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the trace reads every replica's log", () => {
    const dir = mkdtempSync(join(tmpdir(), 'replica-logs-'));
    try {
      const line = (component: string) =>
        `${JSON.stringify({
          time: '2026-12-05T07:00:00.000Z',
          level: 'info',
          component,
          request_id: 'Zm9vYmFyYmF6cXV4MDEyMw',
          user: 'bob',
        })}\n`;
      writeFileSync(join(dir, 'mcp-server-2.log'), line('mcp-server'));
      writeFileSync(join(dir, 'ca-broker-2.log'), line('ca-broker'));
      writeFileSync(join(dir, 'tacacs-2.log'), line('tacacs-server'));
      const events = readLabEvents(dir);
      expect(events.map((e) => [e.component, e.source]).sort()).toEqual([
        ['ca-broker', 'ca-broker-2.log:1'],
        ['mcp-server', 'mcp-server-2.log:1'],
        ['tacacs-server', 'tacacs-2.log:1'],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
