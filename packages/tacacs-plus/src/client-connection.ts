import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { batchedWrite } from './batched-write.ts';
import { TacacsError } from './errors.ts';
import { HeaderFlag, type PacketTypeValue } from './protocol/constants.ts';
import { type Frame, type FrameSink, PacketFramer } from './protocol/framer.ts';
import { encodePacket, openBody, type Packet, type Protection } from './protocol/packet.ts';
import { clientTlsOptions, nodeTls, type TacacsClientTls } from './tls-options.ts';

/** One configured server, resolved once at construction. */
export interface ResolvedServer {
  readonly host: string;
  readonly port: number;
  readonly label: string;
  readonly protection: Protection;
  readonly tls: TacacsClientTls | undefined;
  /** Learned from the first reply on a single-connection connection (RFC 8907 section 4.3). */
  singleConnect: 'unknown' | 'yes' | 'no';
}

interface Waiter {
  readonly type: PacketTypeValue;
  readonly seqNo: number;
  resolve(p: Packet): void;
  reject(e: TacacsError): void;
}

/**
 * Session ids come from a pool refilled from the CSPRNG 1024 ids at a time: the same randomness as one
 * randomBytes(4) per session, without a call into the kernel's generator for each.
 */
const POOL_IDS = 1024;
let pool = Buffer.alloc(0);
let poolOffset = 0;

function randomSessionId(): number {
  if (poolOffset >= pool.length) {
    pool = randomBytes(POOL_IDS * 4);
    poolOffset = 0;
  }
  const id = pool.readUInt32BE(poolOffset);
  // Each id is read once; wipe it so the pool never holds an id already handed out.
  pool.fill(0, poolOffset, poolOffset + 4);
  poolOffset += 4;
  return id;
}

/**
 * Where plain TCP connections read (see the constructor), the size of a read Node makes by default.
 * Made on the first connection, not at import: a program that imports the client (and may be put in a
 * start-up snapshot) carries no 64 KiB buffer until it connects.
 */
let readBuffer: Buffer | undefined;

/** The shared read buffer, made by the first connection rather than at import. */
function sharedReadBuffer(): Buffer {
  readBuffer ??= Buffer.alloc(64 * 1024);
  return readBuffer;
}

const CLOSED_BY_CLIENT = new TacacsError('ERR_TACACS_CLOSED', 'connection closed by the client');

/** Sessions that timed out on a shared connection: a late reply for one of them is dropped quietly. */
const MAX_ABANDONED = 1024;

/**
 * A client connection: per request (one session, then destroyed by us: tac_plus-ng never closes first,
 * docs/tacacs.md), or shared (single-connection mode, many sessions told apart by session_id).
 */
export class ClientConnection implements FrameSink {
  readonly server: ResolvedServer;
  readonly shared: boolean;
  readonly #socket: net.Socket;
  readonly #framer: PacketFramer;
  readonly #waiters = new Map<number, Waiter>();
  readonly #sessions = new Set<number>();
  readonly #abandoned = new Set<number>();
  /** Made when first asked for (kept connections only): a per-request connection writes at once. */
  #ready: Promise<void> | undefined;
  #connected = false;
  #failure: TacacsError | undefined;
  /** Resolves when the first reply has told us whether the server keeps the connection, or on close. */
  #negotiated: Promise<void> | undefined;
  #settleNegotiation: (() => void) | undefined;
  #negotiationSettled = false;
  onClose: (() => void) | undefined;

  /** Sessions in flight at once on a shared connection; more wait for a slot (see take()). */
  readonly #maxSessions: number;
  #slotsUsed = 0;
  readonly #slotQueue: (() => void)[] = [];

  constructor(server: ResolvedServer, shared: boolean, maxBodyLength: number, maxSessions = 1) {
    this.server = server;
    this.shared = shared;
    this.#maxSessions = maxSessions;
    this.#framer = new PacketFramer({ maxBodyLength });
    // Plain TCP reads into one buffer all connections share (`onread`): the frames are cut, checked and
    // de-obfuscated into their own buffers before the callback returns, so nothing keeps a view of it.
    // That skips the readable stream's per-chunk work (a 64 KiB allocation, push, a 'data' event and a
    // read-ahead tick for each reply); TLS sockets have no such option and keep the 'data' event.
    const socket = server.tls
      ? nodeTls().connect(clientTlsOptions(server.tls, server.host, server.port))
      : net.connect({
          host: server.host,
          port: server.port,
          onread: {
            buffer: sharedReadBuffer(),
            callback: (n: number) => this.#onRead(n),
          },
        });
    this.#socket = socket;
    // Nagle's algorithm only holds back a write while earlier data is unacknowledged: that happens on a
    // kept connection with sessions in flight, never on a connection that carries one request at a time
    // (each packet follows the server's reply). Per-request connections skip the system call.
    if (shared) socket.setNoDelay(true);
    socket.on(server.tls ? 'secureConnect' : 'connect', () => {
      this.#connected = true;
    });
    if (server.tls) socket.on('data', (chunk: Buffer) => this.#framer.feed(chunk, this));
    socket.on('error', (err) => this.fail(this.#classify(err)));
    socket.on('close', () => {
      this.fail(this.#classify(undefined));
      this.#settle();
      this.onClose?.();
    });
  }

  /**
   * Resolves once connected (TLS: handshake done); rejects when the connection closes first. Only a
   * kept connection waits for it; a per-request one writes its packet at once and Node sends it on
   * connect, which took a promise and a turn of the event loop off every request.
   */
  ready(): Promise<void> {
    if (this.#ready === undefined) {
      this.#ready = this.#connected
        ? Promise.resolve()
        : this.#failure
          ? Promise.reject(this.#failure)
          : new Promise<void>((resolve, reject) => {
              this.#socket.once(this.server.tls ? 'secureConnect' : 'connect', resolve);
              this.#socket.once('close', () => reject(this.#failure ?? this.#classify(undefined)));
            });
      this.#ready.catch(() => {});
    }
    return this.#ready;
  }

  /** Resolves when the first reply has told us whether the server keeps the connection, or on close. */
  get negotiated(): Promise<void> {
    if (this.#negotiated === undefined) {
      this.#negotiated = this.#negotiationSettled
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            this.#settleNegotiation = resolve;
          });
    }
    return this.#negotiated;
  }

  #settle(): void {
    this.#negotiationSettled = true;
    this.#settleNegotiation?.();
  }

  /**
   * Waits for a session slot. A server limits the sessions it runs per connection (ours answers ERROR
   * past its limit), so a burst on a shared connection queues here instead, within each caller's own
   * timeout. Returns the function that gives the slot back (idempotent).
   */
  async take(): Promise<() => void> {
    if (this.#slotsUsed < this.#maxSessions || this.#failure) this.#slotsUsed++;
    else await new Promise<void>((resolve) => this.#slotQueue.push(resolve));
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const next = this.#slotQueue.shift();
      if (next) next();
      else this.#slotsUsed--;
    };
  }

  get alive(): boolean {
    return this.#failure === undefined && !this.#socket.destroyed;
  }

  get activeSessions(): number {
    return this.#sessions.size;
  }

  /** A fresh session id from the CSPRNG (RFC 8907 section 4.1: "cryptographically strong random"). */
  allocateSession(): number {
    for (;;) {
      const id = randomSessionId();
      if (!this.#sessions.has(id) && !this.#abandoned.has(id)) {
        this.#sessions.add(id);
        if (this.#sessions.size === 1) this.#socket.ref();
        return id;
      }
    }
  }

  /** Ends a session; `abandoned` when a reply may still come (timeout, abort): it will be dropped. */
  releaseSession(id: number, abandoned: boolean): void {
    const waiter = this.#waiters.get(id);
    this.#waiters.delete(id);
    if (!this.#sessions.delete(id)) return;
    if (abandoned && (waiter || this.shared)) {
      this.#abandoned.add(id);
      if (this.#abandoned.size > MAX_ABANDONED) {
        this.fail(new TacacsError('ERR_TACACS_LIMIT', 'too many unanswered sessions on one connection'));
      }
    }
    // Nothing in flight on a kept connection: do not hold the event loop open for it.
    if (this.#sessions.size === 0) {
      if (this.shared && this.server.singleConnect !== 'no' && this.alive) this.#socket.unref();
      else this.destroy();
    }
  }

  /** Sends a packet that gets no reply (an authentication ABORT, RFC 8907 section 5.3). */
  post(
    fields: { version: number; type: PacketTypeValue; seqNo: number; sessionId: number },
    body: Buffer,
  ): void {
    if (this.#failure) return;
    const flags = this.shared ? HeaderFlag.SINGLE_CONNECT : 0;
    this.#socket.write(encodePacket({ ...fields, flags }, body, this.server.protection));
  }

  /** Sends one packet of `sessionId` and waits for the server's packet with the next sequence number. */
  exchange(
    fields: { version: number; type: PacketTypeValue; seqNo: number; sessionId: number },
    body: Buffer,
  ): Promise<Packet> {
    if (this.#failure) return Promise.reject(this.#failure);
    const wire = encodePacket(
      {
        version: fields.version,
        type: fields.type,
        seqNo: fields.seqNo,
        flags: this.shared ? HeaderFlag.SINGLE_CONNECT : 0,
        sessionId: fields.sessionId,
      },
      body,
      this.server.protection,
    );
    return new Promise<Packet>((resolve, reject) => {
      this.#waiters.set(fields.sessionId, { type: fields.type, seqNo: fields.seqNo + 1, resolve, reject });
      // A per-request connection carries one packet at a time and has nothing to gather.
      if (this.shared) batchedWrite(this.#socket, wire);
      else this.#socket.write(wire);
    });
  }

  fail(err: TacacsError): void {
    if (this.#failure) {
      // Already failed or closing gracefully: a second failure ends it now.
      this.#socket.destroy();
      return;
    }
    this.#failure = err;
    const waiters = [...this.#waiters.values()];
    this.#waiters.clear();
    for (const w of waiters) w.reject(err);
    // Queued callers go on at once and meet the failure instead of waiting for a slot that never frees.
    for (const next of this.#slotQueue.splice(0)) next();
    this.#socket.destroy();
    this.#settle();
  }

  destroy(): void {
    if (this.#waiters.size > 0) {
      this.fail(new TacacsError('ERR_TACACS_CLOSED', 'connection closed by the client'));
      return;
    }
    // The usual end of a per-request connection: nobody waits, so no error (and no stack) is built.
    // Whatever is still corked (an ABORT, say) is flushed, then the socket goes as soon as our side is
    // written: the server's close is never awaited (tac_plus-ng does not close, docs/tacacs.md).
    if (this.#failure) return;
    this.#failure = CLOSED_BY_CLIENT;
    this.#settle();
    const socket = this.#socket;
    if (socket.writableCorked === 0 && socket.writableLength === 0 && this.#connected) {
      // Everything we wrote is with the kernel, and the reply has been read: close(2) sends the FIN
      // itself. Skipping shutdown(2), the wait for 'finish' and the guard timer took about a third off
      // the client's CPU per connection-per-request authorization (bench/authorize.bench.ts).
      socket.destroy();
      return;
    }
    socket.uncork();
    socket.end();
    socket.once('finish', () => socket.destroy());
    const guard = setTimeout(() => socket.destroy(), 1000);
    guard.unref();
    socket.once('close', () => clearTimeout(guard));
  }

  #onRead(length: number): boolean {
    this.#framer.feed((readBuffer as Buffer).subarray(0, length), this);
    return true;
  }

  /** FrameSink: a failed connection takes no further reply. */
  get stopped(): boolean {
    return this.#failure !== undefined;
  }

  badFrame(e: TacacsError): void {
    this.fail(e);
  }

  /** FrameSink: one reply, checked against the session waiting for it. */
  frame(frame: Frame): void {
    const { header } = frame;
    const waiter = this.#waiters.get(header.sessionId);
    if (!waiter) {
      if (this.#abandoned.delete(header.sessionId)) return;
      this.fail(
        new TacacsError('ERR_TACACS_SESSION_MISMATCH', 'reply for a session this client is not waiting for'),
      );
      return;
    }
    if (header.type !== waiter.type) {
      this.fail(
        new TacacsError('ERR_TACACS_BAD_TYPE', `reply of type ${header.type}, expected ${waiter.type}`),
      );
      return;
    }
    if (header.seqNo !== waiter.seqNo) {
      this.fail(
        new TacacsError('ERR_TACACS_BAD_SEQUENCE', `reply seq_no ${header.seqNo}, expected ${waiter.seqNo}`),
      );
      return;
    }
    let body: Buffer;
    try {
      body = openBody(header, frame.raw, this.server.protection);
    } catch (e) {
      this.fail(e as TacacsError);
      return;
    }
    if (this.shared && this.server.singleConnect === 'unknown') {
      // RFC 8907 section 4.3: the server echoes the flag in its first reply when it will keep the
      // connection for further sessions; otherwise this connection carries only the one session.
      this.server.singleConnect = (header.flags & HeaderFlag.SINGLE_CONNECT) !== 0 ? 'yes' : 'no';
      this.#settle();
    }
    this.#waiters.delete(header.sessionId);
    waiter.resolve({ header, body });
  }

  #classify(err: (Error & { code?: string }) | undefined): TacacsError {
    if (this.#failure) return this.#failure;
    const code = err?.code ?? '';
    const tlsProblem =
      this.server.tls !== undefined &&
      (!this.#connected || /^(ERR_SSL|ERR_TLS|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED)/.test(code));
    if (tlsProblem) {
      return new TacacsError(
        'ERR_TACACS_TLS',
        `TLS with ${this.server.label} failed${code ? ` (${code})` : ''}`,
        {
          cause: err,
        },
      );
    }
    return new TacacsError(
      'ERR_TACACS_CONNECTION',
      err
        ? `connection to ${this.server.label} failed (${code || err.message})`
        : `${this.server.label} closed the connection`,
      { cause: err },
    );
  }
}
