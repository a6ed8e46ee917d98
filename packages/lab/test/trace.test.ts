import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readLabEvents, readSshdLog } from '../src/audit/sources.ts';
import { formatChain, LINKS, requestIdsFor, traceRequest } from '../src/audit/trace.ts';

const SID = 'r-njC0BO7KpelpqGdonMz_lCsuLIvUXBbJQfQtHUkve';
const REQ = 'DfqdO22WtgzydZVyKyliNA';
const SERIAL = '16365767323517966881';
const ACCEPTED = `Accepted publickey for net-operator from 10.255.0.1 port 53284 ssh2: ED25519-CERT SHA256:VxcsqlpPBuXhUSDN+ZJruztvuC9urb75UsewNSHJMLo ID sid=${SID},user=bob,req=${REQ} (serial ${SERIAL}) CA ED25519 SHA256:z6K7bWjt1L/f/ct7C8EU9YRYNsTjTRE6DWerAhn8qWc`;

const j = (o: Record<string, unknown>) => `${JSON.stringify(o)}\n`;

/** One call's records, shaped as each component writes them (captured from a lab run). */
function writeLogs(dir: string, omit: string[] = []) {
  const files: Record<string, string> = {
    'idp.log':
      j({
        level: 'info',
        time: '2026-11-22T03:25:36.997Z',
        component: 'idp',
        event: 'login',
        user: 'bob',
        sid: SID,
        decision: 'ok',
        msg: `LOGIN userId=bob sessionId=${SID}`,
      }) +
      j({
        level: 'info',
        time: '2026-11-22T03:25:37.506Z',
        component: 'idp',
        event: 'token_issued',
        user: 'bob',
        sid: SID,
        grant_type: 'token-exchange',
        decision: 'issued',
        msg: 'access token issued',
      }) +
      j({
        level: 'info',
        time: '2026-11-22T03:26:50.000Z',
        component: 'idp',
        event: 'token_issued',
        user: 'bob',
        sid: SID,
        grant_type: 'token-exchange',
        decision: 'issued',
        msg: 'a later exchange',
      }),
    'mcp-server.log':
      j({
        level: 'info',
        time: '2026-11-22T03:25:37.456Z',
        component: 'mcp-server',
        event: 'tool_call_start',
        user: 'bob',
        sid: SID,
        role: 'net-operator',
        request_id: REQ,
        device: 'spine-a',
        tool: 'ping',
        msg: 'tool call start',
      }) +
      j({
        level: 'info',
        time: '2026-11-22T03:25:38.589Z',
        component: 'mcp-server',
        event: 'tool_call_end',
        user: 'bob',
        sid: SID,
        role: 'net-operator',
        request_id: REQ,
        cert_serial: SERIAL,
        device: 'spine-a',
        tool: 'ping',
        decision: 'ok',
        msg: 'tool call end',
      }),
    'ca-broker.log': j({
      level: 'info',
      time: '2026-11-22T03:25:37.631Z',
      component: 'ca-broker',
      user: 'bob',
      sid: SID,
      cert_serial: SERIAL,
      request_id: REQ,
      decision: 'issued',
      msg: 'user certificate issued',
    }),
    'sshd-spine-a.log': `2026-11-22T03:25:37.936Z ${ACCEPTED}\n2026-11-22T03:25:38.600Z Disconnected from user net-operator 10.255.0.1 port 53284\n`,
    'tacacs.log': j({
      level: 'info',
      time: '2026-11-22T03:25:38.507Z',
      component: 'tacacs-server',
      event: 'tacacs.authorization',
      decision: 'permit',
      user: 'bob',
      sid: SID,
      cert_serial: SERIAL,
      request_id: REQ,
      tacacs: { cmd: 'ping', args: ['-c', '3', '10.1.0.11'] },
      msg: 'authorization',
    }),
    'forcecommand-spine-a.jsonl': j({
      level: 'info',
      time: '2026-11-22T03:25:38.535Z',
      component: 'forcecommand',
      event: 'completed',
      user: 'bob',
      sid: SID,
      role: 'net-operator',
      cert_serial: SERIAL,
      request_id: REQ,
      device: 'spine-a',
      decision: 'permit',
      msg: `[net-operator/bob/cert:${SERIAL}/sid:${SID}/req:${REQ}] EXIT 0: ping -c 3 10.1.0.11`,
    }),
    'syslog.jsonl': j({
      time: '2026-11-22T03:25:38.612Z',
      level: 'info',
      component: 'syslog',
      user: 'bob',
      sid: SID,
      cert_serial: SERIAL,
      request_id: REQ,
      device: 'spine-a',
      decision: 'permit',
      msg: 'syslog record received',
    }),
  };
  for (const [name, text] of Object.entries(files))
    if (!omit.includes(name)) writeFileSync(join(dir, name), text);
}

describe('audit trace', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'netward-trace-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("reads sshd's Accepted line: account, Key ID fields and serial", () => {
    writeFileSync(join(dir, 'sshd-x.log'), `2026-11-22T03:25:37.936Z ${ACCEPTED}\n`);
    expect(readSshdLog(join(dir, 'sshd-x.log'), 'spine-a')).toMatchObject([
      {
        time: '2026-11-22T03:25:37.936Z',
        role: 'net-operator',
        user: 'bob',
        sid: SID,
        requestId: REQ,
        certSerial: SERIAL,
      },
    ]);
  });

  it('does not take ids from a Key ID that does not parse', () => {
    writeFileSync(
      join(dir, 'sshd-x.log'),
      `${ACCEPTED.replace(`sid=${SID},user=bob`, `user=bob,sid=${SID}`)}\n`,
    );
    const [e] = readSshdLog(join(dir, 'sshd-x.log'), 'spine-a');
    expect(e?.user).toBeUndefined();
    expect(e?.certSerial).toBe(SERIAL);
  });

  it('builds the whole chain of a call in time order, by request id, serial, sid or user', () => {
    writeLogs(dir);
    const events = readLabEvents(dir);
    for (const q of [REQ, SERIAL, SID, 'bob']) expect(requestIdsFor(events, q)).toEqual([REQ]);
    const chain = traceRequest(events, REQ);
    expect(chain.missing).toEqual([]);
    expect(chain.events.map((e) => e.link)).toEqual([
      'idp-login',
      'mcp-call',
      'idp-exchange',
      'ca-issue',
      'sshd-accept',
      'tacacs',
      'validator',
      'mcp-call',
      'syslog',
    ]);
    // The exchange that preceded the certificate, not the later one.
    expect(chain.events.find((e) => e.link === 'idp-exchange')?.time).toBe('2026-11-22T03:25:37.506Z');
    expect(formatChain(chain).at(-1)).toMatch(/every link of the chain has a record/);
  });

  it.each(LINKS.filter((l) => l.id !== 'idp-exchange').map((l) => [l.id]))(
    'flags a missing %s record',
    (link) => {
      const file = {
        'idp-login': 'idp.log',
        'mcp-call': 'mcp-server.log',
        'ca-issue': 'ca-broker.log',
        'sshd-accept': 'sshd-spine-a.log',
        validator: 'forcecommand-spine-a.jsonl',
        tacacs: 'tacacs.log',
        syslog: 'syslog.jsonl',
      }[link as string] as string;
      writeLogs(dir, [file]);
      const chain = traceRequest(readLabEvents(dir), REQ);
      expect(chain.missing.map((m) => m.link)).toContain(link);
      expect(formatChain(chain).join('\n')).toMatch(/✗ missing/);
    },
  );

  it('in session mode, gives a later call the reused certificate and its own device records', () => {
    writeLogs(dir);
    const R2 = 'SecondCallRequestId00AA';
    const later = (t: string, o: Record<string, unknown>) =>
      j({ level: 'info', time: `2026-11-22T03:25:${t}Z`, ...o });
    writeFileSync(
      join(dir, 'mcp-server.log'),
      `${readFileSync(join(dir, 'mcp-server.log'), 'utf8')}${later('45.000', { component: 'mcp-server', event: 'tool_call_start', user: 'bob', sid: SID, request_id: R2, tool: 'ping', msg: 'tool call start' })}${later('45.300', { component: 'mcp-server', event: 'tool_call_end', user: 'bob', sid: SID, request_id: R2, cert_serial: SERIAL, device_request_id: REQ, tool: 'ping', decision: 'ok', msg: 'tool call end' })}`,
    );
    for (const [file, component] of [
      ['tacacs.log', 'tacacs-server'],
      ['forcecommand-spine-a.jsonl', 'forcecommand'],
      ['syslog.jsonl', 'syslog'],
    ]) {
      writeFileSync(
        join(dir, file as string),
        `${readFileSync(join(dir, file as string), 'utf8')}${later('45.200', { component, user: 'bob', sid: SID, cert_serial: SERIAL, request_id: REQ, decision: 'permit', msg: 'second' })}`,
      );
    }
    const chain = traceRequest(readLabEvents(dir), R2);
    expect(chain.missing).toEqual([]);
    expect(chain.serials).toEqual([SERIAL]);
    // Only the device records inside the second call's window, not the first call's.
    expect(chain.events.filter((e) => e.link === 'validator').map((e) => e.time)).toEqual([
      '2026-11-22T03:25:45.200Z',
    ]);
  });
});

describe('netward-audit trace (command line)', () => {
  it('takes a request id that starts with "-" as the query, and exits 0 on a complete chain', async () => {
    const { runTrace } = await import('../src/cli/audit.ts');
    const dir = mkdtempSync(join(tmpdir(), 'netward-trace-cli-'));
    try {
      const logs = join(dir, 'logs');
      const { mkdirSync } = await import('node:fs');
      mkdirSync(logs);
      const id = '-B8oPtCBRtl16_oLEyxQMA';
      writeFileSync(
        join(logs, 'mcp-server.log'),
        `${JSON.stringify({ level: 'info', time: '2026-11-22T03:25:37.456Z', component: 'mcp-server', event: 'tool_call_end', user: 'bob', request_id: id, msg: 'tool call end' })}\n`,
      );
      const log = console.log;
      const out: string[] = [];
      console.log = (...a: unknown[]) => out.push(a.join(' '));
      let code: number;
      try {
        code = runTrace(['trace', id, '--dir', dir]);
      } finally {
        console.log = log;
      }
      expect(out.join('\n')).toContain(`request ${id}`);
      // Only the MCP server's record exists: every other link is flagged, exit 3.
      expect(code).toBe(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
