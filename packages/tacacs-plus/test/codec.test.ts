import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TacacsError } from '../src/errors.ts';
import {
  AcctFlag,
  AuthorStatus,
  decodeAcctReply,
  decodeAcctRequest,
  decodeAuthenContinue,
  decodeAuthenReply,
  decodeAuthenStart,
  decodeAuthorRequest,
  decodeAuthorResponse,
  decodeHeader,
  decodePacket,
  encodeAcctReply,
  encodeAcctRequest,
  encodeAuthenContinue,
  encodeAuthenReply,
  encodeAuthenStart,
  encodeAuthorRequest,
  encodeAuthorResponse,
  encodePacket,
  HeaderFlag,
  PacketType,
} from '../src/protocol/index.ts';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof TacacsError) return e.code;
    throw e;
  }
  return undefined;
}

const short = fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => Buffer.byteLength(s) <= 255);
const u8 = fc.integer({ min: 0, max: 255 });
const args = fc.array(short, { maxLength: 12 });
const common = fc.record({
  authenMethod: u8,
  privLvl: fc.integer({ min: 0, max: 15 }),
  authenType: u8,
  authenService: u8,
  user: short,
  port: short,
  remAddr: short,
  args,
});

describe('round trips', () => {
  it('authorization REQUEST and RESPONSE', () => {
    fc.assert(
      fc.property(common, (r) => {
        expect(decodeAuthorRequest(encodeAuthorRequest(r))).toEqual({ ...r, argBytes: bytesOf(r.args) });
      }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.values(AuthorStatus)),
        args,
        fc.string({ maxLength: 200 }),
        fc.string({ maxLength: 200 }),
        (status, a, serverMsg, data) => {
          expect(decodeAuthorResponse(encodeAuthorResponse({ status, args: a, serverMsg, data }))).toEqual({
            status,
            args: a,
            serverMsg,
            data,
          });
        },
      ),
    );
  });

  it('accounting REQUEST and REPLY', () => {
    fc.assert(
      fc.property(common, fc.constantFrom(0x02, 0x04, 0x08, 0x0a), (r, flags) => {
        expect(decodeAcctRequest(encodeAcctRequest({ ...r, flags }))).toEqual({
          ...r,
          flags,
          argBytes: bytesOf(r.args),
        });
      }),
    );
    fc.assert(
      fc.property(fc.constantFrom(0x01, 0x02, 0x21), short, short, (status, serverMsg, data) => {
        expect(decodeAcctReply(encodeAcctReply({ status, serverMsg, data }))).toEqual({
          status,
          serverMsg,
          data,
        });
      }),
    );
  });

  it('authentication START, REPLY and CONTINUE', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 4),
        fc.constantFrom(1, 2, 3, 5, 6),
        short,
        short,
        short,
        fc.uint8Array({ maxLength: 255 }),
        (action, authenType, user, port, remAddr, data) => {
          const s = {
            action,
            privLvl: 1,
            authenType,
            authenService: 1,
            user,
            port,
            remAddr,
            data: Buffer.from(data),
          };
          expect(decodeAuthenStart(encodeAuthenStart(s))).toEqual(s);
        },
      ),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 3, 4, 5, 6, 7, 0x21),
        u8,
        short,
        fc.uint8Array(),
        (status, flags, serverMsg, d) => {
          const r = { status, flags, serverMsg, data: Buffer.from(d) };
          expect(decodeAuthenReply(encodeAuthenReply(r))).toEqual(r);
        },
      ),
    );
    fc.assert(
      fc.property(u8, short, fc.uint8Array(), (flags, userMsg, d) => {
        const r = { flags, userMsg, data: Buffer.from(d) };
        expect(decodeAuthenContinue(encodeAuthenContinue(r))).toEqual(r);
      }),
    );
  });

  it('whole packets, obfuscated and in TLS mode', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 1, max: 255 }),
        fc.constantFrom(0xc0, 0xc1),
        fc.constantFrom(PacketType.AUTHEN, PacketType.AUTHOR, PacketType.ACCT),
        (body, key, sessionId, seqNo, version, type) => {
          const fields = { version, type, seqNo, flags: 0, sessionId };
          const k = { kind: 'key', key: Buffer.from(key) } as const;
          const wire = encodePacket(fields, Buffer.from(body), k);
          const p = decodePacket(wire, k);
          expect(p.body.equals(Buffer.from(body))).toBe(true);
          expect(p.header).toEqual({ ...fields, length: body.length });
          const t = decodePacket(encodePacket(fields, Buffer.from(body), { kind: 'tls' }), { kind: 'tls' });
          expect(t.header.flags).toBe(HeaderFlag.UNENCRYPTED);
          expect(t.body.equals(Buffer.from(body))).toBe(true);
        },
      ),
    );
  });
});

describe('refusals', () => {
  const key = { kind: 'key', key: Buffer.from('k') } as const;
  const good = encodePacket(
    { version: 0xc0, type: PacketType.AUTHOR, seqNo: 1, flags: 0, sessionId: 1 },
    encodeAuthorRequest({
      authenMethod: 6,
      privLvl: 1,
      authenType: 1,
      authenService: 1,
      user: 'u',
      port: 'p',
      remAddr: '',
      args: ['cmd=x'],
    }),
    key,
  );

  it('header: short, wrong major or minor version, unknown type, seq 0, over the body limit', () => {
    expect(codeOf(() => decodeHeader(good.subarray(0, 11), { maxBodyLength: 100 }))).toBe(
      'ERR_TACACS_TRUNCATED',
    );
    const bad = (i: number, v: number) => {
      const b = Buffer.from(good);
      b[i] = v;
      return b;
    };
    expect(codeOf(() => decodePacket(bad(0, 0xb0), key))).toBe('ERR_TACACS_BAD_VERSION');
    expect(codeOf(() => decodePacket(bad(0, 0xc2), key))).toBe('ERR_TACACS_BAD_VERSION');
    expect(codeOf(() => decodePacket(bad(1, 0x04), key))).toBe('ERR_TACACS_BAD_TYPE');
    expect(codeOf(() => decodePacket(bad(2, 0), key))).toBe('ERR_TACACS_BAD_SEQUENCE');
    const huge = Buffer.from(good);
    huge.writeUInt32BE(64 * 1024 + 1, 8);
    expect(codeOf(() => decodePacket(huge, key))).toBe('ERR_TACACS_TOO_LARGE');
    expect(codeOf(() => decodePacket(good, key, { maxBodyLength: 10 }))).toBe('ERR_TACACS_TOO_LARGE');
  });

  it('a length that lies: short body is truncated, extra bytes are malformed', () => {
    expect(codeOf(() => decodePacket(good.subarray(0, good.length - 1), key))).toBe('ERR_TACACS_TRUNCATED');
    expect(codeOf(() => decodePacket(Buffer.concat([good, Buffer.of(0)]), key))).toBe(
      'ERR_TACACS_MALFORMED_PACKET',
    );
  });

  it('unencrypted flag on a keyed connection, obfuscation inside TLS', () => {
    const plain = encodePacket(
      { version: 0xc0, type: 2, seqNo: 1, flags: 0, sessionId: 1 },
      Buffer.alloc(8),
      { kind: 'tls' },
    );
    expect(codeOf(() => decodePacket(plain, key))).toBe('ERR_TACACS_BAD_FLAGS');
    expect(codeOf(() => decodePacket(good, { kind: 'tls' }))).toBe('ERR_TACACS_BAD_FLAGS');
  });

  it('bodies whose fields do not add up, unknown statuses, invalid accounting flags, non-UTF-8 text', () => {
    expect(codeOf(() => decodeAuthorResponse(Buffer.of(0x01, 0, 0, 0, 0)))).toBe(
      'ERR_TACACS_MALFORMED_PACKET',
    );
    expect(codeOf(() => decodeAuthorResponse(Buffer.of(0x03, 0, 0, 0, 0, 0)))).toBe(
      'ERR_TACACS_MALFORMED_PACKET',
    );
    expect(codeOf(() => decodeAuthorResponse(Buffer.of(0x01, 1, 0, 0, 0, 0, 5, 0x61)))).toBe(
      'ERR_TACACS_MALFORMED_PACKET',
    );
    expect(codeOf(() => decodeAuthorResponse(Buffer.of(0x01, 0, 0, 0, 0, 0, 0)))).toBe(
      'ERR_TACACS_MALFORMED_PACKET',
    );
    expect(codeOf(() => decodeAcctReply(Buffer.of(0, 0, 0, 0, 0x05)))).toBe('ERR_TACACS_MALFORMED_PACKET');
    const acct = encodeAcctRequest({
      flags: AcctFlag.START | AcctFlag.STOP,
      authenMethod: 6,
      privLvl: 1,
      authenType: 1,
      authenService: 1,
      user: 'u',
      port: '',
      remAddr: '',
      args: [],
    });
    expect(codeOf(() => decodeAcctRequest(acct))).toBe('ERR_TACACS_MALFORMED_PACKET');
    expect(codeOf(() => decodeAuthenReply(Buffer.of(0x01, 0, 0, 1, 0, 0, 0xff)))).toBe(
      'ERR_TACACS_MALFORMED_PACKET',
    );
    expect(codeOf(() => decodeAuthenStart(Buffer.of(0x03, 1, 1, 1, 0, 0, 0, 0)))).toBe(
      'ERR_TACACS_MALFORMED_PACKET',
    );
  });

  it('encoders refuse values that do not fit their length fields', () => {
    const long = 'x'.repeat(256);
    const r = {
      authenMethod: 6,
      privLvl: 1,
      authenType: 1,
      authenService: 1,
      user: long,
      port: '',
      remAddr: '',
      args: [],
    };
    expect(codeOf(() => encodeAuthorRequest(r))).toBe('ERR_TACACS_FIELD_TOO_LONG');
    expect(codeOf(() => encodeAuthorRequest({ ...r, user: 'u', args: Array(256).fill('a=b') }))).toBe(
      'ERR_TACACS_FIELD_TOO_LONG',
    );
    expect(codeOf(() => encodeAuthorResponse({ status: 1, serverMsg: 'x'.repeat(65536) }))).toBe(
      'ERR_TACACS_FIELD_TOO_LONG',
    );
    expect(codeOf(() => encodeAuthorRequest({ ...r, user: 'u', privLvl: 256 }))).toBe(
      'ERR_TACACS_FIELD_TOO_LONG',
    );
  });
});

function bytesOf(args: readonly string[]): Buffer[] {
  return args.map((a) => Buffer.from(a, 'utf8'));
}

describe('request arguments are bytes (RFC 8907 section 6.1 gives them no character set)', () => {
  const base = { authenMethod: 6, privLvl: 1, authenType: 1, authenService: 1, port: 'ssh', remAddr: '' };
  it('an argument that is not UTF-8 decodes, with its bytes kept exactly', () => {
    const arg = Buffer.from([...Buffer.from('cmd-arg='), 0xc3, 0x2f, 0xff]);
    const r = decodeAuthorRequest(encodeAuthorRequest({ ...base, user: 'u', args: [arg] }));
    expect(r.argBytes[0]?.equals(arg)).toBe(true);
    expect(r.args[0]).toBe('cmd-arg=\ufffd/\ufffd');
    const a = decodeAcctRequest(encodeAcctRequest({ ...base, flags: 0x02, user: 'u', args: [arg] }));
    expect(a.argBytes[0]?.equals(arg)).toBe(true);
  });
  it('a user that is not UTF-8 is still refused', () => {
    const body = encodeAuthorRequest({ ...base, user: Buffer.of(0xff), args: [] });
    expect(codeOf(() => decodeAuthorRequest(body))).toBe('ERR_TACACS_MALFORMED_PACKET');
  });
});
