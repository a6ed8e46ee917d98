// Certificates per second over HTTP, with full token verification on every request, 50 concurrent
// clients; printed beside Node's raw Ed25519 signing rate measured in the same run.
// Target on the 2-core lab machine: >= 3,000 certificates/s, p99 < 20 ms. Printed, never asserted.
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newRequestId } from '@netward/audit-context';
import autocannon from 'autocannon';
import { createDirectoryReplayCache, createMemoryReplayCache } from '../src/replay.ts';
import { startIdp } from '../src/testing/idp.ts';
import {
  claimRate,
  makeUsers,
  mintTokens,
  processCpu,
  rate,
  signSampleCertificate,
  startBroker,
} from './harness.ts';

const DURATION_S = Number(process.env['BENCH_DURATION'] ?? 10);
const CONNECTIONS = 50;

const ca = generateKeyPairSync('ed25519');
const user = generateKeyPairSync('ed25519');
const body = randomBytes(300); // about the size of a certificate's signed part
const rawSign = rate('raw Ed25519 crypto.sign (300 bytes)', () => sign(null, body, ca.privateKey));
const t = BigInt(Math.floor(Date.now() / 1000));
const codec = rate('signCertificate (codec + signature)', () =>
  signSampleCertificate(user.publicKey, ca.privateKey, t),
);

const idp = await startIdp();
const dir = mkdtempSync(join(tmpdir(), 'ca-broker-bench-'));

// What one token's entry in the replay cache costs (the broker below uses the directory form, in its
// state directory, as every local-backend broker does by default): a line in the minute's log, written
// in batches (replay-log.ts), or a Map lookup and insert. Each call records a new jti, as each certificate does.
const exp = Math.floor(Date.now() / 1000) + 60;
const directoryCache = createDirectoryReplayCache(join(dir, 'replay-bench'), { graceSeconds: 65 });
const replayFile = await claimRate('replay cache claim: directory (log)', (j) =>
  directoryCache.claim(j, exp),
);
directoryCache.close();
const memoryCache = createMemoryReplayCache({ graceSeconds: 65 });
const replayMemory = await claimRate('replay cache claim: in-process Map', (j) => memoryCache.claim(j, exp));
memoryCache.close();
rmSync(join(dir, 'replay-bench'), { recursive: true, force: true });
// The broker runs as it ships: one esbuild bundle (as scripts/bundle.mjs builds programs), plain node.
const broker = await startBroker(idp, dir);
const url = broker.url;

// 50 users, each with its own key; and a distinct token for every request (its own `jti`), minted before
// the run, so that nothing the broker could cache per token would ever be hit: each request is verified
// from scratch, as each MCP tool call brings a freshly exchanged token. EdDSA, as the lab IdP signs.
const TOKENS = DURATION_S * 6_000;
const users = makeUsers(idp, CONNECTIONS);
const tokens = await mintTokens(idp, users, TOKENS, 't');
const brokerCpu = () => processCpu(broker.process.pid!);

let next = 0;
const cpuBefore = brokerCpu();
const result = await autocannon({
  url: `${url}/v1/ssh/sign`,
  connections: CONNECTIONS,
  duration: DURATION_S,
  requests: [
    {
      method: 'POST',
      setupRequest: (req) => {
        const n = next++;
        const user = users[n % CONNECTIONS]!;
        return {
          ...req,
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${tokens[n % TOKENS]}`,
          },
          body: JSON.stringify({ public_key: user.key, request_id: newRequestId() }),
        };
      },
    },
  ],
});

const cpuAfter = brokerCpu();
await broker.stop();
await idp.close();
const issued = readFileSync(join(dir, 'audit-after.log'), 'utf8')
  .split('\n')
  .filter((l) => l.includes('"issued"')).length;
rmSync(dir, { recursive: true, force: true });

const perSec = result.requests.average;
console.log(
  `HTTP POST /v1/ssh/sign, ${CONNECTIONS} connections, ${DURATION_S} s, replay cache: ${process.env['BENCH_REPLAY'] === 'memory' ? 'in memory' : 'directory'}:`,
);
console.log(`  certificates/s (mean)   ${Math.round(perSec).toLocaleString('en-US')}`);
console.log(`  latency p50 / p99       ${result.latency.p50} ms / ${result.latency.p99} ms`);
console.log(
  `  distinct tokens         ${Math.min(next, TOKENS).toLocaleString('en-US')} for ${next.toLocaleString('en-US')} requests${next > TOKENS ? ' (pool exhausted: some reused)' : ''}`,
);
console.log(
  `  responses 2xx / non-2xx ${result['2xx']} / ${result.non2xx}   errors ${result.errors}   audited ${issued}`,
);
const perCert = (seconds: number) => (seconds / Math.max(1, result['2xx'])) * 1e6;
const cpuPerCert = perCert(cpuAfter.all - cpuBefore.all);
const mainPerCert = perCert(cpuAfter.main - cpuBefore.main);
console.log(
  `  broker CPU/certificate  ${Math.round(cpuPerCert)} us  (${Math.round(1e6 / cpuPerCert).toLocaleString('en-US')} certificates per CPU-second)`,
);
console.log(
  `    of which event loop   ${Math.round(mainPerCert)} us  (bound: ${Math.round(1e6 / mainPerCert).toLocaleString('en-US')}/s on one core)`,
);
console.log(
  `  ratio to raw Ed25519    ${(perSec / rawSign).toFixed(3)}  (to codec alone ${(perSec / codec).toFixed(3)})`,
);
console.log(
  `  replay cache/certificate ${(1e6 / replayFile).toFixed(1)} us directory, ${(1e6 / replayMemory).toFixed(2)} us in memory (wall time of one claim)`,
);
console.log(
  `  target                  >= 3,000/s and p99 < 20 ms: ${perSec >= 3000 && result.latency.p99 < 20 ? 'met' : 'NOT met'}`,
);
