// The framing on its own, the pg-protocol way: expected bytes written out by hand (not produced by the
// encoder under test), every stream re-split at every offset, and each refusal with its code. Session
// mode through a real sshd and the real validator is tested in packages/forcecommand
// (test/session-mode.test.ts) and packages/mcp-server.
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
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
  MAX_OUTPUT_FRAME,
  MAX_REQUEST_FRAME,
  parseCall,
  parseExit,
  parseRequest,
  SessionProtocolError,
} from '../src/index.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const OUTPUT_TYPES = [FRAME_READY, FRAME_STDOUT, FRAME_STDERR, FRAME_EXIT];

/** What `fn` throws, as the code a receiver branches on. */
function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SessionProtocolError);
    return (e as SessionProtocolError).code;
  }
  return undefined;
}

/** Pushes `bytes` cut at `cuts` into a fresh decoder and returns every frame, as type and text. */
function decodeSplit(bytes: Buffer, cuts: readonly number[], types = OUTPUT_TYPES, max = MAX_OUTPUT_FRAME) {
  const decoder = new FrameDecoder(max, types);
  const frames: Frame[] = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    frames.push(...decoder.push(bytes.subarray(at, cut)));
    at = cut;
  }
  return { frames: frames.map((f) => ({ type: f.type, text: f.payload.toString('latin1') })), decoder };
}

describe('encoding', () => {
  it('writes u32 length (of type and payload, big-endian), u8 type, payload', () => {
    expect(encodeFrame(FRAME_STDOUT, 'hi')).toEqual(hex('00000003 02 6869'));
    expect(encodeFrame(FRAME_READY, Buffer.alloc(0))).toEqual(hex('00000001 05'));
    expect(encodeFrame(FRAME_STDERR, Buffer.from([0, 0xff, 0x0a]))).toEqual(hex('00000004 03 00ff0a'));
    // UTF-8: the length counts bytes, not characters (é is two bytes).
    expect(encodeFrame(FRAME_STDOUT, 'é')).toEqual(hex('00000003 02 c3a9'));
  });

  it('writes a REQUEST and an EXIT as JSON bodies', () => {
    const body = '{"id":"r1","command":"show version"}';
    expect(encodeRequest({ id: 'r1', command: 'show version' })).toEqual(
      Buffer.concat([hex(`${(body.length + 1).toString(16).padStart(8, '0')} 01`), Buffer.from(body)]),
    );
    expect(encodeExit({ id: 'r1', exit: 0 })).toEqual(
      Buffer.concat([hex('00000015 04'), Buffer.from('{"id":"r1","exit":0}')]),
    );
  });
});

describe('FrameDecoder', () => {
  const stream = hex(
    '00000001 05' + // READY, empty
      '00000006 02 6c696e650a' + // STDOUT "line\n"
      '00000003 03 0000' + // STDERR two NUL bytes
      '00000001 02', // STDOUT, empty
  );
  const expected = [
    { type: FRAME_READY, text: '' },
    { type: FRAME_STDOUT, text: 'line\n' },
    { type: FRAME_STDERR, text: '\0\0' },
    { type: FRAME_STDOUT, text: '' },
  ];

  it('yields the same whole frames however the stream is cut, at one offset or two', () => {
    for (let a = 0; a <= stream.length; a++) {
      expect(decodeSplit(stream, [a]).frames).toEqual(expected);
      for (let b = a; b <= stream.length; b++) expect(decodeSplit(stream, [a, b]).frames).toEqual(expected);
    }
  });

  it('yields nothing for a partial frame and counts its bytes as pending', () => {
    const { frames, decoder } = decodeSplit(stream.subarray(0, 9), []);
    expect(frames).toEqual([{ type: FRAME_READY, text: '' }]);
    expect(decoder.pending).toBe(4);
    decoder.push(stream.subarray(9));
    expect(decoder.pending).toBe(0);
  });

  it('takes a payload of exactly the largest size and refuses one byte more from its header alone', () => {
    const max = 16;
    const fits = encodeFrame(FRAME_REQUEST, Buffer.alloc(max, 0x61));
    expect(decodeSplit(fits, [], [FRAME_REQUEST], max).frames).toHaveLength(1);
    // Four bytes are enough: the receiver never buffers the body of an oversized frame.
    const header = hex('00000012');
    expect(codeOf(() => new FrameDecoder(max, [FRAME_REQUEST]).push(header))).toBe('ERR_SESSION_FRAME');
  });

  it('refuses a zero length and a type it was not told to expect', () => {
    expect(codeOf(() => new FrameDecoder(64, OUTPUT_TYPES).push(hex('00000000')))).toBe('ERR_SESSION_FRAME');
    // A device sends no REQUEST; the MCP server's decoder refuses one as soon as its type byte is in.
    expect(codeOf(() => new FrameDecoder(64, OUTPUT_TYPES).push(hex('00000010 01')))).toBe(
      'ERR_SESSION_FRAME',
    );
    expect(codeOf(() => new FrameDecoder(64, [FRAME_REQUEST]).push(hex('00000001 02')))).toBe(
      'ERR_SESSION_FRAME',
    );
  });

  it('stays failed: a stream cannot be resynchronised after a bad frame', () => {
    const decoder = new FrameDecoder(64, OUTPUT_TYPES);
    expect(codeOf(() => decoder.push(hex('00000000')))).toBe('ERR_SESSION_FRAME');
    expect(codeOf(() => decoder.push(encodeFrame(FRAME_STDOUT, 'ok')))).toBe('ERR_SESSION_FRAME');
  });

  it('the limits the two sides use: a request and its escaping fit, output is cut below the bound', () => {
    const command = 'x'.repeat(4096);
    const request = encodeRequest({ id: 'r'.repeat(43), command, tool: 't'.repeat(64) });
    expect(decodeSplit(request, [], [FRAME_REQUEST], MAX_REQUEST_FRAME).frames).toHaveLength(1);
    expect(MAX_OUTPUT_FRAME).toBeGreaterThan(MAX_REQUEST_FRAME);
  });

  it('round-trips any frames cut anywhere (property)', () => {
    const frame = fc.record({
      type: fc.constantFrom(...OUTPUT_TYPES),
      payload: fc.uint8Array({ maxLength: 300 }),
    });
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 6 }), (frames, raw) => {
        const bytes = Buffer.concat(frames.map((f) => encodeFrame(f.type, Buffer.from(f.payload))));
        const cuts = raw.map((n) => n % (bytes.length + 1)).sort((x, y) => x - y);
        const got = decodeSplit(bytes, cuts).frames;
        expect(got).toEqual(
          frames.map((f) => ({ type: f.type, text: Buffer.from(f.payload).toString('latin1') })),
        );
      }),
    );
  });
});

describe('parseRequest', () => {
  const body = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

  it('reads id, command and an optional tool', () => {
    expect(parseRequest(body({ id: 'a', command: 'show version' }))).toEqual({
      id: 'a',
      command: 'show version',
    });
    expect(parseRequest(body({ id: 'a', command: 'c', tool: 'show_version' }))).toEqual({
      id: 'a',
      command: 'c',
      tool: 'show_version',
    });
  });

  it.each([
    ['not JSON', '{"id":'],
    ['an array', [1]],
    ['null', 'null'],
    ['an unknown key', { id: 'a', command: 'c', env: 'LD_PRELOAD=x' }],
    ['a numeric id', { id: 1, command: 'c' }],
    ['no command', { id: 'a' }],
    ['a tool that is not a string', { id: 'a', command: 'c', tool: 1 }],
  ])('refuses %s', (_what, value) => {
    expect(codeOf(() => parseRequest(body(value)))).toBe('ERR_SESSION_MESSAGE');
  });

  it('round-trips what encodeRequest wrote (property)', () => {
    const request = fc.record({ id: fc.string(), command: fc.string() }, { requiredKeys: ['id', 'command'] });
    fc.assert(
      fc.property(request, fc.option(fc.string(), { nil: undefined }), (r, tool) => {
        const sent = tool === undefined ? r : { ...r, tool };
        const [frame] = new FrameDecoder(1 << 20, [FRAME_REQUEST]).push(encodeRequest(sent));
        expect(parseRequest((frame as Frame).payload)).toEqual(sent);
      }),
    );
  });
});

describe('parseExit', () => {
  const body = (v: unknown) => Buffer.from(JSON.stringify(v));

  it('reads id, an exit status 0-255 and an optional signal', () => {
    expect(parseExit(body({ id: 'a', exit: 0 }))).toEqual({ id: 'a', exit: 0 });
    expect(parseExit(body({ id: 'a', exit: 255, signal: 'TERM' }))).toEqual({
      id: 'a',
      exit: 255,
      signal: 'TERM',
    });
  });

  it.each([
    ['-1', { id: 'a', exit: -1 }],
    ['256', { id: 'a', exit: 256 }],
    ['a fraction', { id: 'a', exit: 1.5 }],
    ['a string status', { id: 'a', exit: '0' }],
    ['a numeric signal', { id: 'a', exit: 1, signal: 9 }],
    ['an unknown key', { id: 'a', exit: 0, output: 'x' }],
  ])('refuses %s', (_what, value) => {
    expect(codeOf(() => parseExit(body(value)))).toBe('ERR_SESSION_MESSAGE');
  });
});

describe('parseCall', () => {
  const body = (frame: Buffer) => frame.subarray(5);

  it('carries exactly the CALL_ENV_NAMES entries of an environment, and reads them back', () => {
    const env = {
      SSH_ORIGINAL_COMMAND: "vtysh -c 'show ip route'",
      SSH_USER_AUTH: '/tmp/sshauth.abc',
      MCP_USER: 'alice',
      PATH: '/usr/bin',
      LD_PRELOAD: '/tmp/x.so',
    };
    const frame = encodeCall(env);
    expect(frame.readUInt8(4)).toBe(FRAME_CALL);
    expect(parseCall(body(frame))).toEqual({
      SSH_ORIGINAL_COMMAND: "vtysh -c 'show ip route'",
      SSH_USER_AUTH: '/tmp/sshauth.abc',
      MCP_USER: 'alice',
    });
    expect(CALL_ENV_NAMES).toContain('NETWARD_HOSTILE_ENV');
  });

  it('reads an empty body as an empty environment and keeps "=" inside a value', () => {
    expect(parseCall(Buffer.alloc(0))).toEqual({});
    expect(parseCall(Buffer.from('MCP_TOOL=a=b'))).toEqual({ MCP_TOOL: 'a=b' });
  });

  it('refuses a name outside the list, an entry without "=", a repeated name and an empty entry', () => {
    for (const text of [
      'PATH=/bin',
      'MCP_USER',
      'MCP_USER=a\0MCP_USER=b',
      'MCP_USER=a\0',
      'NODE_OPTIONS=--require=/tmp/x',
    ]) {
      expect(() => parseCall(Buffer.from(text)), text).toThrow(SessionProtocolError);
    }
  });

  it('decodes invalid UTF-8 as node decodes its environment (U+FFFD), for stage 1 to refuse', () => {
    const raw = Buffer.concat([Buffer.from('SSH_ORIGINAL_COMMAND=ls '), Buffer.from([0xff])]);
    expect(parseCall(raw)['SSH_ORIGINAL_COMMAND']).toBe('ls \ufffd');
  });

  it('round-trips any values without NUL, and parses or refuses any bytes without throwing otherwise (property)', () => {
    const value = fc
      .string({ maxLength: 40 })
      .filter((v) => !v.includes('\0') && Buffer.from(v).toString() === v);
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...CALL_ENV_NAMES), value), (env) => {
        expect(parseCall(body(encodeCall(env)))).toEqual(env);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          const env = parseCall(Buffer.from(bytes));
          for (const name of Object.keys(env)) expect(CALL_ENV_NAMES).toContain(name);
        } catch (e) {
          expect(e).toBeInstanceOf(SessionProtocolError);
        }
      }),
    );
  });
});
