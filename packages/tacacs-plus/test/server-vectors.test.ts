import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { commandLine, type ServerAuthorizationRequest } from '../src/index.ts';
import {
  decodeAcctReply,
  decodeAuthenReply,
  decodeAuthorResponse,
  decodePacket,
  type Frame,
  PacketFramer,
} from '../src/protocol/index.ts';
import { startServer } from './helpers.ts';
import { LAB_KEY, loadVectors } from './vectors.ts';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

// The policy of test/fixtures/tac_plus-ng/tac_plus-ng.cfg, as handler code: first match decides.
const PROFILES: Record<string, [RegExp, boolean][]> = {
  'net-viewer': [
    [/configure/, false],
    [/write/, false],
    [/(^|\/)show($| )/, true],
    [/(^|\/)ip route($| )/, true],
    [/(^|\/)ip addr($| )/, true],
  ],
  'net-operator': [
    [/configure/, false],
    [/write/, false],
    [/(^|\/)show($| )/, true],
    [/(^|\/)ping($| )/, true],
    [/(^|\/)traceroute($| )/, true],
    [/(^|\/)ip($| )/, true],
  ],
  'net-admin': [[/.*/, true]],
};

function tacPlusNgPolicy(r: ServerAuthorizationRequest) {
  const line = commandLine(r.cmd, r.args);
  const rule = r.service === 'shell' ? PROFILES[r.user]?.find(([re]) => re.test(line)) : undefined;
  return { status: rule?.[1] ? ('PASS_ADD' as const) : ('FAIL' as const) };
}

/** Plays the client messages of a case to our server over one connection and collects the replies. */
async function replay(port: number, clientMessages: Buffer[]): Promise<Frame[]> {
  const s = net.connect(port, '127.0.0.1');
  cleanup.push(async () => void s.destroy());
  await new Promise((r) => s.once('connect', r));
  const fr = new PacketFramer();
  const frames: Frame[] = [];
  let wake: (() => void) | undefined;
  s.on('data', (c) => {
    frames.push(...fr.push(c));
    wake?.();
  });
  for (const [i, m] of clientMessages.entries()) {
    s.write(m);
    while (frames.length <= i) await new Promise<void>((r) => (wake = r));
  }
  return frames;
}

function wire(f: Frame): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt8(f.header.version, 0);
  h.writeUInt8(f.header.type, 1);
  h.writeUInt8(f.header.seqNo, 2);
  h.writeUInt8(f.header.flags, 3);
  h.writeUInt32BE(f.header.sessionId, 4);
  h.writeUInt32BE(f.header.length, 8);
  return Buffer.concat([h, f.raw]);
}

describe('our server answers the captured client packets as tac_plus-ng did', () => {
  for (const c of loadVectors()) {
    it(c.name, async () => {
      const { port } = await startServer(
        {
          key: LAB_KEY,
          handlers: {
            authorize: tacPlusNgPolicy,
            authenticate: (r) => ({ status: PROFILES[r.user] && r.password === 'labpass' ? 'PASS' : 'FAIL' }),
          },
        },
        cleanup,
      );
      const client = c.messages.filter((m) => m.from === 'client').map((m) => Buffer.from(m.hex, 'hex'));
      const captured = c.messages.filter((m) => m.from === 'server').map((m) => Buffer.from(m.hex, 'hex'));
      const ours = (await replay(port, client)).map(wire);
      expect(ours).toHaveLength(captured.length);
      ours.forEach((mine, i) => {
        const theirs = captured[i]!;
        // Same header (version, type, seq_no, flags, session id); the bodies decoded with the server key.
        expect(mine.subarray(0, 8).toString('hex')).toBe(theirs.subarray(0, 8).toString('hex'));
        const a = decodePacket(mine, { kind: 'key', key: LAB_KEY }).body;
        const b = decodePacket(theirs, { kind: 'key', key: LAB_KEY }).body;
        const decode = { 1: decodeAuthenReply, 2: decodeAuthorResponse, 3: decodeAcctReply }[
          mine[1] as 1 | 2 | 3
        ];
        const [x, y] = [decode(a), decode(b)];
        expect(x.status).toBe(y.status);
        if ('flags' in x && 'flags' in y) expect(x.flags).toBe(y.flags);
        // Replies with no message are the same bytes on the wire as tac_plus-ng's.
        if (y.serverMsg === '') expect(mine.equals(theirs)).toBe(true);
      });
    });
  }
});

describe('a decision its client no longer waits for', () => {
  it('is logged with late: true when the client closed before the answer', async () => {
    const author = loadVectors().find((c) => c.messages[0] && Buffer.from(c.messages[0].hex, 'hex')[1] === 2);
    if (author === undefined) throw new Error('no authorization case in the vectors');
    const request = Buffer.from(author.messages[0]!.hex, 'hex');
    const { port, lines } = await startServer(
      {
        key: LAB_KEY,
        handlers: {
          // Slower than the client: it sends its request and gives up (half-closes) at once.
          authorize: async (r) => {
            await new Promise((res) => setTimeout(res, 150));
            return tacPlusNgPolicy(r);
          },
        },
      },
      cleanup,
    );
    const s = net.connect(port, '127.0.0.1', () => s.end(request));
    s.on('error', () => {});
    cleanup.push(async () => void s.destroy());
    // And one that waits, for comparison.
    expect((await replay(port, [request])).length).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    const decisions = lines.filter((l) => l['event'] === 'tacacs.authorization');
    expect(decisions.map((l) => l['late'] === true).sort()).toEqual([false, true]);
  });
});
