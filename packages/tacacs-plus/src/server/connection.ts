// One accepted connection: framing, the session state machine (sequence numbers, turns, the
// single-connection negotiation of RFC 8907 section 4.3), replies and the decision-log line.
import type net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { contextFields } from '@netward/audit-context';
import { batchedWrite } from '../batched-write.ts';
import { TacacsError } from '../errors.ts';
import { encodeAcctReply } from '../protocol/accounting.ts';
import { encodeAuthenReply } from '../protocol/authentication.ts';
import { encodeAuthorResponse } from '../protocol/authorization.ts';
import {
  AcctStatus,
  AuthenStatus,
  AuthorStatus,
  HeaderFlag,
  PacketType,
  type PacketTypeValue,
} from '../protocol/constants.ts';
import { type Frame, type FrameSink, PacketFramer } from '../protocol/framer.ts';
import type { PacketHeader } from '../protocol/header.ts';
import { encodePacket, openBody } from '../protocol/packet.ts';
import { type AuthenticationContext, type Conversation, handleAuthentication } from './authentication.ts';
import { handleAccounting, handleAuthorization } from './commands.ts';
import type { ServerConfig } from './config.ts';
import { hex, type RequestContext } from './handle.ts';

interface SessionState {
  readonly type: PacketTypeValue;
  readonly version: number;
  /** Sequence number of the client's next packet. */
  expectSeq: number;
  /** A handler is running; a client packet now would be out of turn. */
  busy: boolean;
  /** ASCII login conversation. */
  authen?: Conversation;
}

/** The ERROR reply of each packet type, for packets that cannot be processed. */
function errorBody(type: PacketTypeValue, msg: string): Buffer {
  if (type === PacketType.AUTHOR) return encodeAuthorResponse({ status: AuthorStatus.ERROR, serverMsg: msg });
  if (type === PacketType.ACCT) return encodeAcctReply({ status: AcctStatus.ERROR, serverMsg: msg });
  return encodeAuthenReply({ status: AuthenStatus.ERROR, serverMsg: msg });
}

/**
 * The socket is a net.Socket or a TLSSocket; the fuzzer hands it an in-memory duplex with the same
 * members (fuzz/targets.ts), so that a million inputs do not need a million TCP connections.
 */
export class ServerConnection implements AuthenticationContext, FrameSink {
  readonly #socket: net.Socket;
  readonly config: ServerConfig;
  readonly #framer: PacketFramer;
  readonly peer: string;
  readonly #sessions = new Map<number, SessionState>();
  /** Decided by the first packet: 'multi' when both sides want single-connection mode. */
  #mode: 'undecided' | 'multi' | 'one' = 'undecided';
  #firstSession: number | undefined;
  #closing = false;
  #peerName: string | undefined;
  #peerEnded = false;

  constructor(socket: net.Socket, config: ServerConfig) {
    this.#socket = socket;
    this.config = config;
    this.#framer = new PacketFramer({ maxBodyLength: config.maxBodyLength });
    this.peer = `${socket.remoteAddress}:${socket.remotePort}`;
    if (config.protection.kind === 'tls') {
      // The NAS as its verified certificate names it (RFC 9887 section 3.4): better evidence than an address.
      const cn = (socket as TLSSocket).getPeerCertificate()?.subject?.CN;
      if (typeof cn === 'string') this.#peerName = cn;
    }
    socket.setNoDelay(true);
    socket.setTimeout(config.idleTimeoutMs, () => this.#drop('idle timeout'));
    socket.on('data', (chunk: Buffer) => this.#framer.feed(chunk, this));
    socket.on('error', () => {});
    // The TCP listener allows half-open connections: a client that shuts down its side right after its
    // request still gets the reply, and the connection ends when no session is left.
    socket.on('end', () => {
      if (this.#framer.midPacket) this.#log('warn', 'tacacs.truncated', 'connection ended inside a packet');
      this.#peerEnded = true;
      if (this.#framer.midPacket || this.#nothingToAnswer()) this.#socket.end();
    });
  }

  get clientGone(): boolean {
    return this.#socket.destroyed || this.#socket.readableEnded;
  }

  /** FrameSink: nothing more is read once the connection is closing. */
  get stopped(): boolean {
    return this.#closing;
  }

  /** FrameSink: a bad version, type or length in a header; the stream cannot be re-synchronised. */
  badFrame(e: TacacsError): void {
    this.#drop('bad packet header', e);
  }

  /** FrameSink: one client packet, checked against its session's state. */
  frame(frame: Frame): void {
    const { header } = frame;
    if (header.seqNo % 2 === 0) {
      this.#drop('client packet with an even sequence number');
      return;
    }
    if (this.#mode === 'undecided') {
      const wants = (header.flags & HeaderFlag.SINGLE_CONNECT) !== 0;
      this.#mode = wants && this.config.singleConnection ? 'multi' : 'one';
      this.#firstSession = header.sessionId;
    } else if (this.#mode === 'one' && header.sessionId !== this.#firstSession) {
      this.#drop('second session on a connection without single-connection mode');
      return;
    }
    const state = this.#session(header);
    if (state === undefined) return;
    let body: Buffer;
    try {
      body = openBody(header, frame.raw, this.config.protection);
    } catch (e) {
      this.#refuse(header, e);
      return;
    }
    state.expectSeq = header.seqNo + 2;
    state.busy = true;
    const handle =
      header.type === PacketType.AUTHOR
        ? handleAuthorization(this, header, body)
        : header.type === PacketType.ACCT
          ? handleAccounting(this, header, body)
          : handleAuthentication(this, header, body, state);
    handle.catch((e) => this.#refuse(header, e));
  }

  /** The session this packet belongs to, a new one for sequence number 1; undefined when refused. */
  #session(header: PacketHeader): SessionState | undefined {
    const state = this.#sessions.get(header.sessionId);
    if (state !== undefined) {
      if (state.busy || header.seqNo !== state.expectSeq || header.type !== state.type) {
        this.#drop('packet out of turn in a session');
        return undefined;
      }
      return state;
    }
    if (header.seqNo !== 1) {
      this.#drop('packet for an unknown session');
      return undefined;
    }
    if (this.#sessions.size >= this.config.maxSessions) {
      this.#log('warn', 'tacacs.limit', 'too many sessions on one connection', {
        session_id: hex(header.sessionId),
      });
      this.#write(header, errorBody(header.type, 'too many sessions on this connection'));
      this.#afterSession();
      return undefined;
    }
    const created: SessionState = { type: header.type, version: header.version, expectSeq: 1, busy: false };
    this.#sessions.set(header.sessionId, created);
    return created;
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

  prompt(header: PacketHeader, status: number, msg: string, flags: number): void {
    if (header.seqNo + 2 > 255) {
      this.finish(header, encodeAuthenReply({ status: AuthenStatus.ERROR, serverMsg: 'too many rounds' }));
      return;
    }
    const state = this.#sessions.get(header.sessionId);
    if (state) state.busy = false;
    this.#write(header, encodeAuthenReply({ status, flags, serverMsg: msg }));
    if (this.#peerEnded) this.#afterSession();
  }

  abandon(header: PacketHeader): void {
    this.#sessions.delete(header.sessionId);
    this.#afterSession();
  }

  /** Last reply of a session. */
  finish(header: PacketHeader, body: Buffer): void {
    this.#sessions.delete(header.sessionId);
    this.#write(header, body);
    this.#afterSession();
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
    if ((this.#peerEnded && this.#nothingToAnswer()) || (this.#mode === 'one' && this.#sessions.size === 0)) {
      this.#closing = true;
      this.#socket.end();
    }
  }

  #write(header: PacketHeader, body: Buffer, single = this.#mode === 'multi'): void {
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
      this.config.protection,
    );
    batchedWrite(this.#socket, wire);
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
    this.config.logger[level]({ event, peer: this.peer, ...fields }, msg);
  }

  /**
   * One JSON line per decision. The audit fields parsed from rem_addr go to the top level (they passed
   * the audit-context patterns); a rem_addr that does not parse is kept, nested, under `untrusted`.
   * Everything else from the packet is nested under `tacacs`.
   */
  decisionLog(...[event, msg, remAddr, fields, audit]: Parameters<RequestContext['decisionLog']>): void {
    const top = audit ? contextFields({ ...audit }) : {};
    const line: Record<string, unknown> = {
      event,
      peer: this.peer,
      ...(this.#peerName !== undefined ? { peer_cert_cn: this.#peerName } : {}),
      ...fields,
      ...top,
    };
    if (fields['role'] === undefined) delete line['role'];
    if (audit) (line['tacacs'] as Record<string, unknown>)['rem_addr'] = remAddr;
    else if (remAddr !== '') line['untrusted'] = { rem_addr: remAddr };
    this.config.logger.info(line, msg);
  }
}
