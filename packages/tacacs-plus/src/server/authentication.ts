// Authentication sessions: PAP in one START, ASCII as a conversation (RFC 8907 section 5.4.2), both
// ending in one login decision that goes through the shared template.
import { isValidField } from '@netward/audit-context';
import { TacacsError } from '../errors.ts';
import {
  type AuthenStart,
  decodeAuthenContinue,
  decodeAuthenStart,
  encodeAuthenReply,
} from '../protocol/authentication.ts';
import {
  AuthenAction,
  AuthenContinueFlag,
  AuthenReplyFlag,
  AuthenStatus,
  AuthenType,
} from '../protocol/constants.ts';
import type { PacketHeader } from '../protocol/header.ts';
import { answer, auditOf, hex, type RequestContext, type RequestType } from './handle.ts';
import type { AuthenticationDecision, ServerAuthenticationRequest } from './types.ts';

/** An ASCII login in progress: what START carried and what the server asked for last. */
export interface Conversation {
  readonly start: AuthenStart;
  user: string;
  awaiting: 'user' | 'password';
}

export interface AuthenticationContext extends RequestContext {
  /** Sends a GETUSER or GETPASS reply; the session stays open for the client's CONTINUE. */
  prompt(header: PacketHeader, status: number, msg: string, flags: number): void;
  /** The client ended the session (section 5.3): no reply is sent. */
  abandon(header: PacketHeader): void;
}

/** Async so that a packet that does not decode is refused as the other types' are (a rejection). */
export async function handleAuthentication(
  ctx: AuthenticationContext,
  header: PacketHeader,
  body: Buffer,
  session: { authen?: Conversation },
): Promise<void> {
  if (header.seqNo === 1) return onStart(ctx, header, decodeAuthenStart(body), session);
  const cont = decodeAuthenContinue(body);
  const conv = session.authen;
  if (!conv) throw new TacacsError('ERR_TACACS_BAD_SEQUENCE', 'CONTINUE without a conversation');
  if ((cont.flags & AuthenContinueFlag.ABORT) !== 0) return ctx.abandon(header);
  if (conv.awaiting === 'user') {
    conv.user = cont.userMsg;
    conv.awaiting = 'password';
    if (conv.user === '') return ctx.prompt(header, AuthenStatus.GETUSER, 'Username: ', 0);
    return ctx.prompt(header, AuthenStatus.GETPASS, 'Password: ', AuthenReplyFlag.NOECHO);
  }
  return login(ctx, header, conv.start, 'ascii', conv.user, cont.userMsg);
}

function onStart(
  ctx: AuthenticationContext,
  header: PacketHeader,
  start: AuthenStart,
  session: { authen?: Conversation },
): Promise<void> | void {
  const refuse = (serverMsg: string) =>
    ctx.finish(header, encodeAuthenReply({ status: AuthenStatus.ERROR, serverMsg }));
  if (start.action !== AuthenAction.LOGIN) return refuse('only login is supported');
  if (start.authenType === AuthenType.PAP) {
    return login(ctx, header, start, 'pap', start.user, start.data.toString('utf8'));
  }
  if (start.authenType !== AuthenType.ASCII) return refuse('authentication type not supported');
  // RFC 8907 section 5.4.2.1: ASCII login asks for what START did not carry.
  if (start.user === '') {
    session.authen = { start, user: '', awaiting: 'user' };
    return ctx.prompt(header, AuthenStatus.GETUSER, 'Username: ', 0);
  }
  session.authen = { start, user: start.user, awaiting: 'password' };
  return ctx.prompt(header, AuthenStatus.GETPASS, 'Password: ', AuthenReplyFlag.NOECHO);
}

interface LoginReadings {
  readonly start: AuthenStart;
}

const AUTHENTICATION: RequestType<ServerAuthenticationRequest, AuthenticationDecision, LoginReadings> = {
  event: 'tacacs.authentication',
  msg: 'authentication',
  reportsLate: false,
  handler: (config) => config.handlers.authenticate,
  absent: { status: 'FAIL' },
  failed: { status: 'ERROR', serverMsg: 'authentication failed' },
  check(d) {
    if (d === null || typeof d !== 'object' || !['PASS', 'FAIL', 'ERROR'].includes(d.status)) {
      throw new TypeError('authenticate handler returned an invalid decision');
    }
    return d;
  },
  encode: (d) => encodeAuthenReply({ status: AuthenStatus[d.status], serverMsg: d.serverMsg ?? '' }),
  fields({ request, start }, d, header) {
    return {
      decision: d.status === 'PASS' ? 'permit' : 'deny',
      status: d.status,
      authen_type: request.type,
      session_id: hex(header.sessionId),
      // The password is never logged.
      tacacs: { user: request.user, port: start.port, priv_lvl: start.privLvl },
      role: isValidField('role', request.user) ? request.user : undefined,
    };
  },
};

function login(
  ctx: RequestContext,
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
    peer: ctx.peer,
    ...(audit ? { audit } : {}),
  };
  return answer(ctx, header, AUTHENTICATION, { request, remAddr: start.remAddr, audit, start }, started);
}
