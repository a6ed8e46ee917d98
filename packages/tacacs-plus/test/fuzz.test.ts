import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TacacsError } from '../src/errors.ts';
import {
  decodeAcctReply,
  decodeAcctRequest,
  decodeAuthenContinue,
  decodeAuthenReply,
  decodeAuthenStart,
  decodeAuthorRequest,
  decodeAuthorResponse,
  decodePacket,
  PacketFramer,
  type Protection,
} from '../src/protocol/index.ts';
import { allPackets, LAB_KEY } from './vectors.ts';

const BODY_DECODERS = [
  decodeAuthenStart,
  decodeAuthenReply,
  decodeAuthenContinue,
  decodeAuthorRequest,
  decodeAuthorResponse,
  decodeAcctRequest,
  decodeAcctReply,
];
const vectors = allPackets().map((p) => p.bytes);
const lab: Protection = { kind: 'key', key: LAB_KEY };

/** Runs `fn`; anything thrown must be a TacacsError. Returns a comparable outcome. */
function outcome(fn: () => unknown): unknown {
  try {
    return { ok: fn() };
  } catch (e) {
    if (!(e instanceof TacacsError)) throw new Error(`untyped exception: ${String(e)}`, { cause: e });
    return { code: e.code };
  }
}

/** Every decoder this package has, over one input: the whole-packet path and each body decoder. */
function decodeEverything(bytes: Buffer, protection: Protection): unknown[] {
  const results: unknown[] = [outcome(() => decodePacket(bytes, protection))];
  let body: Buffer | undefined;
  try {
    body = decodePacket(bytes, protection).body;
  } catch {}
  for (const decode of BODY_DECODERS) {
    results.push(outcome(() => decode(bytes)));
    if (body) results.push(outcome(() => decode(body)));
  }
  results.push(
    outcome(() => {
      const f = new PacketFramer();
      return f.push(bytes).map((x) => x.raw.length);
    }),
  );
  return results;
}

/** A vector with some bytes changed, cut short or extended, and sometimes its length field rewritten. */
const mutatedVector = fc
  .record({
    base: fc.constantFrom(...vectors),
    edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
    cut: fc.option(fc.nat(), { nil: undefined }),
    extra: fc.uint8Array({ maxLength: 40 }),
    length: fc.option(fc.oneof(fc.nat({ max: 200 }), fc.integer({ min: 0, max: 0xffffffff })), {
      nil: undefined,
    }),
  })
  .map(({ base, edits, cut, extra, length }) => {
    let b = Buffer.from(base);
    for (const [at, v] of edits) b[at % b.length] = v;
    if (length !== undefined) b.writeUInt32BE(length, 8);
    if (cut !== undefined) b = b.subarray(0, cut % (b.length + 1));
    return Buffer.concat([b, Buffer.from(extra)]);
  });

describe('decoder fuzzing', () => {
  it('mutated vectors: only typed errors, with both protections', () => {
    fc.assert(
      fc.property(mutatedVector, (bytes) => {
        decodeEverything(bytes, lab);
        decodeEverything(bytes, { kind: 'tls' });
      }),
      { numRuns: 3000 },
    );
  });

  it('random bytes: only typed errors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (raw) => {
        decodeEverything(Buffer.from(raw), lab);
        decodeEverything(Buffer.from(raw), { kind: 'tls' });
      }),
      { numRuns: 3000 },
    );
  });

  it('random bytes behind a valid header: only typed errors from the body decoders', () => {
    fc.assert(
      fc.property(fc.constantFrom(...vectors), fc.uint8Array({ maxLength: 300 }), (base, body) => {
        const h = Buffer.from(base.subarray(0, 12));
        h.writeUInt32BE(body.length, 8);
        decodeEverything(Buffer.concat([h, Buffer.from(body)]), lab);
      }),
      { numRuns: 3000 },
    );
  });

  // The tail is shorter than a header, so the framer holds it as the start of the next packet.
  it('never reads past the declared length: bytes after a packet change nothing about it', () => {
    fc.assert(
      fc.property(mutatedVector, fc.uint8Array({ minLength: 1, maxLength: 11 }), (bytes, tail) => {
        if (bytes.length < 12) return;
        const declared = bytes.readUInt32BE(8);
        if (declared > bytes.length - 12) return;
        const exact = bytes.subarray(0, 12 + declared);
        let alone: ReturnType<PacketFramer['push']>;
        try {
          alone = new PacketFramer({ maxBodyLength: 0xffffffff }).push(exact);
        } catch {
          return;
        }
        const followed = outcome(() =>
          new PacketFramer({ maxBodyLength: 0xffffffff }).push(Buffer.concat([exact, Buffer.from(tail)])),
        );
        expect(followed).toHaveProperty('ok');
        {
          const frames = (followed as { ok: ReturnType<PacketFramer['push']> }).ok;
          expect(frames[0]?.raw.equals(alone[0]!.raw)).toBe(true);
          for (const decode of BODY_DECODERS) {
            expect(outcome(() => decode(frames[0]!.raw))).toEqual(outcome(() => decode(alone[0]!.raw)));
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('random chunking of a mutated stream: only typed errors, bounded buffering', () => {
    fc.assert(
      fc.property(
        fc.array(mutatedVector, { maxLength: 5 }),
        fc.array(fc.nat({ max: 64 }), { maxLength: 30 }),
        (parts, cuts) => {
          const stream = Buffer.concat(parts);
          const f = new PacketFramer({ maxBodyLength: 1024 });
          let at = 0;
          outcome(() => {
            for (const c of [...cuts, stream.length]) {
              const next = Math.min(stream.length, at + c);
              f.push(stream.subarray(at, next));
              expect(f.buffered).toBeLessThanOrEqual(12 + 1024);
              at = next;
            }
          });
        },
      ),
      { numRuns: 1000 },
    );
  });
});
