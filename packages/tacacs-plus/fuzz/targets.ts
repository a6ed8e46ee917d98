// The two fuzz targets. Each takes one input and reports what went wrong, if anything; "wrong" is an
// exception other than TacacsError (an untyped error), a server that logs an internal error, or no
// answer and no close within HANG_MS (a hang).
import net from 'node:net';
import { duplexPair, Writable } from 'node:stream';
import { createLogger } from '@netward/audit-context';
import { isTacacsError } from '../src/errors.ts';
import {
  createTacacsServer,
  requestView,
  type TacacsServer,
  type TacacsServerOptions,
} from '../src/index.ts';
import {
  decodeAcctReply,
  decodeAcctRequest,
  decodeAuthenContinue,
  decodeAuthenReply,
  decodeAuthenStart,
  decodeAuthorRequest,
  decodeAuthorResponse,
  decodePacket,
  encodePacket,
  PacketFramer,
  type PacketTypeValue,
  type Protection,
} from '../src/protocol/index.ts';
import { resolveServerConfig, type ServerConfig } from '../src/server/config.ts';
import { ServerConnection } from '../src/server/connection.ts';

// The key of the captured vectors, so that the seed packets in the corpus open.
export const KEY = Buffer.from('labsecret');
const KEYED: Protection = { kind: 'key', key: KEY };
const TLS: Protection = { kind: 'tls' };
const BODY_DECODERS = [
  decodeAuthenStart,
  decodeAuthenReply,
  decodeAuthenContinue,
  decodeAuthorRequest,
  decodeAuthorResponse,
  decodeAcctRequest,
  decodeAcctReply,
];
export const HANG_MS = 2000;

export type Finding = { kind: 'untyped-error' | 'hang' | 'internal-error'; detail: string };

function typed(fn: () => unknown): Finding | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return isTacacsError(e) ? undefined : { kind: 'untyped-error', detail: String((e as Error)?.stack ?? e) };
  }
}

/**
 * The packet decoder. Byte 0 picks the path: 0 a whole packet with the key, 1 a whole packet inside
 * TLS, 2 every body decoder on the rest, 3 the streaming framer fed in chunks whose sizes come from
 * the input itself, then each framed packet opened and decoded.
 */
export function decoderTarget(input: Buffer): Finding | undefined {
  const mode = (input[0] ?? 0) % 4;
  const data = input.subarray(1);
  if (mode === 0 || mode === 1) {
    return typed(() => {
      const p = decodePacket(data, mode === 0 ? KEYED : TLS);
      const f = BODY_DECODERS.map((d) => typed(() => d(p.body))).find((x) => x);
      if (f) throw new Error(f.detail);
    });
  }
  if (mode === 2) {
    for (const d of BODY_DECODERS) {
      const f = typed(() => d(data));
      if (f) return f;
    }
    return undefined;
  }
  return typed(() => {
    const framer = new PacketFramer({ maxBodyLength: 4096 });
    let at = 0;
    let i = 0;
    while (at < data.length) {
      const n = 1 + ((data[i++ % data.length] as number) % 64);
      for (const frame of framer.push(data.subarray(at, at + n))) {
        const body = decodePacketBody(frame.header, frame.raw);
        for (const d of BODY_DECODERS) {
          const f = typed(() => d(body));
          if (f) throw new Error(f.detail);
        }
      }
      at += n;
    }
  });
}

function decodePacketBody(header: { flags: number }, raw: Buffer): Buffer {
  try {
    // Open as the flags say, so both protections are reached; refusals are TacacsErrors.
    return decodePacket(Buffer.concat([Buffer.alloc(12), raw]), header.flags & 1 ? TLS : KEYED).body;
  } catch (e) {
    if (isTacacsError(e)) return raw;
    throw e;
  }
}

/**
 * Our server, in this process. An input is turned into bytes on the wire: byte 0 picks the form, 0-2 a
 * packet whose header fields come from bytes 1-8 (version, type, seq_no, flags, session id) and whose
 * cleartext body is the rest, obfuscated with the key (2 also sends the same body again as the session's
 * next packet, for the ASCII login conversation); 3 the rest as raw bytes. The client side then shuts
 * down its sending half, so the server finishes what it has promptly.
 *
 * Transport `tcp`: createTacacsServer behind a real loopback socket, a connection per input (about 150
 * inputs/s on the loaded 2-core machine: the TCP handshake and teardown dominate). Transport `memory`:
 * the same ServerConnection (framing, sessions, handlers, replies, decision log) on one end of an
 * in-memory duplex pair, with the server's configuration resolved by the same function; only the
 * listener and the kernel's sockets are left out, which the `tcp` runs and the test suite cover.
 */
export class ServerTarget {
  readonly #transport: 'tcp' | 'memory';
  #server: TacacsServer | undefined;
  #config: ServerConfig | undefined;
  #port = 0;
  #findings: Finding[] = [];

  constructor(transport: 'tcp' | 'memory' = 'tcp') {
    this.#transport = transport;
  }

  async start(): Promise<void> {
    const logger = createLogger({
      component: 'tacacs-server',
      destination: new Writable({
        write: (chunk, _enc, cb) => {
          for (const line of String(chunk).split('\n')) {
            if (!line) continue;
            const l = JSON.parse(line) as Record<string, unknown>;
            // A TacacsError from decoding is the expected refusal; anything else reaching the server's
            // catch-all (err_code 'unknown') or a handler error ('err') is an internal error.
            if (
              l['err_code'] === 'unknown' ||
              l['err'] !== undefined ||
              l['event'] === 'tacacs.server_error'
            ) {
              this.#findings.push({ kind: 'internal-error', detail: line });
            }
          }
          cb();
        },
      }),
    });
    const options: TacacsServerOptions = {
      key: KEY,
      logger,
      idleTimeoutMs: HANG_MS * 2,
      handlers: {
        authorize: (req) => {
          const v = requestView(req.avPairBytes);
          return v.service === 'shell' && req.user === 'net-viewer' && /^show( |$)/.test(req.commandLine)
            ? { status: 'PASS_ADD' }
            : { status: 'FAIL' };
        },
        account: () => undefined,
        authenticate: (req) => ({ status: req.password === 'labpass' ? 'PASS' : 'FAIL' }),
      },
    };
    if (this.#transport === 'memory') {
      this.#config = resolveServerConfig(options);
      return;
    }
    this.#server = createTacacsServer(options);
    ({ port: this.#port } = await this.#server.listen({ host: '127.0.0.1', port: 0 }));
  }

  async stop(): Promise<void> {
    await this.#server?.close();
  }

  /** Findings the server's log produced since the last call. */
  drain(): Finding[] {
    return this.#findings.splice(0);
  }

  wire(input: Buffer): Buffer {
    const mode = (input[0] ?? 0) % 4;
    if (mode === 3 || input.length < 9) return input.subarray(1);
    const fields = {
      version: input[1] as number,
      // Any byte: the server must refuse an unknown type, so the type is not limited to the known ones.
      type: input[2] as PacketTypeValue,
      seqNo: input[3] as number,
      flags: input[4] as number,
      sessionId: input.readUInt32BE(5),
    };
    const body = input.subarray(9);
    const first = encodePacket(fields, body, KEYED);
    // The flags byte as the input says, the unencrypted bit included (the server must refuse that).
    first[3] = fields.flags;
    if (mode !== 2) return first;
    const second = encodePacket({ ...fields, seqNo: (fields.seqNo + 2) & 0xff }, body, KEYED);
    return Buffer.concat([first, second]);
  }

  run(input: Buffer): Promise<Finding | undefined> {
    const bytes = this.wire(input);
    return new Promise((resolve) => {
      const s = this.#config ? this.#memoryClient(bytes, this.#config) : this.#tcpClient(bytes);
      const timer = setTimeout(() => {
        s.destroy();
        resolve({ kind: 'hang', detail: `no reply and no close within ${HANG_MS} ms` });
      }, HANG_MS);
      const done = () => {
        clearTimeout(timer);
        resolve(undefined);
      };
      s.on('data', () => {});
      s.on('error', () => {});
      s.on('close', done);
      // In memory the server's end() arrives as 'end' (there is no kernel to close both halves).
      if (this.#config) s.on('end', done);
    });
  }

  #tcpClient(bytes: Buffer): net.Socket {
    const s = net.connect({ host: '127.0.0.1', port: this.#port }, () => {
      s.write(bytes);
      s.end();
    });
    return s;
  }

  #memoryClient(bytes: Buffer, config: ServerConfig): NodeJS.ReadWriteStream & { destroy(): void } {
    const [client, server] = duplexPair();
    // The members of net.Socket the connection uses beyond a Duplex's.
    let idle: NodeJS.Timeout | undefined;
    Object.assign(server, {
      remoteAddress: '127.0.0.1',
      remotePort: 0,
      setNoDelay: () => server,
      setTimeout: (ms: number, onIdle: () => void) => {
        idle = setTimeout(onIdle, ms);
        return server;
      },
    });
    server.once('close', () => clearTimeout(idle));
    new ServerConnection(server as unknown as net.Socket, config);
    client.write(bytes);
    client.end();
    return client;
  }
}
