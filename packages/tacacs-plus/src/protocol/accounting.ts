import { TacacsError } from '../errors.ts';
import {
  type RequestCommon,
  type RequestCommonInput,
  readRequestCommon,
  writeRequestCommon,
} from './authorization.ts';
import { AcctFlag, AcctStatus, nameOf } from './constants.ts';
import { BodyReader } from './reader.ts';
import { BodyWriter, type FieldValue, fieldBytes, len16 } from './writer.ts';

/**
 * RFC 8907 section 7.1, accounting REQUEST (client to server, seq_no 1):
 *
 * +----------------+----------------+----------------+----------------+
 * |      flags     |  authen_method |    priv_lvl    |  authen_type   |
 * +----------------+----------------+----------------+----------------+
 * | authen_service |    user_len    |    port_len    |  rem_addr_len  |
 * +----------------+----------------+----------------+----------------+
 * |    arg_cnt     |   arg_1_len    |   arg_2_len    |      ...       |
 * +----------------+----------------+----------------+----------------+
 * |   arg_N_len    |    user ...   port ...   rem_addr ...   arg_1 ... arg_N ...
 */
export interface AcctRequest extends RequestCommon {
  readonly flags: number;
}

/** Section 7.2: START, STOP, WATCHDOG, and WATCHDOG with START (an update); nothing else is valid. */
const VALID_ACCT_FLAGS = new Set([
  AcctFlag.START,
  AcctFlag.STOP,
  AcctFlag.WATCHDOG,
  AcctFlag.WATCHDOG | AcctFlag.START,
]);

export function encodeAcctRequest(s: RequestCommonInput & { flags: number }): Buffer {
  return writeRequestCommon(new BodyWriter().u8(s.flags, 'flags'), s).finish();
}

export function decodeAcctRequest(body: Buffer): AcctRequest {
  const r = new BodyReader(body);
  const flags = r.u8('flags');
  if (!VALID_ACCT_FLAGS.has(flags)) {
    throw new TacacsError('ERR_TACACS_MALFORMED_PACKET', `invalid accounting flags 0x${flags.toString(16)}`);
  }
  const out = { flags, ...readRequestCommon(r) };
  r.end('accounting REQUEST');
  return out;
}

/**
 * RFC 8907 section 7.2, accounting REPLY (server to client, seq_no 2):
 *
 * +----------------+----------------+----------------+----------------+
 * |         server_msg len          |            data_len             |
 * +----------------+----------------+----------------+----------------+
 * |     status     |         server_msg ...
 * +----------------+----------------+----------------+----------------+
 * |     data ...
 */
export interface AcctReply {
  readonly status: number;
  readonly serverMsg: string;
  readonly data: string;
}

export function encodeAcctReply(s: { status: number; serverMsg?: FieldValue; data?: FieldValue }): Buffer {
  const msg = fieldBytes(s.serverMsg ?? '');
  const data = fieldBytes(s.data ?? '');
  return new BodyWriter()
    .u16(len16(msg, 'server_msg'), 'server_msg_len')
    .u16(len16(data, 'data'), 'data_len')
    .u8(s.status, 'status')
    .bytes(msg)
    .bytes(data)
    .finish();
}

export function decodeAcctReply(body: Buffer): AcctReply {
  const r = new BodyReader(body);
  const msgLen = r.u16('server_msg_len');
  const dataLen = r.u16('data_len');
  const status = r.u8('status');
  if (nameOf(AcctStatus, status) === undefined) {
    throw new TacacsError(
      'ERR_TACACS_MALFORMED_PACKET',
      `unknown accounting status 0x${status.toString(16)}`,
    );
  }
  const out = { status, serverMsg: r.text(msgLen, 'server_msg'), data: r.text(dataLen, 'data') };
  r.end('accounting REPLY');
  return out;
}
