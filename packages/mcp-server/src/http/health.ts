/**
 * Liveness: the process serves HTTP. Carries nothing about tokens, devices or dependencies, so it needs
 * no authentication (the Host check still applies); the IdP, the broker and the devices are checked on
 * each tool call, where a failure has a code.
 */
import type { FastifyInstance } from 'fastify';

export const HEALTH_PATH = '/healthz';

export async function healthPlugin(app: FastifyInstance): Promise<void> {
  app.get(HEALTH_PATH, async (_req, reply) =>
    reply.header('cache-control', 'no-store').send({ status: 'ok' }),
  );
}
