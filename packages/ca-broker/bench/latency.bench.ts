// The broker's latency as a service level: an open-loop load (constant arrival rate, latency from each
// request's scheduled send time, so queueing counts) at 2,000 certificates/s, then the highest rate at
// which p99 stays under 20 ms with nothing failed. Baselines in the same run: the closed-loop figure
// (50 requests always in flight, as sign.bench.ts measures), and the same open-loop load against a
// bare fastify server that answers without verifying or signing (the floor: generator, loopback,
// fastify). Per-stage CPU costs are measured in this process, one stage at a time, beside the broker's
// and the floor's CPU per request under load, to show where a certificate's CPU goes. Printed, never
// asserted.
//
// Before and after in the same run: the broker as it ships (no thread-pool hand-off per certificate,
// audit lines written synchronously) and the former path (verification, signature and the replay
// log's file calls on libuv's thread pool, audit lines through an asynchronous stream), each in its
// own process, one after the other under the same load; and the hand-offs per certificate of each,
// counted in this process (async_hooks) over certificates issued one at a time.
//
// Three processes: this one (IdP, token minting, the stage costs), the broker, and the load generator
// (bench/load.ts in generator-process.ts), so that neither the generator nor the minting runs on the
// broker's event loop. None is pinned to a core (the former path's Ed25519 work runs on libuv's
// thread pool, and pinning it beside its own event loop would serialise the two).
//
// BENCH_DURATION (s, default 10) sets the 2,000/s run; BENCH_STEP (s, default 4) each step of the
// search for the highest sustainable rate.
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, newRequestId } from '@netward/audit-context';
import { defaultPolicy } from '@netward/policy';
import { buildApp } from '../src/app.ts';
import { auditDestination } from '../src/audit-destination.ts';
import { createDirectoryReplayCache } from '../src/replay.ts';
import { createLocalBackend } from '../src/signers/local.ts';
import { brokerConfig } from '../src/testing/broker.ts';
import { countHandOffs } from '../src/testing/hand-offs.ts';
import { startIdp } from '../src/testing/idp.ts';
import {
  type BenchUser,
  bundle,
  type Child,
  cpuPerAsyncCall,
  cpuPerCall,
  formatPublicKey,
  type GeneratorResult,
  handOffCpu,
  makeUsers,
  mintTokens,
  processCpu,
  signSampleCertificate,
  startBroker,
  startChild,
  startGenerator,
} from './harness.ts';
import { quantile, rawRequest } from './load.ts';
import { BROKER_PATHS, type BrokerPath, threadPoolOf } from './paths.ts';

const DURATION_S = Number(process.env['BENCH_DURATION'] ?? 10);
const STEP_S = Number(process.env['BENCH_STEP'] ?? 4);
const TARGET_RATE = 2000;
const P99_LIMIT_MS = 20;
const USERS = 50;

const idp = await startIdp();
const dir = mkdtempSync(join(tmpdir(), 'ca-broker-latency-'));
const users = makeUsers(idp, USERS);
let batch = 0;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
console.log(`load average at start: ${load()}`);
console.log(
  'processes: this one (IdP, token minting, stage costs), the broker on each path (bench/paths.ts, loaded in turn), the load generator; none pinned to a core',
);

// --- Thread-pool hand-offs per certificate, counted in this process ---
type Path = BrokerPath;
const PATHS = BROKER_PATHS;
const LABELS: Record<Path, string> = {
  after: 'broker, no hand-off',
  'token-pool': 'broker (as it ships)',
  before: 'broker, former path',
};
const pathLabel = (path: Path) => LABELS[path];

/** Jobs handed to the thread pool per certificate (their callbacks reaching the event loop), `count`
 *  certificates one at a time: no claim or line shares a batch, so the former path's worst case. */
async function handOffsPerCertificate(path: Path, count = 200): Promise<string> {
  const pool = threadPoolOf(path);
  const stateDir = join(dir, `in-process-${path}`);
  const auditFile = join(dir, `in-process-${path}.log`);
  const app = buildApp(brokerConfig(idp, {}, stateDir), {
    backend: createLocalBackend({ stateDir, threadPool: pool.sign }),
    policy: defaultPolicy(),
    logDestination: pool.asyncAudit ? createWriteStream(auditFile) : auditDestination(auditFile),
    threadPool: { token: pool.token, replay: pool.replay },
  });
  const bodies = (await requests(count + 1)).map((raw) => {
    const text = raw.toString('latin1');
    const auth = /authorization: (Bearer \S+)/i.exec(text)![1]!;
    return { auth, payload: text.slice(text.indexOf('\r\n\r\n') + 4) };
  });
  const send = async (b: { auth: string; payload: string }) => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/ssh/sign',
      headers: { authorization: b.auth, 'content-type': 'application/json' },
      payload: b.payload,
    });
    if (res.statusCode !== 200) throw new Error(`hand-off count: ${res.statusCode} ${res.body}`);
  };
  await send(bodies[0]!); // the JWKS fetch and the log's open: once, not per certificate
  const counted = await countHandOffs(async () => {
    for (const b of bodies.slice(1)) await send(b);
  });
  await app.close();
  const types = Object.entries(counted.byType)
    .map(([type, n]) => `${type} ${(n / count).toFixed(2)}`)
    .join(', ');
  return `${(counted.total / count).toFixed(2)}${types ? ` (${types})` : ''}`;
}

/** Requests over freshly minted tokens, one per request, written as bytes before the run so that the
 *  generator spends its time sending, not serialising. */
async function requests(count: number): Promise<Buffer[]> {
  const tokens = await mintTokens(idp, users, count, `b${batch++}-`);
  return tokens.map((token, i) =>
    rawRequest(
      '/v1/ssh/sign',
      { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      JSON.stringify({ public_key: (users[i % USERS] as BenchUser).key, request_id: newRequestId() }),
    ),
  );
}

const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1)).padStart(7);
const perSecond = (v: number) => `${Math.round(v).toLocaleString('en-US').padStart(6)}/s`;
/** One run's figures: offered rate (open loop), achieved rate, latency quantiles, failures. */
function line(label: string, r: GeneratorResult, offered: number | undefined, extra = ''): void {
  const l = r.latencies;
  console.log(
    `  ${label.padEnd(24)} offered ${offered === undefined ? '     -  ' : perSecond(offered)} achieved ${perSecond(r.throughput)}  p50 ${fmt(quantile(l, 0.5))}  p99 ${fmt(quantile(l, 0.99))}  p99.9 ${fmt(quantile(l, 0.999))}  max ${fmt(l[l.length - 1] ?? Number.NaN)} ms  failed ${r.failed}${extra}`,
  );
}
const passes = (r: GeneratorResult) => r.failed === 0 && quantile(r.latencies, 0.99) < P99_LIMIT_MS;

// --- Per-stage CPU costs, in this process, one at a time (µs per certificate) ---
console.log('per-stage CPU of one certificate, each measured alone in this process:');
const idpKey = generateKeyPairSync('ed25519');
const sampleToken = await mintTokens(idp, users, 1, 'stage');
// The lab IdP's token, re-signed with a key of ours: the same signing input, size and algorithm.
const [h, p] = sampleToken[0]!.split('.') as [string, string];
const signingInput = Buffer.from(`${h}.${p}`);
const tokenSignature = sign(null, signingInput, idpKey.privateKey);
const stages: [string, number][] = [];
stages.push([
  'token',
  cpuPerCall('  token: Ed25519 verify + claims JSON', () => {
    verify(null, signingInput, idpKey.publicKey, tokenSignature);
    JSON.parse(Buffer.from(p, 'base64url').toString());
  }),
]);
const userKey = generateKeyPairSync('ed25519');
const caKey = generateKeyPairSync('ed25519');
const t = BigInt(Math.floor(Date.now() / 1000));
stages.push([
  'certificate',
  cpuPerCall('  certificate: encode + Ed25519 sign', () =>
    signSampleCertificate(userKey.publicKey, caKey.privateKey, t),
  ),
]);
const reqBody = JSON.stringify({
  public_key: formatPublicKey(userKey.publicKey),
  request_id: newRequestId(),
});
stages.push(['request JSON', cpuPerCall('  request JSON parse', () => JSON.parse(reqBody))]);
// Written to a file as the broker writes it: the scrubbed JSON and a synchronous write(2).
const audit = createLogger({ component: 'ca-broker', destination: auditDestination(join(dir, 'stage.log')) });
stages.push([
  'audit line',
  cpuPerCall('  audit line (scrubbed JSON, written)', () =>
    audit.info(
      {
        user: 'bob',
        sid: 's1',
        role: 'net-operator',
        request_id: 'Qm9iUmVxdWVzdElkMDAx',
        cert_serial: '1',
        decision: 'issued',
      },
      'user certificate issued',
    ),
  ),
]);
const exp = Math.floor(Date.now() / 1000) + 60;
const replay = createDirectoryReplayCache(join(dir, 'replay-stage'), { graceSeconds: 65 });
stages.push([
  'replay claim',
  await cpuPerAsyncCall('  replay claim (shared directory, 16 at once)', (i) => replay.claim(`s${i}`, exp)),
]);
replay.close();
// The broker's verification and signature run on the thread pool, the replay claim writes and reads
// its log there and the audit line is written there: up to five hand-offs per certificate, fewer when
// claims and lines share a batch. Each costs the process a wake-up when it was asleep, which the
// stages above, measured synchronously and back to back, never pay; on a busy broker the loop is
// rarely asleep and the cost falls towards nothing. So it is printed beside the stages, not
// subtracted: an upper bound on what of "the rest" is waking up.
const handOffs = await handOffCpu(
  `  thread-pool hand-offs (5, paced ${TARGET_RATE.toLocaleString('en-US')}/s)`,
  5,
  TARGET_RATE,
);

console.log('thread-pool hand-offs per certificate (one certificate at a time, counted with async_hooks):');
for (const path of PATHS)
  console.log(`  ${pathLabel(path).padEnd(24)} ${await handOffsPerCertificate(path)}`);

// --- The servers under load, each in its own process ---
const echoJs = join(dir, 'echo.mjs');
await bundle('echo-process.ts', echoJs);
const echo = await startChild(echoJs, []);
const brokers = {} as Record<Path, Child>;
for (const path of PATHS) brokers[path] = await startBroker(idp, dir, path);
const generator = await startGenerator(dir);

/** One open-loop run against `child`, with its CPU per answered request. */
async function measured(child: Child, rate: number, seconds: number) {
  const reqs = await requests(rate * seconds);
  const cpu0 = processCpu(child.process.pid!);
  const result = await generator.run({ mode: 'open', url: child.url, load: rate, durationS: seconds }, reqs);
  const cpu1 = processCpu(child.process.pid!);
  const n = Math.max(1, result.ok + result.failed);
  return {
    result,
    cpuUs: ((cpu1.all - cpu0.all) / n) * 1e6,
    loopUs: ((cpu1.main - cpu0.main) / n) * 1e6,
  };
}

console.log(`\nwarm-up: 2 s at 1,000/s each (not reported)`);
for (const path of PATHS) {
  await generator.run(
    { mode: 'open', url: brokers[path].url, load: 1000, durationS: 2 },
    await requests(2000),
  );
}

console.log(`\nbaseline, closed loop: 50 in flight for ${STEP_S} s (no arrival schedule: queueing hidden)`);
for (const path of PATHS) {
  line(
    `${pathLabel(path)}, 50 in flight`.slice(0, 24),
    await generator.run(
      { mode: 'closed', url: brokers[path].url, load: 50, durationS: STEP_S },
      await requests(STEP_S * 8000),
    ),
    undefined,
  );
}

console.log(
  `\nopen loop at ${TARGET_RATE.toLocaleString('en-US')}/s for ${DURATION_S} s (latency from the scheduled send), load average ${load()}:`,
);
const floor = await measured(echo, TARGET_RATE, DURATION_S);
line('bare fastify (the floor)', floor.result, TARGET_RATE);
const us = (v: number) => `${Math.round(v)} us`;
const stageSum = stages.reduce((a, [, v]) => a + v, 0);

/** The open-loop run at the target rate against one path of the broker, with its CPU split. */
async function targetRun(path: Path): Promise<void> {
  const broker = brokers[path];
  await broker.report();
  const target = await measured(broker, TARGET_RATE, DURATION_S);
  const loop = (await broker.report()) as { eventLoopDelayMs: { p50: number; p99: number; max: number } };
  const label = pathLabel(path);
  line(label, target.result, TARGET_RATE, `  (generator late p99 ${target.result.sendLagP99.toFixed(2)} ms)`);
  console.log(
    `  CPU per request: ${label} ${us(target.cpuUs)} (event loop ${us(target.loopUs)}), floor ${us(floor.cpuUs)} (event loop ${us(floor.loopUs)}), generator ${us(target.result.cpuUsPerRequest)}; event-loop delay p50 ${loop.eventLoopDelayMs.p50} / p99 ${loop.eventLoopDelayMs.p99} / max ${loop.eventLoopDelayMs.max} ms; ${target.result.connections} connections`,
  );
  console.log(
    `  CPU per certificate by stage: ${stages.map(([name, v]) => `${name} ${v.toFixed(1)}`).join(', ')}, HTTP + fastify (the floor) ${floor.cpuUs.toFixed(1)}; the rest (hooks, checks, GC, waking up: the former path's five hand-offs cost up to ${handOffs.toFixed(1)} when asleep) ${(target.cpuUs - stageSum - floor.cpuUs).toFixed(1)} us`,
  );
  console.log(
    `  target p99 < ${P99_LIMIT_MS} ms at ${TARGET_RATE.toLocaleString('en-US')}/s, nothing failed: ${passes(target.result) ? 'met' : 'NOT met'}`,
  );
}
for (const path of PATHS) await targetRun(path);

console.log(`\nhighest sustainable rate (p99 < ${P99_LIMIT_MS} ms, nothing failed), ${STEP_S} s per step:`);
for (const path of PATHS) {
  let best = 0;
  for (let r = 500; r <= 10_000; r += 500) {
    const step = await measured(brokers[path], r, STEP_S);
    line(pathLabel(path), step.result, r, `  CPU ${us(step.cpuUs)} (event loop ${us(step.loopUs)})`);
    if (!passes(step.result)) break;
    best = r;
  }
  console.log(
    `  maximum sustainable rate, ${pathLabel(path)}: ${best > 0 ? `${best.toLocaleString('en-US')}/s` : 'below 500/s'} (load average ${load()})`,
  );
}

// --- Two broker processes on one port (SO_REUSEPORT), as it ships ---
// Replicas on one machine: the kernel spreads the generator's connections over both listeners, and
// both share the state directory (CA key, replay log) as replicas share one replay directory. Each
// has its own event loop, which a single broker fills at 2,000/s on this machine.
for (const path of PATHS) await brokers[path].stop();
const first = await startBroker(idp, dir, 'token-pool', { name: 'r1', port: '0' });
const second = await startBroker(idp, dir, 'token-pool', {
  name: 'r2',
  port: new URL(first.url).port,
});
const pair = [first, second];

/** As `measured`, with the CPU of both processes per answered request. */
async function measuredPair(rate: number, seconds: number) {
  const reqs = await requests(rate * seconds);
  const cpu0 = pair.map((c) => processCpu(c.process.pid!));
  const result = await generator.run({ mode: 'open', url: first.url, load: rate, durationS: seconds }, reqs);
  const cpu1 = pair.map((c) => processCpu(c.process.pid!));
  const n = Math.max(1, result.ok + result.failed);
  const sum = (k: 'all' | 'main') => pair.reduce((a, _, i) => a + cpu1[i]![k] - cpu0[i]![k], 0);
  return { result, cpuUs: (sum('all') / n) * 1e6, loopUs: (sum('main') / n) * 1e6 };
}

const pairLabel = 'two brokers (ships)';
console.log(
  `\ntwo broker processes on one port (SO_REUSEPORT, shared state directory), as it ships; load average ${load()}:`,
);
await generator.run({ mode: 'open', url: first.url, load: 1000, durationS: 2 }, await requests(2000));
const pairTarget = await measuredPair(TARGET_RATE, DURATION_S);
line(
  pairLabel,
  pairTarget.result,
  TARGET_RATE,
  `  CPU ${us(pairTarget.cpuUs)} (event loops ${us(pairTarget.loopUs)}); generator late p99 ${pairTarget.result.sendLagP99.toFixed(2)} ms`,
);
console.log(
  `  target p99 < ${P99_LIMIT_MS} ms at ${TARGET_RATE.toLocaleString('en-US')}/s, nothing failed: ${passes(pairTarget.result) ? 'met' : 'NOT met'}`,
);
let pairBest = 0;
for (let r = 500; r <= 10_000; r += 500) {
  const step = await measuredPair(r, STEP_S);
  line(pairLabel, step.result, r, `  CPU ${us(step.cpuUs)} (event loops ${us(step.loopUs)})`);
  if (!passes(step.result)) break;
  pairBest = r;
}
console.log(
  `  maximum sustainable rate, ${pairLabel}: ${pairBest > 0 ? `${pairBest.toLocaleString('en-US')}/s` : 'below 500/s'} (load average ${load()})`,
);
for (const c of pair) await c.stop();

generator.stop();
await echo.stop();
await idp.close();
rmSync(dir, { recursive: true, force: true });
