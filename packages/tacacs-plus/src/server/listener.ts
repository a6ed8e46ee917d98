// The listening side: a TCP or TLS 1.3 server whose every accepted socket becomes a ServerConnection.
import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { DEFAULT_PORT, DEFAULT_TLS_PORT } from '../protocol/constants.ts';
import { nodeTls, serverTlsOptions } from '../tls-options.ts';
import { resolveServerConfig, type ServerConfig } from './config.ts';
import { ServerConnection } from './connection.ts';
import type { TacacsServer, TacacsServerOptions } from './types.ts';

export function createTacacsServer(options: TacacsServerOptions): TacacsServer {
  const config = resolveServerConfig(options);
  const tls = options.tls;
  if (tls) {
    try {
      nodeTls().createSecureContext({ ca: tls.ca, cert: tls.cert, key: tls.key });
    } catch (cause) {
      throw new TypeError('tls: the CA, certificate or key cannot be loaded', { cause });
    }
  }
  const onSocket = (socket: net.Socket) => {
    new ServerConnection(socket, config);
  };
  const server = tls
    ? nodeTls().createServer(
        { ...serverTlsOptions(tls), handshakeTimeout: Math.min(config.idleTimeoutMs, 10_000) },
        onSocket,
      )
    : net.createServer({ allowHalfOpen: true }, onSocket);
  server.maxConnections = config.maxConnections;
  const sockets = trackSockets(server, config);
  return {
    listen: (opts = {}) =>
      listen(server, config, opts.host ?? '127.0.0.1', opts.port ?? (tls ? DEFAULT_TLS_PORT : DEFAULT_PORT)),
    close() {
      return new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        if (!server.listening) {
          resolve();
          return;
        }
        server.close(() => resolve());
      });
    },
    get connections() {
      return sockets.size;
    },
  };
}

/** Every TCP connection, TLS handshakes in progress included, so that close() can end them all. */
function trackSockets(server: net.Server, config: ServerConfig): Set<net.Socket> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
    config.logger.warn(
      {
        event: 'tacacs.tls_refused',
        peer: `${socket.remoteAddress}:${socket.remotePort}`,
        err_code: err.code,
      },
      'TLS handshake refused',
    );
  });
  server.on('error', (err) => config.logger.error({ event: 'tacacs.server_error', err }, 'server error'));
  return sockets;
}

function listen(
  server: net.Server,
  config: ServerConfig,
  host: string,
  port: number,
): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      const a = server.address() as net.AddressInfo;
      const tls = config.protection.kind === 'tls';
      config.logger.info({ event: 'tacacs.listening', host: a.address, port: a.port, tls }, 'listening');
      resolve({ host: a.address, port: a.port });
    });
  });
}
