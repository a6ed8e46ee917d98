/**
 * The tool runner on its own: the scope is checked again behind the HTTP layer, and nothing that can
 * be refused locally ever reaches the IdP or the broker.
 */
import { createLogger } from '@netward/audit-context';
import type { BrokerClient } from '@netward/ca-broker/client';
import { defaultPolicy, roleByName } from '@netward/policy';
import { describe, expect, it } from 'vitest';
import type { Identity } from '../src/auth/token.ts';
import { parseConfig } from '../src/config.ts';
import { buildInventory } from '../src/pipeline/inventory.ts';
import { parseTraceparent } from '../src/pipeline/result.ts';
import { createToolRunner } from '../src/pipeline/runner.ts';
import { generateEphemeralKey } from '../src/ssh/keys.ts';
import { LogCapture } from './helpers/harness.ts';

const policy = defaultPolicy();
const config = parseConfig(
  {
    publicUrl: 'http://127.0.0.1:8080/mcp',
    issuer: 'http://127.0.0.1:9',
    tokenExchange: {
      tokenEndpoint: 'http://127.0.0.1:9/t',
      clientId: 'c',
      clientSecretFile: 's',
      audience: 'b',
    },
    broker: { url: 'http://127.0.0.1:9' },
    inventory: [
      { name: 'spine-a', address: '127.0.0.1', port: 1, hostKeys: [generateEphemeralKey().publicKeyLine] },
    ],
  },
  '/nonexistent/config.yaml',
  () => 'secret',
);

function setup(unsafe = false) {
  const calls: string[] = [];
  const logs = new LogCapture();
  const broker: BrokerClient = {
    sign: async () => {
      calls.push('sign');
      throw new Error('not reached');
    },
  };
  const runner = createToolRunner({
    policy,
    inventory: buildInventory(config.inventory, config.hostCaKeys),
    limits: config.limits,
    logger: createLogger({ component: 'mcp-server', destination: logs }),
    unsafeRawCommandTool: unsafe,
    exchange: async () => {
      calls.push('exchange');
      throw new Error('not reached');
    },
    broker,
  });
  return { runner, calls, logs };
}

function identity(roleName: string, scopes?: string[]): Identity {
  const role = roleByName(policy, roleName)!;
  return {
    user: 'bob',
    sub: 'bob',
    sid: 'fd9e4bdc77df2fa8',
    role,
    scopes: scopes ?? role.scopes,
    clientId: 'agent-cli',
    expiresAt: Math.floor(Date.now() / 1000) + 300,
    token: 'not-a-real-token',
  };
}

async function codeOf(p: Promise<{ isError?: boolean; content: { text: string }[] }>): Promise<string> {
  const r = await p;
  expect(r.isError).toBe(true);
  return JSON.parse(r.content[0]!.text).error.code;
}

describe('tool runner', () => {
  it('checks the scope again, before any credential is requested', async () => {
    const { runner, calls } = setup();
    const viewer = identity('net-viewer');
    expect(await codeOf(runner.run(viewer, 'ping', { device: 'spine-a', destination: '10.0.0.1' }))).toBe(
      'ERR_MCP_INSUFFICIENT_SCOPE',
    );
    const noScopes = identity('net-admin', []);
    expect(await codeOf(runner.run(noScopes, 'list_devices', {}))).toBe('ERR_MCP_INSUFFICIENT_SCOPE');
    expect(calls).toEqual([]);
  });

  it('refuses unknown devices, bad arguments and the unsafe tool when off, locally', async () => {
    const { runner, calls, logs } = setup();
    const op = identity('net-operator');
    expect(await codeOf(runner.run(op, 'show_bgp_summary', { device: 'nowhere' }))).toBe(
      'ERR_MCP_UNKNOWN_DEVICE',
    );
    expect(
      await codeOf(runner.run(op, 'ping', { device: 'spine-a', destination: '1.2.3.4 && reboot' })),
    ).toBe('ERR_MCP_INVALID_ARGUMENT');
    expect(
      await codeOf(runner.run(op, 'run_raw_command_on_device', { device: 'spine-a', command: 'x' })),
    ).toBe('ERR_MCP_UNKNOWN_TOOL');
    expect(await codeOf(runner.run(op, 'no_such_tool', {}))).toBe('ERR_MCP_UNKNOWN_TOOL');
    expect(calls).toEqual([]);
    // Every call still has its two audit lines.
    expect(logs.events('tool_call_start')).toHaveLength(4);
    expect(logs.events('tool_call_end').map((l) => l['code'])).toEqual([
      'ERR_MCP_UNKNOWN_DEVICE',
      'ERR_MCP_INVALID_ARGUMENT',
      'ERR_MCP_UNKNOWN_TOOL',
      'ERR_MCP_UNKNOWN_TOOL',
    ]);
    expect(logs.raw.join('\n')).not.toContain('not-a-real-token');
  });

  it('list_devices needs no device credential', async () => {
    const { runner, calls } = setup();
    const r = await runner.run(identity('net-viewer'), 'list_devices', {});
    expect(r.isError).toBeFalsy();
    expect(JSON.parse(r.content[0]!.text).devices).toEqual([
      { name: 'spine-a', vendor: 'frr', site: null, tenant: null },
    ]);
    expect(calls).toEqual([]);
  });

  it('an unexpected failure on the way is ERR_MCP_INTERNAL without its detail', async () => {
    const { runner, calls } = setup(true);
    const r = await runner.run(identity('net-operator'), 'show_bgp_summary', { device: 'spine-a' });
    expect(r.isError).toBe(true);
    expect(calls).toEqual(['exchange']);
    expect(r.content[0]!.text).not.toContain('not reached');
    expect(JSON.parse(r.content[0]!.text).error.code).toBe('ERR_MCP_INTERNAL');
  });
});

describe('parseTraceparent (W3C Trace Context 3.2)', () => {
  it('keeps a well-formed version-00 value and drops everything else', () => {
    const good = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(parseTraceparent(good)).toBe(good);
    for (const bad of [
      undefined,
      7,
      `${good} `,
      good.toUpperCase(),
      '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n{"event":"forged"}',
    ]) {
      expect(parseTraceparent(bad), String(bad)).toBeUndefined();
    }
  });
});
