/**
 * The MCP server against the real CA broker service (HTTP, full token verification, actor required)
 * and a real sshd: the same certificate serial appears in the broker's audit, the MCP server's audit
 * and sshd's log.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, type LogCapture, startHarness } from './helpers/harness.ts';
import { type RealBroker, startRealBroker } from './helpers/real-broker.ts';

let h: Harness;
let broker: RealBroker;
let logs: LogCapture;

beforeAll(async () => {
  h = await startHarness();
  broker = await startRealBroker(h.idp, h.sshd.userCaKey);
  ({ logs } = await h.app({ broker: { url: broker.url } }, { listen: true, broker: null }));
}, 30_000);

afterAll(async () => {
  await broker?.close();
  await h?.close();
});

async function call(role: string, name: string, args: Record<string, unknown>) {
  const client = new Client({ name: 't', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(h.publicUrl), {
      requestInit: { headers: { Authorization: `Bearer ${await h.idp.mint({ net_role: role })}` } },
    }),
  );
  const r = await client.callTool({ name, arguments: args });
  await client.close();
  return { r, text: (r.content as { text: string }[])[0]!.text };
}

describe('with the real CA broker', () => {
  it('one serial across the broker audit, the MCP audit and sshd', async () => {
    const { r, text } = await call('net-operator', 'show_bgp_summary', { device: 'device-1' });
    expect(r.isError).toBeFalsy();
    expect(text).toContain('account=net-operator');
    const end = logs.events('tool_call_end').at(-1)!;
    const serial = end['cert_serial'] as string;
    expect(serial).toMatch(/^[1-9][0-9]*$/);
    const issued = broker.audit.lines.find((l) => l['cert_serial'] === serial);
    expect(issued).toMatchObject({ user: 'bob', sid: 'fd9e4bdc77df2fa8', role: 'net-operator' });
    expect(issued!['request_id']).toBe(end['request_id']);
    expect(h.sshd.log()).toContain(`(serial ${serial})`);
  });

  it('an admin token yields a net-admin certificate', async () => {
    const { r } = await call('net-admin', 'show_running_config', { device: 'device-1' });
    expect(r.isError).toBeFalsy();
    const end = logs.events('tool_call_end').at(-1)!;
    expect(end['role']).toBe('net-admin');
    expect(broker.audit.lines.find((l) => l['cert_serial'] === end['cert_serial'])?.['role']).toBe(
      'net-admin',
    );
  });

  it('a broker refusal is ERR_MCP_BROKER_REFUSED, with nothing signed', async () => {
    // The broker requires the MCP server as actor; an exchanged token without `act` is refused.
    h.idp.exchangeMode = 'no-actor';
    try {
      const { r, text } = await call('net-viewer', 'show_bgp_summary', { device: 'device-1' });
      expect(r.isError).toBe(true);
      expect(JSON.parse(text).error.code).toBe('ERR_MCP_BROKER_REFUSED');
    } finally {
      h.idp.exchangeMode = 'ok';
    }
    const end = logs.events('tool_call_end').at(-1)!;
    expect(end['cert_serial']).toBeUndefined();
  });
});
