/**
 * Session mode's framing, shared by the device validator and the MCP server (node:buffer and the shared
 * error shape only, so neither side carries the other's code).
 *
 * The client opens an exec channel whose command is the fixed verb {@link SESSION_VERB}; sshd runs the
 * ForceCommand as for any command, and the validator then reads requests from stdin instead of taking
 * one from SSH_ORIGINAL_COMMAND. Every frame is
 *
 *     u32 length (big-endian, of what follows) | u8 type | payload
 *
 * client → device  REQUEST  JSON {"id": request id, "command": text[, "tool": name]}
 * device → client  READY    JSON {"version": 1}: the validator speaks this protocol
 *                  STDOUT   raw bytes of the running command's standard output
 *                  STDERR   raw bytes of its standard error (and the validator's one-line refusal)
 *                  EXIT     JSON {"id": request id, "exit": status[, "signal": name]}
 *
 * The resident validator (one long-lived process per device account, reached through a Unix socket by
 * the ForceCommand shim) takes one request per connection:
 *
 * shim → resident  CALL     NUL-separated NAME=value entries of the shim's environment, names from
 *                           {@link CALL_ENV_NAMES} only, each at most once
 * resident → shim  STDOUT, STDERR, then one EXIT (its `id` is empty: the connection names the request)
 *
 * Requests are answered one at a time, in order; a client wanting parallel calls opens more channels.
 * Length-prefixed frames carry any output byte unchanged (a line protocol could not), and a length read
 * before the body lets the receiver refuse an oversized frame without buffering it.
 */
import { Buffer } from 'node:buffer';
import { SessionProtocolError } from './errors.ts';

/** SSH_ORIGINAL_COMMAND that asks the validator for a session instead of one command. */
export const SESSION_VERB = 'netward-session';

export const FRAME_REQUEST = 1;
export const FRAME_STDOUT = 2;
export const FRAME_STDERR = 3;
export const FRAME_EXIT = 4;
export const FRAME_READY = 5;
export const FRAME_CALL = 6;

/**
 * The environment a CALL carries: everything the validator reads from its environment (the command,
 * sshd's certificate file, the client's MCP_* claims, and the guard's list of hostile names). Nothing
 * else of the shim's environment reaches the resident validator.
 */
export const CALL_ENV_NAMES: readonly string[] = Object.freeze([
  'SSH_ORIGINAL_COMMAND',
  'SSH_USER_AUTH',
  'MCP_USER',
  'MCP_SID',
  'MCP_REQUEST_ID',
  'MCP_TOOL',
  'NETWARD_HOSTILE_ENV',
]);

/**
 * Largest REQUEST body. A command is at most 4096 bytes (the validator's `maxCommandLength` bound), a
 * request id 43, a tool name 64: 8 KiB leaves room for JSON escaping and nothing more.
 */
export const MAX_REQUEST_FRAME = 8 * 1024;
/**
 * Largest CALL body. sshd passes a command of up to 256 KiB (its packet limit); the validator refuses
 * anything over 4096 bytes at stage 1, so a larger command only needs to arrive to be refused: 64 KiB
 * carries every command a client can mean, a path and the claims, and bounds what a connection buffers.
 */
export const MAX_CALL_FRAME = 64 * 1024;
/** Output is cut into frames of at most this many bytes; a client refuses anything larger. */
export const MAX_OUTPUT_FRAME = 64 * 1024;

export interface Frame {
  readonly type: number;
  readonly payload: Buffer;
}

export interface SessionRequest {
  readonly id: string;
  readonly command: string;
  readonly tool?: string;
}

export interface SessionExit {
  readonly id: string;
  readonly exit: number;
  readonly signal?: string;
}

export function encodeFrame(type: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const out = Buffer.allocUnsafe(5 + body.length);
  out.writeUInt32BE(body.length + 1, 0);
  out.writeUInt8(type, 4);
  body.copy(out, 5);
  return out;
}

export function encodeRequest(request: SessionRequest): Buffer {
  return encodeFrame(FRAME_REQUEST, JSON.stringify(request));
}

export function encodeExit(exit: SessionExit): Buffer {
  return encodeFrame(FRAME_EXIT, JSON.stringify(exit));
}

/**
 * Splits a byte stream into frames. `push` returns the frames completed by `chunk` and throws
 * ERR_SESSION_FRAME on a length of zero or over `maxFrame`, or a type outside `types`: the stream cannot be
 * resynchronised after that, so every later push throws too.
 */
export class FrameDecoder {
  readonly #maxFrame: number;
  readonly #types: ReadonlySet<number>;
  #buffered: Buffer = Buffer.alloc(0);
  #failed: SessionProtocolError | undefined;

  constructor(maxFrame: number, types: readonly number[]) {
    this.#maxFrame = maxFrame;
    this.#types = new Set(types);
  }

  push(chunk: Buffer): Frame[] {
    if (this.#failed) throw this.#failed;
    this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
    const frames: Frame[] = [];
    while (this.#buffered.length >= 4) {
      const length = this.#buffered.readUInt32BE(0);
      if (length === 0 || length > this.#maxFrame + 1) return this.#fail(`frame length ${length}`);
      if (this.#buffered.length >= 5) {
        const type = this.#buffered.readUInt8(4);
        if (!this.#types.has(type)) return this.#fail(`frame type ${type}`);
      }
      if (this.#buffered.length < 4 + length) break;
      frames.push({
        type: this.#buffered.readUInt8(4),
        payload: this.#buffered.subarray(5, 4 + length),
      });
      this.#buffered = this.#buffered.subarray(4 + length);
    }
    return frames;
  }

  /** Bytes of an incomplete frame held: non-zero at end of stream means the stream was cut. */
  get pending(): number {
    return this.#buffered.length;
  }

  #fail(reason: string): never {
    this.#failed = new SessionProtocolError('ERR_SESSION_FRAME', reason);
    throw this.#failed;
  }
}

/** A REQUEST or EXIT body this protocol does not allow: the peer does not speak it. */
function badMessage(reason: string): SessionProtocolError {
  return new SessionProtocolError('ERR_SESSION_MESSAGE', reason);
}

function parseObject(payload: Buffer, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    throw badMessage(`${what}: not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badMessage(`${what}: not an object`);
  }
  return value as Record<string, unknown>;
}

function onlyKeys(value: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw badMessage(`${what}: unknown key ${JSON.stringify(key)}`);
  }
}

/** A REQUEST body: exactly `id` and `command` strings and an optional `tool` string. */
export function parseRequest(payload: Buffer): SessionRequest {
  const value = parseObject(payload, 'request');
  onlyKeys(value, ['id', 'command', 'tool'], 'request');
  const { id, command, tool } = value;
  if (typeof id !== 'string' || typeof command !== 'string') {
    throw badMessage('request: id and command must be strings');
  }
  if (tool !== undefined && typeof tool !== 'string') throw badMessage('request: tool must be a string');
  return tool === undefined ? { id, command } : { id, command, tool };
}

/** An EXIT body: `id` string, integer `exit` 0-255, optional `signal` string. */
export function parseExit(payload: Buffer): SessionExit {
  const value = parseObject(payload, 'exit');
  onlyKeys(value, ['id', 'exit', 'signal'], 'exit');
  const { id, exit, signal } = value;
  if (
    typeof id !== 'string' ||
    typeof exit !== 'number' ||
    !Number.isInteger(exit) ||
    exit < 0 ||
    exit > 255
  ) {
    throw badMessage('exit: id must be a string and exit an integer 0-255');
  }
  if (signal !== undefined && typeof signal !== 'string') throw badMessage('exit: signal must be a string');
  return signal === undefined ? { id, exit } : { id, exit, signal };
}

/** A CALL frame carrying the entries of `env` whose names are in CALL_ENV_NAMES. */
export function encodeCall(env: Readonly<Record<string, string | undefined>>): Buffer {
  const entries: string[] = [];
  for (const name of CALL_ENV_NAMES) {
    const value = env[name];
    if (value !== undefined) entries.push(`${name}=${value}`);
  }
  return encodeFrame(FRAME_CALL, entries.join('\0'));
}

/**
 * A CALL body: NUL-separated NAME=value entries, every name in CALL_ENV_NAMES and none twice, no value
 * with a NUL (it would end the entry). An empty body is an empty environment.
 */
export function parseCall(payload: Buffer): Record<string, string> {
  const env: Record<string, string> = {};
  if (payload.length === 0) return env;
  // Decoded as node decodes its own environment (invalid UTF-8 becomes U+FFFD), so a command reaches
  // stage 1 exactly as it would in a per-process validator and is refused there, with the same code.
  for (const entry of payload.toString('utf8').split('\0')) {
    const eq = entry.indexOf('=');
    const name = eq < 0 ? entry : entry.slice(0, eq);
    if (eq < 0 || !CALL_ENV_NAMES.includes(name))
      throw badMessage(`call: unexpected entry ${JSON.stringify(name.slice(0, 64))}`);
    if (Object.hasOwn(env, name)) throw badMessage(`call: ${name} repeated`);
    env[name] = entry.slice(eq + 1);
  }
  return env;
}
