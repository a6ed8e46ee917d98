import { ClientConnection, type ResolvedServer } from './client-connection.ts';
import { TacacsError, type TacacsErrorCode } from './errors.ts';
import { decodeAcctReply, encodeAcctRequest } from './protocol/accounting.ts';
import { decodeAuthenReply, encodeAuthenContinue, encodeAuthenStart } from './protocol/authentication.ts';
import { decodeAuthorResponse, encodeAuthorRequest } from './protocol/authorization.ts';
import {
  AcctFlag,
  AcctStatus,
  type AcctStatusName,
  AuthenAction,
  AuthenContinueFlag,
  AuthenMethod,
  AuthenService,
  AuthenStatus,
  type AuthenStatusName,
  AuthenType,
  AuthorStatus,
  type AuthorStatusName,
  DEFAULT_MAX_BODY_LENGTH,
  DEFAULT_PORT,
  DEFAULT_TLS_PORT,
  nameOf,
  PacketType,
  type PacketTypeValue,
  VERSION_DEFAULT,
  VERSION_ONE,
} from './protocol/constants.ts';
import type { Packet } from './protocol/packet.ts';
import { nodeTls, type TacacsClientTls } from './tls-options.ts';

export interface TacacsServerAddress {
  readonly host: string;
  /** Default 49, or 300 with `tls` (RFC 9887 section 7). */
  readonly port?: number;
  /** Shared secret for MD5 obfuscation on plain TCP. Exactly one of `key` and `tls`. */
  readonly key?: string | Buffer;
  /** TACACS+ over TLS 1.3 (RFC 9887): no shared key, packets carry the unencrypted flag. */
  readonly tls?: TacacsClientTls;
}

export interface TacacsClientOptions {
  /** Tried in order; the next one is asked when one cannot be reached or does not answer decodably. */
  readonly servers: readonly TacacsServerAddress[];
  /** Per server attempt: connect, TLS handshake and reply(ies). Default 2000 ms. */
  readonly timeoutMs?: number;
  /** For the whole call across all servers. Default 5000 ms. */
  readonly deadlineMs?: number;
  /** Keep one connection per server and multiplex sessions on it (RFC 8907 section 4.3). Default false. */
  readonly singleConnection?: boolean;
  /** Largest reply body accepted. Default 64 KiB. */
  readonly maxBodyLength?: number;
  /**
   * Sessions in flight at once on one single-connection connection; further calls wait for a slot
   * within their timeout. Default 32, under our server's default of 64 per connection.
   */
  readonly maxSessionsPerConnection?: number;
}

export type AuthorizationStatus = AuthorStatusName | 'NO_REPLY';

export interface AuthorizationResult {
  /** True only for a reply decoded with the right key whose status is PASS_ADD or PASS_REPL. */
  readonly permitted: boolean;
  readonly status: AuthorizationStatus;
  /** Attribute-value pairs returned by the server. */
  readonly args: string[];
  readonly serverMsg: string;
  readonly data: string;
  /** host:port of the server that answered. */
  readonly server?: string;
  /** Why the result is not a permit, for the operator's log. */
  readonly reason?: string;
  /** The ERR_TACACS_* code when no decision could be obtained. */
  readonly errorCode?: TacacsErrorCode;
}

export interface AccountingResult {
  /** True only for a decoded SUCCESS reply. */
  readonly recorded: boolean;
  readonly status: AcctStatusName | 'NO_REPLY';
  readonly serverMsg: string;
  readonly data: string;
  readonly server?: string;
  readonly reason?: string;
  readonly errorCode?: TacacsErrorCode;
}

export interface AuthenticationResult {
  /** True only for a decoded PASS. */
  readonly authenticated: boolean;
  readonly status: AuthenStatusName | 'NO_REPLY';
  readonly serverMsg: string;
  readonly server?: string;
  readonly reason?: string;
  readonly errorCode?: TacacsErrorCode;
}

export interface AuthorizeRequest {
  readonly user: string;
  /** NAS port name. Default 'ssh'. */
  readonly port?: string;
  /** Remote address; the netward layout is `user/cert:<serial>/sid:<sid>/req:<id>`. Default empty. */
  readonly remAddr?: string;
  /** Default 1 (RFC 8907 section 5.1, TAC_PLUS_PRIV_LVL_USER). */
  readonly privLvl?: number;
  /** Default 'shell'. */
  readonly service?: string;
  /** First word of the command: sent as cmd=. */
  readonly cmd: string;
  /** Following words: each sent as cmd-arg=, in order. */
  readonly args?: readonly string[];
  /** Further raw `attr=value` / `attr*value` pairs, sent after the command. */
  readonly extraArgs?: readonly string[];
}

export interface AccountRequest {
  readonly type: 'start' | 'stop' | 'watchdog';
  readonly user: string;
  readonly port?: string;
  readonly remAddr?: string;
  readonly privLvl?: number;
  readonly taskId?: string;
  readonly service?: string;
  readonly cmd?: string;
  readonly args?: readonly string[];
  readonly extraArgs?: readonly string[];
}

export interface AuthenticateRequest {
  readonly type: 'ascii' | 'pap';
  readonly user: string;
  readonly password: string;
  readonly port?: string;
  readonly remAddr?: string;
  readonly privLvl?: number;
}

/**
 * The fields authorization and accounting requests share, with the RFC 8907 section 6.1 values this
 * client sends: one object literal, no spread of a defaults object on every request.
 */
function requestFields(req: AuthorizeRequest | AccountRequest, args: readonly string[]) {
  return {
    authenMethod: AuthenMethod.TACACSPLUS,
    privLvl: req.privLvl ?? 1,
    authenType: AuthenType.ASCII,
    authenService: AuthenService.LOGIN,
    user: req.user,
    port: req.port ?? 'ssh',
    remAddr: req.remAddr ?? '',
    args,
  };
}

/** An ASCII login is START plus a few CONTINUEs; a server that keeps asking is refused. */
const MAX_ASCII_ROUNDS = 6;

type Outcome<T> = { ok: true; value: T; server: string } | { ok: false; error: TacacsError };

class AttemptAborted extends Error {}

/** What one attempt has taken, for its cleanup whichever way it ends. */
interface AttemptState {
  aborted: boolean;
  posted: boolean;
  conn?: ClientConnection;
  sessionId?: number;
  giveSlot?: () => void;
}

/**
 * A TACACS+ client (RFC 8907, RFC 9887). Calls never throw for network or protocol problems: they
 * resolve with a negative result, a reason and an error code (fail closed). Bad arguments throw
 * TypeError before anything is sent.
 */
export class TacacsClient {
  readonly #servers: readonly ResolvedServer[];
  readonly #timeoutMs: number;
  readonly #deadlineMs: number;
  readonly #singleConnection: boolean;
  readonly #maxBodyLength: number;
  readonly #maxSessions: number;
  readonly #shared = new Map<ResolvedServer, ClientConnection>();
  readonly #open = new Set<ClientConnection>();
  #closed = false;

  constructor(options: TacacsClientOptions) {
    if (!options || !Array.isArray(options.servers) || options.servers.length === 0) {
      throw new TypeError('servers must be a non-empty array');
    }
    this.#servers = Object.freeze(options.servers.map(resolveServer));
    this.#timeoutMs = positiveInt(options.timeoutMs, 2000, 'timeoutMs');
    this.#deadlineMs = positiveInt(options.deadlineMs, 5000, 'deadlineMs');
    this.#maxBodyLength = positiveInt(options.maxBodyLength, DEFAULT_MAX_BODY_LENGTH, 'maxBodyLength');
    this.#maxSessions = positiveInt(options.maxSessionsPerConnection, 32, 'maxSessionsPerConnection');
    this.#singleConnection = options.singleConnection === true;
  }

  async authorize(req: AuthorizeRequest): Promise<AuthorizationResult> {
    checkRequest(req, 'cmd');
    // Built with push, not spreads: this runs on every command a device checks.
    const avPairs = [`service=${req.service ?? 'shell'}`, `cmd=${req.cmd}`];
    if (req.args) for (const a of req.args) avPairs.push(`cmd-arg=${a}`);
    if (req.extraArgs) for (const a of req.extraArgs) avPairs.push(a);
    const body = encodeOrThrow(encodeAuthorRequest, requestFields(req, avPairs));
    const outcome = await this.#run(PacketType.AUTHOR, async (s) =>
      decodeAuthorResponse((await s.send(body)).body),
    );
    if (!outcome.ok) return { ...noReply(outcome.error), args: [], data: '', permitted: false };
    const r = outcome.value;
    const status = nameOf(AuthorStatus, r.status) as AuthorStatusName;
    // The decoder made r.args for this reply alone: handed over as it is, not copied.
    const args = r.args as string[];
    if (status === 'PASS_ADD' || status === 'PASS_REPL') {
      return { permitted: true, status, args, serverMsg: r.serverMsg, data: r.data, server: outcome.server };
    }
    return {
      permitted: false,
      status,
      args,
      serverMsg: r.serverMsg,
      data: r.data,
      server: outcome.server,
      reason: `server answered ${status}`,
    };
  }

  async account(req: AccountRequest): Promise<AccountingResult> {
    checkRequest(req, undefined);
    const flags = { start: AcctFlag.START, stop: AcctFlag.STOP, watchdog: AcctFlag.WATCHDOG }[req.type];
    if (flags === undefined) throw new TypeError("type must be 'start', 'stop' or 'watchdog'");
    if (req.taskId !== undefined) checkString(req.taskId, 'taskId', true);
    const avPairs = [
      ...(req.taskId !== undefined ? [`task_id=${req.taskId}`] : []),
      `service=${req.service ?? 'shell'}`,
      ...(req.cmd !== undefined ? [`cmd=${req.cmd}`] : []),
      ...(req.args ?? []).map((a) => `cmd-arg=${a}`),
      ...(req.extraArgs ?? []),
    ];
    const body = encodeOrThrow(encodeAcctRequest, { ...requestFields(req, avPairs), flags });
    const outcome = await this.#run(PacketType.ACCT, async (s) => decodeAcctReply((await s.send(body)).body));
    if (!outcome.ok) return { ...noReply(outcome.error), data: '', recorded: false };
    const status = nameOf(AcctStatus, outcome.value.status) as AcctStatusName;
    return {
      recorded: status === 'SUCCESS',
      status,
      serverMsg: outcome.value.serverMsg,
      data: outcome.value.data,
      server: outcome.server,
      ...(status === 'SUCCESS' ? {} : { reason: `server answered ${status}` }),
    };
  }

  async authenticate(req: AuthenticateRequest): Promise<AuthenticationResult> {
    if (req === null || typeof req !== 'object') throw new TypeError('request must be an object');
    if (req.type !== 'ascii' && req.type !== 'pap') throw new TypeError("type must be 'ascii' or 'pap'");
    checkString(req.user, 'user', true);
    checkString(req.password, 'password', false);
    if (req.port !== undefined) checkString(req.port, 'port', false);
    if (req.remAddr !== undefined) checkString(req.remAddr, 'remAddr', false);
    const privLvl = checkPrivLvl(req.privLvl);
    const pap = req.type === 'pap';
    const start = encodeOrThrow(encodeAuthenStart, {
      action: AuthenAction.LOGIN,
      privLvl,
      authenType: pap ? AuthenType.PAP : AuthenType.ASCII,
      authenService: AuthenService.LOGIN,
      user: req.user,
      port: req.port ?? 'ssh',
      remAddr: req.remAddr ?? '',
      // RFC 8907 section 5.4.2.2: PAP carries the password in the START data field.
      data: pap ? req.password : '',
    });
    encodeOrThrow(encodeAuthenContinue, { userMsg: req.password });
    // Section 5.4.2.2: PAP, CHAP and MS-CHAP use minor version 1; ASCII uses 0.
    const version = pap ? VERSION_ONE : VERSION_DEFAULT;
    const outcome = await this.#run(
      PacketType.AUTHEN,
      async (s) => {
        let reply = decodeAuthenReply((await s.send(start)).body);
        for (let round = 0; !pap && round < MAX_ASCII_ROUNDS; round++) {
          if (reply.status === AuthenStatus.GETUSER) {
            reply = decodeAuthenReply((await s.send(encodeAuthenContinue({ userMsg: req.user }))).body);
          } else if (reply.status === AuthenStatus.GETPASS) {
            reply = decodeAuthenReply((await s.send(encodeAuthenContinue({ userMsg: req.password }))).body);
          } else if (reply.status === AuthenStatus.GETDATA) {
            // A prompt this client cannot answer on the user's behalf: abort the session (section 5.3).
            s.post(encodeAuthenContinue({ flags: AuthenContinueFlag.ABORT }));
            throw new TacacsError('ERR_TACACS_UNSUPPORTED', 'server asked for data the client cannot supply');
          } else break;
        }
        const status = nameOf(AuthenStatus, reply.status) as AuthenStatusName;
        if (status === 'GETUSER' || status === 'GETPASS' || status === 'GETDATA') {
          throw new TacacsError(
            'ERR_TACACS_UNSUPPORTED',
            `authentication did not end after ${MAX_ASCII_ROUNDS} rounds`,
          );
        }
        return reply;
      },
      version,
    );
    if (!outcome.ok) return { ...noReply(outcome.error), authenticated: false };
    const status = nameOf(AuthenStatus, outcome.value.status) as AuthenStatusName;
    return {
      authenticated: status === 'PASS',
      status,
      serverMsg: outcome.value.serverMsg,
      server: outcome.server,
      ...(status === 'PASS' ? {} : { reason: `server answered ${status}` }),
    };
  }

  /** Closes every connection; pending calls resolve with ERR_TACACS_CLOSED. */
  async close(): Promise<void> {
    this.#closed = true;
    const closed = new TacacsError('ERR_TACACS_CLOSED', 'client closed');
    for (const c of [...this.#open]) c.fail(closed);
    this.#open.clear();
    this.#shared.clear();
  }

  /** Tries each server in order until one gives a decodable answer, within the overall deadline. */
  async #run<T>(
    type: PacketTypeValue,
    talk: (s: SessionIo) => Promise<T>,
    version = VERSION_DEFAULT,
  ): Promise<Outcome<T>> {
    if (this.#closed) return { ok: false, error: new TacacsError('ERR_TACACS_CLOSED', 'client is closed') };
    const deadline = Date.now() + this.#deadlineMs;
    let last: TacacsError | undefined;
    for (const server of this.#servers) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      try {
        const value = await this.#attempt(server, Math.min(this.#timeoutMs, left), type, version, talk);
        return { ok: true, value, server: server.label };
      } catch (e) {
        last = toTacacsError(e);
        if (this.#closed) break;
      }
    }
    if (this.#closed)
      return { ok: false, error: new TacacsError('ERR_TACACS_CLOSED', 'client closed', { cause: last }) };
    if (Date.now() >= deadline) {
      return {
        ok: false,
        error: new TacacsError('ERR_TACACS_DEADLINE', `no answer within ${this.#deadlineMs} ms`, {
          cause: last,
        }),
      };
    }
    return { ok: false, error: last ?? new TacacsError('ERR_TACACS_CONNECTION', 'no server answered') };
  }

  /**
   * One server: a session within `timeoutMs`. One promise settled by whichever comes first, the
   * session or the timer (a Promise.race with a timeout promise cost two more promises and their
   * reactions on every request).
   */
  #attempt<T>(
    server: ResolvedServer,
    timeoutMs: number,
    type: PacketTypeValue,
    version: number,
    talk: (s: SessionIo) => Promise<T>,
  ): Promise<T> {
    const state: AttemptState = { aborted: false, posted: false };
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (error: unknown, value?: T) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error !== undefined) reject(this.#attemptFailed(server, state, error));
        else resolve(value as T);
        state.giveSlot?.();
        if (state.conn && state.sessionId !== undefined)
          state.conn.releaseSession(state.sessionId, state.aborted || state.posted);
        else if (state.conn && !state.conn.shared) state.conn.destroy();
      };
      const timer = setTimeout(() => {
        state.aborted = true;
        settle(
          new TacacsError('ERR_TACACS_TIMEOUT', `${server.label} did not answer within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.#session(server, type, version, talk, state).then(
        (value) => settle(undefined, value),
        (e) => settle(e ?? new Error('session failed')),
      );
    });
  }

  /** The session's conversation; a kept connection that went stale is replaced once (see below). */
  async #session<T>(
    server: ResolvedServer,
    type: PacketTypeValue,
    version: number,
    talk: (s: SessionIo) => Promise<T>,
    state: AttemptState,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let conn: ClientConnection;
      let fresh = true;
      if (this.#singleConnection && server.singleConnect !== 'no')
        ({ conn, fresh } = await this.#acquireShared(server));
      else conn = this.#perRequest(server);
      state.conn = conn;
      let io: Session | undefined;
      try {
        if (conn.shared) {
          await conn.ready();
          if (state.aborted) throw new AttemptAborted();
          const give = await conn.take();
          state.giveSlot = give;
          if (state.aborted) throw new AttemptAborted();
        }
        const sessionId = conn.allocateSession();
        state.sessionId = sessionId;
        io = new Session(conn, state, version, type, sessionId);
        return await talk(io);
      } catch (e) {
        // A kept connection the server closed while it sat idle (tac_plus-ng and ours both time idle
        // connections out) fails the next session before any reply: that one session is retried once
        // on a fresh connection, inside the same timeout. Nothing was answered, so nothing is repeated
        // that the server acted on, except possibly an accounting record.
        const stale =
          !fresh &&
          attempt === 0 &&
          io?.replied !== true &&
          !state.aborted &&
          e instanceof TacacsError &&
          e.code === 'ERR_TACACS_CONNECTION';
        if (!stale) {
          // After a timeout the attempt's cleanup has already run: give back what was taken since.
          if (state.aborted) state.giveSlot?.();
          throw e;
        }
        state.giveSlot?.();
        delete state.giveSlot;
        if (state.sessionId !== undefined) conn.releaseSession(state.sessionId, false);
        delete state.sessionId;
      }
    }
  }

  /** What a failed attempt means for its connection, and the error the caller sees. */
  #attemptFailed(server: ResolvedServer, state: AttemptState, caught: unknown): unknown {
    let e = caught;
    if (e instanceof TacacsError && e.code === 'ERR_TACACS_MALFORMED_PACKET') {
      // A body that does not decode is what a reply obfuscated with another key looks like.
      e = new TacacsError(
        'ERR_TACACS_MALFORMED_PACKET',
        `reply from ${server.label} does not decode (wrong shared key or corrupt reply): ${e.message}`,
        { cause: e },
      );
    }
    // A protocol error makes a kept connection unusable for every session on it; a timeout or a
    // conversation this client cannot finish concerns only its own session.
    const own =
      e instanceof TacacsError && (e.code === 'ERR_TACACS_TIMEOUT' || e.code === 'ERR_TACACS_UNSUPPORTED');
    // The others on it see the actual reason. A kept connection whose first reply never came cannot
    // stay either: later requests would wait for its negotiation forever.
    const unnegotiated = state.conn?.shared === true && singleConnectOf(server) === 'unknown';
    if (state.conn && (!own || unnegotiated)) state.conn.fail(toTacacsError(e));
    return e;
  }

  async #acquireShared(server: ResolvedServer): Promise<{ conn: ClientConnection; fresh: boolean }> {
    const existing = this.#shared.get(server);
    if (existing?.alive) {
      if (server.singleConnect === 'unknown') await existing.negotiated;
      if (existing.alive && singleConnectOf(server) === 'yes') return { conn: existing, fresh: false };
    }
    if (singleConnectOf(server) === 'no') return { conn: this.#perRequest(server), fresh: true };
    const conn = this.#track(new ClientConnection(server, true, this.#maxBodyLength, this.#maxSessions));
    this.#shared.set(server, conn);
    conn.onClose = () => {
      this.#open.delete(conn);
      if (this.#shared.get(server) === conn) this.#shared.delete(server);
    };
    return { conn, fresh: true };
  }

  /** Synchronous: a per-request connection is made and written to in the same turn. */
  #perRequest(server: ResolvedServer): ClientConnection {
    const conn = this.#track(new ClientConnection(server, false, this.#maxBodyLength));
    conn.onClose = () => this.#open.delete(conn);
    return conn;
  }

  #track(conn: ClientConnection): ClientConnection {
    this.#open.add(conn);
    return conn;
  }
}

interface SessionIo {
  /** Sends the next client packet of the session and resolves with the server's reply. */
  send(body: Buffer): Promise<Packet>;
  /** Sends a packet that gets no reply (an abort). */
  post(body: Buffer): void;
}

/** One session's packets: a class, so a request makes one object instead of an object and two closures. */
class Session implements SessionIo {
  readonly #conn: ClientConnection;
  readonly #state: AttemptState;
  readonly #fields: { version: number; type: PacketTypeValue; seqNo: number; sessionId: number };
  /** A reply came: the connection was alive, so a failure after it is not a stale kept connection. */
  replied = false;

  constructor(
    conn: ClientConnection,
    state: AttemptState,
    version: number,
    type: PacketTypeValue,
    sessionId: number,
  ) {
    this.#conn = conn;
    this.#state = state;
    this.#fields = { version, type, seqNo: 1, sessionId };
  }

  async send(body: Buffer): Promise<Packet> {
    if (this.#state.aborted) throw new AttemptAborted();
    const p = this.#conn.exchange(this.#fields, body);
    this.#fields.seqNo += 2;
    const reply = await p;
    this.replied = true;
    return reply;
  }

  post(body: Buffer): void {
    this.#state.posted = true;
    this.#conn.post(this.#fields, body);
  }
}

function resolveServer(s: TacacsServerAddress, i: number): ResolvedServer {
  if (s === null || typeof s !== 'object') throw new TypeError(`servers[${i}] must be an object`);
  if (typeof s.host !== 'string' || s.host.length === 0)
    throw new TypeError(`servers[${i}].host must be a non-empty string`);
  const port = s.port ?? (s.tls ? DEFAULT_TLS_PORT : DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new TypeError(`servers[${i}].port must be 1-65535`);
  if ((s.key === undefined) === (s.tls === undefined)) {
    // RFC 9887 section 4: no MD5 obfuscation inside TLS, so a key alongside TLS would be unused.
    throw new TypeError(`servers[${i}] needs exactly one of key (plain TCP) and tls`);
  }
  const label = `${s.host.includes(':') ? `[${s.host}]` : s.host}:${port}`;
  if (s.tls) {
    for (const f of ['ca', 'cert', 'key'] as const) {
      if (typeof s.tls[f] !== 'string' && !Buffer.isBuffer(s.tls[f]))
        throw new TypeError(`servers[${i}].tls.${f} is required`);
    }
    try {
      // Load the material once now, so that a bad PEM is the caller's TypeError and not a failure on
      // every call.
      nodeTls().createSecureContext({ ca: s.tls.ca, cert: s.tls.cert, key: s.tls.key });
    } catch (cause) {
      throw new TypeError(`servers[${i}].tls: the CA, certificate or key cannot be loaded`, { cause });
    }
    return { host: s.host, port, label, protection: { kind: 'tls' }, tls: s.tls, singleConnect: 'unknown' };
  }
  const key = typeof s.key === 'string' ? Buffer.from(s.key, 'utf8') : s.key;
  if (!Buffer.isBuffer(key) || key.length === 0)
    throw new TypeError(`servers[${i}].key must be a non-empty string or Buffer`);
  return {
    host: s.host,
    port,
    label,
    protection: { kind: 'key', key: Buffer.from(key) },
    tls: undefined,
    singleConnect: 'unknown',
  };
}

/** Read through a function: the field changes while an await is pending, which narrowing cannot see. */
function singleConnectOf(server: ResolvedServer): ResolvedServer['singleConnect'] {
  return server.singleConnect;
}

function positiveInt(v: number | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v <= 0) throw new TypeError(`${name} must be a positive integer`);
  return v;
}

/** With the u flag a paired surrogate is one code point, so only a lone one matches. */
const LONE_SURROGATE = /\p{Cs}/u;

function checkString(v: unknown, name: string, nonEmpty: boolean): asserts v is string {
  if (typeof v !== 'string' || (nonEmpty && v.length === 0) || LONE_SURROGATE.test(v)) {
    throw new TypeError(`${name} must be a ${nonEmpty ? 'non-empty ' : ''}well-formed string`);
  }
}

function checkPrivLvl(v: number | undefined): number {
  if (v === undefined) return 1;
  if (!Number.isInteger(v) || v < 0 || v > 15) throw new TypeError('privLvl must be an integer 0-15');
  return v;
}

function checkRequest(req: AuthorizeRequest | AccountRequest, required: 'cmd' | undefined): void {
  if (req === null || typeof req !== 'object') throw new TypeError('request must be an object');
  checkString(req.user, 'user', true);
  if (required === 'cmd' || req.cmd !== undefined) checkString(req.cmd, 'cmd', true);
  for (const f of ['port', 'remAddr', 'service'] as const)
    if (req[f] !== undefined) checkString(req[f], f, false);
  checkPrivLvl(req.privLvl);
  if (req.args !== undefined) {
    if (!Array.isArray(req.args)) throw new TypeError('args must be an array of strings');
    for (const a of req.args) checkString(a, 'args[]', false);
  }
  if (req.extraArgs !== undefined) {
    if (!Array.isArray(req.extraArgs)) throw new TypeError('extraArgs must be an array of strings');
    for (const a of req.extraArgs) {
      checkString(a, 'extraArgs[]', true);
      // RFC 8907 section 6.1: an argument is attribute, then "=" (mandatory) or "*" (optional), then value.
      if (!/^[^=*]+[=*]/.test(a)) throw new TypeError('extraArgs[] must be "attr=value" or "attr*value"');
    }
  }
}

/** Field lengths are arguments: a user over 255 bytes is the caller's mistake, reported as TypeError. */
function encodeOrThrow<I>(encode: (input: I) => Buffer, input: I): Buffer {
  try {
    return encode(input);
  } catch (e) {
    if (e instanceof TacacsError) throw new TypeError(e.message, { cause: e });
    throw e;
  }
}

function toTacacsError(e: unknown): TacacsError {
  if (e instanceof TacacsError) return e;
  if (e instanceof AttemptAborted) return new TacacsError('ERR_TACACS_TIMEOUT', 'attempt timed out');
  return new TacacsError('ERR_TACACS_MALFORMED_PACKET', 'unexpected failure while talking to the server', {
    cause: e,
  });
}

function noReply(error: TacacsError) {
  return {
    status: 'NO_REPLY' as const,
    serverMsg: '',
    reason: error.message,
    errorCode: error.code,
  };
}
