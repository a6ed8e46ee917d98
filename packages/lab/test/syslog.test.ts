import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatSyslog } from '@netward/forcecommand';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parseSyslog5424,
  type SyslogReceiver,
  splitTcpFrames,
  startSyslogReceiver,
  syslogToRecord,
} from '../src/services/syslog.ts';
import { freePort } from './helpers.ts';

const RECORD = {
  level: 'warn',
  time: '2026-02-07T12:34:56.000Z',
  component: 'forcecommand',
  event: 'decision',
  user: 'bob',
  sid: 'fd9e4bdc77df2fa8',
  role: 'net-operator',
  cert_serial: '15800344769086219675',
  request_id: 'a1b2c3d4e5f6a7b8c9d0e1',
  device: 'spine-a',
  decision: 'deny',
  msg: "[net-operator/bob/cert:15800344769086219675/sid:fd9e4bdc77df2fa8/req:a1b2c3d4e5f6a7b8c9d0e1] DENY (TACACS+): vtysh -c 'configure terminal'",
};

/** A message as the validator sends it: forcecommand's own formatter is the independent producer. */
function validatorMessage(record: Record<string, unknown> = RECORD): string {
  return formatSyslog(
    'authpriv',
    {
      severity: 4,
      msgId: 'decision',
      params: { user: 'bob', decision: 'deny', request_id: String(record['request_id']) },
      msg: JSON.stringify(record),
      time: new Date('2026-02-07T12:34:56.000Z'),
    },
    'spine-a',
  );
}

describe('RFC 5424 parsing', () => {
  it("reads the validator's message: facility authpriv, severity warning, structured data, JSON MSG", () => {
    const m = parseSyslog5424(validatorMessage());
    expect(m).toMatchObject({
      facility: 10,
      severity: 4,
      version: 1,
      hostname: 'spine-a',
      appName: 'netward-forcecommand',
      msgId: 'decision',
    });
    expect(m?.structuredData).toMatch(/^\[netward@32473 /);
    expect(JSON.parse(m?.msg ?? '')).toEqual(RECORD);
  });

  it('lifts only well-formed correlation fields to the top level and keeps the record nested', () => {
    const m = parseSyslog5424(validatorMessage({ ...RECORD, user: 'bob smith', sid: 'x'.repeat(200) }));
    const out = syslogToRecord(m as NonNullable<typeof m>, '10.255.0.11:5000', 'udp');
    expect(out['user']).toBeUndefined();
    expect(out['sid']).toBeUndefined();
    expect(out['request_id']).toBe(RECORD.request_id);
    expect(out['decision']).toBe('deny');
    expect((out['record'] as Record<string, unknown>)['user']).toBe('bob smith');
  });

  it.each([
    ['RFC 3164', '<34>Oct 11 22:14:15 mymachine su: failed'],
    ['PRI out of range', '<192>1 - - - - - - hello'],
    ['unterminated SD', '<14>1 - host app - - [x@1 a="b" hello'],
    ['empty', ''],
  ])('refuses %s', (_what, text) => {
    expect(parseSyslog5424(text)).toBeUndefined();
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        parseSyslog5424(s);
        parseSyslog5424(`<13>1 - - - - - ${s}`);
      }),
    );
  });
});

describe('RFC 6587 TCP framing', () => {
  const frame = (m: string) => `${Buffer.byteLength(m)} ${m}`;

  it('yields the same messages however the stream is cut (octet counting and LF framing)', () => {
    const messages = [
      validatorMessage(),
      'line two with\nnewline inside',
      validatorMessage({ ...RECORD, user: 'carol' }),
    ];
    const counted = Buffer.from(messages.map(frame).join(''));
    const lf = Buffer.from(['<13>1 - - - - - - a', '<13>1 - - - - - - b'].map((m) => `${m}\n`).join(''));
    for (const [stream, expected] of [
      [counted, messages],
      [lf, ['<13>1 - - - - - - a', '<13>1 - - - - - - b']],
    ] as const) {
      for (let cut = 0; cut <= stream.length; cut++) {
        const first = splitTcpFrames(stream.subarray(0, cut));
        const second = splitTcpFrames(Buffer.concat([first.rest, stream.subarray(cut)]));
        expect([...first.messages, ...second.messages]).toEqual(expected);
        expect(second.rest.length).toBe(0);
      }
    }
  });
});

describe('syslog receiver', () => {
  let dir: string;
  let receiver: SyslogReceiver;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'netward-syslog-'));
    port = await freePort();
    receiver = await startSyslogReceiver({ host: '127.0.0.1', port, outFile: join(dir, 'out.jsonl') });
  });
  afterAll(async () => {
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const lines = () =>
    readFileSync(join(dir, 'out.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it('writes one JSON line per UDP and TCP message', async () => {
    const udp = createSocket('udp4');
    await new Promise<void>((r) => udp.send(validatorMessage(), port, '127.0.0.1', () => r()));
    udp.close();
    const tcp = connect({ host: '127.0.0.1', port });
    await new Promise<void>((r) => tcp.once('connect', () => r()));
    const m = validatorMessage({ ...RECORD, user: 'carol' });
    tcp.end(`${Buffer.byteLength(m)} ${m}`);
    for (let i = 0; i < 50; i++) {
      try {
        if (lines().length >= 2) break;
      } catch {}
      await new Promise((r) => setTimeout(r, 20));
    }
    const got = lines();
    expect(
      got.map((l) => [l['component'], l['user'], (l['source'] as { transport: string }).transport]).sort(),
    ).toEqual([
      ['syslog', 'bob', 'udp'],
      ['syslog', 'carol', 'tcp'],
    ]);
  });
});
