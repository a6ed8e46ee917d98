/**
 * DNS rebinding protection (MCP Streamable HTTP transport, "Security Warning"): the Host of every
 * request must be this server's own (or listed), and an Origin, when sent, must be too. Runs on every
 * route, before anything else.
 */
import type { Logger } from '@netward/audit-context';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface HostGuardOptions {
  readonly publicUrl: URL;
  readonly allowedHosts: readonly string[];
  readonly allowedOrigins: readonly string[];
  readonly logger: Logger;
}

export function hostGuard(options: HostGuardOptions) {
  const { publicUrl, logger } = options;
  const hosts = new Set([publicUrl.host, ...options.allowedHosts].map((h) => h.toLowerCase()));
  const origins = new Set([publicUrl.origin, ...options.allowedOrigins.map((o) => new URL(o).origin)]);
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const host = (req.headers.host ?? '').toLowerCase();
    const origin = req.headers.origin;
    if (!hosts.has(host)) {
      logger.warn({ event: 'request_refused', reason: 'host', host: host.slice(0, 256) }, 'Host not allowed');
      return reply.code(403).send({ error: 'forbidden', error_description: 'Host not allowed' });
    }
    if (origin !== undefined && !origins.has(origin)) {
      logger.warn(
        { event: 'request_refused', reason: 'origin', origin: origin.slice(0, 256) },
        'Origin not allowed',
      );
      return reply.code(403).send({ error: 'forbidden', error_description: 'Origin not allowed' });
    }
  };
}
