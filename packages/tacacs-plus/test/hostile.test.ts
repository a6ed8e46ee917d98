import net from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { TacacsClient } from '../src/index.ts';
import { encodeAuthorResponse, encodePacket, PacketFramer } from '../src/protocol/index.ts';
import { rawServer, startServer } from './helpers.ts';
import { allPackets } from './vectors.ts';

const KEY = 'labsecret';
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

const vectors = allPackets().map((p) => p.bytes);
const hostileBytes = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc
    .tuple(
      fc.constantFrom(...vectors),
      fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 5 }),
      fc.nat(),
    )
    .map(([v, edits, cut]) => {
      const b = Buffer.from(v);
      for (const [at, x] of edits) b[at % b.length] = x;
      return b.subarray(0, 1 + (cut % b.length));
    }),
);

function send(port: number, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(data));
    s.on('error', () => resolve());
    s.on('close', () => resolve());
    s.resume();
    setTimeout(() => s.destroy(), 300);
  });
}

describe('hostile peers', () => {
  it('the server survives random and mutated byte streams and keeps answering', async () => {
    const { port, lines } = await startServer(
      { key: KEY, handlers: { authorize: () => ({ status: 'PASS_ADD' }) }, idleTimeoutMs: 1000 },
      cleanup,
    );
    const c = new TacacsClient({ servers: [{ host: '127.0.0.1', port, key: KEY }] });
    cleanup.push(() => c.close());
    await fc.assert(
      fc.asyncProperty(fc.array(hostileBytes, { minLength: 1, maxLength: 3 }), async (parts) => {
        await send(port, Buffer.concat(parts));
      }),
      { numRuns: 150 },
    );
    expect((await c.authorize({ user: 'u', cmd: 'show' })).permitted).toBe(true);
    expect(lines.every((l) => l['level'] !== 'error')).toBe(true);
  }, 60_000);

  it('the client never permits on garbage, whatever the bytes, and always says why', async () => {
    let next: Buffer = Buffer.alloc(0);
    const { port } = await rawServer(cleanup, (socket, chunk) => {
      for (const f of new PacketFramer().push(chunk)) {
        // Garbage, or garbage after a header that names the right session and sequence number.
        const header = encodePacket(
          { ...f.header, seqNo: 2, flags: 0 },
          encodeAuthorResponse({ status: 1 }),
          {
            kind: 'key',
            key: Buffer.from(KEY),
          },
        ).subarray(0, 12);
        socket.end(next.length % 2 ? next : Buffer.concat([header, next]));
      }
    });
    const c = new TacacsClient({ servers: [{ host: '127.0.0.1', port, key: KEY }], timeoutMs: 300 });
    cleanup.push(() => c.close());
    await fc.assert(
      fc.asyncProperty(hostileBytes, async (bytes) => {
        next = bytes;
        const r = await c.authorize({ user: 'u', cmd: 'show' });
        // Random bytes behind a valid header de-obfuscate to a well-formed PASS_ADD with probability
        // about 2^-48 (six exact bytes): never, here.
        expect(r.permitted).toBe(false);
        if (r.status === 'NO_REPLY') expect(r.errorCode).toMatch(/^ERR_TACACS_/);
      }),
      { numRuns: 150 },
    );
  }, 60_000);
});
