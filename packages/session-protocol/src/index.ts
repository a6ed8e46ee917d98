// The public API of @netward/session-protocol: session mode's framing between the MCP server and the
// device validator (src/frames.ts describes the wire format), and its error catalogue.
export {
  SESSION_PROTOCOL_ERRORS,
  SessionProtocolError,
  type SessionProtocolErrorCode,
} from './errors.ts';
export {
  CALL_ENV_NAMES,
  encodeCall,
  encodeExit,
  encodeFrame,
  encodeRequest,
  FRAME_CALL,
  FRAME_EXIT,
  FRAME_READY,
  FRAME_REQUEST,
  FRAME_STDERR,
  FRAME_STDOUT,
  type Frame,
  FrameDecoder,
  MAX_CALL_FRAME,
  MAX_OUTPUT_FRAME,
  MAX_REQUEST_FRAME,
  parseCall,
  parseExit,
  parseRequest,
  SESSION_VERB,
  type SessionExit,
  type SessionRequest,
} from './frames.ts';
