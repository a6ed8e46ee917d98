import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import {
  contextFields,
  createLogger,
  isValidField,
  type Logger,
  parseRemAddr,
  type RemAddrFields,
} from '@netward/audit-context';
import { type RequestView, requestView, shellCommand } from './av-pairs.ts';
import { TacacsError } from './errors.ts';
import { decodeAcctRequest, encodeAcctReply } from './protocol/accounting.ts';
import {
  type AuthenStart,
  decodeAuthenContinue,
  decodeAuthenStart,
  encodeAuthenReply,
} from './protocol/authentication.ts';
import { decodeAuthorRequest, encodeAuthorResponse } from './protocol/authorization.ts';
import {
  AcctFlag,
  AcctStatus,
  AuthenAction,
  AuthenContinueFlag,
  AuthenReplyFlag,
  AuthenStatus,
  AuthenType,
  AuthorStatus,
  DEFAULT_MAX_BODY_LENGTH,
  DEFAULT_PORT,
  DEFAULT_TLS_PORT,
  HeaderFlag,
  PacketType,
  type PacketTypeValue,
} from './protocol/constants.ts';
import { type Frame, PacketFramer } from './protocol/framer.ts';
import type { PacketHeader } from './protocol/header.ts';
import { encodePacket, openBody, type Protection } from './protocol/packet.ts';
import { nodeTls, serverTlsOptions, type TacacsTlsFiles } from './tls-options.ts';

/** What every handler is told about the request's origin. */
export interface ServerRequestBase {
  readonly user: string;
  readonly port: string;
  readonly remAddr: string;
  readonly privLvl: number;
  readonly sessionId: number;
  /** address:port of the client. */
  readonly peer: string;
  /** The audit context carried in rem_addr, when rem_addr has the netward layout. */
  readonly audit?: RemAddrFields;
}

export interface ServerAuthorizationRequest extends ServerRequestBase {
  readonly authenMethod: number;
  readonly authenType: number;
  readonly authenService: number;
  /** The last `service=` value, as tac_plus-ng takes it (see `requestView`). */
  readonly service?: string;
  /** The last `protocol=` value. */
  readonly protocol?: string;
  /** The command line rules must match, as bytes: `cmd` and `cmd-arg` values in packet order. */
  readonly commandBytes: Buffer;
  /** The same command line as text (U+FFFD for bytes that are not UTF-8): for messages and logs. */
  readonly commandLine: string;
  /** A command authorization (the last `cmd` has a value) rather than a shell start. */
  readonly isCommand: boolean;
  /** The first `cmd=` value, for display; decide on `commandBytes`. */
  readonly cmd?: string;
  /** The `cmd-arg=` values in order, for display; decide on `commandBytes`. */
  readonly args: string[];
  /** Every argument as text (U+FFFD for bytes that are not UTF-8). */
  readonly avPairs: string[];
  /** Every argument as the bytes received. */
  readonly avPairBytes: Buffer[];
}

export interface AuthorizationDecision {
  readonly status: 'PASS_ADD' | 'PASS_REPL' | 'FAIL' | 'ERROR';
  readonly args?: readonly string[];
  readonly serverMsg?: string;
  readonly data?: string;
}

export interface ServerAccountingRequest extends ServerRequestBase {
  /** 'update' is WATCHDOG with START (RFC 8907 section 7.2). */
  readonly type: 'start' | 'stop' | 'watchdog' | 'update';
  readonly flags: number;
  /** As in ServerAuthorizationRequest. */
  readonly service?: string;
  readonly commandBytes: Buffer;
  readonly commandLine: string;
  readonly cmd?: string;
  readonly args: string[];
  readonly avPairs: string[];
  readonly avPairBytes: Buffer[];
  readonly taskId?: string;
}

export interface AccountingDecision {
  readonly status: 'SUCCESS' | 'ERROR';
  readonly serverMsg?: string;
  readonly data?: string;
}

export interface ServerAuthenticationRequest extends ServerRequestBase {
  readonly type: 'ascii' | 'pap';
  /** Never logged by this server; handlers must not log it either. */
  readonly password: string;
}

export interface AuthenticationDecision {
  readonly status: 'PASS' | 'FAIL' | 'ERROR';
  readonly serverMsg?: string;
}

type MaybePromise<T> = T | Promise<T>;

export interface TacacsServerHandlers {
  /** Default when absent: FAIL. */
  authorize?(req: ServerAuthorizationRequest): MaybePromise<AuthorizationDecision>;
  /** Default when absent, or when it returns nothing: SUCCESS (the record is in the decision log). */
  account?(req: ServerAccountingRequest): MaybePromise<AccountingDecision | undefined>;
  /** Default when absent: FAIL. */
  authenticate?(req: ServerAuthenticationRequest): MaybePromise<AuthenticationDecision>;
}

export interface TacacsServerLimits {
  /** Open connections at once; more are refused by the kernel backlog. Default 1024. */
  readonly maxConnections?: number;
  /** Sessions in progress on one connection (single-connection mode); more get ERROR. Default 64. */
  readonly maxSessionsPerConnection?: number;
  /** Largest body accepted; a larger announced length closes the connection. Default 64 KiB. */
  readonly maxBodyLength?: number;
  /** A handler slower than this answers ERROR. Default 5000 ms. */
  readonly handlerTimeoutMs?: number;
}

export interface TacacsServerOptions {
  /** Shared key for MD5 obfuscation on plain TCP. Exactly one of `key` and `tls`. */
  readonly key?: string | Buffer;
  /** TACACS+ over TLS 1.3 (RFC 9887): client certificates required, unencrypted flag inside TLS. */
  readonly tls?: TacacsTlsFiles;
  readonly handlers: TacacsServerHandlers;
  /** Decision log. Default: createLogger({ component: 'tacacs-server' }) to stdout. */
  readonly logger?: Logger;
  readonly limits?: TacacsServerLimits;
  /** A connection silent for this long is closed. Default 30000 ms. */
  readonly idleTimeoutMs?: number;
  /** Honour the client's single-connection flag (RFC 8907 section 4.3). Default true. */
  readonly singleConnection?: boolean;
}

export interface TacacsServer {
  /** Default host 127.0.0.1; default port 49, or 300 with TLS. Port 0 picks a free port. */
  listen(options?: { host?: string; port?: number }): Promise<{ host: string; port: number }>;
  close(): Promise<void>;
  /** Connections open now. */
  readonly connections: number;
}

interface Config {
  readonly protection: Protection;
  readonly handlers: TacacsServerHandlers;
  readonly logger: Logger;
  readonly maxSessions: number;
  readonly maxBodyLength: number;
  readonly handlerTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly singleConnection: boolean;
}

export function createTacacsServer(options: TacacsServerOptions): TacacsServer {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  if ((options.key === undefined) === (options.tls === undefined)) {
    throw new TypeError('give exactly one of key (plain TCP) and tls (RFC 9887: no MD5 inside TLS)');
  }
  if (options.handlers === null || typeof options.handlers !== 'object')
    throw new TypeError('handlers must be an object');
  let protection: Protection;
  if (options.key !== undefined) {
    const key = typeof options.key === 'string' ? Buffer.from(options.key, 'utf8') : options.key;
    if (!Buffer.isBuffer(key) || key.length === 0)
      throw new TypeError('key must be a non-empty string or Buffer');
    protection = { kind: 'key', key: Buffer.from(key) };
  } else {
    protection = { kind: 'tls' };
  }
  const limits = options.limits ?? {};
  const config: Config = Object.freeze({
    protection,
    handlers: options.handlers,
    logger: options.logger ?? createLogger({ component: 'tacacs-server' }),
    maxSessions: positive(limits.maxSessionsPerConnection, 64, 'limits.maxSessionsPerConnection'),
    maxBodyLength: positive(limits.maxBodyLength, DEFAULT_MAX_BODY_LENGTH, 'limits.maxBodyLength'),
    handlerTimeoutMs: positive(limits.handlerTimeoutMs, 5000, 'limits.handlerTimeoutMs'),
    idleTimeoutMs: positive(options.idleTimeoutMs, 30_000, 'idleTimeoutMs'),
    singleConnection: options.singleConnection !== false,
  });
  const maxConnections = positive(limits.maxConnections, 1024, 'limits.maxConnections');

  const sockets = new Set<net.Socket>();
  const onSocket = (socket: net.Socket) => {
    new ServerConnection(socket, config);
  };
  if (options.tls) {
    try {
      nodeTls().createSecureContext({ ca: options.tls.ca, cert: options.tls.cert, key: options.tls.key });
    } catch (cause) {
      throw new TypeError('tls: the CA, certificate or key cannot be loaded', { cause });
    }
  }
  const server = options.tls
    ? nodeTls().createServer(
        {
          ...serverTlsOptions(options.tls),
          handshakeTimeout: Math.min(config.idleTimeoutMs, 10_000),
        },
        onSocket,
      )
    : net.createServer({ allowHalfOpen: true }, onSocket);
  server.maxConnections = maxConnections;
  // Every TCP connection, TLS handshakes in progress included, so that close() can end them all.
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  if (options.tls) {
    server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
      config.logger.warn(
        {
          event: 'tacacs.tls_refused',
          peer: `${socket.remoteAddress}:${socket.remotePort}`,
          err_code: err.code,
        },
        'TLS handshake refused',
      );
    });
  }
  server.on('error', (err) => config.logger.error({ event: 'tacacs.server_error', err }, 'server error'));

  return {
    listen(opts = {}) {
      const host = opts.host ?? '127.0.0.1';
      const port = opts.port ?? (options.tls ? DEFAULT_TLS_PORT : DEFAULT_PORT);
      return new Promise((resolve, reject) => {
        const onError = (e: Error) => reject(e);
        server.once('error', onError);
        server.listen({ host, port }, () => {
          server.off('error', onError);
          const a = server.address() as net.AddressInfo;
          config.logger.info(
            { event: 'tacacs.listening', host: a.address, port: a.port, tls: !!options.tls },
            'listening',
          );
          resolve({ host: a.address, port: a.port });
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        if (!server.listening) {
          resolve();
          return;
        }
        server.close(() => resolve());
      });
    },
    get connections() {
      return sockets.size;
    },
  };
}

function positive(v: number | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v <= 0) throw new TypeError(`${name} must be a positive integer`);
  return v;
}

interface SessionState {
  readonly type: PacketTypeValue;
  readonly version: number;
  /** Sequence number of the client's next packet. */
  expectSeq: number;
  /** A handler is running; a client packet now would be out of turn. */
  busy: boolean;
  /** ASCII login conversation. */
  authen?: { start: AuthenStart; user: string; awaiting: 'user' | 'password' };
}

/** The ERROR reply of each packet type, for packets that cannot be processed. */
function errorBody(type: PacketTypeValue, msg: string): Buffer {
  if (type === PacketType.AUTHOR) return encodeAuthorResponse({ status: AuthorStatus.ERROR, serverMsg: msg });
  if (type === PacketType.ACCT) return encodeAcctReply({ status: AcctStatus.ERROR, serverMsg: msg });
  return encodeAuthenReply({ status: AuthenStatus.ERROR, serverMsg: msg });
}

class ServerConnection {
  readonly #socket: net.Socket;
  readonly #config: Config;
  readonly #framer: PacketFramer;
  readonly #peer: string;
  readonly #sessions = new Map<number, SessionState>();
  /** Decided by the first packet: 'multi' when both sides want single-connection mode. */
  #mode: 'undecided' | 'multi' | 'one' = 'undecided';
  #firstSession: number | undefined;
  #closing = false;
  #corked = false;
  #peerName: string | undefined;
  #peerEnded = false;

  constructor(socket: net.Socket, config: Config) {
    this.#socket = socket;
    this.#config = config;
    this.#framer = new PacketFramer({ maxBodyLength: config.maxBodyLength });
    this.#peer = `${socket.remoteAddress}:${socket.remotePort}`;
    if (config.protection.kind === 'tls') {
      // The NAS as its verified certificate names it (RFC 9887 section 3.4): better evidence than an address.
      const cn = (socket as TLSSocket).getPeerCertificate()?.subject?.CN;
      if (typeof cn === 'string') this.#peerName = cn;
    }
    socket.setNoDelay(true);
    socket.setTimeout(config.idleTimeoutMs, () => this.#drop('idle timeout'));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => {});
    // The TCP listener allows half-open connections: a client that shuts down its side right after its
    // request still gets the reply, and the connection ends when no session is left.
    socket.on('end', () => {
      if (this.#framer.midPacket) this.#log('warn', 'tacacs.truncated', 'connection ended inside a packet');
      this.#peerEnded = true;
      if (this.#framer.midPacket || this.#nothingToAnswer()) this.#socket.end();
    });
  }

  #onData(chunk: Buffer): void {
    if (this.#closing) return;
    let frames: Frame[];
    try {
      frames = this.#framer.push(chunk);
    } catch (e) {
      // Bad version, type or length in a header: the stream cannot be re-synchronised.
      this.#drop('bad packet header', e);
      return;
    }
    for (const f of frames) {
      if (this.#closing) return;
      this.#onFrame(f);
    }
  }

  #onFrame(frame: Frame): void {
    const { header } = frame;
    if (header.seqNo % 2 === 0) {
      this.#drop('client packet with an even sequence number');
      return;
    }
    if (this.#mode === 'undecided') {
      const wants = (header.flags & HeaderFlag.SINGLE_CONNECT) !== 0;
      this.#mode = wants && this.#config.singleConnection ? 'multi' : 'one';
      this.#firstSession = header.sessionId;
    } else if (this.#mode === 'one' && header.sessionId !== this.#firstSession) {
      this.#drop('second session on a connection without single-connection mode');
      return;
    }
    let state = this.#sessions.get(header.sessionId);
    if (state === undefined) {
      if (header.seqNo !== 1) {
        this.#drop('packet for an unknown session');
        return;
      }
      state = { type: header.type, version: header.version, expectSeq: 1, busy: false };
      if (this.#sessions.size >= this.#config.maxSessions) {
        this.#log('warn', 'tacacs.limit', 'too many sessions on one connection', {
          session_id: hex(header.sessionId),
        });
        this.#reply(header, errorBody(header.type, 'too many sessions on this connection'), true);
        return;
      }
      this.#sessions.set(header.sessionId, state);
    } else if (state.busy || header.seqNo !== state.expectSeq || header.type !== state.type) {
      this.#drop('packet out of turn in a session');
      return;
    }
    let body: Buffer;
    try {
      body = openBody(header, frame.raw, this.#config.protection);
    } catch (e) {
      this.#refuse(header, e);
      return;
    }
    state.expectSeq = header.seqNo + 2;
    state.busy = true;
    const handle =
      header.type === PacketType.AUTHOR
        ? this.#authorize(header, body)
        : header.type === PacketType.ACCT
          ? this.#account(header, body)
          : this.#authenticate(header, body, state);
    handle.catch((e) => this.#refuse(header, e));
  }

  /** A body that does not decode (a wrong key looks exactly like this): answer ERROR, then close, as
   *  tac_plus-ng does. The reply is obfuscated with our key; a client with another key cannot read it. */
  #refuse(header: PacketHeader, e: unknown): void {
    this.#log('warn', 'tacacs.bad_packet', 'undecodable packet', {
      session_id: hex(header.sessionId),
      err_code: e instanceof TacacsError ? e.code : 'unknown',
    });
    if (this.#socket.writable && header.seqNo < 255) {
      this.#write(header, errorBody(header.type, 'Illegal packet'), false);
    }
    this.#closing = true;
    this.#socket.end();
  }

  async #authorize(header: PacketHeader, body: Buffer): Promise<void> {
    const started = process.hrtime.bigint();
    const req = decodeAuthorRequest(body);
    const shell = shellCommand(req.args);
    const view = requestView(req.argBytes);
    const audit = auditOf(req.remAddr);
    const request: ServerAuthorizationRequest = {
      user: req.user,
      port: req.port,
      remAddr: req.remAddr,
      privLvl: req.privLvl,
      authenMethod: req.authenMethod,
      authenType: req.authenType,
      authenService: req.authenService,
      ...(view.service !== undefined ? { service: view.service } : {}),
      ...(view.protocol !== undefined ? { protocol: view.protocol } : {}),
      commandBytes: view.commandBytes,
      commandLine: view.commandLine,
      isCommand: view.isCommand,
      ...(shell.cmd !== undefined ? { cmd: shell.cmd } : {}),
      args: shell.cmdArgs,
      avPairs: [...req.args],
      avPairBytes: [...req.argBytes],
      sessionId: header.sessionId,
      peer: this.#peer,
      ...(audit ? { audit } : {}),
    };
    let decision: AuthorizationDecision;
    let failure: unknown;
    const handler = this.#config.handlers.authorize;
    // Refused before any handler sees it, whatever the handler would say (see requestView).
    if (view.refusal !== undefined) decision = { status: 'FAIL', serverMsg: refusalMessage(view) };
    else if (!handler) decision = { status: 'FAIL', serverMsg: 'authorization not configured' };
    else {
      try {
        decision = checkAuthorization(await this.#withTimeout(() => handler(request)));
      } catch (e) {
        failure = e;
        decision = { status: 'ERROR', serverMsg: 'authorization failed' };
      }
    }
    const reply = encodeAuthorResponse({
      status: AuthorStatus[decision.status],
      args: decision.args ?? [],
      serverMsg: decision.serverMsg ?? '',
      data: decision.data ?? '',
    });
    this.#decisionLog(
      'tacacs.authorization',
      'authorization',
      req.remAddr,
      {
        decision: decision.status === 'PASS_ADD' || decision.status === 'PASS_REPL' ? 'permit' : 'deny',
        status: decision.status,
        session_id: hex(header.sessionId),
        tacacs: {
          user: req.user,
          port: req.port,
          priv_lvl: req.privLvl,
          service: view.service,
          command: view.commandLine,
          cmd: shell.cmd,
          args: shell.cmdArgs,
          ...(view.refusal !== undefined ? { refused: view.refusal, refused_arg: view.refusedIndex } : {}),
          // The rest of the arguments only when there are any: the line is serialised (and scrubbed) for
          // every request, and service/cmd/cmd-arg are already above.
          ...(shell.others.length > 0 ? { other_av_pairs: shell.others } : {}),
          ...(decision.args && decision.args.length > 0 ? { reply_args: decision.args } : {}),
        },
        role: isValidField('role', req.user) ? req.user : undefined,
        duration_ms: elapsed(started),
        // The client closed its side before the answer: it gave up on its timeout and failed closed,
        // so this decision is not the one the device acted on (a stalled server, resumed, otherwise
        // logged "permit" for requests the device had denied).
        ...(this.#socket.destroyed || this.#socket.readableEnded ? { late: true } : {}),
        ...(failure !== undefined ? { err: failure } : {}),
      },
      audit,
    );
    this.#finish(header, reply);
  }

  async #account(header: PacketHeader, body: Buffer): Promise<void> {
    const started = process.hrtime.bigint();
    const req = decodeAcctRequest(body);
    const shell = shellCommand(req.args);
    const view = requestView(req.argBytes);
    const audit = auditOf(req.remAddr);
    const type =
      req.flags === AcctFlag.START
        ? 'start'
        : req.flags === AcctFlag.STOP
          ? 'stop'
          : req.flags === AcctFlag.WATCHDOG
            ? 'watchdog'
            : 'update';
    const request: ServerAccountingRequest = {
      type,
      flags: req.flags,
      user: req.user,
      port: req.port,
      remAddr: req.remAddr,
      privLvl: req.privLvl,
      ...(view.service !== undefined ? { service: view.service } : {}),
      commandBytes: view.commandBytes,
      commandLine: view.commandLine,
      ...(shell.cmd !== undefined ? { cmd: shell.cmd } : {}),
      ...(shell.taskId !== undefined ? { taskId: shell.taskId } : {}),
      args: shell.cmdArgs,
      avPairs: [...req.args],
      avPairBytes: [...req.argBytes],
      sessionId: header.sessionId,
      peer: this.#peer,
      ...(audit ? { audit } : {}),
    };
    let decision: AccountingDecision = { status: 'SUCCESS' };
    let failure: unknown;
    const handler = this.#config.handlers.account;
    // A record whose arguments carry NUL or a malformed pair is not accepted (ERROR: accounting has no
    // FAIL); it still gets its decision-log line below, so nothing is lost silently.
    if (view.refusal !== undefined) decision = { status: 'ERROR', serverMsg: refusalMessage(view) };
    else if (handler) {
      try {
        const d = await this.#withTimeout(() => handler(request));
        if (d !== undefined) decision = checkAccounting(d);
      } catch (e) {
        failure = e;
        decision = { status: 'ERROR', serverMsg: 'accounting failed' };
      }
    }
    const reply = encodeAcctReply({
      status: AcctStatus[decision.status],
      serverMsg: decision.serverMsg ?? '',
      data: decision.data ?? '',
    });
    this.#decisionLog(
      'tacacs.accounting',
      'accounting',
      req.remAddr,
      {
        acct_type: type,
        status: decision.status,
        session_id: hex(header.sessionId),
        tacacs: {
          user: req.user,
          port: req.port,
          priv_lvl: req.privLvl,
          service: view.service,
          command: view.commandLine,
          cmd: shell.cmd,
          args: shell.cmdArgs,
          task_id: shell.taskId,
          ...(view.refusal !== undefined ? { refused: view.refusal, refused_arg: view.refusedIndex } : {}),
          ...(shell.others.length > 0 ? { other_av_pairs: shell.others } : {}),
        },
        role: isValidField('role', req.user) ? req.user : undefined,
        duration_ms: elapsed(started),
        ...(failure !== undefined ? { err: failure } : {}),
      },
      audit,
    );
    this.#finish(header, reply);
  }

  async #authenticate(header: PacketHeader, body: Buffer, state: SessionState): Promise<void> {
    if (header.seqNo === 1) {
      const start = decodeAuthenStart(body);
      if (start.action !== AuthenAction.LOGIN) {
        return this.#finish(
          header,
          encodeAuthenReply({ status: AuthenStatus.ERROR, serverMsg: 'only login is supported' }),
        );
      }
      if (start.authenType === AuthenType.PAP) {
        return this.#login(header, start, 'pap', start.user, start.data.toString('utf8'));
      }
      if (start.authenType !== AuthenType.ASCII) {
        return this.#finish(
          header,
          encodeAuthenReply({ status: AuthenStatus.ERROR, serverMsg: 'authentication type not supported' }),
        );
      }
      // RFC 8907 section 5.4.2.1: ASCII login asks for what START did not carry.
      if (start.user === '') {
        state.authen = { start, user: '', awaiting: 'user' };
        this.#prompt(header, state, AuthenStatus.GETUSER, 'Username: ', 0);
        return;
      }
      state.authen = { start, user: start.user, awaiting: 'password' };
      this.#prompt(header, state, AuthenStatus.GETPASS, 'Password: ', AuthenReplyFlag.NOECHO);
      return;
    }
    const cont = decodeAuthenContinue(body);
    const conv = state.authen;
    if (!conv) throw new TacacsError('ERR_TACACS_BAD_SEQUENCE', 'CONTINUE without a conversation');
    if ((cont.flags & AuthenContinueFlag.ABORT) !== 0) {
      // Section 5.3: the client ends the session; no reply is sent.
      this.#sessions.delete(header.sessionId);
      this.#afterSession();
      return;
    }
    if (conv.awaiting === 'user') {
      conv.user = cont.userMsg;
      conv.awaiting = 'password';
      if (conv.user === '') return this.#prompt(header, state, AuthenStatus.GETUSER, 'Username: ', 0);
      this.#prompt(header, state, AuthenStatus.GETPASS, 'Password: ', AuthenReplyFlag.NOECHO);
      return;
    }
    return this.#login(header, conv.start, 'ascii', conv.user, cont.userMsg);
  }

  #prompt(header: PacketHeader, state: SessionState, status: number, msg: string, flags: number): void {
    if (header.seqNo + 2 > 255) {
      this.#finish(header, encodeAuthenReply({ status: AuthenStatus.ERROR, serverMsg: 'too many rounds' }));
      return;
    }
    state.busy = false;
    this.#write(header, encodeAuthenReply({ status, flags, serverMsg: msg }), this.#mode === 'multi');
    if (this.#peerEnded) this.#afterSession();
  }

  async #login(
    header: PacketHeader,
    start: AuthenStart,
    type: 'ascii' | 'pap',
    user: string,
    password: string,
  ): Promise<void> {
    const started = process.hrtime.bigint();
    const audit = auditOf(start.remAddr);
    const request: ServerAuthenticationRequest = {
      type,
      user,
      password,
      port: start.port,
      remAddr: start.remAddr,
      privLvl: start.privLvl,
      sessionId: header.sessionId,
      peer: this.#peer,
      ...(audit ? { audit } : {}),
    };
    let decision: AuthenticationDecision = { status: 'FAIL' };
    let failure: unknown;
    const handler = this.#config.handlers.authenticate;
    if (handler) {
      try {
        decision = checkAuthentication(await this.#withTimeout(() => handler(request)));
      } catch (e) {
        failure = e;
        decision = { status: 'ERROR', serverMsg: 'authentication failed' };
      }
    }
    this.#decisionLog(
      'tacacs.authentication',
      'authentication',
      start.remAddr,
      {
        decision: decision.status === 'PASS' ? 'permit' : 'deny',
        status: decision.status,
        authen_type: type,
        session_id: hex(header.sessionId),
        tacacs: { user, port: start.port, priv_lvl: start.privLvl },
        role: isValidField('role', user) ? user : undefined,
        duration_ms: elapsed(started),
        ...(failure !== undefined ? { err: failure } : {}),
      },
      audit,
    );
    this.#finish(
      header,
      encodeAuthenReply({ status: AuthenStatus[decision.status], serverMsg: decision.serverMsg ?? '' }),
    );
  }

  async #withTimeout<T>(fn: () => MaybePromise<T>): Promise<T> {
    const result = fn();
    // A synchronous handler (a rule lookup) needs no timer; only a pending promise can hang.
    if (!(result instanceof Promise)) return result;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        result,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new TacacsError(
                  'ERR_TACACS_TIMEOUT',
                  `handler took over ${this.#config.handlerTimeoutMs} ms`,
                ),
              ),
            this.#config.handlerTimeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Last reply of a session. */
  #finish(header: PacketHeader, body: Buffer): void {
    this.#sessions.delete(header.sessionId);
    this.#write(header, body, this.#mode === 'multi');
    this.#afterSession();
  }

  #reply(header: PacketHeader, body: Buffer, endsSession: boolean): void {
    this.#write(header, body, this.#mode === 'multi');
    if (endsSession) this.#afterSession();
  }

  /**
   * No session has a handler running: after the client shut down its sending side, the ones left wait
   * for a CONTINUE that cannot come (an ASCII login asked for a password), so the connection can end.
   * Found by the fuzzer: such a connection stayed open until the idle timeout.
   */
  #nothingToAnswer(): boolean {
    for (const s of this.#sessions.values()) if (s.busy) return false;
    return true;
  }

  /** Without single-connection mode a connection carries one session (RFC 8907 section 4.3). */
  #afterSession(): void {
    if (this.#peerEnded && this.#nothingToAnswer()) {
      this.#closing = true;
      this.#socket.end();
      return;
    }
    if (this.#mode === 'one' && this.#sessions.size === 0) {
      this.#closing = true;
      this.#socket.end();
    }
  }

  #write(header: PacketHeader, body: Buffer, single: boolean): void {
    if (this.#socket.destroyed || !this.#socket.writable) return;
    const wire = encodePacket(
      {
        version: header.version,
        type: header.type,
        seqNo: header.seqNo + 1,
        flags: single ? HeaderFlag.SINGLE_CONNECT : 0,
        sessionId: header.sessionId,
      },
      body,
      this.#config.protection,
    );
    // Replies produced in the same turn of the event loop leave in one writev: with many sessions on a
    // connection this halved the syscalls per reply in the benchmark (bench/authorize.bench.ts).
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        this.#socket.uncork();
      });
    }
    this.#socket.write(wire);
  }

  #drop(why: string, cause?: unknown): void {
    if (this.#closing && this.#socket.destroyed) return;
    this.#log('warn', 'tacacs.connection_dropped', why, {
      ...(cause instanceof TacacsError ? { err_code: cause.code } : {}),
    });
    this.#closing = true;
    this.#socket.destroy();
  }

  #log(level: 'info' | 'warn', event: string, msg: string, fields: Record<string, unknown> = {}): void {
    this.#config.logger[level]({ event, peer: this.#peer, ...fields }, msg);
  }

  /**
   * One JSON line per decision. The audit fields parsed from rem_addr go to the top level (they passed
   * the audit-context patterns); a rem_addr that does not parse is kept, nested, under `untrusted`.
   * Everything else from the packet is nested under `tacacs`.
   */
  #decisionLog(
    event: string,
    msg: string,
    remAddr: string,
    fields: Record<string, unknown>,
    audit: RemAddrFields | undefined,
  ): void {
    const top = audit ? contextFields({ ...audit }) : {};
    const line: Record<string, unknown> = {
      event,
      peer: this.#peer,
      ...(this.#peerName !== undefined ? { peer_cert_cn: this.#peerName } : {}),
      ...fields,
      ...top,
    };
    if (fields['role'] === undefined) delete line['role'];
    if (audit) (line['tacacs'] as Record<string, unknown>)['rem_addr'] = remAddr;
    else if (remAddr !== '') line['untrusted'] = { rem_addr: remAddr };
    this.#config.logger.info(line, msg);
  }
}

function refusalMessage(view: RequestView): string {
  return view.refusal === 'nul'
    ? `argument ${view.refusedIndex} contains NUL`
    : `argument ${view.refusedIndex} is not attribute=value or attribute*value`;
}

function auditOf(remAddr: string): RemAddrFields | undefined {
  if (remAddr === '') return undefined;
  try {
    return parseRemAddr(remAddr);
  } catch {
    return undefined;
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function elapsed(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function checkAuthorization(d: AuthorizationDecision): AuthorizationDecision {
  if (
    d === null ||
    typeof d !== 'object' ||
    !['PASS_ADD', 'PASS_REPL', 'FAIL', 'ERROR'].includes(d.status) ||
    (d.args !== undefined && !isStringArray(d.args)) ||
    (d.serverMsg !== undefined && typeof d.serverMsg !== 'string') ||
    (d.data !== undefined && typeof d.data !== 'string')
  ) {
    throw new TypeError('authorize handler returned an invalid decision');
  }
  // Encode now so that an over-long argument becomes ERROR rather than a half-written reply.
  encodeAuthorResponse({
    status: AuthorStatus[d.status],
    args: d.args ?? [],
    serverMsg: d.serverMsg ?? '',
    data: d.data ?? '',
  });
  return d;
}

function checkAccounting(d: AccountingDecision): AccountingDecision {
  if (d === null || typeof d !== 'object' || !['SUCCESS', 'ERROR'].includes(d.status)) {
    throw new TypeError('account handler returned an invalid decision');
  }
  return d;
}

function checkAuthentication(d: AuthenticationDecision): AuthenticationDecision {
  if (d === null || typeof d !== 'object' || !['PASS', 'FAIL', 'ERROR'].includes(d.status)) {
    throw new TypeError('authenticate handler returned an invalid decision');
  }
  return d;
}
