import { describe, expect, it } from 'vitest';
import { TacacsError } from '../src/errors.ts';
import { type Frame, PacketFramer } from '../src/protocol/index.ts';
import { allPackets } from './vectors.ts';

const packets = allPackets().map((p) => p.bytes);
const stream = Buffer.concat(packets);

function frames(chunks: Buffer[]): Frame[] {
  const f = new PacketFramer();
  const out: Frame[] = [];
  for (const c of chunks) out.push(...f.push(c));
  expect(f.midPacket).toBe(false);
  return out;
}

function expectPackets(out: Frame[]): void {
  expect(out).toHaveLength(packets.length);
  out.forEach((f, i) => {
    const p = packets[i]!;
    expect(f.header.sessionId).toBe(p.readUInt32BE(4));
    expect(f.header.seqNo).toBe(p[2]);
    expect(f.raw.equals(p.subarray(12))).toBe(true);
  });
}

describe('PacketFramer', () => {
  it('cuts every vector packet out of one concatenated stream', () => {
    expectPackets(frames([stream]));
  });

  it('gives the same packets when the stream is split at every offset', () => {
    for (let i = 0; i <= stream.length; i++) {
      expectPackets(frames([stream.subarray(0, i), stream.subarray(i)]));
    }
  });

  it('gives the same packets when split at every pair of offsets (three chunks)', () => {
    const small = Buffer.concat(packets.slice(0, 4));
    const f = (chunks: Buffer[]) => {
      const fr = new PacketFramer();
      return chunks.flatMap((c) => fr.push(c));
    };
    for (let i = 0; i <= small.length; i++) {
      for (let j = i; j <= small.length; j++) {
        const out = f([small.subarray(0, i), small.subarray(i, j), small.subarray(j)]);
        expect(out.map((x) => x.raw.length)).toEqual(packets.slice(0, 4).map((p) => p.length - 12));
      }
    }
  });

  it('gives the same packets one byte at a time', () => {
    expectPackets(frames([...stream].map((b) => Buffer.of(b))));
  });

  it('refuses an oversized length as soon as the header is in, before any body byte', () => {
    const h = Buffer.from(packets[0]!.subarray(0, 12));
    h.writeUInt32BE(64 * 1024 + 1, 8);
    const f = new PacketFramer();
    let code: string | undefined;
    try {
      f.push(h);
    } catch (e) {
      code = (e as TacacsError).code;
    }
    expect(code).toBe('ERR_TACACS_TOO_LARGE');
    expect(() => f.push(Buffer.alloc(1))).toThrow(TacacsError);
    expect(f.buffered).toBe(0);
  });

  it('honours a smaller configured limit', () => {
    const f = new PacketFramer({ maxBodyLength: 10 });
    expect(() => f.push(packets[0]!)).toThrow(TacacsError);
  });

  it('reports a stream that stops inside a packet', () => {
    const f = new PacketFramer();
    f.push(packets[0]!.subarray(0, 20));
    expect(f.midPacket).toBe(true);
    expect(f.buffered).toBe(20);
  });
});
