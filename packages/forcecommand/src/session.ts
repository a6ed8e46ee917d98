// Session mode (issue 16): sshd starts the validator once per channel with the fixed verb
// SESSION_VERB, and the validator then answers framed requests on stdin, each through every stage,
// authorization and audit exactly as a command of its own (runRequest), with its own request id. What a
// session saves is the process start, the config load and (local rules) the rules parse per command.
//
// Fail closed: a frame the decoder refuses (length 0 or over MAX_REQUEST_FRAME, a type other than
// REQUEST, a body that is not the request object), a stream cut inside a frame, or too many requests
// queued is recorded as ERR_FC_FRAME, answered with one stderr line, and ends the channel; requests
// not yet started are dropped, nothing more runs. A refusal that concerns the whole channel (identity,
// expired certificate, environment, config, audit, internal) ends it too after its EXIT frame.
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Grammars } from '@netward/policy/local-rules';
import {
  encodeExit,
  encodeFrame,
  FRAME_READY,
  FRAME_REQUEST,
  FRAME_STDERR,
  FRAME_STDOUT,
  FrameDecoder,
  MAX_OUTPUT_FRAME,
  MAX_REQUEST_FRAME,
  parseRequest,
  SessionProtocolError,
  type SessionRequest,
} from '@netward/session-protocol';
import type { Authorizer } from './authorize.ts';
import { clientMessage, FC_ERRORS, type ForceCommandErrorCode } from './errors.ts';
import { loadGrammars } from './grammar.ts';
import type { Identity, PartialIdentity } from './identity.ts';
import {
  admitSession,
  correlation,
  type Outcome,
  prefixOf,
  runRequest,
  type ValidatorDeps,
} from './validator.ts';

/**
 * Output bytes handed to the channel and not yet taken by it. Above this the command's pipes are not
 * read (it blocks writing, as on the channel itself in per-call mode): a client that stops reading
 * cannot make the validator hold a command's whole output (a full routing table is hundreds of MB).
 */
export const MAX_PENDING_OUTPUT = 1024 * 1024;

/** Requests received and not yet answered. The MCP server sends one at a time per channel. */
export const MAX_QUEUED_REQUESTS = 8;

/** Codes after which no further request on the channel is answered. */
const ENDS_SESSION: ReadonlySet<ForceCommandErrorCode> = new Set([
  'ERR_FC_IDENTITY',
  'ERR_FC_CERT_EXPIRED',
  'ERR_FC_ENVIRONMENT',
  'ERR_FC_CONFIG',
  'ERR_FC_AUDIT',
  'ERR_FC_INTERNAL',
]);

export interface SessionDeps extends Omit<ValidatorDeps, 'stderr' | 'request' | 'output'> {
  readonly stdin: Readable;
  /** Writes bytes to the channel (stdout); resolves once they are handed to the kernel. */
  readonly write: (bytes: Buffer) => Promise<void>;
}

/** Runs one session channel to its end and returns the status the validator exits with. */
export async function runSession(deps: SessionDeps): Promise<number> {
  return new Session(deps).run();
}

class Session {
  readonly #deps: SessionDeps;
  readonly #queue: SessionRequest[] = [];
  readonly #decoder = new FrameDecoder(MAX_REQUEST_FRAME, [FRAME_REQUEST]);
  #writes: Promise<void> = Promise.resolve();
  #wake: (() => void) | undefined;
  #ended = false;
  /** Set once the channel must end: the exit status and, when the validator decided it, the code. */
  #end: { status: number; code?: ForceCommandErrorCode } | undefined;
  #expired = false;
  #shared: Promise<Authorizer> | undefined;
  #identity: Identity | undefined;
  /** Random, per channel: every record of the channel carries it (`channel`). */
  readonly #channel = randomBytes(6).toString('hex');
  #grammars: ((file: string) => Promise<Grammars>) | undefined;
  /** Kills the running request's process group (registered by execute, as for SIGTERM). */
  readonly #stops = new Set<() => void>();
  /** A write to the channel failed: the client is gone, nothing more is written. */
  #gone = false;
  /** Bytes queued for the channel, not yet written. */
  #pending = 0;
  /**
   * Request ids seen on this channel. Every record of a request carries its id, so an id used twice
   * would join two commands in one trace: the second ends the channel as a frame error. At most one
   * certificate's lifetime of ids (60 s by default), 43 bytes each.
   */
  readonly #ids = new Set<string>();

  constructor(deps: SessionDeps) {
    this.#deps = deps;
  }

  #send(type: number, payload: Buffer | string): void {
    this.#sendBytes(encodeFrame(type, payload));
  }

  #sendBytes(bytes: Buffer): void {
    this.#pending += bytes.length;
    this.#writes = this.#writes
      .then(() => (this.#gone ? undefined : this.#deps.write(bytes)))
      .catch(() => this.#clientGone())
      .finally(() => {
        this.#pending -= bytes.length;
      });
  }

  /**
   * The channel's far end is gone (sshd closed our stdout: EPIPE). In per-call mode the command writes
   * to that pipe itself and dies of SIGPIPE; here its output goes through us, so the running request's
   * process group is killed instead and its completion recorded. Nothing queued starts.
   */
  #clientGone(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#queue.length = 0;
    // 141 = 128 + SIGPIPE, what a per-call command writing to the closed channel ends with.
    this.#end ??= { status: 141 };
    for (const stop of this.#stops) stop();
    this.#wake?.();
  }

  #sendOutput(type: number, chunk: Buffer): void {
    for (let i = 0; i < chunk.length; i += MAX_OUTPUT_FRAME) {
      this.#send(type, chunk.subarray(i, i + MAX_OUTPUT_FRAME));
    }
  }

  async run(): Promise<number> {
    const admitted = admitSession(this.#validatorDeps());
    if ('status' in admitted) return admitted.status;
    this.#identity = admitted;
    this.#send(FRAME_READY, '{"version":1}');
    const timer = this.#expiryTimer(admitted.validBefore);
    this.#listen();
    try {
      await this.#serve();
    } finally {
      clearTimeout(timer);
      this.#deps.stdin.pause();
      await (await this.#shared?.catch(() => undefined))?.close();
    }
    await this.#writes;
    return this.#end?.status ?? 0;
  }

  /** The certificate's end ends the channel: at once when idle, after the running request otherwise. */
  #expiryTimer(validBefore: number): NodeJS.Timeout {
    const clock = this.#deps.clock ?? Date.now;
    // setTimeout's longest delay is 2^31-1 ms; a certificate valid longer is re-checked per request.
    const delay = Math.min(Math.max(0, validBefore * 1000 - clock()), 2 ** 31 - 1);
    const timer = setTimeout(() => {
      this.#expired = true;
      this.#finish(FC_ERRORS.ERR_FC_CERT_EXPIRED.exit, 'ERR_FC_CERT_EXPIRED');
    }, delay);
    timer.unref();
    return timer;
  }

  #listen(): void {
    const stdin = this.#deps.stdin;
    stdin.on('data', (chunk: Buffer) => {
      if (this.#end !== undefined) return;
      try {
        for (const frame of this.#decoder.push(chunk)) {
          const request = parseRequest(frame.payload);
          if (this.#ids.has(request.id))
            throw new SessionProtocolError('ERR_SESSION_MESSAGE', 'request id used twice on this channel');
          this.#ids.add(request.id);
          this.#queue.push(request);
          if (this.#queue.length > MAX_QUEUED_REQUESTS)
            throw new SessionProtocolError('ERR_SESSION_FRAME', 'too many queued requests');
        }
      } catch (e) {
        this.#frameError(e);
      }
      this.#wake?.();
    });
    const eof = () => {
      if (this.#end === undefined && this.#decoder.pending > 0)
        this.#frameError(new SessionProtocolError('ERR_SESSION_FRAME', 'stream cut'));
      this.#ended = true;
      this.#wake?.();
    };
    stdin.once('end', eof);
    stdin.once('error', eof);
  }

  /** Requests one at a time, until stdin ends or something ends the channel. */
  async #serve(): Promise<void> {
    for (;;) {
      if (this.#end !== undefined) return;
      const next = this.#queue.shift();
      if (next !== undefined) {
        await this.#answer(next);
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
  }

  async #answer(request: SessionRequest): Promise<void> {
    const outcome: Outcome = await runRequest({
      ...this.#validatorDeps(),
      request,
      output: {
        stdout: (chunk) => this.#sendOutput(FRAME_STDOUT, chunk),
        stderr: (chunk) => this.#sendOutput(FRAME_STDERR, chunk),
        backlog: () => (this.#pending > MAX_PENDING_OUTPUT ? this.#writes : undefined),
      },
    });
    const signal = outcome.signal === undefined ? {} : { signal: outcome.signal };
    this.#sendBytes(encodeExit({ id: request.id, exit: outcome.status, ...signal }));
    if (outcome.code !== undefined && ENDS_SESSION.has(outcome.code))
      this.#finish(outcome.status, outcome.code);
    // The certificate ended while this request ran: it was admitted in time and finished; no more.
    else if (this.#expired) this.#finish(FC_ERRORS.ERR_FC_CERT_EXPIRED.exit, 'ERR_FC_CERT_EXPIRED');
  }

  #frameError(e: unknown): void {
    if (this.#end !== undefined) return;
    const reason = e instanceof SessionProtocolError ? e.message : 'frame';
    this.#queue.length = 0;
    // The channel's certificate says who; which request the bad bytes were meant to be is unknowable.
    const who: PartialIdentity = this.#identity ?? { role: this.#deps.account };
    try {
      this.#deps.audit.record(
        {
          event: 'decision',
          ...correlation(who, this.#deps.config.device),
          channel: this.#channel,
          key_id: this.#identity?.keyId,
          command: '',
          decision: 'deny',
          stage: FC_ERRORS.ERR_FC_FRAME.stage,
          code: 'ERR_FC_FRAME',
          exit_status: FC_ERRORS.ERR_FC_FRAME.exit,
          detail: { reason },
        },
        `${prefixOf(who)} DENY (session: ERR_FC_FRAME): ${reason}`,
        'warn',
      );
    } catch {
      // The channel ends with ERR_FC_FRAME either way and nothing of the frame runs.
    }
    this.#sendOutput(FRAME_STDERR, Buffer.from(clientMessage('ERR_FC_FRAME')));
    this.#finish(FC_ERRORS.ERR_FC_FRAME.exit, 'ERR_FC_FRAME');
  }

  /** Marks the channel ended; a request running goes on to its EXIT frame, nothing after it starts. */
  #finish(status: number, code: ForceCommandErrorCode): void {
    this.#end ??= { status, code };
    this.#wake?.();
  }

  #validatorDeps(): ValidatorDeps {
    const deps = this.#deps;
    const authorizer =
      deps.config.authorization.mode === 'local' ? this.#sharedAuthorizer() : deps.authorizer;
    this.#grammars ??= memo(deps.loadGrammars ?? loadGrammars);
    return {
      ...deps,
      authorizer,
      loadGrammars: this.#grammars,
      channel: this.#channel,
      stderr: (text) => this.#sendOutput(FRAME_STDERR, Buffer.from(text)),
      onStopSignal: (stop) => {
        const off = deps.onStopSignal?.(stop);
        this.#stops.add(stop);
        if (this.#gone) stop();
        return () => {
          off?.();
          this.#stops.delete(stop);
        };
      },
    };
  }

  /**
   * Local rules are parsed once per channel and kept (they are root-owned and checked when read; a
   * channel lives at most as long as its 60-second certificate). TACACS+ keeps one connection per
   * request, as per-call mode: the agent limits requests per connection and closes idle ones.
   */
  #sharedAuthorizer(): () => Promise<Authorizer> {
    return async () => {
      this.#shared ??= this.#deps.authorizer();
      const shared = await this.#shared;
      return { ...shared, close() {} };
    };
  }
}

/**
 * The grammar file is read and parsed once per channel (~150 µs per command otherwise); a failure is
 * not kept, so each request meets it again and is refused with its own record.
 */
function memo(load: (file: string) => Promise<Grammars>): (file: string) => Promise<Grammars> {
  const loaded = new Map<string, Promise<Grammars>>();
  return (file) => {
    let p = loaded.get(file);
    if (p === undefined) {
      p = load(file);
      loaded.set(file, p);
      p.catch(() => loaded.delete(file));
    }
    return p;
  };
}
