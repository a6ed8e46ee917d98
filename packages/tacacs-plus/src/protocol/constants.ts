/**
 * Wire constants of RFC 8907 (TACACS+) and RFC 9887 (TACACS+ over TLS 1.3). Each table names the
 * section that defines it. Lookups from wire values back to names go through `nameOf`, which returns
 * undefined for a value the RFC does not define, so a decoder can refuse it.
 */

/** RFC 8907 section 4.1: the 12-byte header that precedes every body. */
export const HEADER_LENGTH = 12;

/** RFC 8907 section 4.1: major version 0xc; minor 0 (default) or 1 (PAP/CHAP/MS-CHAP authentication). */
export const MAJOR_VERSION = 0xc;
export const MINOR_VERSION_DEFAULT = 0x0;
export const MINOR_VERSION_ONE = 0x1;
export const VERSION_DEFAULT = (MAJOR_VERSION << 4) | MINOR_VERSION_DEFAULT; // 0xc0
export const VERSION_ONE = (MAJOR_VERSION << 4) | MINOR_VERSION_ONE; // 0xc1

/** RFC 8907 section 4.1: packet types. */
export const PacketType = Object.freeze({
  AUTHEN: 0x01,
  AUTHOR: 0x02,
  ACCT: 0x03,
} as const);
export type PacketTypeValue = (typeof PacketType)[keyof typeof PacketType];

/** RFC 8907 section 4.1: header flags. */
export const HeaderFlag = Object.freeze({
  UNENCRYPTED: 0x01,
  SINGLE_CONNECT: 0x04,
} as const);

/** RFC 8907 section 4.1 default port; RFC 9887 section 3.1/7 assigns 300 ("tacacss") to TLS. */
export const DEFAULT_PORT = 49;
export const DEFAULT_TLS_PORT = 300;

/** The default ceiling on a body, far above any real packet (the largest seen in the vectors is 97 bytes). */
export const DEFAULT_MAX_BODY_LENGTH = 64 * 1024;

/** RFC 8907 section 5.1: authentication START action. */
export const AuthenAction = Object.freeze({
  LOGIN: 0x01,
  CHPASS: 0x02,
  SENDAUTH: 0x04,
} as const);

/** RFC 8907 section 5.1: authen_type. */
export const AuthenType = Object.freeze({
  NOT_SET: 0x00,
  ASCII: 0x01,
  PAP: 0x02,
  CHAP: 0x03,
  MSCHAP: 0x05,
  MSCHAPV2: 0x06,
} as const);

/** RFC 8907 section 5.1: authen_service. */
export const AuthenService = Object.freeze({
  NONE: 0x00,
  LOGIN: 0x01,
  ENABLE: 0x02,
  PPP: 0x03,
  PT: 0x05,
  RCMD: 0x06,
  X25: 0x07,
  NASI: 0x08,
  FWPROXY: 0x09,
} as const);

/** RFC 8907 section 5.2: authentication REPLY status. */
export const AuthenStatus = Object.freeze({
  PASS: 0x01,
  FAIL: 0x02,
  GETDATA: 0x03,
  GETUSER: 0x04,
  GETPASS: 0x05,
  RESTART: 0x06,
  ERROR: 0x07,
  FOLLOW: 0x21,
} as const);
export type AuthenStatusName = keyof typeof AuthenStatus;

/** RFC 8907 section 5.2: REPLY flags. */
export const AuthenReplyFlag = Object.freeze({ NOECHO: 0x01 } as const);
/** RFC 8907 section 5.3: CONTINUE flags. */
export const AuthenContinueFlag = Object.freeze({ ABORT: 0x01 } as const);

/** RFC 8907 section 6.1: authen_method of authorization and accounting requests. */
export const AuthenMethod = Object.freeze({
  NOT_SET: 0x00,
  NONE: 0x01,
  KRB5: 0x02,
  LINE: 0x03,
  ENABLE: 0x04,
  LOCAL: 0x05,
  TACACSPLUS: 0x06,
  GUEST: 0x08,
  RADIUS: 0x10,
  KRB4: 0x11,
  RCMD: 0x20,
} as const);

/** RFC 8907 section 6.2: authorization RESPONSE status. */
export const AuthorStatus = Object.freeze({
  PASS_ADD: 0x01,
  PASS_REPL: 0x02,
  FAIL: 0x10,
  ERROR: 0x11,
  FOLLOW: 0x21,
} as const);
export type AuthorStatusName = keyof typeof AuthorStatus;

/** RFC 8907 section 7.1: accounting REQUEST flags (exactly one of these per request, section 7.2). */
export const AcctFlag = Object.freeze({
  START: 0x02,
  STOP: 0x04,
  WATCHDOG: 0x08,
} as const);
export type AcctFlagName = keyof typeof AcctFlag;

/** RFC 8907 section 7.2: accounting REPLY status. */
export const AcctStatus = Object.freeze({
  SUCCESS: 0x01,
  ERROR: 0x02,
  FOLLOW: 0x21,
} as const);
export type AcctStatusName = keyof typeof AcctStatus;

const REVERSE = new WeakMap<object, Map<number, string>>();

/** Reverse lookup: the name of a wire value, or undefined when the table does not define it. */
export function nameOf<T extends Record<string, number>>(table: T, value: number): keyof T | undefined {
  let names = REVERSE.get(table);
  if (names === undefined) {
    names = new Map();
    for (const [name, v] of Object.entries(table)) if (!names.has(v)) names.set(v, name);
    REVERSE.set(table, names);
  }
  return names.get(value) as keyof T | undefined;
}
