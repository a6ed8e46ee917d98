import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { hostname } from 'node:os';

/** RFC 5424 section 6.2.1, table 1. */
export const FACILITIES = Object.freeze({
  auth: 4,
  authpriv: 10,
  daemon: 3,
  user: 1,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
} as const);

/** RFC 5424 section 6.2.1, table 2 (the two used). */
export const SEVERITY = Object.freeze({ warning: 4, info: 6 } as const);

export interface SyslogTarget {
  readonly host: string;
  readonly port: number;
  readonly transport: 'udp' | 'tcp';
  readonly facility: keyof typeof FACILITIES;
  readonly timeoutMs: number;
}

export interface SyslogMessage {
  readonly severity: number;
  readonly msgId: string;
  /** SD-PARAMs of the `netward@32473` element (32473: the documentation PEN of RFC 5612). */
  readonly params: Readonly<Record<string, string | undefined>>;
  /** The JSON audit line itself. */
  readonly msg: string;
  readonly time?: Date;
}

/** PRINTUSASCII without space, bounded (RFC 5424 section 6). `-` is the NILVALUE. */
function header(value: string, max: number): string {
  const clean = value.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return clean === '' ? '-' : clean;
}

/** RFC 5424 section 6.3.3: in PARAM-VALUE, `"`, `\` and `]` are escaped with a backslash. */
function paramValue(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

export const APP_NAME = 'netward-forcecommand';

/**
 * `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG` (RFC 5424 section 6). MSG is the JSON line
 * without a BOM (MSG-ANY): collectors that parse JSON get it unchanged.
 */
export function formatSyslog(facility: keyof typeof FACILITIES, m: SyslogMessage, host = hostname()): string {
  const pri = FACILITIES[facility] * 8 + m.severity;
  const params = Object.entries(m.params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}="${paramValue(v as string)}"`)
    .join(' ');
  const sd = params === '' ? '-' : `[netward@32473 ${params}]`;
  const time = (m.time ?? new Date()).toISOString();
  return `<${pri}>1 ${time} ${header(host, 255)} ${APP_NAME} ${process.pid} ${header(m.msgId, 32)} ${sd} ${m.msg.trimEnd()}`;
}

export interface SyslogSender {
  send(m: SyslogMessage): void;
  /** Waits for every send to finish or fail, at most the target's timeoutMs. Never rejects. */
  close(): Promise<void>;
}

/**
 * Best-effort delivery: a failure goes to `onError` (the validator notes it in the local file) and
 * never denies a command; the local file is the sink that must succeed.
 */
export function createSyslogSender(target: SyslogTarget, onError: (e: Error) => void): SyslogSender {
  const pending: Promise<void>[] = [];
  const host = hostname();
  let tcp: ReturnType<typeof connect> | undefined;
  let udp: ReturnType<typeof createSocket> | undefined;
  let failed = false;
  const fail = (e: Error) => {
    if (!failed) onError(e);
    failed = true;
  };

  const sendUdp = (line: string) =>
    new Promise<void>((resolve) => {
      udp ??= createSocket(target.host.includes(':') ? 'udp6' : 'udp4').on('error', fail);
      // One message per datagram (RFC 5426 section 3.1).
      udp.send(Buffer.from(line), target.port, target.host, (err) => {
        if (err) fail(err);
        resolve();
      });
    });

  const sendTcp = (line: string) =>
    new Promise<void>((resolve) => {
      if (tcp === undefined) {
        tcp = connect({ host: target.host, port: target.port });
        tcp.on('error', (e) => {
          fail(e);
          resolve();
        });
      }
      const frame = Buffer.from(line);
      // Octet-counting framing: MSG-LEN SP SYSLOG-MSG (RFC 6587 section 3.4.1).
      tcp.write(`${frame.length} `);
      tcp.write(frame, (err) => {
        if (err) fail(err);
        resolve();
      });
    });

  return {
    send(m) {
      const line = formatSyslog(target.facility, m, host);
      pending.push(target.transport === 'udp' ? sendUdp(line) : sendTcp(line));
    },
    async close() {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), target.timeoutMs);
      });
      const drained = Promise.all(pending).then(
        () =>
          new Promise<void>((resolve) => {
            if (tcp && !tcp.destroyed) tcp.end(() => resolve());
            else resolve();
          }),
      );
      const outcome = await Promise.race([drained, timeout]);
      clearTimeout(timer);
      if (outcome === 'timeout' && pending.length > 0) fail(new Error('syslog delivery timed out'));
      udp?.close();
      tcp?.destroy();
    },
  };
}
