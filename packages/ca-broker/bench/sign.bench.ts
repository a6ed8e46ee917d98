// Certificates per second over HTTP, with full token verification on every request, 50 concurrent
// clients; printed beside Node's raw Ed25519 signing rate measured in the same run.
// Target on the 2-core lab machine: >= 3,000 certificates/s, p99 < 20 ms. Printed, never asserted.
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { newRequestId } from '@netward/audit-context';
import { formatPublicKey, signCertificate } from '@netward/ssh-certificate';
import autocannon from 'autocannon';
import { build } from 'esbuild';
import { createDirectoryReplayCache, createMemoryReplayCache } from '../src/replay.ts';
import { startIdp } from '../test/helpers/idp.ts';

const DURATION_S = Number(process.env['BENCH_DURATION'] ?? 10);
const CONNECTIONS = 50;

function rate(label: string, fn: () => void, ms = 1000): number {
  for (let i = 0; i < 2000; i++) fn(); // warm up
  let n = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(ms) * 1_000_000n;
  while (process.hrtime.bigint() < end) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
  }
  const perSec = n / (Number(process.hrtime.bigint() - start) / 1e9);
  console.log(`${label.padEnd(44)} ${Math.round(perSec).toLocaleString('en-US').padStart(10)} /s`);
  return perSec;
}

const ca = generateKeyPairSync('ed25519');
const user = generateKeyPairSync('ed25519');
const body = randomBytes(300); // about the size of a certificate's signed part
const rawSign = rate('raw Ed25519 crypto.sign (300 bytes)', () => sign(null, body, ca.privateKey));
const t = BigInt(Math.floor(Date.now() / 1000));
const codec = rate('signCertificate (codec + signature)', () =>
  signCertificate(
    {
      publicKey: user.publicKey,
      type: 'user',
      serial: 1n,
      keyId: 'sid=s1,user=bob,req=Qm9iUmVxdWVzdElkMDAx',
      principals: ['net-operator'],
      validAfter: t,
      validBefore: t + 60n,
    },
    ca.privateKey,
  ),
);

const idp = await startIdp();
const dir = mkdtempSync(join(tmpdir(), 'ca-broker-bench-'));

// What one token's entry in the replay cache costs (the broker below uses the directory form, in its
// state directory, as every local-backend broker does by default): an O_EXCL create and a close, or a
// Map lookup and insert. Each call records a new jti, as each certificate does.
// Sequential awaited claims: the wall time of one claim including the thread-pool round trip.
async function claimRate(label: string, claim: (jti: string) => Promise<boolean>): Promise<number> {
  const n = 5000;
  for (let i = 0; i < 500; i++) await claim(`warm${label}${i}`);
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await claim(`${label}${i}`);
  const perSec = n / (Number(process.hrtime.bigint() - start) / 1e9);
  console.log(`${label.padEnd(44)} ${Math.round(perSec).toLocaleString('en-US').padStart(10)} /s`);
  return perSec;
}
const exp = Math.floor(Date.now() / 1000) + 60;
const directoryCache = createDirectoryReplayCache(join(dir, 'replay-bench'), { graceSeconds: 65 });
const replayFile = await claimRate('replay cache claim: directory (O_EXCL file)', (j) =>
  directoryCache.claim(j, exp),
);
directoryCache.close();
const memoryCache = createMemoryReplayCache({ graceSeconds: 65 });
const replayMemory = await claimRate('replay cache claim: in-process Map', (j) => memoryCache.claim(j, exp));
memoryCache.close();
rmSync(join(dir, 'replay-bench'), { recursive: true, force: true });
// The broker runs as it ships: one esbuild bundle (as scripts/bundle.mjs builds programs), plain node.
const brokerJs = join(dir, 'broker.mjs');
await build({
  entryPoints: [resolve(import.meta.dirname, 'broker-process.ts')],
  outfile: brokerJs,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  conditions: ['netward-source'],
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
  logLevel: 'error',
});
const child = spawn(
  process.execPath,
  [
    // BENCH_PROFILE=<dir> writes a V8 CPU profile of the broker process there.
    ...(process.env['BENCH_PROFILE'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_PROFILE']}`] : []),
    brokerJs,
    idp.issuer,
    idp.jwksUri,
    join(dir, 'state'),
    join(dir, 'audit.log'),
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const url = await new Promise<string>((res, rej) => {
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
    if (out.includes('\n')) res(out.trim());
  });
  child.once('exit', (code) => rej(new Error(`broker exited ${code}`)));
});

// 50 users, each with its own key; and a distinct token for every request (its own `jti`), minted before
// the run, so that nothing the broker could cache per token would ever be hit: each request is verified
// from scratch, as each MCP tool call brings a freshly exchanged token. EdDSA, as the lab IdP signs.
const TOKENS = DURATION_S * 6_000;
const now = Math.floor(Date.now() / 1000);
const users = Array.from({ length: CONNECTIONS }, (_, i) => ({
  claims: {
    iss: idp.issuer,
    aud: 'netward-ca-broker',
    sub: `user-${i}`,
    preferred_username: `user${i}`,
    sid: `sid${i}`,
    net_role: ['net-viewer', 'net-operator', 'net-admin'][i % 3],
    act: { sub: 'netward-mcp-server' },
    iat: now,
    exp: now + 3600,
  },
  key: formatPublicKey(generateKeyPairSync('ed25519').publicKey),
}));
const tokens: string[] = [];
for (let i = 0; i < TOKENS; i += 1000) {
  tokens.push(
    ...(await Promise.all(
      Array.from({ length: Math.min(1000, TOKENS - i) }, (_, j) =>
        idp.sign({ ...users[(i + j) % CONNECTIONS]!.claims, jti: `t${i + j}` }),
      ),
    )),
  );
}

// CPU seconds the broker has used (utime + stime from /proc, clock ticks of 10 ms): the whole process
// (event loop, libuv thread pool, GC and compiler threads) and its main thread alone. The machine is
// shared, so throughput varies with everyone else's load; CPU per certificate varies far less, and the
// main thread's share is what bounds throughput (one event loop, one core at most).
function cpuSeconds(file: string): number {
  const stat = readFileSync(file, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
const brokerCpu = () => ({
  all: cpuSeconds(`/proc/${child.pid}/stat`),
  main: cpuSeconds(`/proc/${child.pid}/task/${child.pid}/stat`),
});

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
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
await idp.close();
const issued = readFileSync(join(dir, 'audit.log'), 'utf8')
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
