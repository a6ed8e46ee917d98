// The broker under benchmark, in its own process (the load generator gets the other core).
// Reads its settings from argv: <issuer> <jwksUri> <stateDir> <auditFile> [path] [reusePort]. Prints
// its URL on stdout. [path]: the path under comparison (paths.ts), default as the broker ships.
// [reusePort]: listen with SO_REUSEPORT on that port (0: any), so that a second broker process can
// listen on the same port and the kernel spreads connections over both (replicas on one machine).
import { createWriteStream } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { defaultPolicy } from '@netward/policy';
import { buildApp } from '../src/app.ts';
import { auditDestination } from '../src/audit-destination.ts';
import { parseConfig } from '../src/config.ts';
import { createMemoryReplayCache } from '../src/replay.ts';
import { createLocalBackend } from '../src/signers/local.ts';
import { type BrokerPath, threadPoolOf } from './paths.ts';

const [issuer, jwksUri, stateDir, auditFile, path, reusePort] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string | undefined,
  string | undefined,
];
const pool = threadPoolOf((path ?? 'after') as BrokerPath);
const config = parseConfig({
  token: { issuer, audience: 'netward-ca-broker', jwksUri, actor: { allowed: ['netward-mcp-server'] } },
  backend: { type: 'local', stateDir },
  // The benchmark measures issuance, not the brake: 50 users at full speed.
  rateLimit: { burst: 1_000_000, perSecond: 1_000_000 },
});
const app = buildApp(config, {
  backend: createLocalBackend({ stateDir, threadPool: pool.sign }),
  policy: defaultPolicy(),
  // Audit lines are written for real, to a file, as in production.
  logDestination: pool.asyncAudit ? createWriteStream(auditFile) : auditDestination(auditFile),
  threadPool: { token: pool.token, replay: pool.replay },
  // BENCH_REPLAY=memory: the per-process cache instead of the shared directory (the default), to
  // measure what the directory costs per certificate.
  ...(process.env['BENCH_REPLAY'] === 'memory'
    ? { replay: createMemoryReplayCache({ graceSeconds: 65 }) }
    : {}),
});
const url = await app.listen({
  host: '127.0.0.1',
  ...(reusePort === undefined ? { port: 0 } : { port: Number(reusePort), reusePort: true }),
});
process.stdout.write(`${url}\n`);
// SIGUSR2: one JSON line with the event loop's delay since the last one (how long a ready callback
// waited for the loop: queueing inside the broker), then a fresh histogram. Resolution 1 ms.
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
process.on('SIGUSR2', () => {
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  const line = { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) };
  process.stdout.write(`${JSON.stringify({ eventLoopDelayMs: line })}\n`);
  delay.reset();
});
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
