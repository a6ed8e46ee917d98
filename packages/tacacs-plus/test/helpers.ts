import net from 'node:net';
import { Writable } from 'node:stream';
import { createLogger } from '@netward/audit-context';
import { createTacacsServer, type TacacsServer, type TacacsServerOptions } from '../src/index.ts';

/** A decision log written to memory, parsed line by line. */
export function memoryLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { logger: createLogger({ component: 'tacacs-server', destination }), lines };
}

export interface Started {
  server: TacacsServer;
  port: number;
  lines: Record<string, unknown>[];
}

export async function startServer(
  opts: Omit<TacacsServerOptions, 'logger'>,
  cleanup: (() => Promise<void>)[],
): Promise<Started> {
  const { logger, lines } = memoryLogger();
  const server = createTacacsServer({ ...opts, logger });
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  cleanup.push(() => server.close());
  return { server, port, lines };
}

/** A TCP server that runs `onData` for each chunk (or never answers when it is undefined). */
export async function rawServer(
  cleanup: (() => Promise<void>)[],
  onData?: (socket: net.Socket, chunk: Buffer) => void,
): Promise<{ port: number; connections: () => number }> {
  const sockets = new Set<net.Socket>();
  let count = 0;
  const srv = net.createServer((s) => {
    count++;
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    if (onData) s.on('data', (c) => onData(s, c));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  cleanup.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  );
  return { port: (srv.address() as net.AddressInfo).port, connections: () => count };
}

/** A port on which nothing listens: bound, then released. */
export async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
