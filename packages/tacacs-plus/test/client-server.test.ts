import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type AuthorizationDecision, type ServerAuthorizationRequest, TacacsClient } from '../src/index.ts';
import {
  AuthorStatus,
  encodeAuthorResponse,
  encodePacket,
  type Frame,
  HeaderFlag,
  openBody,
  PacketFramer,
} from '../src/protocol/index.ts';
import { closedPort, rawServer, startServer, waitFor } from './helpers.ts';

const KEY = 'labsecret';
const REM = 'bob/cert:42/sid:fd9e4bdc77df2fa8/req:AAAAAAAAAAAAAAAAAAAAAA';
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

function client(
  ports: number[],
  extra: Partial<ConstructorParameters<typeof TacacsClient>[0]> = {},
  key = KEY,
) {
  const c = new TacacsClient({ servers: ports.map((port) => ({ host: '127.0.0.1', port, key })), ...extra });
  cleanup.push(() => c.close());
  return c;
}

const framers = new WeakMap<net.Socket, PacketFramer>();

/** A raw peer that answers each request with `answer(frame, body)` bytes, for replies our server won't send. */
async function scriptedServer(answer: (f: Frame, socket: net.Socket) => void) {
  return rawServer(cleanup, (socket, chunk) => {
    let framer = framers.get(socket);
    if (!framer) {
      framer = new PacketFramer();
      framers.set(socket, framer);
    }
    for (const f of framer.push(chunk)) answer(f, socket);
  });
}

function replyTo(
  f: Frame,
  body: Buffer,
  over: Partial<{ seqNo: number; sessionId: number; flags: number; key: string }> = {},
) {
  return encodePacket(
    {
      version: f.header.version,
      type: f.header.type,
      seqNo: over.seqNo ?? f.header.seqNo + 1,
      flags: over.flags ?? 0,
      sessionId: over.sessionId ?? f.header.sessionId,
    },
    body,
    { kind: 'key', key: Buffer.from(over.key ?? KEY) },
  );
}

describe('authorization against our server', () => {
  for (const status of ['PASS_ADD', 'PASS_REPL', 'FAIL', 'ERROR'] as const) {
    it(`${status} is reported, and permitted only for PASS_*`, async () => {
      const { port } = await startServer(
        {
          key: KEY,
          handlers: { authorize: () => ({ status, args: ['priv-lvl=15'], serverMsg: 'm', data: 'd' }) },
        },
        cleanup,
      );
      const r = await client([port]).authorize({ user: 'net-viewer', cmd: 'show', args: ['version'] });
      expect(r.status).toBe(status);
      expect(r.permitted).toBe(status === 'PASS_ADD' || status === 'PASS_REPL');
      expect(r.args).toEqual(['priv-lvl=15']);
      expect(r.serverMsg).toBe('m');
      expect(r.data).toBe('d');
      expect(r.server).toBe(`127.0.0.1:${port}`);
      expect(r.errorCode).toBeUndefined();
    });
  }

  it('FOLLOW (only a raw peer sends it) is a deny', async () => {
    const { port } = await scriptedServer((f, s) => {
      s.write(replyTo(f, encodeAuthorResponse({ status: AuthorStatus.FOLLOW, serverMsg: '10.0.0.9' })));
    });
    const r = await client([port]).authorize({ user: 'u', cmd: 'show' });
    expect(r).toMatchObject({ permitted: false, status: 'FOLLOW', serverMsg: '10.0.0.9' });
  });

  it('a handler that throws, returns nonsense, or is missing gives ERROR/FAIL, never a permit', async () => {
    const a = await startServer(
      {
        key: KEY,
        handlers: {
          authorize: () => {
            throw new Error('boom');
          },
        },
      },
      cleanup,
    );
    expect((await client([a.port]).authorize({ user: 'u', cmd: 'x' })).status).toBe('ERROR');
    const b = await startServer(
      { key: KEY, handlers: { authorize: () => ({ status: 'YES' }) as unknown as AuthorizationDecision } },
      cleanup,
    );
    expect((await client([b.port]).authorize({ user: 'u', cmd: 'x' })).status).toBe('ERROR');
    const c = await startServer({ key: KEY, handlers: {} }, cleanup);
    expect((await client([c.port]).authorize({ user: 'u', cmd: 'x' })).status).toBe('FAIL');
    const d = await startServer(
      { key: KEY, handlers: { authorize: () => new Promise(() => {}) }, limits: { handlerTimeoutMs: 100 } },
      cleanup,
    );
    expect((await client([d.port]).authorize({ user: 'u', cmd: 'x' })).status).toBe('ERROR');
  });

  it('sends service=shell, cmd, one cmd-arg per word, then the extra pairs, and the request fields', async () => {
    const seen: ServerAuthorizationRequest[] = [];
    const { port } = await startServer(
      {
        key: KEY,
        handlers: {
          authorize: (r) => {
            seen.push(r);
            return { status: 'PASS_ADD' };
          },
        },
      },
      cleanup,
    );
    const c = client([port]);
    await c.authorize({
      user: 'net-operator',
      cmd: 'show',
      args: ['bgp', 'summary'],
      remAddr: REM,
      extraArgs: ['x*y'],
    });
    await c.authorize({ user: 'net-admin', cmd: 'reload', port: 'vty3', privLvl: 15, service: 'exec' });
    expect(seen[0]).toMatchObject({
      user: 'net-operator',
      port: 'ssh',
      remAddr: REM,
      privLvl: 1,
      authenMethod: 6,
      authenType: 1,
      authenService: 1,
      service: 'shell',
      cmd: 'show',
      args: ['bgp', 'summary'],
      avPairs: ['service=shell', 'cmd=show', 'cmd-arg=bgp', 'cmd-arg=summary', 'x*y'],
      audit: { user: 'bob', certSerial: '42', sid: 'fd9e4bdc77df2fa8', requestId: 'AAAAAAAAAAAAAAAAAAAAAA' },
    });
    expect(seen[1]).toMatchObject({
      user: 'net-admin',
      port: 'vty3',
      privLvl: 15,
      service: 'exec',
      cmd: 'reload',
      args: [],
    });
    expect(seen[1]!.audit).toBeUndefined();
    expect(seen[0]!.sessionId).not.toBe(seen[1]!.sessionId);
  });

  it('logs one JSON line per decision: audit fields at the top, an unparseable rem_addr nested as untrusted', async () => {
    const { port, lines } = await startServer(
      { key: KEY, handlers: { authorize: (r) => ({ status: r.cmd === 'show' ? 'PASS_ADD' : 'FAIL' }) } },
      cleanup,
    );
    const c = client([port]);
    await c.authorize({ user: 'net-viewer', cmd: 'show', args: ['version'], remAddr: REM });
    await c.authorize({
      user: 'net-viewer',
      cmd: 'reload',
      remAddr: 'mallory/cert:1/sid:x/req:short user=admin',
      extraArgs: ['priv-lvl=15'],
    });
    await waitFor(() => lines.filter((l) => l['event'] === 'tacacs.authorization').length === 2);
    const [permit, deny] = lines.filter((l) => l['event'] === 'tacacs.authorization') as Record<
      string,
      unknown
    >[];
    expect(permit).toMatchObject({
      component: 'tacacs-server',
      decision: 'permit',
      status: 'PASS_ADD',
      user: 'bob',
      sid: 'fd9e4bdc77df2fa8',
      cert_serial: '42',
      request_id: 'AAAAAAAAAAAAAAAAAAAAAA',
      role: 'net-viewer',
      tacacs: { user: 'net-viewer', cmd: 'show', args: ['version'], rem_addr: REM },
    });
    expect(permit!['untrusted']).toBeUndefined();
    expect((permit!['tacacs'] as Record<string, unknown>)['other_av_pairs']).toBeUndefined();
    expect((deny!['tacacs'] as Record<string, unknown>)['other_av_pairs']).toEqual(['priv-lvl=15']);
    expect(deny).toMatchObject({ decision: 'deny', status: 'FAIL', role: 'net-viewer' });
    expect(deny!['untrusted']).toEqual({ rem_addr: 'mallory/cert:1/sid:x/req:short user=admin' });
    for (const f of ['user', 'sid', 'cert_serial', 'request_id']) expect(deny![f]).toBeUndefined();
    expect(JSON.stringify(lines)).not.toContain(KEY);
  });
});

describe('accounting and authentication against our server', () => {
  it('start, stop and watchdog reach the handler with their type and task id', async () => {
    const types: string[] = [];
    const { port, lines } = await startServer(
      {
        key: KEY,
        handlers: {
          account: (r) => {
            types.push(`${r.type}:${r.taskId}:${r.cmd}`);
            return undefined;
          },
        },
      },
      cleanup,
    );
    const c = client([port]);
    for (const type of ['start', 'stop', 'watchdog'] as const) {
      const r = await c.account({
        type,
        user: 'net-operator',
        taskId: '7',
        cmd: 'ping',
        args: ['10.0.0.1'],
        remAddr: REM,
      });
      expect(r).toMatchObject({ recorded: true, status: 'SUCCESS' });
    }
    expect(types).toEqual(['start:7:ping', 'stop:7:ping', 'watchdog:7:ping']);
    await waitFor(() => lines.filter((l) => l['event'] === 'tacacs.accounting').length === 3);
    expect(lines.find((l) => l['event'] === 'tacacs.accounting')).toMatchObject({
      acct_type: 'start',
      user: 'bob',
    });
  });

  it('an accounting ERROR is not recorded', async () => {
    const { port } = await startServer(
      { key: KEY, handlers: { account: () => ({ status: 'ERROR' }) } },
      cleanup,
    );
    expect(await client([port]).account({ type: 'start', user: 'u' })).toMatchObject({
      recorded: false,
      status: 'ERROR',
    });
  });

  for (const type of ['ascii', 'pap'] as const) {
    it(`${type} login: PASS with the right password, FAIL otherwise, password never logged`, async () => {
      const { port, lines } = await startServer(
        {
          key: KEY,
          handlers: {
            authenticate: (r) => ({
              status: r.user === 'net-operator' && r.password === 'labpass' ? 'PASS' : 'FAIL',
            }),
          },
        },
        cleanup,
      );
      const c = client([port]);
      expect(await c.authenticate({ type, user: 'net-operator', password: 'labpass' })).toMatchObject({
        authenticated: true,
        status: 'PASS',
      });
      expect(await c.authenticate({ type, user: 'net-operator', password: 'nope-secret' })).toMatchObject({
        authenticated: false,
        status: 'FAIL',
      });
      await waitFor(() => lines.filter((l) => l['event'] === 'tacacs.authentication').length === 2);
      const text = JSON.stringify(lines);
      expect(text).not.toContain('labpass');
      expect(text).not.toContain('nope-secret');
    });
  }
});

describe('failures end in a deny with a code', () => {
  it('timeout: a server that accepts and never answers', async () => {
    const silent = await rawServer(cleanup);
    const r = await client([silent.port], { timeoutMs: 200 }).authorize({ user: 'u', cmd: 'show' });
    expect(r).toMatchObject({ permitted: false, status: 'NO_REPLY', errorCode: 'ERR_TACACS_TIMEOUT' });
  });

  it('deadline: the overall budget ends the walk through the servers', async () => {
    const a = await rawServer(cleanup);
    const b = await rawServer(cleanup);
    const c = await rawServer(cleanup);
    const r = await client([a.port, b.port, c.port], { timeoutMs: 300, deadlineMs: 450 }).authorize({
      user: 'u',
      cmd: 'x',
    });
    expect(r.errorCode).toBe('ERR_TACACS_DEADLINE');
    expect(c.connections()).toBe(0);
  });

  it('failover: first server down, second answers', async () => {
    const down = await closedPort();
    const { port } = await startServer(
      { key: KEY, handlers: { authorize: () => ({ status: 'PASS_ADD' }) } },
      cleanup,
    );
    const r = await client([down, port]).authorize({ user: 'u', cmd: 'show' });
    expect(r).toMatchObject({ permitted: true, server: `127.0.0.1:${port}` });
  });

  it('failover: first server silent, second answers within the deadline', async () => {
    const silent = await rawServer(cleanup);
    const { port } = await startServer(
      { key: KEY, handlers: { authorize: () => ({ status: 'FAIL' }) } },
      cleanup,
    );
    const r = await client([silent.port, port], { timeoutMs: 1000 }).authorize({ user: 'u', cmd: 'show' });
    expect(r).toMatchObject({ permitted: false, status: 'FAIL', server: `127.0.0.1:${port}` });
  });

  it('all servers down: CONNECTION', async () => {
    const r = await client([await closedPort(), await closedPort()]).authorize({ user: 'u', cmd: 'show' });
    expect(r).toMatchObject({ permitted: false, status: 'NO_REPLY', errorCode: 'ERR_TACACS_CONNECTION' });
  });

  it('wrong key: our server answers ERROR under its own key; the client cannot decode it and denies', async () => {
    const { port, lines } = await startServer(
      { key: KEY, handlers: { authorize: () => ({ status: 'PASS_ADD' }) } },
      cleanup,
    );
    for (const singleConnection of [false, true]) {
      const r = await client([port], { singleConnection }, 'wrongsecret').authorize({
        user: 'u',
        cmd: 'show',
      });
      expect(r).toMatchObject({
        permitted: false,
        status: 'NO_REPLY',
        errorCode: 'ERR_TACACS_MALFORMED_PACKET',
      });
    }
    await waitFor(() => lines.some((l) => l['event'] === 'tacacs.bad_packet'));
    expect(lines.some((l) => l['event'] === 'tacacs.authorization')).toBe(false);
  });

  it('wrong key on the first server, right key on the second: the second decides', async () => {
    const a = await startServer(
      { key: 'other', handlers: { authorize: () => ({ status: 'PASS_ADD' }) } },
      cleanup,
    );
    const b = await startServer({ key: KEY, handlers: { authorize: () => ({ status: 'FAIL' }) } }, cleanup);
    const r = await client([a.port, b.port]).authorize({ user: 'u', cmd: 'show' });
    expect(r).toMatchObject({ status: 'FAIL', server: `127.0.0.1:${b.port}` });
  });

  const garbage: [string, string, (f: Frame, s: net.Socket) => void][] = [
    [
      'random bytes',
      'ERR_TACACS_BAD_VERSION',
      (_f, s) => s.write(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')),
    ],
    [
      'a reply for another session',
      'ERR_TACACS_SESSION_MISMATCH',
      (f, s) =>
        s.write(
          replyTo(f, encodeAuthorResponse({ status: 1 }), { sessionId: (f.header.sessionId + 1) >>> 0 }),
        ),
    ],
    [
      'a wrong sequence number',
      'ERR_TACACS_BAD_SEQUENCE',
      (f, s) => s.write(replyTo(f, encodeAuthorResponse({ status: 1 }), { seqNo: 4 })),
    ],
    [
      'an oversized length',
      'ERR_TACACS_TOO_LARGE',
      (f, s) => {
        const r = replyTo(f, encodeAuthorResponse({ status: 1 }));
        r.writeUInt32BE(10_000_000, 8);
        s.write(r);
      },
    ],
    [
      'an unobfuscated PASS_ADD',
      'ERR_TACACS_BAD_FLAGS',
      (f, s) => {
        const body = encodeAuthorResponse({ status: AuthorStatus.PASS_ADD });
        s.write(encodePacket({ ...f.header, seqNo: 2, flags: 0 }, body, { kind: 'tls' }));
      },
    ],
    [
      'a PASS_ADD under another key',
      'ERR_TACACS_MALFORMED_PACKET',
      (f, s) => s.write(replyTo(f, encodeAuthorResponse({ status: 1 }), { key: 'other' })),
    ],
    ['a close without a reply', 'ERR_TACACS_CONNECTION', (_f, s) => s.end()],
    [
      'half a reply, then silence',
      'ERR_TACACS_TIMEOUT',
      (f, s) => s.write(replyTo(f, encodeAuthorResponse({ status: 1 })).subarray(0, 15)),
    ],
  ];
  for (const [what, code, answer] of garbage) {
    it(`garbage answer: ${what} -> ${code}`, async () => {
      const { port } = await scriptedServer(answer);
      for (const singleConnection of [false, true]) {
        const r = await client([port], { timeoutMs: 1500, singleConnection }).authorize({
          user: 'u',
          cmd: 'show',
        });
        expect(r).toMatchObject({ permitted: false, status: 'NO_REPLY', errorCode: code });
      }
    });
  }

  it('never waits for the server to close: a peer that answers and keeps the connection open', async () => {
    const { port } = await scriptedServer((f, s) =>
      s.write(replyTo(f, encodeAuthorResponse({ status: AuthorStatus.PASS_ADD }))),
    );
    // A client that waited for the close would reach its timeout and deny.
    const c = client([port], { timeoutMs: 5000, deadlineMs: 5000 });
    const r = await c.authorize({ user: 'u', cmd: 'show' });
    expect(r).toMatchObject({ permitted: true, status: 'PASS_ADD' });
  });

  it('a closed client denies pending and later calls with ERR_TACACS_CLOSED', async () => {
    const silent = await rawServer(cleanup);
    const c = client([silent.port], { timeoutMs: 5000 });
    const pending = c.authorize({ user: 'u', cmd: 'show' });
    await waitFor(() => silent.connections() === 1);
    await c.close();
    expect((await pending).errorCode).toBe('ERR_TACACS_CLOSED');
    expect((await c.authorize({ user: 'u', cmd: 'show' })).errorCode).toBe('ERR_TACACS_CLOSED');
  });
});

describe('single-connection mode', () => {
  it('multiplexes many concurrent sessions over one connection, replies matched by session id', async () => {
    const peers = new Set<string>();
    const { port } = await startServer(
      {
        key: KEY,
        handlers: {
          authorize: async (r) => {
            peers.add(r.peer);
            // Out-of-order answers: a random delay per request.
            await new Promise((res) => setTimeout(res, Math.random() * 20));
            return { status: r.args[0] === 'even' ? 'PASS_ADD' : 'FAIL', args: [`n=${r.args[1]}`] };
          },
        },
        limits: { maxSessionsPerConnection: 500 },
      },
      cleanup,
    );
    const c = client([port], { singleConnection: true, maxSessionsPerConnection: 400 });
    const first = await c.authorize({ user: 'u', cmd: 'show', args: ['even', '-1'] });
    expect(first.permitted).toBe(true);
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        c.authorize({ user: 'u', cmd: 'show', args: [i % 2 ? 'odd' : 'even', String(i)] }),
      ),
    );
    results.forEach((r, i) => {
      expect(r.permitted).toBe(i % 2 === 0);
      expect(r.args).toEqual([`n=${i}`]);
    });
    expect(peers.size).toBe(1);
  });

  it('concurrent first requests wait for the single-connection answer instead of opening many connections', async () => {
    const peers = new Set<string>();
    const { port } = await startServer(
      {
        key: KEY,
        handlers: {
          authorize: (r) => {
            peers.add(r.peer);
            return { status: 'PASS_ADD' };
          },
        },
      },
      cleanup,
    );
    const c = client([port], { singleConnection: true });
    const rs = await Promise.all(Array.from({ length: 20 }, () => c.authorize({ user: 'u', cmd: 'show' })));
    expect(rs.every((r) => r.permitted)).toBe(true);
    expect(peers.size).toBe(1);
  });

  it('falls back to a connection per request when the server does not echo the flag', async () => {
    const peers = new Set<string>();
    const { port } = await startServer(
      {
        key: KEY,
        singleConnection: false,
        handlers: {
          authorize: (r) => {
            peers.add(r.peer);
            return { status: 'PASS_ADD' };
          },
        },
      },
      cleanup,
    );
    const c = client([port], { singleConnection: true });
    const rs = await Promise.all(Array.from({ length: 10 }, () => c.authorize({ user: 'u', cmd: 'show' })));
    expect(rs.every((r) => r.permitted)).toBe(true);
    expect(peers.size).toBe(10);
  });

  it('a late reply for a timed-out session is dropped without hurting the others', async () => {
    let n = 0;
    const { port } = await startServer(
      {
        key: KEY,
        handlers: {
          authorize: async () => {
            if (n++ === 1) await new Promise((r) => setTimeout(r, 1500));
            return { status: 'PASS_ADD' };
          },
        },
      },
      cleanup,
    );
    const c = client([port], { singleConnection: true, timeoutMs: 1000 });
    expect((await c.authorize({ user: 'u', cmd: 'a' })).permitted).toBe(true);
    expect((await c.authorize({ user: 'u', cmd: 'slow' })).errorCode).toBe('ERR_TACACS_TIMEOUT');
    await new Promise((r) => setTimeout(r, 800));
    expect((await c.authorize({ user: 'u', cmd: 'b' })).permitted).toBe(true);
  });

  it('a first session that times out does not leave later ones waiting for the negotiation', async () => {
    let n = 0;
    const { port } = await startServer(
      {
        key: KEY,
        handlers: {
          authorize: async () => {
            if (n++ === 0) await new Promise((r) => setTimeout(r, 3000));
            return { status: 'PASS_ADD' };
          },
        },
      },
      cleanup,
    );
    const c = client([port], { singleConnection: true, timeoutMs: 1000 });
    expect((await c.authorize({ user: 'u', cmd: 'slow' })).errorCode).toBe('ERR_TACACS_TIMEOUT');
    expect((await c.authorize({ user: 'u', cmd: 'next' })).permitted).toBe(true);
  });

  it('reconnects when the server closed the idle kept connection', async () => {
    const { port } = await startServer(
      { key: KEY, idleTimeoutMs: 100, handlers: { authorize: () => ({ status: 'PASS_ADD' }) } },
      cleanup,
    );
    const c = client([port], { singleConnection: true });
    expect((await c.authorize({ user: 'u', cmd: 'a' })).permitted).toBe(true);
    await new Promise((r) => setTimeout(r, 400));
    expect((await c.authorize({ user: 'u', cmd: 'b' })).permitted).toBe(true);
  });

  it('a kept connection the server drops as a request crosses its idle close is retried once, fresh', async () => {
    // The peer answers the first session of each connection and drops the connection on the second,
    // as a server whose idle timer fired while the request was on its way.
    const seen = new WeakMap<net.Socket, number>();
    const { port, connections } = await scriptedServer((f, s) => {
      const n = (seen.get(s) ?? 0) + 1;
      seen.set(s, n);
      if (n === 1) {
        s.write(
          replyTo(f, encodeAuthorResponse({ status: AuthorStatus.PASS_ADD }), {
            flags: HeaderFlag.SINGLE_CONNECT,
          }),
        );
      } else s.destroy();
    });
    const c = client([port], { singleConnection: true });
    for (let i = 0; i < 3; i++) expect((await c.authorize({ user: 'u', cmd: 'show' })).permitted).toBe(true);
    expect(connections()).toBe(3);
    // A fresh connection that fails is not retried: the error is the answer.
    const dead = await scriptedServer((_f, s) => s.destroy());
    const e = client([dead.port], { singleConnection: true });
    expect((await e.authorize({ user: 'u', cmd: 'show' })).errorCode).toBe('ERR_TACACS_CONNECTION');
    expect(dead.connections()).toBe(1);
  });

  it('the server echoes the flag on every reply of a single-connection connection', async () => {
    const { port } = await startServer(
      { key: KEY, handlers: { authorize: () => ({ status: 'PASS_ADD' }) } },
      cleanup,
    );
    const flags = await new Promise<number>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => {
        // Authorization REQUEST built by hand: method 6, priv 1, type 1, service 1, user "u", one arg "cmd=x".
        const body = Buffer.from([6, 1, 1, 1, 1, 0, 0, 1, 5, 0x75, ...Buffer.from('cmd=x')]);
        s.write(
          encodePacket(
            { version: 0xc0, type: 2, seqNo: 1, flags: HeaderFlag.SINGLE_CONNECT, sessionId: 5 },
            body,
            {
              kind: 'key',
              key: Buffer.from(KEY),
            },
          ),
        );
      });
      const fr = new PacketFramer();
      s.on('data', (c) => {
        for (const f of fr.push(c)) {
          const b = openBody(f.header, f.raw, { kind: 'key', key: Buffer.from(KEY) });
          expect(b[0]).toBe(AuthorStatus.PASS_ADD);
          resolve(f.header.flags);
          s.destroy();
        }
      });
      s.on('error', reject);
    });
    expect(flags).toBe(HeaderFlag.SINGLE_CONNECT);
  });
});

describe('server limits and hostile clients', () => {
  async function exchangeRaw(port: number, data: Buffer): Promise<{ closed: boolean; received: Buffer }> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      const s = net.connect(port, '127.0.0.1', () => s.write(data));
      s.on('data', (c) => chunks.push(c));
      s.on('error', () => {});
      s.on('close', () => resolve({ closed: true, received: Buffer.concat(chunks) }));
    });
  }

  it('an announced body over the limit closes the connection without buffering it', async () => {
    const { port, lines } = await startServer(
      { key: KEY, handlers: {}, limits: { maxBodyLength: 1024 } },
      cleanup,
    );
    const h = Buffer.from([0xc0, 2, 1, 0, 0, 0, 0, 1, 0, 0, 0x10, 0]);
    const r = await exchangeRaw(port, h);
    expect(r).toEqual({ closed: true, received: Buffer.alloc(0) });
    await waitFor(() =>
      lines.some(
        (l) => l['event'] === 'tacacs.connection_dropped' && l['err_code'] === 'ERR_TACACS_TOO_LARGE',
      ),
    );
  });

  it('a wrong version, an even sequence number or a stray CONTINUE closes the connection', async () => {
    const { port } = await startServer({ key: KEY, handlers: {} }, cleanup);
    for (const h of [
      [0xd0, 2, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0],
      [0xc0, 2, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0],
      [0xc0, 1, 3, 0, 0, 0, 0, 1, 0, 0, 0, 0],
    ]) {
      expect((await exchangeRaw(port, Buffer.from(h))).received.length).toBe(0);
    }
  });

  it('connections beyond maxConnections are closed at once', async () => {
    const { port } = await startServer({ key: KEY, handlers: {}, limits: { maxConnections: 2 } }, cleanup);
    const held = [net.connect(port, '127.0.0.1'), net.connect(port, '127.0.0.1')];
    for (const h of held) h.on('error', () => {});
    await Promise.all(held.map((h) => new Promise((r) => h.once('connect', r))));
    await new Promise((r) => setTimeout(r, 50));
    const third = await exchangeRaw(port, Buffer.alloc(0));
    expect(third.closed).toBe(true);
    for (const h of held) h.destroy();
  });

  it('idle connections are closed', async () => {
    const { port } = await startServer({ key: KEY, handlers: {}, idleTimeoutMs: 100 }, cleanup);
    const r = await exchangeRaw(port, Buffer.from([0xc0, 2, 1]));
    expect(r.closed).toBe(true);
  });

  it('a burst larger than the server allows per connection queues in the client instead of failing', async () => {
    const peers = new Set<string>();
    const { port } = await startServer(
      {
        key: KEY,
        limits: { maxSessionsPerConnection: 8 },
        handlers: {
          authorize: async (r) => {
            peers.add(r.peer);
            await new Promise((res) => setTimeout(res, 5));
            return { status: 'PASS_ADD' };
          },
        },
      },
      cleanup,
    );
    const c = client([port], { singleConnection: true, maxSessionsPerConnection: 8 });
    const rs = await Promise.all(Array.from({ length: 100 }, () => c.authorize({ user: 'u', cmd: 'x' })));
    expect(rs.filter((r) => r.permitted)).toHaveLength(100);
    expect(peers.size).toBe(1);
  });

  it('more concurrent sessions than allowed on one connection get ERROR, the rest are served', async () => {
    const { port } = await startServer(
      {
        key: KEY,
        limits: { maxSessionsPerConnection: 5 },
        handlers: {
          authorize: async () => {
            await new Promise((r) => setTimeout(r, 100));
            return { status: 'PASS_ADD' };
          },
        },
      },
      cleanup,
    );
    const c = client([port], { singleConnection: true, maxSessionsPerConnection: 100 });
    await c.authorize({ user: 'u', cmd: 'warm' });
    const rs = await Promise.all(Array.from({ length: 12 }, () => c.authorize({ user: 'u', cmd: 'x' })));
    expect(rs.filter((r) => r.permitted).length).toBe(5);
    expect(rs.filter((r) => r.status === 'ERROR').length).toBe(7);
  });

  it('a client that shuts down its side after the request still gets the reply', async () => {
    const { port } = await startServer(
      { key: KEY, handlers: { authorize: () => ({ status: 'PASS_ADD' }) } },
      cleanup,
    );
    const body = Buffer.from([6, 1, 1, 1, 1, 0, 0, 1, 5, 0x75, ...Buffer.from('cmd=x')]);
    const reply = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      const s = net.connect(port, '127.0.0.1', () =>
        s.end(
          encodePacket({ version: 0xc0, type: 2, seqNo: 1, flags: 0, sessionId: 9 }, body, {
            kind: 'key',
            key: Buffer.from(KEY),
          }),
        ),
      );
      s.on('data', (c) => chunks.push(c));
      s.on('close', () => resolve(Buffer.concat(chunks)));
    });
    const f = new PacketFramer().push(reply);
    expect(f).toHaveLength(1);
    expect(openBody(f[0]!.header, f[0]!.raw, { kind: 'key', key: Buffer.from(KEY) })[0]).toBe(
      AuthorStatus.PASS_ADD,
    );
  });

  it('without single-connection mode the server ends the connection after the session', async () => {
    const { port, server } = await startServer(
      { key: KEY, handlers: { authorize: () => ({ status: 'PASS_ADD' }) } },
      cleanup,
    );
    await client([port]).authorize({ user: 'u', cmd: 'x' });
    await waitFor(() => server.connections === 0);
  });
});

describe('arguments', () => {
  it('bad options and requests throw TypeError before anything is sent', async () => {
    expect(() => new TacacsClient({ servers: [] })).toThrow(TypeError);
    expect(() => new TacacsClient({ servers: [{ host: 'h' }] })).toThrow(TypeError);
    expect(
      () => new TacacsClient({ servers: [{ host: 'h', key: 'k', tls: { ca: 'a', cert: 'b', key: 'c' } }] }),
    ).toThrow(TypeError);
    expect(() => new TacacsClient({ servers: [{ host: 'h', key: '' }] })).toThrow(TypeError);
    expect(() => new TacacsClient({ servers: [{ host: 'h', key: 'k', port: 70000 }] })).toThrow(TypeError);
    const c = client([1]);
    await expect(c.authorize({ user: '', cmd: 'x' })).rejects.toThrow(TypeError);
    await expect(c.authorize({ user: 'u', cmd: '' })).rejects.toThrow(TypeError);
    await expect(c.authorize({ user: 'x'.repeat(256), cmd: 'x' })).rejects.toThrow(TypeError);
    await expect(c.authorize({ user: 'u', cmd: 'x', extraArgs: ['novalue'] })).rejects.toThrow(TypeError);
    await expect(c.authorize({ user: 'u', cmd: 'x', privLvl: 16 })).rejects.toThrow(TypeError);
    await expect(c.authorize({ user: 'u', cmd: 'x', args: Array(300).fill('a') })).rejects.toThrow(TypeError);
    await expect(c.authorize({ user: 'u\ud800', cmd: 'x' })).rejects.toThrow(TypeError);
  });
});
