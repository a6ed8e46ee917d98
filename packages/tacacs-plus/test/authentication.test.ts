import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TacacsClient } from '../src/index.ts';
import {
  AuthenContinueFlag,
  AuthenStatus,
  decodeAuthenReply,
  encodeAuthenContinue,
  encodeAuthenReply,
  encodeAuthenStart,
  encodePacket,
  PacketFramer,
  type Protection,
} from '../src/protocol/index.ts';
import { rawServer, startServer } from './helpers.ts';

const KEY = 'labsecret';
const prot: Protection = { kind: 'key', key: Buffer.from(KEY) };
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

/** A hand-driven client session: send a body with the next odd seq_no, read the reply body. */
async function rawSession(port: number) {
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  cleanup.push(async () => void s.destroy());
  const fr = new PacketFramer();
  const queue: Buffer[] = [];
  let wake: (() => void) | undefined;
  s.on('data', (c) => {
    for (const f of fr.push(c)) {
      queue.push(Buffer.from(f.raw));
      wake?.();
    }
  });
  let seqNo = 1;
  return {
    send(body: Buffer) {
      s.write(encodePacket({ version: 0xc0, type: 1, seqNo, flags: 0, sessionId: 77 }, body, prot));
      seqNo += 2;
    },
    async reply() {
      while (queue.length === 0) await new Promise<void>((r) => (wake = r));
      const raw = queue.shift()!;
      // De-obfuscate with the server's seq_no, which is one behind the next client seq_no.
      const { openBody } = await import('../src/protocol/index.ts');
      return decodeAuthenReply(
        openBody(
          { version: 0xc0, type: 1, seqNo: seqNo - 1, flags: 0, sessionId: 77, length: raw.length },
          raw,
          prot,
        ),
      );
    },
  };
}

describe('ASCII login conversation on our server (RFC 8907 section 5.4.2.1)', () => {
  it('START without a user: GETUSER, then GETPASS with NOECHO, then the handler decides', async () => {
    const seen: { user: string; password: string }[] = [];
    const { port } = await startServer(
      {
        key: KEY,
        handlers: {
          authenticate: (r) => {
            seen.push({ user: r.user, password: r.password });
            return { status: 'PASS', serverMsg: 'welcome' };
          },
        },
      },
      cleanup,
    );
    const s = await rawSession(port);
    s.send(
      encodeAuthenStart({
        action: 1,
        privLvl: 1,
        authenType: 1,
        authenService: 1,
        user: '',
        port: 'tty0',
        remAddr: '',
      }),
    );
    expect(await s.reply()).toMatchObject({ status: AuthenStatus.GETUSER, flags: 0 });
    s.send(encodeAuthenContinue({ userMsg: 'net-operator' }));
    expect(await s.reply()).toMatchObject({ status: AuthenStatus.GETPASS, flags: 0x01 });
    s.send(encodeAuthenContinue({ userMsg: 'labpass' }));
    expect(await s.reply()).toMatchObject({ status: AuthenStatus.PASS, serverMsg: 'welcome' });
    expect(seen).toEqual([{ user: 'net-operator', password: 'labpass' }]);
  });

  it('an ABORT ends the session without calling the handler', async () => {
    let called = false;
    const { port, server } = await startServer(
      {
        key: KEY,
        handlers: {
          authenticate: () => {
            called = true;
            return { status: 'PASS' };
          },
        },
      },
      cleanup,
    );
    const s = await rawSession(port);
    s.send(
      encodeAuthenStart({
        action: 1,
        privLvl: 1,
        authenType: 1,
        authenService: 1,
        user: 'u',
        port: '',
        remAddr: '',
      }),
    );
    expect((await s.reply()).status).toBe(AuthenStatus.GETPASS);
    s.send(encodeAuthenContinue({ flags: AuthenContinueFlag.ABORT }));
    await new Promise((r) => setTimeout(r, 100));
    expect(called).toBe(false);
    expect(server.connections).toBe(0);
  });

  it('unsupported actions and types get ERROR', async () => {
    const { port } = await startServer(
      { key: KEY, handlers: { authenticate: () => ({ status: 'PASS' }) } },
      cleanup,
    );
    const a = await rawSession(port);
    a.send(
      encodeAuthenStart({
        action: 2,
        privLvl: 1,
        authenType: 1,
        authenService: 1,
        user: 'u',
        port: '',
        remAddr: '',
      }),
    );
    expect((await a.reply()).status).toBe(AuthenStatus.ERROR);
    const b = await rawSession(port);
    b.send(
      encodeAuthenStart({
        action: 1,
        privLvl: 1,
        authenType: 3,
        authenService: 1,
        user: 'u',
        port: '',
        remAddr: '',
        data: 'x',
      }),
    );
    expect((await b.reply()).status).toBe(AuthenStatus.ERROR);
  });
});

describe('client ASCII login against scripted servers', () => {
  it('answers GETUSER with the user; aborts on GETDATA with ERR_TACACS_UNSUPPORTED', async () => {
    const steps: string[] = [];
    const { port } = await rawServer(cleanup, (socket, chunk) => {
      const fr = new PacketFramer();
      for (const f of fr.push(chunk)) {
        const reply = (status: number) =>
          socket.write(
            encodePacket(
              { ...f.header, seqNo: f.header.seqNo + 1, flags: 0 },
              encodeAuthenReply({ status }),
              prot,
            ),
          );
        steps.push(`seq${f.header.seqNo}`);
        if (f.header.seqNo === 1) reply(AuthenStatus.GETUSER);
        else if (f.header.seqNo === 3) reply(AuthenStatus.GETDATA);
      }
    });
    const c = new TacacsClient({ servers: [{ host: '127.0.0.1', port, key: KEY }], timeoutMs: 3000 });
    cleanup.push(() => c.close());
    const r = await c.authenticate({ type: 'ascii', user: 'u', password: 'p' });
    expect(r).toMatchObject({
      authenticated: false,
      status: 'NO_REPLY',
      errorCode: 'ERR_TACACS_UNSUPPORTED',
    });
    await new Promise((res) => setTimeout(res, 50));
    expect(steps).toEqual(['seq1', 'seq3', 'seq5']);
  });
});

describe('a client that shuts down its sending side during an ASCII login', () => {
  it('gets the GETPASS prompt, then the server closes: no CONTINUE can come (found by fuzz/)', async () => {
    // The idle timeout is far longer than the test's, so only the new rule can close the connection.
    const { port } = await startServer(
      { key: KEY, idleTimeoutMs: 60_000, handlers: { authenticate: () => ({ status: 'PASS' }) } },
      cleanup,
    );
    const s = net.connect(port, '127.0.0.1');
    cleanup.push(async () => void s.destroy());
    await new Promise((r) => s.once('connect', r));
    const start = encodeAuthenStart({
      action: 1,
      privLvl: 1,
      authenType: 1,
      authenService: 1,
      user: 'net-operator',
      port: 'tty0',
      remAddr: '',
      data: Buffer.alloc(0),
    });
    s.end(encodePacket({ version: 0xc0, type: 1, seqNo: 1, flags: 0, sessionId: 78 }, start, prot));
    const chunks: Buffer[] = [];
    s.on('data', (c) => chunks.push(c));
    await new Promise((r) => s.once('close', r));
    const fr = new PacketFramer();
    const [frame] = fr.push(Buffer.concat(chunks));
    expect(frame?.header.seqNo).toBe(2);
    const { openBody } = await import('../src/protocol/index.ts');
    expect(decodeAuthenReply(openBody(frame!.header, frame!.raw, prot)).status).toBe(AuthenStatus.GETPASS);
  });
});
