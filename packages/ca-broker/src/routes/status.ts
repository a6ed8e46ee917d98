/** What devices and probes read: the user CA line for sshd's TrustedUserCAKeys, liveness, readiness. */
import type { FastifyInstance } from 'fastify';
import { CaBrokerError } from '../errors.ts';
import type { RouteDeps } from './deps.ts';

export async function statusRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const { backend, authentication } = deps;

  app.get('/v1/ssh/ca.pub', async (_req, reply) => {
    let line: string;
    try {
      line = await backend.userCaPublicKey();
    } catch (err) {
      throw new CaBrokerError('ERR_CA_BACKEND_UNAVAILABLE', 'signing backend unavailable', { cause: err });
    }
    return reply.type('text/plain; charset=utf-8').send(`${line}\n`);
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async () => {
    try {
      await backend.ready();
      await authentication.verifier.reload();
    } catch (err) {
      throw new CaBrokerError('ERR_CA_NOT_READY', 'not ready', { cause: err });
    }
    return { status: 'ready' };
  });
}
