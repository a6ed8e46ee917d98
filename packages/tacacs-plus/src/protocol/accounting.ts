import { REQUEST_COMMON, type RequestCommon, type RequestCommonInput } from './authorization.ts';
import { AcctFlag, AcctStatus } from './constants.ts';
import { bodyCodec, known, len16, u8 } from './layout.ts';
import type { FieldValue } from './writer.ts';

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

const ACCT_REQUEST = bodyCodec<AcctRequest, RequestCommonInput & { flags: number }>('accounting REQUEST', [
  u8('flags', 'flags', (v) =>
    VALID_ACCT_FLAGS.has(v) ? undefined : `invalid accounting flags 0x${v.toString(16)}`,
  ),
  ...REQUEST_COMMON,
]);

export const encodeAcctRequest = ACCT_REQUEST.encode;
export const decodeAcctRequest = ACCT_REQUEST.decode;

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

const ACCT_REPLY = bodyCodec<AcctReply, { status: number; serverMsg?: FieldValue; data?: FieldValue }>(
  'accounting REPLY',
  [
    len16('serverMsg', 'server_msg'),
    len16('data', 'data'),
    u8('status', 'status', known(AcctStatus, 'accounting status')),
  ],
);

export const encodeAcctReply = ACCT_REPLY.encode;
export const decodeAcctReply = ACCT_REPLY.decode;
