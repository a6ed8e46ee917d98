// The wire codec, public as the `@netward/tacacs-plus/protocol` subpath: pure encode/decode functions,
// the RFC 8907 constants and the streaming framer, for tests and tools that need packets without the
// client. Anything exported here is public; everything else is not.
export {
  type AcctReply,
  type AcctRequest,
  decodeAcctReply,
  decodeAcctRequest,
  encodeAcctReply,
  encodeAcctRequest,
} from './accounting.ts';
export {
  type AuthenContinue,
  type AuthenReply,
  type AuthenStart,
  decodeAuthenContinue,
  decodeAuthenReply,
  decodeAuthenStart,
  encodeAuthenContinue,
  encodeAuthenReply,
  encodeAuthenStart,
} from './authentication.ts';
export {
  type AuthorRequest,
  type AuthorResponse,
  decodeAuthorRequest,
  decodeAuthorResponse,
  encodeAuthorRequest,
  encodeAuthorResponse,
  type RequestCommon,
  type RequestCommonInput,
} from './authorization.ts';
export {
  AcctFlag,
  type AcctFlagName,
  AcctStatus,
  type AcctStatusName,
  AuthenAction,
  AuthenContinueFlag,
  AuthenMethod,
  AuthenReplyFlag,
  AuthenService,
  AuthenStatus,
  type AuthenStatusName,
  AuthenType,
  AuthorStatus,
  type AuthorStatusName,
  DEFAULT_MAX_BODY_LENGTH,
  DEFAULT_PORT,
  DEFAULT_TLS_PORT,
  HEADER_LENGTH,
  HeaderFlag,
  MAJOR_VERSION,
  MINOR_VERSION_DEFAULT,
  MINOR_VERSION_ONE,
  nameOf,
  PacketType,
  type PacketTypeValue,
  VERSION_DEFAULT,
  VERSION_ONE,
} from './constants.ts';
export { type Frame, PacketFramer } from './framer.ts';
export { decodeHeader, encodeHeader, type HeaderLimits, type PacketHeader } from './header.ts';
export { applyPad } from './obfuscation.ts';
export {
  type DecodeOptions,
  decodePacket,
  encodePacket,
  openBody,
  type Packet,
  type PacketFields,
  type Protection,
} from './packet.ts';
