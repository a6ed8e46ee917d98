import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readLabEvents, readSshdLog } from '../src/audit/sources.ts';
import {
  formatChain,
  isComplete,
  LINKS,
  requestIdsFor,
  TRACE_WIDTH,
  traceRequest,
} from '../src/audit/trace.ts';

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

  it('takes from JSON logs only audit records: a line that breaks the record schema is no event', () => {
    const record = {
      level: 'info',
      time: '2026-11-22T03:25:37.631Z',
      component: 'ca-broker',
      request_id: REQ,
    };
    writeFileSync(
      join(dir, 'ca-broker.log'),
      [
        record,
        { ...record, user: 'bob;id' }, // a user outside its character class
        { ...record, level: 30 }, // pino's numeric level: not the audit format
        { ...record, time: 'yesterday' },
        { ...record, decision: 'served', msg: 'POST /v1/certificates 200' },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const events = readLabEvents(dir);
    expect(events.map((e) => e.source)).toEqual(['ca-broker.log:1', 'ca-broker.log:5']);
    expect(events[1]?.decision).toBe('served');
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

  it("says which validator served the call: the device's resident one, or a process of its own", () => {
    writeLogs(dir);
    const summary = () =>
      traceRequest(readLabEvents(dir), REQ).events.find((e) => e.link === 'validator')?.summary;
    expect(summary()).toBe('EXIT 0: ping -c 3 10.1.0.11');
    const file = join(dir, 'forcecommand-spine-a.jsonl');
    const record = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, `${JSON.stringify({ ...record, served_by: 'resident' })}\n`);
    expect(summary()).toBe('EXIT 0: ping -c 3 10.1.0.11 [resident]');
    // A resident validator's own log is read with the device's records (its start names no request).
    writeFileSync(
      join(dir, 'resident-spine-a-net-operator.log'),
      `${JSON.stringify({ level: 'info', time: '2026-11-22T03:25:30.000Z', component: 'forcecommand-resident', event: 'resident_started', device: 'spine-a', msg: 'resident validator listening' })}\n`,
    );
    expect(
      readLabEvents(dir)
        .filter((e) => e.event === 'resident_started')
        .map((e) => e.device),
    ).toEqual(['spine-a']);
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
  /**
   * Adds a later call R on the certificate of REQ (session mode) from `start` to `end`, with device
   * records at `device` under `deviceId`: REQ for a validator that sees only the certificate's id, R for
   * the session-mode validator, which records each framed request under its own id.
   */
  function sessionCall(R: string, start: string, end: string, device: string, deviceId = REQ) {
    const at = (t: string, o: Record<string, unknown>) =>
      j({ level: 'info', time: `2026-11-22T03:25:${t}Z`, ...o });
    const append = (file: string, text: string) =>
      writeFileSync(join(dir, file), `${readFileSync(join(dir, file), 'utf8')}${text}`);
    append(
      'mcp-server.log',
      at(start, {
        component: 'mcp-server',
        event: 'tool_call_start',
        user: 'bob',
        sid: SID,
        request_id: R,
        tool: 'ping',
        msg: 'tool call start',
      }) +
        at(end, {
          component: 'mcp-server',
          event: 'tool_call_end',
          user: 'bob',
          sid: SID,
          request_id: R,
          cert_serial: SERIAL,
          device_request_id: REQ,
          tool: 'ping',
          decision: 'ok',
          msg: 'tool call end',
        }),
    );
    for (const [file, component] of [
      ['tacacs.log', 'tacacs-server'],
      ['forcecommand-spine-a.jsonl', 'forcecommand'],
      ['syslog.jsonl', 'syslog'],
    ] as const) {
      append(
        file,
        at(device, {
          component,
          user: 'bob',
          sid: SID,
          cert_serial: SERIAL,
          request_id: deviceId,
          decision: 'permit',
          msg: `for ${R}`,
        }),
      );
    }
  }

  it("in session mode, the call that obtained the certificate does not take later calls' device records", () => {
    writeLogs(dir);
    sessionCall('SecondCallRequestId00AA', '45.000', '45.300', '45.200');
    const first = traceRequest(readLabEvents(dir), REQ);
    expect(first.events.filter((e) => e.link === 'validator').map((e) => e.time)).toEqual([
      '2026-11-22T03:25:38.535Z',
    ]);
    expect(isComplete(first)).toBe(true);
  });

  it('in session mode, parallel calls on one certificate are not "complete": their device records cannot be told apart', () => {
    writeLogs(dir);
    sessionCall('SecondCallRequestId00AA', '45.000', '45.500', '45.200');
    sessionCall('ThirdCallRequestId000AA', '45.100', '45.600', '45.400');
    const second = traceRequest(readLabEvents(dir), 'SecondCallRequestId00AA');
    expect(isComplete(second)).toBe(false);
    expect(second.inconsistent?.at(-1)).toMatch(
      /call\(s\) ThirdCallRequestId000AA on the same certificate too/,
    );
    // Nor is the other's: the overlap is the same from its side.
    const third = traceRequest(readLabEvents(dir), 'ThirdCallRequestId000AA');
    expect(isComplete(third)).toBe(false);
  });

  it('in session mode, parallel calls whose device records carry their own request ids are each complete and exact', () => {
    writeLogs(dir);
    // R2 runs while REQ (which obtained the certificate) is still running; each device record names its
    // own call, so neither chain takes the other's and neither is ambiguous.
    const R2 = 'SecondCallRequestId00AA';
    sessionCall(R2, '37.900', '38.700', '38.550', R2);
    for (const id of [REQ, R2]) {
      const chain = traceRequest(readLabEvents(dir), id);
      expect(isComplete(chain), id).toBe(true);
      expect(chain.events.filter((e) => e.link === 'validator').map((e) => e.requestId)).toEqual([id]);
    }
  });

  it("is not complete when another user's certificate recorded commands under this call's request id", () => {
    writeLogs(dir);
    // A session-mode client names each request's id itself: mallory's channel, on her own certificate,
    // sends frames carrying bob's request id. The device records say who really ran them.
    const at = (o: Record<string, unknown>) => j({ level: 'info', time: '2026-11-22T03:26:10.000Z', ...o });
    const append = (file: string, text: string) =>
      writeFileSync(join(dir, file), `${readFileSync(join(dir, file), 'utf8')}${text}`);
    append(
      'forcecommand-spine-a.jsonl',
      at({
        component: 'forcecommand',
        event: 'completed',
        user: 'mallory',
        sid: 'malloryssession00001',
        role: 'net-viewer',
        cert_serial: '27074',
        request_id: REQ,
        device: 'spine-a',
        decision: 'permit',
        msg: 'EXIT 0: show version',
      }),
    );
    const chain = traceRequest(readLabEvents(dir), REQ);
    expect(isComplete(chain)).toBe(false);
    expect(chain.inconsistent).toEqual([
      expect.stringMatching(
        /^1 record\(s\) from 03:26:10\.000 under this request id name mallory\/cert:27074,/,
      ),
    ]);
  });

  it('fits every line of a chain in 120 columns and names the ids each record carries', () => {
    writeLogs(dir);
    const lines = formatChain(traceRequest(readLabEvents(dir), REQ));
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(TRACE_WIDTH);
    expect(lines.join('\n')).toContain(SID);
    expect(lines.find((l) => l.includes('forcecommand@spine-a'))).toMatch(/user sid serial req$/);
  });

  it('is not complete when the MCP server logged the start of the call but not its end', () => {
    writeLogs(dir);
    const mcp = readFileSync(join(dir, 'mcp-server.log'), 'utf8').split('\n');
    writeFileSync(join(dir, 'mcp-server.log'), `${mcp[0]}\n`);
    const chain = traceRequest(readLabEvents(dir), REQ);
    expect(chain.missing).toEqual([]);
    expect(isComplete(chain)).toBe(false);
    expect(chain.inconsistent).toEqual([expect.stringContaining('not its end')]);
    expect(formatChain(chain).at(-1)).toMatch(/✗ inconsistent: the MCP server logged the start/);
  });

  it('is not complete when TACACS+ decided after the validator had failed closed', () => {
    writeLogs(dir);
    const late = (name: string, from: string, to: string) =>
      writeFileSync(join(dir, name), readFileSync(join(dir, name), 'utf8').replace(from, to));
    // The validator denied on its TACACS+ timeout at .535; the stalled server answered permit at .900.
    late('tacacs.log', '03:25:38.507Z', '03:25:38.900Z');
    late('forcecommand-spine-a.jsonl', '"decision":"permit"', '"decision":"deny"');
    const chain = traceRequest(readLabEvents(dir), REQ);
    expect(isComplete(chain)).toBe(false);
    expect(chain.inconsistent).toEqual([
      'TACACS+ said permit at 03:25:38.900, after the validator had decided deny at 03:25:38.535',
    ]);
  });

  it('is not complete when a component logged its decision as late', () => {
    writeLogs(dir);
    const file = join(dir, 'ca-broker.log');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace('"decision":"issued"', '"decision":"issued","late":true'),
    );
    const chain = traceRequest(readLabEvents(dir), REQ);
    expect(isComplete(chain)).toBe(false);
    expect(chain.inconsistent?.[0]).toMatch(/^ca-broker decided late \(issued at 03:25:37.631\)/);
  });

  it('is not complete when the certificate was issued after the call had ended', () => {
    writeLogs(dir);
    const file = join(dir, 'ca-broker.log');
    writeFileSync(file, readFileSync(file, 'utf8').replace('03:25:37.631Z', '03:25:39.000Z'));
    const chain = traceRequest(readLabEvents(dir), REQ);
    expect(isComplete(chain)).toBe(false);
    expect(chain.inconsistent).toContain(
      'certificate issued at 03:25:39.000, after the call ended at 03:25:38.589',
    );
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

  it('--help prints the usage and exits 0; a usage error exits 2 with its reason on one line', async () => {
    const { runTrace } = await import('../src/cli/audit.ts');
    const out: string[] = [];
    const err: string[] = [];
    const [log, error] = [console.log, console.error];
    console.log = (...a: unknown[]) => out.push(a.join(' '));
    console.error = (...a: unknown[]) => err.push(a.join(' '));
    try {
      expect(runTrace(['--help'])).toBe(0);
      expect(runTrace(['trace', '-h'])).toBe(0);
      expect(out.join('\n')).toContain('usage: netward-audit trace');
      expect(runTrace([])).toBe(2);
      expect(runTrace(['tarce', 'bob'])).toBe(2);
      expect(runTrace(['trace'])).toBe(2);
      expect(runTrace(['trace', 'bob', '--bogus'])).toBe(2);
    } finally {
      console.log = log;
      console.error = error;
    }
    expect(err).toEqual([
      'netward-audit: no command given (netward-audit --help for usage)',
      'netward-audit: unknown command "tarce" (netward-audit --help for usage)',
      'netward-audit: trace needs a request id, certificate serial, sid or user (netward-audit --help for usage)',
      'netward-audit: unknown option "--bogus" (netward-audit --help for usage)',
    ]);
  });

  it('for a user, numbers every call it counts and says which one is shown in full', async () => {
    const { runTrace } = await import('../src/cli/audit.ts');
    const dir = mkdtempSync(join(tmpdir(), 'netward-trace-cli-'));
    try {
      const { mkdirSync } = await import('node:fs');
      mkdirSync(join(dir, 'logs'));
      const ids = [
        'AAAAAAAAAAAAAAAAAAAAAA',
        'BBBBBBBBBBBBBBBBBBBBBB',
        'CCCCCCCCCCCCCCCCCCCCCC',
        'DDDDDDDDDDDDDDDDDDDDDD',
      ];
      // One login for all four: each call is listed with its own start, not the login's time.
      writeFileSync(
        join(dir, 'logs', 'idp.log'),
        JSON.stringify({
          level: 'info',
          time: '2026-11-22T03:25:00.000Z',
          component: 'idp',
          event: 'login',
          user: 'bob',
          sid: SID,
          msg: 'LOGIN',
        }),
      );
      writeFileSync(
        join(dir, 'logs', 'mcp-server.log'),
        ids
          .map((id, i) =>
            JSON.stringify({
              level: 'info',
              time: `2026-11-22T03:25:3${i}.000Z`,
              component: 'mcp-server',
              event: 'tool_call_end',
              user: 'bob',
              sid: SID,
              request_id: id,
              tool: 'ping',
              device: 'spine-a',
              msg: 'tool call end',
            }),
          )
          .join('\n'),
      );
      const out: string[] = [];
      const log = console.log;
      console.log = (...a: unknown[]) => out.push(a.join(' '));
      try {
        runTrace(['trace', 'bob', '--dir', dir]);
      } finally {
        console.log = log;
      }
      const text = out.join('\n');
      expect(text).toContain('bob is a user: 4 tool calls, oldest first');
      for (const [i, id] of ids.entries()) expect(text).toContain(`${i + 1}. 03:25:3${i}.000  ${id}`);
      expect(text).toContain('the latest call (4.) in full');
      expect(text).toContain(`request ${ids[3]}`);
      expect(Math.max(...text.split('\n').map((l) => l.length))).toBeLessThanOrEqual(TRACE_WIDTH);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
