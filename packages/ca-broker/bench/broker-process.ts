// The broker under benchmark, in its own process (the load generator gets the other core).
// Reads its settings from argv: <issuer> <jwksUri> <stateDir>. Prints its URL on stdout.
import { createWriteStream } from 'node:fs';
import { defaultPolicy } from '@netward/policy';
import { buildApp } from '../src/app.ts';
import { parseConfig } from '../src/config.ts';
import { createMemoryReplayCache } from '../src/replay.ts';
import { createLocalBackend } from '../src/signers/local.ts';

const [issuer, jwksUri, stateDir, auditFile] = process.argv.slice(2) as [string, string, string, string];
const config = parseConfig({
  token: { issuer, audience: 'netward-ca-broker', jwksUri, actor: { allowed: ['netward-mcp-server'] } },
  backend: { type: 'local', stateDir },
  // The benchmark measures issuance, not the brake: 50 users at full speed.
  rateLimit: { burst: 1_000_000, perSecond: 1_000_000 },
});
const app = buildApp(config, {
  backend: createLocalBackend({ stateDir }),
  policy: defaultPolicy(),
  // Audit lines are written for real, to a file, as in production.
  logDestination: createWriteStream(auditFile),
  // BENCH_REPLAY=memory: the per-process cache instead of the shared directory (the default), to
  // measure what the directory costs per certificate.
  ...(process.env['BENCH_REPLAY'] === 'memory'
    ? { replay: createMemoryReplayCache({ graceSeconds: 65 }) }
    : {}),
});
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${url}\n`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
