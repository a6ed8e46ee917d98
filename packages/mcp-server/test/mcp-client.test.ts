/**
 * The whole call through the SDK's real client over Streamable HTTP: app listening on 127.0.0.1,
 * test IdP (JWKS + RFC 8693), in-process broker signing with the sshd fixture's user CA, and a real
 * OpenSSH sshd whose ForceCommand shows what reached it. Then every failure path, each with its code.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, REVISIONS, type TestClient, type ToolResult } from './helpers/clients.ts';
import { type Harness, type LogCapture, startHarness } from './helpers/harness.ts';

let h: Harness;
let logs: LogCapture;

beforeAll(async () => {
  // The host certificate names device-1 only, so 'impostor' (same address) must be refused.
  h = await startHarness({ hostPrincipals: ['device-1'] });
  ({ logs } = await h.app({}, { listen: true }));
}, 30_000);

afterAll(async () => {
  await h?.close();
});

interface ToolError {
  error: { code: string; message: string; request_id: string; device_message?: string };
}

function text(result: ToolResult): string {
  const content = result.content as { type: string; text: string }[];
  expect(content[0]?.type).toBe('text');
  return content[0]!.text;
}

async function callError(
  client: TestClient,
  name: string,
  args: Record<string, unknown>,
): Promise<ToolError> {
  const r = await client.callTool({ name, arguments: args });
  expect(r.isError).toBe(true);
  return JSON.parse(text(r)) as ToolError;
}

describe.each(REVISIONS)('MCP revision %s', (revision) => {
  const connect = async (token: string): Promise<TestClient> => {
    const client = await connectClient(h.publicUrl, token, revision);
    expect(client.negotiated).toBe(revision);
    return client;
  };

  describe('through the SDK client and a real sshd', () => {
    it('lists tools per role and devices', async () => {
      const viewer = await connect(await h.idp.mint({ net_role: 'net-viewer' }));
      const names = (await viewer.listTools()).tools.map((t) => t.name);
      expect(names).toContain('show_bgp_summary');
      expect(names).not.toContain('ping');
      const devices = JSON.parse(text(await viewer.callTool({ name: 'list_devices', arguments: {} })));
      expect(devices.devices.map((d: { name: string }) => d.name)).toContain('device-1');
      await viewer.close();
    });

    it('runs show_bgp_summary with a fresh certificate per call and the MCP_* env', async () => {
      const token = await h.idp.mint({ net_role: 'net-viewer' });
      const client = await connect(token);
      const before = h.broker.issued.length;
      const r1 = await client.callTool({ name: 'show_bgp_summary', arguments: { device: 'device-1' } });
      const r2 = await client.callTool({ name: 'show_bgp_summary', arguments: { device: 'device-1' } });
      expect(r1.isError).toBeFalsy();
      const out = text(r1);
      expect(out).toContain("cmd=vtysh -c 'show bgp summary'");
      expect(out).toMatch(/user=bob sid=fd9e4bdc77df2fa8 req=[A-Za-z0-9_-]{22} tool=show_bgp_summary/);
      expect(out).toContain('account=net-viewer');
      expect(text(r2)).toContain('account=net-viewer');
      // Two calls, two certificates, two serials.
      const issued = h.broker.issued.slice(before);
      expect(issued).toHaveLength(2);
      expect(issued[0]!.serial).not.toBe(issued[1]!.serial);
      // The broker saw exchanged tokens only, never the caller's.
      expect(h.broker.tokens).not.toContain(token);
      for (const t of h.broker.tokens.slice(-2)) {
        const claims = await h.idp.verifyBrokerToken(t);
        expect(claims['act']).toEqual({ sub: 'netward-mcp-server' });
      }
      // The exchange was the standard RFC 8693 form.
      const ex = h.idp.exchanges.at(-1)!;
      expect(ex.params).toMatchObject({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: token,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        audience: 'netward-ca-broker',
      });
      expect(ex.authorization).toMatch(/^Basic /);
      // sshd logged the certificate login with the Key ID carrying user, sid and request id.
      const reqId = /req=([A-Za-z0-9_-]{22})/.exec(out)![1];
      expect(h.sshd.log()).toContain(`ID sid=fd9e4bdc77df2fa8,user=bob,req=${reqId}`);
      // The result names the same request id, so the caller can hand it to an operator.
      expect(r1._meta?.['netward/request_id']).toBe(reqId);
      expect(r2._meta?.['netward/request_id']).not.toBe(reqId);
      await client.close();
    });

    it('writes one audit line at the start and one at the end of each call', async () => {
      const client = await connect(await h.idp.mint({ net_role: 'net-operator' }));
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const r = await client.callTool({
        name: 'ping',
        arguments: { device: 'device-1', destination: '10.0.0.1', count: 2 },
        _meta: { traceparent },
      });
      expect(text(r)).toContain('cmd=ping -c 2 10.0.0.1');
      await client.close();
      const end = logs.events('tool_call_end').at(-1)!;
      const start = logs.events('tool_call_start').find((l) => l['request_id'] === end['request_id'])!;
      expect(start).toMatchObject({
        user: 'bob',
        sid: 'fd9e4bdc77df2fa8',
        role: 'net-operator',
        tool: 'ping',
        device: 'device-1',
      });
      expect(start['arguments']).toEqual({ device: 'device-1', destination: '10.0.0.1', count: 2 });
      // The agent's W3C trace context (request _meta), so its spans join this request_id.
      expect(start['traceparent']).toBe(traceparent);
      expect(end).toMatchObject({
        decision: 'ok',
        outcome: 'ok',
        exit_code: 0,
        tool: 'ping',
        device: 'device-1',
      });
      expect(end['cert_serial']).toBe(h.broker.issued.at(-1)!.serial);
      expect(end['duration_ms']).toBeTypeOf('number');
      expect(Object.keys(end['timings'] as object).sort()).toEqual([
        'connect',
        'exchange',
        'exec',
        'key',
        'sign',
      ]);
      // No token of any kind in any line.
      expect(logs.raw.join('\n')).not.toMatch(/eyJ[A-Za-z0-9_-]{5,}\./);
    });

    it('builds traceroute and show_ip_route from parsed values', async () => {
      const client = await connect(await h.idp.mint({ net_role: 'net-operator' }));
      expect(
        text(
          await client.callTool({
            name: 'traceroute',
            arguments: { device: 'device-1', destination: '2001:DB8::1', maxHops: 4 },
          }),
        ),
      ).toContain('cmd=traceroute -n -m 4 2001:db8::1');
      expect(
        text(
          await client.callTool({
            name: 'show_ip_route',
            arguments: { device: 'device-1', prefix: '2001:db8::/32' },
          }),
        ),
      ).toContain("cmd=vtysh -c 'show ipv6 route 2001:db8::/32'");
      const bad = await callError(client, 'ping', { device: 'device-1', destination: '10.0.0.1; reboot' });
      expect(bad.error.code).toBe('ERR_MCP_INVALID_ARGUMENT');
      // Out-of-range values are refused by the server's own parsers, with the code and an audit line.
      const tooMany = await callError(client, 'ping', {
        device: 'device-1',
        destination: '10.0.0.1',
        count: 6,
      });
      expect(tooMany.error.code).toBe('ERR_MCP_INVALID_ARGUMENT');
      // The agent learns which argument and what it must be (a fixed text, never the value it sent).
      expect(tooMany.error.message).toBe('invalid tool argument: count must be an integer from 1 to 5');
      expect(bad.error.message).toBe('invalid tool argument: destination must be an IPv4 or IPv6 address');
      const end = logs.events('tool_call_end').find((l) => l['request_id'] === tooMany.error.request_id);
      expect(end).toMatchObject({ decision: 'error', code: 'ERR_MCP_INVALID_ARGUMENT', tool: 'ping' });
      await client.close();
    });

    it('admin changes an interface description through vtysh lines', async () => {
      const client = await connect(await h.idp.mint({ net_role: 'net-admin' }));
      const r = await client.callTool({
        name: 'set_interface_description',
        arguments: { device: 'device-1', interface: 'eth1', description: 'uplink to leaf-1' },
      });
      expect(text(r)).toContain(
        "cmd=vtysh -c 'configure terminal' -c 'interface eth1' -c 'description uplink to leaf-1'",
      );
      expect(text(r)).toContain('account=net-admin');
      await client.close();
    });
  });

  describe('failures are tool errors with stable codes, never fallbacks', () => {
    it('device denial carries the device message', async () => {
      const { logs: l } = await h.app({ unsafeRawCommandTool: true }, { listen: true });
      const client = await connect(await h.idp.mint({ net_role: 'net-operator' }));
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('run_raw_command_on_device');
      const e = await callError(client, 'run_raw_command_on_device', {
        device: 'device-1',
        command: "vtysh -c 'configure terminal'",
      });
      expect(e.error.code).toBe('ERR_MCP_DEVICE_DENIED');
      expect(e.error.device_message).toContain('DENY (local): net-operator may not run');
      expect(l.events('unsafe_tool_enabled')).toHaveLength(1);
      expect(l.events('tool_call_start').at(-1)!['unsafe_tool']).toBe(true);
      await client.close();
      // A fresh app writes to a fresh capture: later tests read that one.
      ({ logs } = await h.app({}, { listen: true }));
    });

    it("a device outside the role's policy limits is hidden and refused like an unknown one", async () => {
      const yaml = readFileSync(
        join(import.meta.dirname, '../../policy/policy/default.yaml'),
        'utf8',
      ).replace(
        '    tacacs: { group: viewers, profile: viewer-profile }',
        '    tacacs: { group: viewers, profile: viewer-profile }\n    devices: { site: [fra1] }',
      );
      expect(yaml).toContain('devices: { site: [fra1] }');
      writeFileSync(join(h.sshd.dir, 'limited-policy.yaml'), yaml);
      await h.app({ policyFile: 'limited-policy.yaml' }, { listen: true });
      try {
        const viewer = await connect(await h.idp.mint({ net_role: 'net-viewer' }));
        const listed = JSON.parse(text(await viewer.callTool({ name: 'list_devices', arguments: {} })));
        expect(listed.devices).toEqual([]);
        expect((await callError(viewer, 'show_bgp_summary', { device: 'device-1' })).error.code).toBe(
          'ERR_MCP_UNKNOWN_DEVICE',
        );
        await viewer.close();
        const operator = await connect(await h.idp.mint({ net_role: 'net-operator' }));
        expect(
          text(await operator.callTool({ name: 'show_bgp_summary', arguments: { device: 'device-1' } })),
        ).toContain('account=net-operator');
        await operator.close();
      } finally {
        await h.app({}, { listen: true });
      }
    });

    it('unknown device', async () => {
      const client = await connect(await h.idp.mint({ net_role: 'net-viewer' }));
      expect((await callError(client, 'show_bgp_summary', { device: 'nowhere' })).error.code).toBe(
        'ERR_MCP_UNKNOWN_DEVICE',
      );
      await client.close();
    });

    it('host key mismatch: pinned key differs, or the host certificate names another device', async () => {
      const client = await connect(await h.idp.mint({ net_role: 'net-viewer' }));
      expect((await callError(client, 'show_bgp_summary', { device: 'pinned-wrong' })).error.code).toBe(
        'ERR_MCP_HOST_KEY',
      );
      expect((await callError(client, 'show_bgp_summary', { device: 'impostor' })).error.code).toBe(
        'ERR_MCP_HOST_KEY',
      );
      await client.close();
    });

    it('device unreachable', async () => {
      const client = await connect(await h.idp.mint({ net_role: 'net-viewer' }));
      expect((await callError(client, 'show_bgp_summary', { device: 'closed-port' })).error.code).toBe(
        'ERR_MCP_SSH_CONNECT',
      );
      await client.close();
    });

    it('exchange refused, IdP failing, IdP hanging', async () => {
      const { logs: l } = await h.app({ limits: { exchangeTimeoutMs: 300 } }, { listen: true });
      const client = await connect(await h.idp.mint({ net_role: 'net-viewer' }));
      const issuedBefore = h.broker.issued.length;
      try {
        for (const [mode, code] of [
          ['forbid', 'ERR_MCP_EXCHANGE_REFUSED'],
          ['error500', 'ERR_MCP_EXCHANGE_UNAVAILABLE'],
          ['hang', 'ERR_MCP_EXCHANGE_UNAVAILABLE'],
        ] as const) {
          h.idp.exchangeMode = mode;
          const e = await callError(client, 'show_bgp_summary', { device: 'device-1' });
          expect(e.error.code).toBe(code);
          expect(JSON.stringify(e)).not.toMatch(/eyJ|Basic|secret/i);
        }
      } finally {
        h.idp.exchangeMode = 'ok';
      }
      // Nothing was signed: no fallback to the caller's token.
      expect(h.broker.issued.length).toBe(issuedBefore);
      expect(l.events('tool_call_end').every((x) => x['decision'] === 'error')).toBe(true);
      await client.close();
      // A fresh app writes to a fresh capture: later tests read that one.
      ({ logs } = await h.app({}, { listen: true }));
    });

    it('login ended (the exchange says invalid_grant): HTTP 401 invalid_token, not a tool error', async () => {
      const token = await h.idp.mint({ net_role: 'net-viewer' });
      const issuedBefore = h.broker.issued.length;
      h.idp.exchangeMode = 'refuse';
      try {
        const res = await fetch(h.publicUrl, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-protocol-version': '2025-06-18',
          },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 7,
            method: 'tools/call',
            params: { name: 'show_bgp_summary', arguments: { device: 'device-1' } },
          }),
        });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(
          /^Bearer error="invalid_token", error_description="the login session has ended/,
        );
        expect(res.headers.get('www-authenticate')).toContain('resource_metadata=');
        expect(await res.text()).toContain('ERR_MCP_LOGIN_ENDED');
        // The SDK client sees the 401 too, not a tool result.
        const client = await connect(token);
        await expect(
          client.callTool({ name: 'show_bgp_summary', arguments: { device: 'device-1' } }),
        ).rejects.toThrow();
        await client.close().catch(() => undefined);
      } finally {
        h.idp.exchangeMode = 'ok';
      }
      expect(h.broker.issued.length).toBe(issuedBefore);
    });

    it('broker down (real broker client against a closed port) and broker refusing', async () => {
      await h.app({}, { listen: true, broker: null });
      const client = await connect(await h.idp.mint({ net_role: 'net-viewer' }));
      expect((await callError(client, 'show_bgp_summary', { device: 'device-1' })).error.code).toBe(
        'ERR_MCP_BROKER_UNAVAILABLE',
      );
      await client.close();
      h.broker.mode = 'refuse';
      await h.app({}, { listen: true });
      const c2 = await connect(await h.idp.mint({ net_role: 'net-viewer' }));
      try {
        expect((await callError(c2, 'show_bgp_summary', { device: 'device-1' })).error.code).toBe(
          'ERR_MCP_BROKER_REFUSED',
        );
      } finally {
        h.broker.mode = 'ok';
      }
      await c2.close();
    });

    it('command time limit', async () => {
      await h.app({ limits: { execTimeoutMs: 400 } }, { listen: true });
      const client = await connect(await h.idp.mint({ net_role: 'net-operator' }));
      const t0 = Date.now();
      const e = await callError(client, 'ping', { device: 'device-1', destination: '192.0.2.99' });
      expect(e.error.code).toBe('ERR_MCP_TIMEOUT');
      expect(Date.now() - t0).toBeLessThan(4000);
      await client.close();
      // A fresh app writes to a fresh capture: later tests read that one.
      ({ logs } = await h.app({}, { listen: true }));
    });

    it('the SDK client cannot connect without a token or with a token of the wrong type', async () => {
      const wrongType = await h.idp.mint({ net_role: 'net-viewer' }, { typ: 'JWT' });
      for (const token of ['', wrongType]) {
        const before = logs.events('auth_refused').length;
        await expect(connectClient(h.publicUrl, token, revision)).rejects.toThrow();
        const refused = logs.events('auth_refused').slice(before);
        expect(refused.map((l) => l['code'])).toContain(
          token === '' ? 'ERR_MCP_AUTH_REQUEST' : 'ERR_MCP_TOKEN_INVALID',
        );
      }
    });

    it('the SDK client sees the 403 step-up challenge as an HTTP error', async () => {
      const client = await connect(await h.idp.mint({ net_role: 'net-viewer' }));
      await expect(
        client.callTool({ name: 'ping', arguments: { device: 'device-1', destination: '10.0.0.1' } }),
      ).rejects.toMatchObject(
        // v1 reports the HTTP status; v2 parses the challenge and names the scope to step up to.
        revision === '2025-11-25'
          ? { code: 403 }
          : { name: 'InsufficientScopeError', requiredScope: 'mcp:diag:run' },
      );
      await client.close();
    });
  });
});

describe('on the wire (a real socket, not inject)', () => {
  it('two Authorization header lines are a 400 invalid_request, not "the first wins"', async () => {
    const token = await h.idp.mint({ net_role: 'net-viewer' });
    const url = new URL(h.publicUrl);
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
    const { status, challenge } = await new Promise<{ status: number; challenge: string }>(
      (resolve, reject) => {
        const req = request(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        });
        // An array makes node:http write one header line per entry.
        req.setHeader('authorization', [`Bearer ${token}`, `Bearer ${token}`]);
        req.on('response', (res) => {
          res.resume();
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, challenge: String(res.headers['www-authenticate']) }),
          );
        });
        req.on('error', reject);
        req.end(body);
      },
    );
    expect(status).toBe(400);
    expect(challenge).toMatch(/^Bearer error="invalid_request", /);
  });
});
