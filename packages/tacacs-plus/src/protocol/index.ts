// The wire codec, public as the `@netward/tacacs-plus/protocol` subpath: pure encode/decode functions,
// the RFC 8907 constants and the streaming framer, for tests and tools that need packets without the
// client. Anything exported here is public; everything else is not.
export {
  decodeAcctReply,
  decodeAcctRequest,
  encodeAcctReply,
  encodeAcctRequest,
} from './accounting.ts';
export {
  decodeAuthenContinue,
  decodeAuthenReply,
  decodeAuthenStart,
  encodeAuthenContinue,
  encodeAuthenReply,
  encodeAuthenStart,
} from './authentication.ts';
export {
  decodeAuthorRequest,
  decodeAuthorResponse,
  encodeAuthorRequest,
  encodeAuthorResponse,
} from './authorization.ts';
export {
  AcctFlag,
  AcctStatus,
  AuthenContinueFlag,
  AuthenMethod,
  AuthenService,
  AuthenStatus,
  AuthenType,
  AuthorStatus,
  HeaderFlag,
  nameOf,
  PacketType,
  type PacketTypeValue,
  VERSION_DEFAULT,
} from './constants.ts';
export { type Frame, PacketFramer } from './framer.ts';
export { decodeHeader } from './header.ts';
export {
  decodePacket,
  encodePacket,
  openBody,
  type Protection,
} from './packet.ts';
