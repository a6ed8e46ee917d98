/** Listening is all this file does: the app is built by buildApp. */
import type { FastifyInstance } from 'fastify';
import { type AppDeps, buildApp } from './app.ts';
import type { Config } from './config.ts';

export interface RunningServer {
  readonly app: FastifyInstance;
  /** `http://host:port` actually bound. */
  readonly address: string;
  close(): Promise<void>;
}

export async function startServer(config: Config, deps: AppDeps = {}): Promise<RunningServer> {
  const app = await buildApp(config, deps);
  const address = await app.listen({ host: config.listen.host, port: config.listen.port });
  return { app, address, close: () => app.close() };
}
