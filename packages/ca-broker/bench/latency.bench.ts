// The broker's latency as a service level: an open-loop load (constant arrival rate, latency from each
// request's scheduled send time, so queueing counts) at 2,000 certificates/s, then the highest rate at
// which p99 stays under 20 ms with nothing failed. Baselines in the same run: the closed-loop figure
// (50 requests always in flight, as sign.bench.ts measures), and the same open-loop load against a
// bare fastify server that answers without verifying or signing (the floor: generator, loopback,
// fastify). Per-stage costs are measured in this process, one stage at a time, to show where a
// certificate's time goes. Printed, never asserted.
//
// BENCH_DURATION (s, default 10) sets the 2,000/s run; BENCH_STEP (s, default 4) each step of the
// search for the highest sustainable rate.
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, newRequestId } from '@netward/audit-context';
import { createDirectoryReplayCache } from '../src/replay.ts';
import { startIdp } from '../src/testing/idp.ts';
import {
  type BenchUser,
  bundle,
  type Child,
  claimRate,
  formatPublicKey,
  makeUsers,
  mintTokens,
  processCpu,
  rate,
  signCertificate,
  startBroker,
  startChild,
} from './harness.ts';
import { closedLoop, type LoadResult, openLoop, quantile, type RequestSpec } from './load.ts';

const DURATION_S = Number(process.env['BENCH_DURATION'] ?? 10);
const STEP_S = Number(process.env['BENCH_STEP'] ?? 4);
const TARGET_RATE = 2000;
const P99_LIMIT_MS = 20;
const USERS = 50;

const idp = await startIdp();
const dir = mkdtempSync(join(tmpdir(), 'ca-broker-latency-'));
const users = makeUsers(idp, USERS);
let batch = 0;

/** Requests over freshly minted tokens, one per request, built before the run so that the generator
 *  spends its time sending, not serialising. */
async function requests(count: number): Promise<(i: number) => RequestSpec> {
  const tokens = await mintTokens(idp, users, count, `b${batch++}-`);
  const specs: RequestSpec[] = tokens.map((token, i) => ({
    path: '/v1/ssh/sign',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ public_key: (users[i % USERS] as BenchUser).key, request_id: newRequestId() }),
  }));
  return (i) => specs[i % specs.length] as RequestSpec;
}

const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1)).padStart(7);
function line(label: string, r: LoadResult, extra = ''): void {
  const l = r.latencies;
  console.log(
    `  ${label.padEnd(30)} ${Math.round(r.throughput).toLocaleString('en-US').padStart(6)}/s  p50 ${fmt(quantile(l, 0.5))}  p99 ${fmt(quantile(l, 0.99))}  p99.9 ${fmt(quantile(l, 0.999))}  max ${fmt(l[l.length - 1] ?? Number.NaN)} ms  failed ${r.failed}${extra}`,
  );
}
const passes = (r: LoadResult) => r.failed === 0 && quantile(r.latencies, 0.99) < P99_LIMIT_MS;

// --- Per-stage costs, in this process, one at a time (µs per certificate) ---
console.log('per-stage cost of one certificate, measured alone in this process:');
const idpKey = generateKeyPairSync('ed25519');
const sampleToken = await mintTokens(idp, users, 1, 'stage');
// The lab IdP's token, re-signed with a key of ours: the same signing input, size and algorithm.
const [h, p] = sampleToken[0]!.split('.') as [string, string];
const signingInput = Buffer.from(`${h}.${p}`);
const tokenSignature = sign(null, signingInput, idpKey.privateKey);
const perUs = (perSec: number) => 1e6 / perSec;
const stages: [string, number][] = [];
stages.push([
  'token: Ed25519 verify + claims JSON',
  perUs(
    rate('  token: Ed25519 verify + claims JSON', () => {
      verify(null, signingInput, idpKey.publicKey, tokenSignature);
      JSON.parse(Buffer.from(p, 'base64url').toString());
    }),
  ),
]);
const userKey = generateKeyPairSync('ed25519');
const caKey = generateKeyPairSync('ed25519');
const t = BigInt(Math.floor(Date.now() / 1000));
stages.push([
  'certificate: encode + Ed25519 sign',
  perUs(
    rate('  certificate: encode + Ed25519 sign', () =>
      signCertificate(
        {
          publicKey: userKey.publicKey,
          type: 'user',
          serial: 1n,
          keyId: 'sid=s1,user=bob,req=Qm9iUmVxdWVzdElkMDAx',
          principals: ['net-operator'],
          validAfter: t,
          validBefore: t + 60n,
        },
        caKey.privateKey,
      ),
    ),
  ),
]);
const reqBody = JSON.stringify({
  public_key: formatPublicKey(userKey.publicKey),
  request_id: newRequestId(),
});
stages.push(['request JSON parse', perUs(rate('  request JSON parse', () => JSON.parse(reqBody)))]);
const audit = createLogger({ component: 'ca-broker', destination: { write: () => true } as never });
stages.push([
  'audit line (scrubbed JSON)',
  perUs(
    rate('  audit line (scrubbed JSON)', () =>
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
  ),
]);
const exp = Math.floor(Date.now() / 1000) + 60;
const replay = createDirectoryReplayCache(join(dir, 'replay-stage'), { graceSeconds: 65 });
const replayUs = perUs(await claimRate('  replay claim (O_EXCL file, awaited)', (j) => replay.claim(j, exp)));
replay.close();

// --- The servers under load, each in its own process ---
const echoJs = join(dir, 'echo.mjs');
await bundle('echo-process.ts', echoJs);
const echo = await startChild(echoJs, []);
const broker: Child = await startBroker(idp, dir);

console.log(`\nwarm-up: 2 s at 1,000/s (not reported)`);
await openLoop(broker.url, 1000, 2, await requests(2000));

console.log(`\nbaseline, closed loop: 50 in flight for ${STEP_S} s (no arrival schedule: queueing hidden)`);
line('broker, 50 in flight', await closedLoop(broker.url, 50, STEP_S, await requests(STEP_S * 8000)));

console.log(
  `\nopen loop at ${TARGET_RATE.toLocaleString('en-US')}/s for ${DURATION_S} s (latency from the scheduled send):`,
);
const n = TARGET_RATE * DURATION_S;
line('bare fastify (the floor)', await openLoop(echo.url, TARGET_RATE, DURATION_S, await requests(n)));
await broker.report();
const cpu0 = processCpu(broker.process.pid!);
const target = await openLoop(broker.url, TARGET_RATE, DURATION_S, await requests(n));
const cpu1 = processCpu(broker.process.pid!);
const loop = (await broker.report()) as { eventLoopDelayMs: { p50: number; p99: number; max: number } };
line('broker', target, `  (generator late p99 ${target.sendLagP99.toFixed(2)} ms)`);
const certs = Math.max(1, target.ok);
console.log(
  `  broker CPU per certificate    ${Math.round(((cpu1.all - cpu0.all) / certs) * 1e6)} us, event loop thread ${Math.round(((cpu1.main - cpu0.main) / certs) * 1e6)} us; event loop delay p50 ${loop.eventLoopDelayMs.p50} / p99 ${loop.eventLoopDelayMs.p99} / max ${loop.eventLoopDelayMs.max} ms`,
);
const stageSum = stages.reduce((a, [, us]) => a + us, 0) + replayUs;
console.log(
  `  stages alone (above)          ${Math.round(stageSum)} us of the certificate's CPU: ${stages.map(([name, us]) => `${name} ${us.toFixed(1)}`).join(', ')}, replay ${replayUs.toFixed(1)} (wall)`,
);
console.log(
  `  target p99 < ${P99_LIMIT_MS} ms at ${TARGET_RATE.toLocaleString('en-US')}/s, nothing failed: ${passes(target) ? 'met' : 'NOT met'}`,
);

console.log(`\nhighest sustainable rate (p99 < ${P99_LIMIT_MS} ms, nothing failed), ${STEP_S} s per step:`);
let best = 0;
for (let r = 1000; r <= 10_000; r += 500) {
  const result = await openLoop(broker.url, r, STEP_S, await requests(r * STEP_S));
  line(`${r.toLocaleString('en-US')}/s`, result);
  if (!passes(result)) break;
  best = r;
}
console.log(
  `  maximum sustainable rate      ${best > 0 ? `${best.toLocaleString('en-US')}/s` : 'below 1,000/s'}`,
);

await broker.stop();
await echo.stop();
await idp.close();
rmSync(dir, { recursive: true, force: true });
