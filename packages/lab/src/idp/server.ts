import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@netward/audit-context';
import type { IdpConfig, LabUsers } from './config.ts';
import { createIdp, type LabIdp } from './provider.ts';

export interface RunningIdp {
  readonly idp: LabIdp;
  readonly server: Server;
  /** The bound URL (the issuer's, or with the real port when the issuer's port is 0). */
  readonly url: string;
  close(): Promise<void>;
}

/** Starts the lab IdP on the issuer's host and port (or `config.host`). */
export async function startIdp(
  config: IdpConfig,
  deps: { logger: Logger; users?: LabUsers },
): Promise<RunningIdp> {
  const idp = await createIdp(config, deps);
  const issuer = new URL(config.issuer);
  const server = createServer(idp.handler);
  // Keep-alive sockets of clients would hold close() open; the IdP's requests are short.
  server.keepAliveTimeout = 2_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(issuer.port || 80), config.host ?? issuer.hostname, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  deps.logger.info({ event: 'listening', issuer: config.issuer, port }, 'lab IdP listening');
  return {
    idp,
    server,
    url: `${issuer.protocol}//${issuer.hostname}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
