import { AuthenAction, AuthenStatus, AuthenType, nameOf } from './constants.ts';
import { bodyCodec, known, len8, len16, u8, u8Default } from './layout.ts';
import type { FieldValue } from './writer.ts';

/**
 * RFC 8907 section 5.1, authentication START (client to server, seq_no 1):
 *
 * +----------------+----------------+----------------+----------------+
 * |    action      |    priv_lvl    |  authen_type   | authen_service |
 * +----------------+----------------+----------------+----------------+
 * |    user_len    |    port_len    |  rem_addr_len  |    data_len    |
 * +----------------+----------------+----------------+----------------+
 * |    user ...    port ...    rem_addr ...    data ...
 */
/**
 * Who asks, on which port, from where, at which privilege: the fields START shares with the
 * authorization and accounting requests (sections 6.1 and 7.1). `T` is string when decoded, and string
 * or bytes when encoded.
 */
export interface RequesterFields<T> {
  readonly privLvl: number;
  readonly authenType: number;
  readonly authenService: number;
  readonly user: T;
  readonly port: T;
  readonly remAddr: T;
}

export interface AuthenStart extends RequesterFields<string> {
  readonly action: number;
  /** PAP: the password; CHAP: id + challenge + response; ASCII: empty. */
  readonly data: Buffer;
}

export interface AuthenStartInput extends RequesterFields<FieldValue> {
  action: number;
  data?: FieldValue;
}

const AUTHEN_START = bodyCodec<AuthenStart, AuthenStartInput>('authentication START', [
  u8('action', 'action', known(AuthenAction, 'authentication action')),
  u8('privLvl', 'priv_lvl'),
  u8('authenType', 'authen_type', (v) =>
    v === AuthenType.NOT_SET || nameOf(AuthenType, v) === undefined
      ? `unknown authen_type 0x${v.toString(16)}`
      : undefined,
  ),
  u8('authenService', 'authen_service'),
  len8('user', 'user'),
  len8('port', 'port'),
  len8('remAddr', 'rem_addr'),
  len8('data', 'data', 'bytes'),
]);

export const encodeAuthenStart = AUTHEN_START.encode;
export const decodeAuthenStart = AUTHEN_START.decode;

/**
 * RFC 8907 section 5.2, authentication REPLY (server to client):
 *
 * +----------------+----------------+----------------+----------------+
 * |     status     |      flags     |        server_msg_len           |
 * +----------------+----------------+----------------+----------------+
 * |           data_len              |        server_msg ...
 * +----------------+----------------+----------------+----------------+
 * |           data ...
 */
export interface AuthenReply {
  readonly status: number;
  readonly flags: number;
  readonly serverMsg: string;
  readonly data: Buffer;
}

export interface AuthenReplyInput {
  status: number;
  flags?: number;
  serverMsg?: FieldValue;
  data?: FieldValue;
}

const AUTHEN_REPLY = bodyCodec<AuthenReply, AuthenReplyInput>('authentication REPLY', [
  u8('status', 'status', known(AuthenStatus, 'authentication status')),
  u8Default('flags', 'flags', 0),
  len16('serverMsg', 'server_msg'),
  len16('data', 'data', 'bytes'),
]);

export const encodeAuthenReply = AUTHEN_REPLY.encode;
export const decodeAuthenReply = AUTHEN_REPLY.decode;

/**
 * RFC 8907 section 5.3, authentication CONTINUE (client to server):
 *
 * +----------------+----------------+----------------+----------------+
 * |          user_msg len           |            data_len             |
 * +----------------+----------------+----------------+----------------+
 * |     flags      |  user_msg ...
 * +----------------+----------------+----------------+----------------+
 * |    data ...
 */
export interface AuthenContinue {
  readonly flags: number;
  readonly userMsg: string;
  readonly data: Buffer;
}

export interface AuthenContinueInput {
  flags?: number;
  userMsg?: FieldValue;
  data?: FieldValue;
}

const AUTHEN_CONTINUE = bodyCodec<AuthenContinue, AuthenContinueInput>('authentication CONTINUE', [
  len16('userMsg', 'user_msg'),
  len16('data', 'data', 'bytes'),
  u8Default('flags', 'flags', 0),
]);

export const encodeAuthenContinue = AUTHEN_CONTINUE.encode;
export const decodeAuthenContinue = AUTHEN_CONTINUE.decode;
