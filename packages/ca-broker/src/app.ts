/**
 * The broker service: `buildApp(config, deps)` returns a fastify instance (tests use inject(); server.ts
 * only listens), assembled from plugins (audit, errors, authentication) and route modules (sign, host,
 * status). Every request to a signing endpoint ends in exactly one audit line, issued or refused, and
 * no path but the last line of a successful handler ever sends a certificate.
 */
import { type CreateLoggerOptions, createLogger, type Logger } from '@netward/audit-context';
import type { Policy } from '@netward/policy';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { JWTVerifyGetKey } from 'jose';
import { auditDestination } from './audit-destination.ts';
import type { BrokerConfig } from './config.ts';
import { CaBrokerError } from './errors.ts';
import { auditPlugin, createAuditTrail } from './plugins/audit.ts';
import { createAuthentication } from './plugins/authenticate.ts';
import { createRefuse, errorsPlugin } from './plugins/errors.ts';
import { createReplayCache, type ReplayCache } from './replay.ts';
import type { RouteDeps } from './routes/deps.ts';
import { hostRoutes } from './routes/host.ts';
import { signRoutes } from './routes/sign.ts';
import { statusRoutes } from './routes/status.ts';
import type { SigningBackend } from './signers/types.ts';

export interface AppDeps {
  readonly backend: SigningBackend;
  readonly policy: Policy;
  /** Audit logger; default: createLogger({ component: 'ca-broker', destination }). */
  readonly logger?: Logger;
  /** Where audit lines go when no logger is given. Default stdout, written synchronously
   *  (auditDestination: each line is written before the answer it records). */
  readonly logDestination?: CreateLoggerOptions['destination'];
  /** Token keys instead of the remote JWKS (tests). */
  readonly keys?: JWTVerifyGetKey;
  /** Clock, ms since the epoch. */
  readonly now?: () => number;
  /** Replay cache; default: from `config.replay` (see createReplayCache). Closed with the app. */
  readonly replay?: ReplayCache;
  /**
   * Check the token's signature (`token`) and do the default replay cache's file calls (`replay`) on
   * libuv's thread pool. Default: the token's Ed25519/RSA/ECDSA verification on the pool (one hand-off,
   * the largest single stage off the event loop: at 2,000/s on two cores the loop is the ceiling
   * without it) and the replay log's calls on the event loop (README: Thread-pool hand-offs).
   */
  readonly threadPool?: { readonly token?: boolean; readonly replay?: boolean };
}

export function buildApp(config: BrokerConfig, deps: AppDeps): FastifyInstance {
  const log =
    deps.logger ??
    createLogger({
      component: 'ca-broker',
      level: config.log.level,
      destination: deps.logDestination ?? auditDestination(),
    });
  const trail = createAuditTrail(log);
  const refuse = createRefuse(trail);
  // Before anything opens: a readable-by-others operator token file stops the broker here.
  const { authentication, plugin: authenticationPlugin } = createAuthentication(
    config,
    trail,
    deps.keys,
    deps.threadPool?.token === false ? 'event-loop' : 'thread-pool',
  );
  const replay =
    deps.replay ?? createReplayCache(config, deps.now, deps.threadPool?.replay ? 'thread-pool' : 'sync');

  const app = Fastify({
    // The audit line is the request log; fastify's own would duplicate it without the decision.
    logger: false,
    bodyLimit: 16 * 1024,
    return503OnClosing: true,
    // A URL fastify cannot decode (`/%zz`) is refused before routing, and so before any hook: it gets
    // its line and the usual refusal body here.
    frameworkErrors: (err, req, reply) => {
      const e = new CaBrokerError('ERR_CA_BAD_REQUEST', 'malformed request', { cause: err });
      void refuse(req, reply as unknown as FastifyReply, e);
    },
  });
  // JSON only: a text/plain body is refused with 415 rather than handed to the validators as a string.
  app.removeContentTypeParser('text/plain');

  const routeDeps: RouteDeps = {
    config,
    backend: deps.backend,
    policy: deps.policy,
    replay,
    trail,
    authentication,
    now: deps.now ?? Date.now,
  };
  // Hooks run in registration order: the audit line's decision begins before authentication fills it.
  void app.register(auditPlugin, { trail });
  void app.register(errorsPlugin, { trail, refuse });
  void app.register(authenticationPlugin);
  void app.register(signRoutes, routeDeps);
  void app.register(hostRoutes, routeDeps);
  void app.register(statusRoutes, routeDeps);

  app.addHook('onClose', async () => {
    replay.close();
    await deps.backend.close();
  });
  return app;
}
