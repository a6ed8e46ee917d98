import { createSocket, type Socket } from 'node:dgram';
import { appendFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { CORRELATION_FIELDS, isValidField, RECORD_FIELDS } from '@netward/audit-context';

/**
 * RFC 5424 section 6:
 *   SYSLOG-MSG = HEADER SP STRUCTURED-DATA [SP MSG]
 *   HEADER     = PRI VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID
 *   PRI        = "<" 1*3DIGIT ">"          (facility * 8 + severity, 0..191)
 *   NILVALUE   = "-"
 */
export interface SyslogMessage {
  readonly facility: number;
  readonly severity: number;
  readonly version: number;
  readonly timestamp: string | null;
  readonly hostname: string | null;
  readonly appName: string | null;
  readonly procId: string | null;
  readonly msgId: string | null;
  readonly structuredData: string | null;
  readonly msg: string;
}

const HEADER = /^<(\d{1,3})>(\d{1,2}) (\S+) (\S+) (\S+) (\S+) (\S+) /;

const nil = (v: string | undefined): string | null => (v === undefined || v === '-' ? null : v);

/** Reads the STRUCTURED-DATA part (section 6.3): `-` or one or more `[...]` with escaped `]`. */
function readStructuredData(rest: string): { sd: string | null; end: number } | undefined {
  if (rest.startsWith('-')) return { sd: null, end: 1 };
  let i = 0;
  while (rest[i] === '[') {
    i++;
    while (i < rest.length && rest[i] !== ']') {
      if (rest[i] === '"') {
        i++;
        while (i < rest.length && rest[i] !== '"') i += rest[i] === '\\' ? 2 : 1;
      }
      i++;
    }
    if (rest[i] !== ']') return undefined;
    i++;
  }
  return i === 0 ? undefined : { sd: rest.slice(0, i), end: i };
}

/** Parses one RFC 5424 message; undefined when it is not one (RFC 3164 and garbage included). */
export function parseSyslog5424(text: string): SyslogMessage | undefined {
  const m = HEADER.exec(text);
  if (m === null) return undefined;
  const pri = Number(m[1]);
  if (pri > 191) return undefined;
  const sd = readStructuredData(text.slice(m[0].length));
  if (sd === undefined) return undefined;
  let msg = text.slice(m[0].length + sd.end);
  if (msg.startsWith(' ')) msg = msg.slice(1);
  // Section 6.4: an optional UTF-8 BOM before MSG.
  if (msg.startsWith('\uFEFF')) msg = msg.slice(1);
  return {
    facility: Math.floor(pri / 8),
    severity: pri % 8,
    version: Number(m[2]),
    timestamp: nil(m[3]),
    hostname: nil(m[4]),
    appName: nil(m[5]),
    procId: nil(m[6]),
    msgId: nil(m[7]),
    structuredData: sd.sd,
    msg: msg.replace(/[\r\n]+$/, ''),
  };
}

const SEVERITY = ['fatal', 'fatal', 'fatal', 'error', 'warn', 'info', 'info', 'debug'] as const;

/**
 * One JSON line per received message. The sender's correlation fields are lifted to the top level
 * only when the message is a JSON record and each value has its field's shape; everything the sender
 * wrote stays nested under `record` (or `text`), never spread.
 */
export function syslogToRecord(
  m: SyslogMessage,
  peer: string,
  transport: 'udp' | 'tcp',
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    time: new Date().toISOString(),
    level: SEVERITY[m.severity] ?? 'info',
    component: 'syslog',
    msg: 'syslog record received',
    source: {
      peer,
      transport,
      hostname: m.hostname,
      app: m.appName,
      procid: m.procId,
      msgid: m.msgId,
      sent: m.timestamp,
    },
    facility: m.facility,
    severity: m.severity,
  };
  let record: unknown;
  const start = m.msg.indexOf('{');
  if (start >= 0) {
    try {
      record = JSON.parse(m.msg.slice(start));
    } catch {
      record = undefined;
    }
  }
  if (record !== null && typeof record === 'object' && !Array.isArray(record)) {
    const r = record as Record<string, unknown>;
    const map: Record<string, Parameters<typeof isValidField>[0]> = RECORD_FIELDS;
    for (const name of CORRELATION_FIELDS) {
      const field = map[name];
      if (field !== undefined && isValidField(field, r[name])) out[name] = r[name];
    }
    if (r['decision'] === 'permit' || r['decision'] === 'deny') out['decision'] = r['decision'];
    if (typeof r['component'] === 'string') out['origin'] = r['component'];
    out['record'] = record;
  } else {
    out['text'] = m.msg;
  }
  return out;
}

/**
 * RFC 6587 framing on TCP: octet counting (`LEN SP MSG`, section 3.4.1) and, for senders that do not
 * count, non-transparent framing with LF (section 3.4.2). Returns whole messages and the remainder.
 */
export function splitTcpFrames(buffer: Buffer): { messages: string[]; rest: Buffer } {
  const messages: string[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    const first = buffer[offset];
    if (first !== undefined && first >= 0x31 && first <= 0x39) {
      const space = buffer.indexOf(0x20, offset);
      if (space < 0 || space - offset > 6) {
        if (space < 0 && buffer.length - offset <= 6) break;
        // not a length: fall through to LF framing
      } else {
        const len = Number(buffer.subarray(offset, space).toString('ascii'));
        if (Number.isInteger(len) && len > 0) {
          if (space + 1 + len > buffer.length) break;
          messages.push(buffer.subarray(space + 1, space + 1 + len).toString('utf8'));
          offset = space + 1 + len;
          continue;
        }
      }
    }
    const lf = buffer.indexOf(0x0a, offset);
    if (lf < 0) break;
    const line = buffer.subarray(offset, lf).toString('utf8');
    if (line.length > 0) messages.push(line);
    offset = lf + 1;
  }
  return { messages, rest: buffer.subarray(offset) };
}

export interface SyslogReceiver {
  readonly udp: Socket;
  readonly tcp: Server;
  close(): Promise<void>;
}

/** Listens on UDP and TCP (same port) and appends one JSON line per message to `outFile`. */
export async function startSyslogReceiver(options: {
  host: string;
  port: number;
  outFile: string;
}): Promise<SyslogReceiver> {
  const write = (text: string, peer: string, transport: 'udp' | 'tcp') => {
    const m = parseSyslog5424(text);
    const line = m
      ? syslogToRecord(m, peer, transport)
      : {
          time: new Date().toISOString(),
          level: 'warn',
          component: 'syslog',
          msg: 'not an RFC 5424 message',
          source: { peer, transport },
          text: text.slice(0, 2048),
        };
    appendFileSync(options.outFile, `${JSON.stringify(line)}\n`);
  };
  const udp = createSocket('udp4');
  udp.on('message', (buf, rinfo) => write(buf.toString('utf8'), `${rinfo.address}:${rinfo.port}`, 'udp'));
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(options.port, options.host, () => resolve());
  });
  const tcp = createServer((socket) => {
    let pending: Buffer = Buffer.alloc(0);
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      if (pending.length > 1024 * 1024) {
        socket.destroy();
        return;
      }
      const { messages, rest } = splitTcpFrames(pending);
      pending = rest;
      for (const m of messages) write(m, peer, 'tcp');
    });
    socket.on('end', () => {
      if (pending.length > 0) write(pending.toString('utf8'), peer, 'tcp');
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(options.port, options.host, () => resolve());
  });
  return {
    udp,
    tcp,
    close: async () => {
      await new Promise<void>((r) => udp.close(() => r()));
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
}
