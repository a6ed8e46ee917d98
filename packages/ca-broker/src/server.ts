/**
 * Starts the broker from a validated configuration: loads the policy and the signing backend (a bad
 * key file or policy stops it here, before it listens), builds the app and listens. Nothing else.
 */
import { createLogger } from '@netward/audit-context';
import { defaultPolicy, loadPolicy } from '@netward/policy';
import type { FastifyInstance } from 'fastify';
import { type AppDeps, buildApp } from './app.ts';
import { auditDestination } from './audit-destination.ts';
import type { BrokerConfig } from './config.ts';
import { replayDirectory } from './replay.ts';
import { createBackend } from './signers/index.ts';

export interface RunningBroker {
  readonly app: FastifyInstance;
  /** `http://127.0.0.1:8200` */
  readonly url: string;
  close(): Promise<void>;
}

export async function startServer(
  config: BrokerConfig,
  options: { logDestination?: AppDeps['logDestination'] } = {},
): Promise<RunningBroker> {
  const policy = config.policyFile ? loadPolicy(config.policyFile) : defaultPolicy();
  const backend = createBackend(config);
  const logger = createLogger({
    component: 'ca-broker',
    level: config.log.level,
    // Standard output by default, each line written before the answer it records.
    destination: options.logDestination ?? auditDestination(),
  });
  const app = buildApp(config, { backend, policy, logger });
  const url = await app.listen({ host: config.listen.host, port: config.listen.port });
  logger.info(
    { listen: url, backend: backend.kind, policy: policy.source, issuer: config.token.issuer },
    'ca-broker listening',
  );
  for (const warning of startupWarnings(config)) logger.warn({ setting: warning.setting }, warning.message);
  return { app, url, close: () => app.close() };
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Settings that are allowed but weaker than they could be: each is logged once at startup. */
export function startupWarnings(config: BrokerConfig): { setting: string; message: string }[] {
  const out: { setting: string; message: string }[] = [];
  if (!LOOPBACK.has(config.listen.host)) {
    out.push({
      setting: 'listen.host',
      message: 'listening beyond loopback: put TLS in front of the broker',
    });
  }
  const jwks = new URL(config.token.jwksUri);
  if (jwks.protocol === 'http:' && !LOOPBACK.has(jwks.hostname.replace(/^\[|\]$/g, ''))) {
    out.push({ setting: 'token.jwksUri', message: 'JWKS fetched over plain HTTP from another host' });
  }
  if (replayDirectory(config) === undefined) {
    out.push({
      setting: 'replay.directory',
      message:
        'the replay cache is kept in this process only: with several brokers, one token could yield one certificate from each',
    });
  }
  if (!config.token.actor.require) {
    out.push({
      setting: 'token.actor.require',
      message:
        'tokens without an acting party are accepted: any holder of a user token for this audience can obtain certificates',
    });
  }
  return out;
}
