import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TacacsClient, type TacacsClientOptions } from '../src/index.ts';
import {
  AuthorStatus,
  decodeAuthorResponse,
  encodeAuthorRequest,
  encodePacket,
  HeaderFlag,
  PacketFramer,
  type Protection,
} from '../src/protocol/index.ts';
import { startServer, waitFor } from './helpers.ts';
import { makePki, type Pki } from './tls-certs.ts';

let pki: Pki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki?.cleanup());

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

const handlers = {
  authorize: (r: { cmd?: string }) => ({
    status: r.cmd === 'show' ? ('PASS_ADD' as const) : ('FAIL' as const),
  }),
};

async function tlsServer(over: Partial<{ cert: Buffer; key: Buffer; ca: Buffer }> = {}) {
  return startServer(
    {
      tls: { ca: over.ca ?? pki.ca, cert: over.cert ?? pki.serverCert, key: over.key ?? pki.serverKey },
      handlers,
    },
    cleanup,
  );
}

function tlsClient(
  port: number,
  over: Partial<{ cert: Buffer; key: Buffer; ca: Buffer; servername: string }> = {},
  extra: Partial<TacacsClientOptions> = {},
) {
  const c = new TacacsClient({
    servers: [
      {
        host: '127.0.0.1',
        port,
        tls: {
          ca: over.ca ?? pki.ca,
          cert: over.cert ?? pki.clientCert,
          key: over.key ?? pki.clientKey,
          ...(over.servername ? { servername: over.servername } : {}),
        },
      },
    ],
    timeoutMs: 1500,
    ...extra,
  });
  cleanup.push(() => c.close());
  return c;
}

const authzBody = encodeAuthorRequest({
  authenMethod: 6,
  privLvl: 1,
  authenType: 1,
  authenService: 1,
  user: 'u',
  port: 'ssh',
  remAddr: '',
  args: ['service=shell', 'cmd=show'],
});

/** Speaks to the TLS server by hand and returns what came back before the server closed. */
function rawTls(port: number, options: tls.ConnectionOptions, packet?: (p: Protection) => Buffer) {
  return new Promise<{ secure: boolean; error?: string; replies: { flags: number; status: number }[] }>(
    (resolve) => {
      const replies: { flags: number; status: number }[] = [];
      let secure = false;
      let error: string | undefined;
      const s = tls.connect({ host: '127.0.0.1', port, ca: pki.ca, ...options }, () => {
        secure = true;
        if (packet) s.write(packet({ kind: 'tls' }));
      });
      const fr = new PacketFramer();
      s.on('data', (c) => {
        for (const f of fr.push(c))
          replies.push({ flags: f.header.flags, status: decodeAuthorResponse(f.raw).status });
      });
      s.on('error', (e: Error & { code?: string }) => {
        error = e.code ?? e.message;
      });
      s.on('close', () => resolve({ secure, replies, ...(error ? { error } : {}) }));
    },
  );
}

describe('TACACS+ over TLS 1.3 (RFC 9887)', () => {
  it('authorizes over TLS with mutual certificates, per request and single-connection', async () => {
    const { port, lines } = await tlsServer();
    for (const singleConnection of [false, true]) {
      const c = tlsClient(port, {}, { singleConnection });
      const rs = await Promise.all([
        c.authorize({ user: 'u', cmd: 'show' }),
        c.authorize({ user: 'u', cmd: 'reload' }),
        c.authorize({ user: 'u', cmd: 'show' }),
      ]);
      expect(rs.map((r) => r.status)).toEqual(['PASS_ADD', 'FAIL', 'PASS_ADD']);
    }
    const decisions = lines.filter((l) => l['event'] === 'tacacs.authorization');
    expect(decisions).toHaveLength(6);
    expect(decisions[0]).toMatchObject({ peer_cert_cn: 'client' });
  });

  it('refuses TLS material that does not load with a TypeError, at construction', () => {
    expect(
      () => new TacacsClient({ servers: [{ host: 'h', tls: { ca: 'x', cert: 'y', key: 'z' } }] }),
    ).toThrow(TypeError);
  });

  it('verifies the server name when one is given', async () => {
    const { port } = await tlsServer();
    expect(
      (await tlsClient(port, { servername: 'tacacs.test' }).authorize({ user: 'u', cmd: 'show' })).permitted,
    ).toBe(true);
    const r = await tlsClient(port, { servername: 'other.test' }).authorize({ user: 'u', cmd: 'show' });
    expect(r).toMatchObject({ permitted: false, errorCode: 'ERR_TACACS_TLS' });
  });

  it('the client refuses a server certificate from another CA', async () => {
    const { port } = await tlsServer({ cert: pki.rogueServerCert, key: pki.rogueServerKey });
    const r = await tlsClient(port).authorize({ user: 'u', cmd: 'show' });
    expect(r).toMatchObject({ permitted: false, status: 'NO_REPLY', errorCode: 'ERR_TACACS_TLS' });
  });

  it('the server refuses a client certificate from another CA, and a client without one', async () => {
    const { port, lines } = await tlsServer();
    const r = await tlsClient(port, { cert: pki.rogueClientCert, key: pki.rogueClientKey }).authorize({
      user: 'u',
      cmd: 'show',
    });
    expect(r.permitted).toBe(false);
    expect(['ERR_TACACS_TLS', 'ERR_TACACS_CONNECTION']).toContain(r.errorCode);
    const none = await rawTls(port, { maxVersion: 'TLSv1.3' }, () =>
      encodePacket({ version: 0xc0, type: 2, seqNo: 1, flags: 0, sessionId: 9 }, authzBody, { kind: 'tls' }),
    );
    expect(none.replies).toEqual([]);
    await waitFor(() => lines.filter((l) => l['event'] === 'tacacs.tls_refused').length >= 2);
    expect(lines.some((l) => l['event'] === 'tacacs.authorization')).toBe(false);
  });

  it('TLS 1.2 is refused', async () => {
    const { port } = await tlsServer();
    const r = await rawTls(port, {
      cert: pki.clientCert,
      key: pki.clientKey,
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
    });
    expect(r.secure).toBe(false);
    expect(r.error).toBeDefined();
  });

  it('inside TLS the reply carries the unencrypted flag, and an MD5-obfuscated request is refused', async () => {
    const { port, lines } = await tlsServer();
    const seen = await new Promise<{ flags: number; status: number }>((resolve) => {
      const s = tls.connect(
        { host: '127.0.0.1', port, ca: pki.ca, cert: pki.clientCert, key: pki.clientKey },
        () =>
          s.write(
            encodePacket({ version: 0xc0, type: 2, seqNo: 1, flags: 0, sessionId: 2 }, authzBody, {
              kind: 'tls',
            }),
          ),
      );
      const fr = new PacketFramer();
      s.on('error', () => {});
      s.on('data', (c) => {
        for (const f of fr.push(c)) {
          resolve({ flags: f.header.flags, status: decodeAuthorResponse(f.raw).status });
          s.destroy();
        }
      });
    });
    expect(seen).toEqual({ flags: HeaderFlag.UNENCRYPTED, status: AuthorStatus.PASS_ADD });

    const md5 = await rawTls(port, { cert: pki.clientCert, key: pki.clientKey }, () =>
      encodePacket({ version: 0xc0, type: 2, seqNo: 1, flags: 0, sessionId: 3 }, authzBody, {
        kind: 'key',
        key: Buffer.from('k'),
      }),
    );
    expect(md5.replies).toEqual([{ flags: HeaderFlag.UNENCRYPTED, status: AuthorStatus.ERROR }]);
    await waitFor(() =>
      lines.some((l) => l['event'] === 'tacacs.bad_packet' && l['err_code'] === 'ERR_TACACS_BAD_FLAGS'),
    );
  });

  it('the client refuses an obfuscated reply inside TLS', async () => {
    // A TLS peer that answers PASS_ADD obfuscated with MD5, which RFC 9887 section 4 forbids.
    const server = tls.createServer(
      {
        ca: pki.ca,
        cert: pki.serverCert,
        key: pki.serverKey,
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.3',
      },
      (s) => {
        const fr = new PacketFramer();
        s.on('error', () => {});
        s.on('data', (c) => {
          for (const f of fr.push(c)) {
            s.write(
              encodePacket(
                { ...f.header, seqNo: 2, flags: 0 },
                Buffer.from([AuthorStatus.PASS_ADD, 0, 0, 0, 0, 0]),
                {
                  kind: 'key',
                  key: Buffer.from('k'),
                },
              ),
            );
          }
        });
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => server.close(() => r())));
    const port = (server.address() as { port: number }).port;
    const r = await tlsClient(port).authorize({ user: 'u', cmd: 'show' });
    expect(r).toMatchObject({ permitted: false, errorCode: 'ERR_TACACS_BAD_FLAGS' });
    server.close();
  });
});
