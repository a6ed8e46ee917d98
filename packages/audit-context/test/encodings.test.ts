import { thrownCode } from '@netward/kit/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AuditContextError,
  createAuditContext,
  encodeKeyId,
  encodeRemAddr,
  encodeSshEnv,
  formatLogPrefix,
  newRequestId,
  parseKeyId,
  parseLogPrefix,
  parseRemAddr,
  parseSshEnv,
} from '../src/index.ts';
import { contextArb, hostile, requestIdArb, sidArb, userArb } from './arbitraries.ts';

const codeOf = (fn: () => unknown) => thrownCode(fn, AuditContextError);

const bob = {
  user: 'bob',
  sid: 'fd9e4bdc77df2fa8',
  role: 'net-operator',
  requestId: 'a1b2c3d4e5f6g7h8i9j0kA',
  certSerial: '15800344769086219675',
};

describe('known encodings', () => {
  it('writes the seed formats exactly', () => {
    expect(encodeKeyId({ user: 'bob', sid: 'fd9e4bdc77df2fa8' })).toBe('sid=fd9e4bdc77df2fa8,user=bob');
    expect(encodeKeyId(bob)).toBe('sid=fd9e4bdc77df2fa8,user=bob,req=a1b2c3d4e5f6g7h8i9j0kA');
    expect(encodeRemAddr(bob)).toBe(
      'bob/cert:15800344769086219675/sid:fd9e4bdc77df2fa8/req:a1b2c3d4e5f6g7h8i9j0kA',
    );
    expect(formatLogPrefix(bob)).toBe(
      '[net-operator/bob/cert:15800344769086219675/sid:fd9e4bdc77df2fa8/req:a1b2c3d4e5f6g7h8i9j0kA]',
    );
    expect(encodeSshEnv(bob)).toEqual({
      MCP_USER: 'bob',
      MCP_SID: 'fd9e4bdc77df2fa8',
      MCP_REQUEST_ID: bob.requestId,
    });
  });

  it('reads the seed Key ID without a request id', () => {
    expect(parseKeyId('sid=fd9e4bdc77df2fa8,user=bob')).toEqual({ sid: 'fd9e4bdc77df2fa8', user: 'bob' });
  });

  it('makes 128-bit URL-safe request ids that differ', () => {
    const ids = new Set(Array.from({ length: 1000 }, newRequestId));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});

describe('round trips (property)', () => {
  it('every valid context survives every encoding', () => {
    fc.assert(
      fc.property(contextArb, (ctx) => {
        expect(parseKeyId(encodeKeyId(ctx))).toEqual({
          user: ctx.user,
          sid: ctx.sid,
          requestId: ctx.requestId,
        });
        expect(parseRemAddr(encodeRemAddr(ctx))).toEqual({
          user: ctx.user,
          certSerial: ctx.certSerial,
          sid: ctx.sid,
          requestId: ctx.requestId,
        });
        expect(parseLogPrefix(formatLogPrefix(ctx))).toEqual({
          role: ctx.role,
          user: ctx.user,
          certSerial: ctx.certSerial,
          sid: ctx.sid,
          requestId: ctx.requestId,
        });
        expect(parseSshEnv(encodeSshEnv(ctx))).toEqual({
          user: ctx.user,
          sid: ctx.sid,
          requestId: ctx.requestId,
        });
        expect(createAuditContext(ctx)).toEqual(ctx);
        expect(Buffer.byteLength(encodeRemAddr(ctx))).toBeLessThanOrEqual(255);
      }),
      { numRuns: 500 },
    );
  });
});

describe('hostile values are refused, never mis-parsed (property)', () => {
  it('a hostile user, sid or request id is refused by every encoder', () => {
    fc.assert(
      fc.property(
        contextArb,
        fc.constantFrom('user', 'sid', 'requestId'),
        fc.context(),
        (ctx, field, log) => {
          const bad = fc.sample(
            hostile(field === 'user' ? userArb : field === 'sid' ? sidArb : requestIdArb),
            1,
          )[0]!;
          log.log(JSON.stringify(bad));
          const evil = { ...ctx, [field]: bad };
          expect(codeOf(() => encodeKeyId(evil))).toBe('ERR_AUDIT_INVALID_FIELD');
          expect(codeOf(() => encodeRemAddr(evil))).toBe('ERR_AUDIT_INVALID_FIELD');
          expect(codeOf(() => formatLogPrefix(evil))).toBe('ERR_AUDIT_INVALID_FIELD');
          expect(codeOf(() => encodeSshEnv(evil))).toBe('ERR_AUDIT_INVALID_FIELD');
          expect(codeOf(() => createAuditContext(evil))).toBe('ERR_AUDIT_INVALID_FIELD');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('no string parses as a Key ID unless it is exactly the encoding of what it parsed to', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), (s) => {
        let parsed: ReturnType<typeof parseKeyId> | undefined;
        try {
          parsed = parseKeyId(s);
        } catch (e) {
          expect(e).toBeInstanceOf(AuditContextError);
          return;
        }
        expect(encodeKeyId(parsed)).toBe(s);
      }),
      { numRuns: 2000 },
    );
  });

  it('no string parses as a rem_addr or log prefix unless it re-encodes to itself', () => {
    const near = fc.oneof(
      fc.string({ maxLength: 200 }),
      contextArb.chain((c) =>
        fc
          .constantFrom(encodeRemAddr(c), formatLogPrefix(c))
          .chain((s) =>
            fc
              .tuple(fc.nat(s.length), fc.constantFrom('/', ':', ']', '[', '\n', 'x', ''))
              .map(([i, ch]) => s.slice(0, i) + ch + s.slice(i + 1)),
          ),
      ),
    );
    fc.assert(
      fc.property(near, (s) => {
        for (const [parse, encode] of [
          [parseRemAddr, encodeRemAddr],
          [parseLogPrefix, formatLogPrefix],
        ] as const) {
          let parsed: ReturnType<typeof parseLogPrefix> | undefined;
          try {
            parsed = parse(s) as ReturnType<typeof parseLogPrefix>;
          } catch (e) {
            expect(e).toBeInstanceOf(AuditContextError);
            continue;
          }
          expect((encode as (c: typeof parsed) => string)(parsed)).toBe(s);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    ['a user that carries another user', 'sid=x1,user=bob,user=alice'],
    ['a user with a comma', 'sid=x1,user=bob,req=aaaaaaaaaaaaaaaa,user=alice'],
    ['reordered components', 'user=bob,sid=x1'],
    ['a quote', 'sid=x1,user="bob"'],
    ['a newline', 'sid=x1,user=bob\nuser=alice'],
    ['a NUL', 'sid=x1,user=bob\0'],
    ['an unknown key', 'sid=x1,user=bob,role=net-admin'],
    ['an empty value', 'sid=,user=bob'],
    ['a missing sid', 'user=bob'],
    ['an over-long user', `sid=x1,user=${'a'.repeat(65)}`],
  ])('refuses a Key ID with %s', (_name, keyId) => {
    expect(codeOf(() => parseKeyId(keyId))).toMatch(/^ERR_AUDIT_/);
  });

  it.each([
    ['user with a slash', { ...bob, user: 'bob/cert:1' }],
    ['sid with a colon', { ...bob, sid: 'a:b' }],
    ['serial above 2^64-1', { ...bob, certSerial: '18446744073709551616' }],
    ['serial with a leading zero', { ...bob, certSerial: '01' }],
    ['request id too short', { ...bob, requestId: 'abc' }],
    ['role in capitals', { ...bob, role: 'NET-ADMIN' }],
  ])('refuses a context with a %s', (_name, ctx) => {
    expect(codeOf(() => formatLogPrefix(ctx))).toBe('ERR_AUDIT_INVALID_FIELD');
  });

  it('refuses an invalid MCP_* variable rather than skipping it', () => {
    expect(codeOf(() => parseSshEnv({ MCP_USER: 'bob,user=alice' }))).toBe('ERR_AUDIT_INVALID_FIELD');
    expect(parseSshEnv({ PATH: '/bin' })).toEqual({});
  });

  it('reports a missing required field', () => {
    expect(codeOf(() => createAuditContext({ user: 'bob', sid: 's', role: 'net-viewer' }))).toBe(
      'ERR_AUDIT_MISSING_FIELD',
    );
  });
});
