import { TacacsError } from '../errors.ts';
import { AuthorStatus, nameOf } from './constants.ts';
import { BodyReader, lenientText } from './reader.ts';
import { BodyWriter, type FieldValue, fieldBytes, len8, len16 } from './writer.ts';

/** The fields authorization and accounting requests share (RFC 8907 sections 6.1 and 7.1). */
export interface RequestCommon {
  readonly authenMethod: number;
  readonly privLvl: number;
  readonly authenType: number;
  readonly authenService: number;
  readonly user: string;
  readonly port: string;
  readonly remAddr: string;
  /**
   * Attribute-value pairs as text: `attr=value` (mandatory) or `attr*value` (optional). A byte sequence
   * that is not UTF-8 shows as U+FFFD here; decisions must use `argBytes`.
   */
  readonly args: readonly string[];
  /**
   * The same pairs as the bytes received. RFC 8907 section 6.1 gives arguments no character set, and
   * tac_plus-ng decides on the bytes, so a request is not refused for an argument that is not UTF-8.
   */
  readonly argBytes: readonly Buffer[];
}

export interface RequestCommonInput {
  authenMethod: number;
  privLvl: number;
  authenType: number;
  authenService: number;
  user: FieldValue;
  port: FieldValue;
  remAddr: FieldValue;
  args: readonly FieldValue[];
}

/** Writes authen_method .. arg_N, the part from section 6.1 that section 7.1 repeats after its flags. */
export function writeRequestCommon(w: BodyWriter, s: RequestCommonInput): BodyWriter {
  const user = fieldBytes(s.user);
  const port = fieldBytes(s.port);
  const remAddr = fieldBytes(s.remAddr);
  const args = s.args.map(fieldBytes);
  if (args.length > 0xff) throw new TacacsError('ERR_TACACS_FIELD_TOO_LONG', 'more than 255 arguments');
  w.u8(s.authenMethod, 'authen_method')
    .u8(s.privLvl, 'priv_lvl')
    .u8(s.authenType, 'authen_type')
    .u8(s.authenService, 'authen_service')
    .u8(len8(user, 'user'), 'user_len')
    .u8(len8(port, 'port'), 'port_len')
    .u8(len8(remAddr, 'rem_addr'), 'rem_addr_len')
    .u8(args.length, 'arg_cnt');
  for (const a of args) w.u8(len8(a, 'argument'), 'arg_len');
  w.bytes(user).bytes(port).bytes(remAddr);
  for (const a of args) w.bytes(a);
  return w;
}

export function readRequestCommon(r: BodyReader): RequestCommon {
  const authenMethod = r.u8('authen_method');
  const privLvl = r.u8('priv_lvl');
  const authenType = r.u8('authen_type');
  const authenService = r.u8('authen_service');
  const userLen = r.u8('user_len');
  const portLen = r.u8('port_len');
  const remAddrLen = r.u8('rem_addr_len');
  const argCount = r.u8('arg_cnt');
  const argLens: number[] = [];
  for (let i = 0; i < argCount; i++) argLens.push(r.u8('arg_len'));
  const user = r.text(userLen, 'user');
  const port = r.text(portLen, 'port');
  const remAddr = r.text(remAddrLen, 'rem_addr');
  const argBytes = argLens.map((n) => r.bytes(n, 'argument'));
  const args = argBytes.map(lenientText);
  return { authenMethod, privLvl, authenType, authenService, user, port, remAddr, args, argBytes };
}

/**
 * RFC 8907 section 6.1, authorization REQUEST (client to server, seq_no 1):
 *
 * +----------------+----------------+----------------+----------------+
 * |  authen_method |    priv_lvl    |  authen_type   | authen_service |
 * +----------------+----------------+----------------+----------------+
 * |    user_len    |    port_len    |  rem_addr_len  |    arg_cnt     |
 * +----------------+----------------+----------------+----------------+
 * |   arg_1_len    |   arg_2_len    |      ...       |   arg_N_len    |
 * +----------------+----------------+----------------+----------------+
 * |   user ...   port ...   rem_addr ...   arg_1 ...   arg_2 ...   arg_N ...
 */
export type AuthorRequest = RequestCommon;

export function encodeAuthorRequest(s: RequestCommonInput): Buffer {
  return writeRequestCommon(new BodyWriter(), s).finish();
}

export function decodeAuthorRequest(body: Buffer): AuthorRequest {
  const r = new BodyReader(body);
  const out = readRequestCommon(r);
  r.end('authorization REQUEST');
  return out;
}

/**
 * RFC 8907 section 6.2, authorization RESPONSE (server to client, seq_no 2):
 *
 * +----------------+----------------+----------------+----------------+
 * |    status      |     arg_cnt    |         server_msg len          |
 * +----------------+----------------+----------------+----------------+
 * +            data_len             |    arg_1_len   |    arg_2_len   |
 * +----------------+----------------+----------------+----------------+
 * |      ...       |   arg_N_len    |         server_msg ...
 * +----------------+----------------+----------------+----------------+
 * |   data ...   arg_1 ...   arg_2 ...   arg_N ...
 */
export interface AuthorResponse {
  readonly status: number;
  readonly args: readonly string[];
  readonly serverMsg: string;
  readonly data: string;
}

export function encodeAuthorResponse(s: {
  status: number;
  args?: readonly FieldValue[];
  serverMsg?: FieldValue;
  data?: FieldValue;
}): Buffer {
  const args = (s.args ?? []).map(fieldBytes);
  if (args.length > 0xff) throw new TacacsError('ERR_TACACS_FIELD_TOO_LONG', 'more than 255 arguments');
  const msg = fieldBytes(s.serverMsg ?? '');
  const data = fieldBytes(s.data ?? '');
  const w = new BodyWriter()
    .u8(s.status, 'status')
    .u8(args.length, 'arg_cnt')
    .u16(len16(msg, 'server_msg'), 'server_msg_len')
    .u16(len16(data, 'data'), 'data_len');
  for (const a of args) w.u8(len8(a, 'argument'), 'arg_len');
  w.bytes(msg).bytes(data);
  for (const a of args) w.bytes(a);
  return w.finish();
}

export function decodeAuthorResponse(body: Buffer): AuthorResponse {
  const r = new BodyReader(body);
  const status = r.u8('status');
  if (nameOf(AuthorStatus, status) === undefined) {
    throw new TacacsError(
      'ERR_TACACS_MALFORMED_PACKET',
      `unknown authorization status 0x${status.toString(16)}`,
    );
  }
  const argCount = r.u8('arg_cnt');
  const msgLen = r.u16('server_msg_len');
  const dataLen = r.u16('data_len');
  const argLens: number[] = [];
  for (let i = 0; i < argCount; i++) argLens.push(r.u8('arg_len'));
  const serverMsg = r.text(msgLen, 'server_msg');
  const data = r.text(dataLen, 'data');
  const args = argLens.map((n) => r.text(n, 'argument'));
  r.end('authorization RESPONSE');
  return { status, args, serverMsg, data };
}
