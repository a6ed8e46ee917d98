import { TacacsError } from '../errors.ts';
import { AuthenAction, AuthenStatus, AuthenType, nameOf } from './constants.ts';
import { BodyReader } from './reader.ts';
import { BodyWriter, type FieldValue, fieldBytes, len8, len16 } from './writer.ts';

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
export interface AuthenStart {
  readonly action: number;
  readonly privLvl: number;
  readonly authenType: number;
  readonly authenService: number;
  readonly user: string;
  readonly port: string;
  readonly remAddr: string;
  /** PAP: the password; CHAP: id + challenge + response; ASCII: empty. */
  readonly data: Buffer;
}

export function encodeAuthenStart(s: {
  action: number;
  privLvl: number;
  authenType: number;
  authenService: number;
  user: FieldValue;
  port: FieldValue;
  remAddr: FieldValue;
  data?: FieldValue;
}): Buffer {
  const user = fieldBytes(s.user);
  const port = fieldBytes(s.port);
  const remAddr = fieldBytes(s.remAddr);
  const data = fieldBytes(s.data ?? Buffer.alloc(0));
  return new BodyWriter()
    .u8(s.action, 'action')
    .u8(s.privLvl, 'priv_lvl')
    .u8(s.authenType, 'authen_type')
    .u8(s.authenService, 'authen_service')
    .u8(len8(user, 'user'), 'user_len')
    .u8(len8(port, 'port'), 'port_len')
    .u8(len8(remAddr, 'rem_addr'), 'rem_addr_len')
    .u8(len8(data, 'data'), 'data_len')
    .bytes(user)
    .bytes(port)
    .bytes(remAddr)
    .bytes(data)
    .finish();
}

export function decodeAuthenStart(body: Buffer): AuthenStart {
  const r = new BodyReader(body);
  const action = r.u8('action');
  if (nameOf(AuthenAction, action) === undefined) {
    throw new TacacsError(
      'ERR_TACACS_MALFORMED_PACKET',
      `unknown authentication action 0x${action.toString(16)}`,
    );
  }
  const privLvl = r.u8('priv_lvl');
  const authenType = r.u8('authen_type');
  if (authenType === AuthenType.NOT_SET || nameOf(AuthenType, authenType) === undefined) {
    throw new TacacsError('ERR_TACACS_MALFORMED_PACKET', `unknown authen_type 0x${authenType.toString(16)}`);
  }
  const authenService = r.u8('authen_service');
  const userLen = r.u8('user_len');
  const portLen = r.u8('port_len');
  const remAddrLen = r.u8('rem_addr_len');
  const dataLen = r.u8('data_len');
  const out: AuthenStart = {
    action,
    privLvl,
    authenType,
    authenService,
    user: r.text(userLen, 'user'),
    port: r.text(portLen, 'port'),
    remAddr: r.text(remAddrLen, 'rem_addr'),
    data: Buffer.from(r.bytes(dataLen, 'data')),
  };
  r.end('authentication START');
  return out;
}

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

export function encodeAuthenReply(s: {
  status: number;
  flags?: number;
  serverMsg?: FieldValue;
  data?: FieldValue;
}): Buffer {
  const msg = fieldBytes(s.serverMsg ?? '');
  const data = fieldBytes(s.data ?? '');
  return new BodyWriter()
    .u8(s.status, 'status')
    .u8(s.flags ?? 0, 'flags')
    .u16(len16(msg, 'server_msg'), 'server_msg_len')
    .u16(len16(data, 'data'), 'data_len')
    .bytes(msg)
    .bytes(data)
    .finish();
}

export function decodeAuthenReply(body: Buffer): AuthenReply {
  const r = new BodyReader(body);
  const status = r.u8('status');
  if (nameOf(AuthenStatus, status) === undefined) {
    throw new TacacsError(
      'ERR_TACACS_MALFORMED_PACKET',
      `unknown authentication status 0x${status.toString(16)}`,
    );
  }
  const flags = r.u8('flags');
  const msgLen = r.u16('server_msg_len');
  const dataLen = r.u16('data_len');
  const out: AuthenReply = {
    status,
    flags,
    serverMsg: r.text(msgLen, 'server_msg'),
    data: Buffer.from(r.bytes(dataLen, 'data')),
  };
  r.end('authentication REPLY');
  return out;
}

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

export function encodeAuthenContinue(s: { flags?: number; userMsg?: FieldValue; data?: FieldValue }): Buffer {
  const msg = fieldBytes(s.userMsg ?? '');
  const data = fieldBytes(s.data ?? '');
  return new BodyWriter()
    .u16(len16(msg, 'user_msg'), 'user_msg_len')
    .u16(len16(data, 'data'), 'data_len')
    .u8(s.flags ?? 0, 'flags')
    .bytes(msg)
    .bytes(data)
    .finish();
}

export function decodeAuthenContinue(body: Buffer): AuthenContinue {
  const r = new BodyReader(body);
  const msgLen = r.u16('user_msg_len');
  const dataLen = r.u16('data_len');
  const flags = r.u8('flags');
  const out: AuthenContinue = {
    flags,
    userMsg: r.text(msgLen, 'user_msg'),
    data: Buffer.from(r.bytes(dataLen, 'data')),
  };
  r.end('authentication CONTINUE');
  return out;
}
