// The resident validator: one long-lived process per (device, account), started as the account, that
// answers one request per Unix-socket connection with exactly the per-call pipeline (runRequest). The
// ForceCommand shim (shim.ts) connects to it instead of starting node for every command; node's own
// start (~45 ms of the ~65 ms a per-process validator adds) is then paid once per account.
//
// Trust: the socket's directory is `<account>:<account's group> 0700` (made by the installer as root),
// so only processes of the account can connect, and they could as well start the per-process validator
// with any environment: the CALL frame is trusted exactly as that environment is, and everything in it
// is checked exactly as it would be there (certificate, claims, hostile names, stages 1-3).
//
// Fail closed: a connection that does not carry exactly one CALL frame (malformed, oversized, cut, slow)
// gets ERR_FC_CALL_FRAME and runs nothing; one over limits.maxResidentRequests gets ERR_FC_BUSY; a client
// that goes away stops its command (as a per-call command dies of SIGPIPE) and the completion record
// says `client_gone`.
import { chmodSync, lstatSync, statSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import {
  encodeExit,
  encodeFrame,
  FRAME_CALL,
  FRAME_STDERR,
  FRAME_STDOUT,
  FrameDecoder,
  MAX_CALL_FRAME,
  MAX_OUTPUT_FRAME,
  parseCall,
  SessionProtocolError,
} from '@netward/session-protocol';
import type { AuditSink } from './audit.ts';
import type { Authorizer } from './authorize.ts';
import type { ForceCommandConfig } from './config.ts';
import { ForceCommandError } from './errors.ts';
import type { SpawnFunction } from './execute.ts';
import { MAX_PENDING_OUTPUT } from './session.ts';
import { type Outcome, refuseRequest, runRequest, type ValidatorDeps } from './validator.ts';

/** How long a connection may take to deliver its CALL frame (the shim writes it at once, ~10 µs). */
export const CALL_FRAME_TIMEOUT_MS = 5000;

export interface ResidentOptions {
  readonly config: ForceCommandConfig;
  /** The account this process runs as (os.userInfo().username): the role. */
  readonly account: string;
  readonly home?: string;
  /** The Unix socket path; its directory must be this uid's own, mode 0700. */
  readonly socket: string;
  readonly spawn: SpawnFunction;
  /** One sink per request: its records are on disk, and syslog given its chance, before EXIT is sent. */
  readonly audit: () => AuditSink;
  readonly authorizer: () => Promise<Authorizer>;
  readonly frameTimeoutMs?: number;
}

export interface RunningResident {
  /** Requests running now. */
  readonly running: number;
  /** Stops accepting, waits for running requests (each bounded by the run-time limit), closes. */
  close(): Promise<void>;
  /**
   * Stops every running command at once, as if its client had gone (their completion records say
   * `client_gone`), and resolves once their requests have ended: what the process does before it
   * exits on an error it cannot recover from, so that no command outlives it unrecorded.
   */
  abort(): Promise<void>;
}

const ms = (v: number) => Math.round(v * 10) / 10;

/**
 * The socket's directory is what keeps other accounts out (a Unix socket's own mode is not checked by
 * every kernel): it must belong to this uid and be closed to group and others, or nothing starts.
 */
function prepareSocket(path: string): void {
  const dir = dirname(path);
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(dir);
  } catch (e) {
    throw new ForceCommandError('ERR_FC_CONFIG', `${dir}: cannot stat`, { cause: e });
  }
  if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0)
    throw new ForceCommandError('ERR_FC_CONFIG', `${dir}: must be a directory of this account, mode 0700`);
  // A socket left by a process that died is removed; anything else at the path is not ours to delete.
  try {
    if (!lstatSync(path).isSocket()) throw new ForceCommandError('ERR_FC_CONFIG', `${path}: not a socket`);
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** Listens on `o.socket` (mode 0600); resolves once it accepts connections. */
export async function startResident(o: ResidentOptions): Promise<RunningResident> {
  prepareSocket(o.socket);
  const calls = new Set<Promise<void>>();
  const open = new Set<Call>();
  let running = 0;
  const server: Server = createServer((conn) => {
    const handle = new Call(conn, o, {
      admit: () => {
        if (running >= o.config.limits.maxResidentRequests) return false;
        running++;
        return true;
      },
      release: () => {
        running--;
      },
    });
    open.add(handle);
    const call = handle.run();
    calls.add(call);
    void call.finally(() => {
      calls.delete(call);
      open.delete(handle);
    });
  });
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.socket, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(umask);
  }
  chmodSync(o.socket, 0o600);
  return {
    get running() {
      return running;
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...calls]);
    },
    async abort() {
      server.close();
      for (const handle of open) handle.abort();
      await Promise.allSettled([...calls]);
    },
  };
}

interface Slots {
  /** Takes a slot if one is free. */
  admit(): boolean;
  release(): void;
}

/** One connection: one CALL frame in, the request's output, its EXIT frame out. */
class Call {
  readonly #conn: Socket;
  readonly #o: ResidentOptions;
  readonly #slots: Slots;
  readonly #arrived = performance.now();
  readonly #stops = new Set<() => void>();
  #gone = false;
  #done = false;

  constructor(conn: Socket, o: ResidentOptions, slots: Slots) {
    this.#conn = conn;
    this.#o = o;
    this.#slots = slots;
    const gone = () => this.#clientGone();
    conn.on('error', gone);
    conn.once('end', gone);
    conn.once('close', gone);
  }

  /** The resident process is going down: the command is stopped and the connection dropped. */
  abort(): void {
    this.#clientGone();
    this.#conn.destroy();
  }

  /** The client is gone before its EXIT frame: its command is stopped, as a per-call one dies of SIGPIPE. */
  #clientGone(): void {
    if (this.#done || this.#gone) return;
    this.#gone = true;
    for (const stop of this.#stops) stop();
  }

  async run(): Promise<void> {
    const frame = await this.#receive();
    if (frame === undefined) {
      // Closed before a byte: a readiness probe, not a request. Nothing to record.
      this.#conn.destroy();
      return;
    }
    const audit = this.#o.audit();
    let outcome: Outcome;
    try {
      outcome = await this.#answer(frame, audit);
    } finally {
      await audit.close();
    }
    this.#done = true;
    const signal = outcome.signal === undefined ? {} : { signal: outcome.signal };
    if (this.#gone) this.#conn.destroy();
    else this.#conn.end(encodeExit({ id: '', exit: outcome.status, ...signal }));
  }

  async #answer(frame: Record<string, string> | Error, audit: AuditSink): Promise<Outcome> {
    if (frame instanceof Error)
      return refuseRequest(this.#deps({}, audit), 'ERR_FC_CALL_FRAME', { reason: frame.message });
    if (!this.#slots.admit()) {
      const limit = this.#o.config.limits.maxResidentRequests;
      return refuseRequest(this.#deps(frame, audit), 'ERR_FC_BUSY', { limit });
    }
    try {
      return await runRequest(this.#deps(frame, audit));
    } finally {
      this.#slots.release();
    }
  }

  /** The one CALL frame's environment; an Error for anything else; undefined for a silent close. */
  #receive(): Promise<Record<string, string> | Error | undefined> {
    const conn = this.#conn;
    const decoder = new FrameDecoder(MAX_CALL_FRAME, [FRAME_CALL]);
    let seen = 0;
    return new Promise((resolve) => {
      const settle = (v: Record<string, string> | Error | undefined) => {
        clearTimeout(timer);
        conn.off('data', onData);
        conn.off('close', onClose);
        // Bytes after the frame are not read as anything; reading on only notices the client leaving.
        conn.on('data', () => {});
        resolve(v);
      };
      const timer = setTimeout(
        () => settle(new SessionProtocolError('ERR_SESSION_FRAME', 'no frame in time')),
        this.#o.frameTimeoutMs ?? CALL_FRAME_TIMEOUT_MS,
      );
      const onData = (chunk: Buffer) => {
        seen += chunk.length;
        try {
          const frames = decoder.push(chunk);
          const first = frames[0];
          if (first === undefined) return;
          // One request per connection: a second frame in the same bytes is not a CALL we can answer.
          if (frames.length > 1 || decoder.pending > 0)
            throw new SessionProtocolError('ERR_SESSION_FRAME', 'more than one frame');
          settle(parseCall(first.payload));
        } catch (e) {
          settle(e instanceof Error ? e : new Error('frame'));
        }
      };
      const onClose = () =>
        settle(seen === 0 ? undefined : new SessionProtocolError('ERR_SESSION_FRAME', 'stream cut'));
      conn.on('data', onData);
      conn.once('close', onClose);
    });
  }

  #send(type: number, chunk: Buffer): void {
    if (this.#gone) return;
    for (let i = 0; i < chunk.length; i += MAX_OUTPUT_FRAME) {
      this.#conn.write(encodeFrame(type, chunk.subarray(i, i + MAX_OUTPUT_FRAME)));
    }
  }

  /** The validator's deps for this request: its environment is the frame's, never this process's. */
  #deps(env: Readonly<Record<string, string>>, audit: AuditSink): ValidatorDeps {
    const o = this.#o;
    return {
      config: o.config,
      account: o.account,
      ...(o.home === undefined ? {} : { home: o.home }),
      env,
      authorizer: o.authorizer,
      audit,
      spawn: o.spawn,
      servedBy: 'resident',
      // What `process` (node's start) is for a per-call validator: the time before the stages began.
      startup: { frame: ms(performance.now() - this.#arrived) },
      stderr: (text) => this.#send(FRAME_STDERR, Buffer.from(text)),
      output: {
        stdout: (chunk) => this.#send(FRAME_STDOUT, chunk),
        stderr: (chunk) => this.#send(FRAME_STDERR, chunk),
        backlog: () => this.#backlog(),
      },
      clientGone: () => this.#gone,
      onStopSignal: (stop) => {
        this.#stops.add(stop);
        if (this.#gone) stop();
        return () => this.#stops.delete(stop);
      },
    };
  }

  /** The client reads slower than the command writes: the command's pipes wait (session.ts). */
  #backlog(): Promise<void> | undefined {
    if (this.#conn.writableLength <= MAX_PENDING_OUTPUT || this.#gone) return undefined;
    return new Promise((resolve) => {
      const done = () => {
        this.#conn.off('drain', done);
        this.#conn.off('close', done);
        resolve();
      };
      this.#conn.once('drain', done);
      this.#conn.once('close', done);
    });
  }
}
