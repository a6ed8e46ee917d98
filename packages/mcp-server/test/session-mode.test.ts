/**
 * Session mode: one certificate and one connection per (session, role, device), reused while the
 * certificate has more than renewBeforeExpiryMs left, and never past it. Certificates here live 4 s.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionPool } from '../src/session-pool.ts';
import type { DeviceConnection } from '../src/ssh/connection.ts';
import { type Harness, type LogCapture, startHarness } from './helpers/harness.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SessionPool (unit, fake connections)', () => {
  function fakeConnection(closed: number[]): DeviceConnection {
    let open = true;
    return {
      get usable() {
        return open;
      },
      exec: async () => ({ exitCode: 0, signal: null, stdout: '', stderr: '', truncated: false }),
      request: async () => ({ exitCode: 0, signal: null, stdout: '', stderr: '', truncated: false }),
      close: () => {
        if (open) closed.push(Date.now());
        open = false;
      },
    };
  }

  it('closes each connection before its certificate expires, and renews', async () => {
    const pool = new SessionPool({ renewBeforeExpiryMs: 1000 });
    const closed: number[] = [];
    let created = 0;
    const validBefore = Date.now() + 1500;
    const create = async () => {
      created += 1;
      return {
        connection: fakeConnection(closed),
        certSerial: String(created),
        certRequestId: 'AAAAAAAAAAAAAAAAAAAAAA',
        validBefore: new Date(validBefore),
      };
    };
    const a = await pool.acquire('k', create);
    const b = await pool.acquire('k', create);
    expect(a.reused).toBe(false);
    expect(b.reused).toBe(true);
    expect(b.session).toBe(a.session);
    a.release();
    b.release();
    await sleep(700);
    // Inside the renewal margin: not reused, and the old connection is already closed.
    expect(pool.usable(a.session)).toBe(false);
    expect(closed).toHaveLength(1);
    expect(closed[0]!).toBeLessThanOrEqual(validBefore - 1000 + 50);
    pool.closeAll();
  });

  it('renewal drains: the replaced connection closes only after the exec in flight on it', async () => {
    const pool = new SessionPool({ renewBeforeExpiryMs: 1000 });
    const closed: number[] = [];
    let created = 0;
    const create = async () => {
      created += 1;
      return {
        connection: fakeConnection(closed),
        certSerial: String(created),
        certRequestId: 'AAAAAAAAAAAAAAAAAAAAAA',
        validBefore: new Date(Date.now() + 1300),
      };
    };
    const inFlight = await pool.acquire('k', create);
    await sleep(500);
    // Renewal time: new calls get a new certificate and connection...
    const next = await pool.acquire('k', create);
    expect(next.reused).toBe(false);
    expect(next.session).not.toBe(inFlight.session);
    // ...while the command still running on the old one is not cut.
    expect(inFlight.session.connection.usable).toBe(true);
    expect(closed).toHaveLength(0);
    inFlight.release();
    expect(inFlight.session.connection.usable).toBe(false);
    expect(closed).toHaveLength(1);
    next.release();
    pool.closeAll();
  });

  it('closes a drained connection after maxDrainMs even if an exec never reports back', async () => {
    const pool = new SessionPool({ renewBeforeExpiryMs: 1000, maxDrainMs: 200 });
    const closed: number[] = [];
    const stuck = await pool.acquire('k', async () => ({
      connection: fakeConnection(closed),
      certSerial: '1',
      certRequestId: 'AAAAAAAAAAAAAAAAAAAAAA',
      validBefore: new Date(Date.now() + 1100),
    }));
    await sleep(450);
    expect(closed).toHaveLength(1);
    expect(stuck.session.connection.usable).toBe(false);
    pool.closeAll();
  });

  it('shares one creation between concurrent callers', async () => {
    const pool = new SessionPool({ renewBeforeExpiryMs: 1000 });
    let created = 0;
    const create = async () => {
      created += 1;
      await sleep(50);
      return {
        connection: fakeConnection([]),
        certSerial: '1',
        certRequestId: 'AAAAAAAAAAAAAAAAAAAAAA',
        validBefore: new Date(Date.now() + 60_000),
      };
    };
    const results = await Promise.all([
      pool.acquire('k', create),
      pool.acquire('k', create),
      pool.acquire('k', create),
    ]);
    expect(created).toBe(1);
    expect(results.filter((r) => !r.reused)).toHaveLength(1);
    pool.closeAll();
  });

  it('a failed creation is not cached', async () => {
    const pool = new SessionPool({ renewBeforeExpiryMs: 1000 });
    await expect(pool.acquire('k', async () => Promise.reject(new Error('broker down')))).rejects.toThrow();
    expect(pool.size).toBe(0);
  });
});

describe('session mode through the app and a real sshd', () => {
  let h: Harness;
  let logs: LogCapture;

  beforeAll(async () => {
    h = await startHarness();
    ({ logs } = await h.app({ sessionMode: true, limits: { renewBeforeExpiryMs: 2000 } }, { listen: true }));
    h.broker.ttlSeconds = 4;
  }, 30_000);

  afterAll(async () => {
    await h?.close();
  });

  async function call(token: string, tool = 'show_bgp_summary') {
    const client = new Client({ name: 't', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(h.publicUrl), {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
      }),
    );
    const r = await client.callTool({ name: tool, arguments: { device: 'device-1' } });
    await client.close();
    expect(r.isError).toBeFalsy();
    const end = logs.events('tool_call_end').at(-1)!;
    const content = r.content as { text: string }[];
    return {
      serial: end['cert_serial'] as string,
      timings: end['timings'] as Record<string, number>,
      end,
      output: content[0]!.text,
    };
  }

  it('reuses one certificate and connection per (sid, role, device), renews before expiry', async () => {
    const bob = await h.idp.mint({ net_role: 'net-viewer' });
    const exchangesBefore = h.idp.exchanges.length;
    const first = await call(bob);
    const second = await call(bob);
    expect(first.timings['reused']).toBe(0);
    expect(second.timings['reused']).toBe(1);
    expect(second.serial).toBe(first.serial);
    expect(second.timings['exchange']).toBeUndefined();
    expect(h.idp.exchanges.length - exchangesBefore).toBe(1);
    // Each call reaches the device with its own request id (a framed request on the session channel);
    // the certificate, its issue and the SSH login carry the request id of the call that obtained it,
    // which the audit line names as device_request_id.
    expect(first.output).toContain(`req=${first.end['request_id']}`);
    expect(second.output).toContain(`req=${second.end['request_id']}`);
    expect(second.end['request_id']).not.toBe(first.end['request_id']);
    expect(second.end['device_request_id']).toBe(first.end['request_id']);
    expect(h.sshd.log()).toContain(`req=${first.end['request_id']} (serial ${first.serial})`);

    // Another session or another role never shares it.
    const other = await call(await h.idp.mint({ net_role: 'net-viewer', sid: 'another-session-1' }));
    expect(other.serial).not.toBe(first.serial);
    const asOperator = await call(await h.idp.mint({ net_role: 'net-operator' }));
    expect(asOperator.serial).not.toBe(first.serial);

    // Wait until the first certificate is inside its renewal margin: the next call gets a new one.
    const cert = h.broker.issued.find((c) => c.serial === first.serial)!;
    await sleep(Math.max(0, cert.validBefore.getTime() - 2000 - Date.now() + 100));
    const third = await call(bob);
    expect(third.timings['reused']).toBe(0);
    expect(third.serial).not.toBe(first.serial);
  });

  it('parallel calls on one certificate reach the device each with its own request id', async () => {
    const token = await h.idp.mint({ net_role: 'net-viewer', sid: 'parallel-session-1' });
    // More calls than session channels per connection (5): the rest wait for a free channel.
    const calls = await Promise.all(Array.from({ length: 7 }, () => call(token)));
    const seen = calls.map((c) => /req=(\S+)/.exec(c.output)?.[1]);
    expect(new Set(seen).size).toBe(7);
    // Each id the device saw is the request id of a call that ended with output: one call, one id.
    const ends = new Map(logs.events('tool_call_end').map((e) => [e['request_id'], e]));
    const serials = seen.map((id) => ends.get(id)?.['cert_serial']);
    expect(serials.every((s) => s !== undefined)).toBe(true);
    expect(new Set(serials).size).toBe(1);
  });

  it('never runs a command on a certificate past its expiry', () => {
    for (const end of logs.events('tool_call_end')) {
      const cert = h.broker.issued.find((c) => c.serial === end['cert_serial'])!;
      expect(new Date(end['time'] as string).getTime()).toBeLessThan(cert.validBefore.getTime());
    }
  });

  it('closes the connection before the certificate expires (sshd sees the disconnect)', async () => {
    const token = await h.idp.mint({ net_role: 'net-admin', sid: 'close-check-1' });
    const r = await call(token);
    const cert = h.broker.issued.find((c) => c.serial === r.serial)!;
    // Just before validBefore the pool's timer (validBefore - 2 s) has fired: sshd logged the close.
    await sleep(Math.max(0, cert.validBefore.getTime() - Date.now() - 500));
    const log = h.sshd.log();
    const accepted = log
      .split('\n')
      .find((l) => l.startsWith('Accepted publickey') && l.includes(`(serial ${r.serial})`));
    const port = / port (\d+) ssh2/.exec(accepted ?? '')?.[1];
    expect(port).toBeDefined();
    expect(log).toContain(`Disconnected from user net-admin 127.0.0.1 port ${port}`);
  });
});
