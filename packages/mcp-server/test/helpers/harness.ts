/**
 * Wires the fixtures together: a real sshd, the test IdP, the in-process broker, a config, and the app
 * listening on 127.0.0.1 (port chosen up front because the canonical URL, which tokens carry as their
 * audience, contains it). Audit lines are captured and parsed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '@netward/audit-context';
import type { BrokerClient } from '@netward/ca-broker/client';
import { freePort } from '@netward/kit/testing';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { type Config, parseConfig } from '../../src/config.ts';
import { generateEphemeralKey } from '../../src/ssh/keys.ts';
import { createTestBroker, type TestBroker } from './broker.ts';
import { BROKER_AUDIENCE, CLIENT_ID, CLIENT_SECRET, startIdp, type TestIdp } from './idp.ts';
import { type SshdFixture, type StartSshdOptions, startSshd } from './sshd.ts';

export { freePort } from '@netward/kit/testing';

export class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  readonly raw: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      this.raw.push(line);
      this.lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    cb();
  }
  events(name: string): Record<string, unknown>[] {
    return this.lines.filter((l) => l['event'] === name);
  }
}

export interface Harness {
  readonly sshd: SshdFixture;
  readonly idp: TestIdp;
  readonly broker: TestBroker;
  readonly publicUrl: string;
  readonly port: number;
  readonly baseConfig: Record<string, unknown>;
  /** Builds (and, with listen, starts) an app with config overrides. */
  app(
    overrides?: Record<string, unknown>,
    opts?: { listen?: boolean; broker?: BrokerClient | null },
  ): Promise<{ app: FastifyInstance; config: Config; logs: LogCapture }>;
  close(): Promise<void>;
}

export async function startHarness(sshdOptions: StartSshdOptions = {}): Promise<Harness> {
  const sshd = await startSshd(sshdOptions);
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}/mcp`;
  const idp = await startIdp(() => publicUrl);
  const broker = createTestBroker(idp, sshd.userCaKey);
  writeFileSync(join(sshd.dir, 'client_secret'), `${CLIENT_SECRET}\n`, { mode: 0o600 });
  writeFileSync(join(sshd.dir, 'host_ca_keys'), `@cert-authority * ${sshd.hostCaPub}\n`);
  const baseConfig: Record<string, unknown> = {
    listen: { host: '127.0.0.1', port },
    publicUrl,
    issuer: idp.issuer,
    jwksUri: idp.jwksUri,
    tokenExchange: {
      tokenEndpoint: idp.tokenEndpoint,
      clientId: CLIENT_ID,
      clientSecretFile: 'client_secret',
      audience: BROKER_AUDIENCE,
    },
    broker: { url: 'http://127.0.0.1:1' },
    hostCa: { publicKeyFile: 'host_ca_keys' },
    inventory: [
      { name: 'device-1', address: '127.0.0.1', port: sshd.port, vendor: 'frr', site: 'lab' },
      // Same sshd, but its host certificate does not name this device.
      { name: 'impostor', address: '127.0.0.1', port: sshd.port, vendor: 'frr', site: 'lab' },
      // Same sshd, pinned to a key it does not have.
      {
        name: 'pinned-wrong',
        address: '127.0.0.1',
        port: sshd.port,
        vendor: 'frr',
        hostKeys: [generateEphemeralKey().publicKeyLine],
      },
      { name: 'closed-port', address: '127.0.0.1', port: 1, vendor: 'frr' },
    ],
  };
  let running: FastifyInstance | undefined;
  return {
    sshd,
    idp,
    broker,
    publicUrl,
    port,
    baseConfig,
    async app(overrides = {}, opts = {}) {
      const config = parseConfig({ ...baseConfig, ...overrides }, join(sshd.dir, 'config.yaml'));
      const logs = new LogCapture();
      const app = await buildApp(config, {
        logger: createLogger({ component: 'mcp-server', destination: logs }),
        ...(opts.broker === null ? {} : { broker: opts.broker ?? broker }),
      });
      if (opts.listen) {
        if (running) {
          await running.close();
          // Let clients' keep-alive pools see the closed sockets before the next server takes the port.
          await new Promise((r) => setTimeout(r, 50));
        }
        await app.listen({ host: '127.0.0.1', port });
        running = app;
      }
      return { app, config, logs };
    },
    async close() {
      if (running) await running.close();
      await idp.close();
      await sshd.stop();
    },
  };
}
