/**
 * The real CA broker service (@netward/ca-broker buildApp, local backend) on 127.0.0.1:0, trusting the
 * test IdP and signing with the sshd fixture's user CA, so the MCP server reaches it through its real
 * HTTP client.
 */
import { buildApp, createLocalBackend, parseConfig } from '@netward/ca-broker';
import { defaultPolicy } from '@netward/policy';
import type { FastifyInstance } from 'fastify';
import { LogCapture } from './harness.ts';
import { BROKER_AUDIENCE, CLIENT_ID, type TestIdp } from './idp.ts';

export interface RealBroker {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly audit: LogCapture;
  close(): Promise<void>;
}

export async function startRealBroker(idp: TestIdp, userCaKeyFile: string): Promise<RealBroker> {
  const config = parseConfig({
    listen: { host: '127.0.0.1', port: 0 },
    token: {
      issuer: idp.issuer,
      audience: BROKER_AUDIENCE,
      jwksUri: idp.jwksUri,
      actor: { allowed: [CLIENT_ID], require: true },
    },
    backend: { type: 'local', userCaKeyFile },
    // The benchmark and tests issue many certificates for one user in a short time.
    rateLimit: { burst: 100_000, perSecond: 100_000 },
  });
  const audit = new LogCapture();
  const app = buildApp(config, {
    backend: createLocalBackend({ userCaKeyFile }),
    policy: defaultPolicy(),
    logDestination: audit,
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, app, audit, close: () => app.close() };
}
