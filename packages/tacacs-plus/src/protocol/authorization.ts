import type { RequesterFields } from './authentication.ts';
import { AuthorStatus } from './constants.ts';
import { args, bodyCodec, type FieldSpec, known, len8, len16, u8 } from './layout.ts';
import type { FieldValue } from './writer.ts';

/** The fields authorization and accounting requests share (RFC 8907 sections 6.1 and 7.1). */
export interface RequestCommon extends RequesterFields<string> {
  readonly authenMethod: number;
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

export interface RequestCommonInput extends RequesterFields<FieldValue> {
  authenMethod: number;
  args: readonly FieldValue[];
}

/** authen_method .. arg_N: section 6.1's request, which section 7.1 repeats after its flags. */
export const REQUEST_COMMON: readonly FieldSpec[] = [
  u8('authenMethod', 'authen_method'),
  u8('privLvl', 'priv_lvl'),
  u8('authenType', 'authen_type'),
  u8('authenService', 'authen_service'),
  len8('user', 'user'),
  len8('port', 'port'),
  len8('remAddr', 'rem_addr'),
  args('bytes'),
];

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

const AUTHOR_REQUEST = bodyCodec<AuthorRequest, RequestCommonInput>('authorization REQUEST', REQUEST_COMMON);

export const encodeAuthorRequest = AUTHOR_REQUEST.encode;
export const decodeAuthorRequest = AUTHOR_REQUEST.decode;

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

export interface AuthorResponseInput {
  status: number;
  args?: readonly FieldValue[];
  serverMsg?: FieldValue;
  data?: FieldValue;
}

const AUTHOR_RESPONSE = bodyCodec<AuthorResponse, AuthorResponseInput>('authorization RESPONSE', [
  u8('status', 'status', known(AuthorStatus, 'authorization status')),
  args('text'),
  len16('serverMsg', 'server_msg'),
  len16('data', 'data'),
]);

export const encodeAuthorResponse = AUTHOR_RESPONSE.encode;
export const decodeAuthorResponse = AUTHOR_RESPONSE.decode;
