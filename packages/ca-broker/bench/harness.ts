// What the broker's benchmarks share: the broker bundled and started in its own process (the load
// generator gets the other core), users and a distinct token per request, the broker's CPU time.
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { generateKeyPairSync, type KeyObject, randomFill } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatPublicKey } from '@netward/ssh-certificate';

// The certificate codec the benches use, imported in this one place.
export { formatPublicKey } from '@netward/ssh-certificate';

import { signCertificate } from '@netward/ssh-certificate';

/** One user certificate of the usual shape, signed synchronously: the codec's cost in the benches. */
export function signSampleCertificate(user: KeyObject, ca: KeyObject, now: bigint): void {
  signCertificate(
    {
      publicKey: user,
      type: 'user',
      serial: 1n,
      keyId: 'sid=s1,user=bob,req=Qm9iUmVxdWVzdElkMDAx',
      principals: ['net-operator'],
      validAfter: now,
      validBefore: now + 60n,
    },
    ca,
  );
}

import { bundleProgram } from '@netward/kit/testing';
import type { TestIdp } from '../src/testing/idp.ts';
import type { GeneratorRun } from './generator-process.ts';
import { encodeRequests, type LoadResult } from './load.ts';
import type { BrokerPath } from './paths.ts';

/** A program of bench/ bundled as scripts/bundle.mjs builds programs: one file, run by plain node. */
export async function bundle(entry: string, outfile: string): Promise<void> {
  await bundleProgram(resolve(import.meta.dirname, entry), outfile);
}

export interface Child {
  readonly process: ChildProcess;
  readonly url: string;
  /** SIGUSR2, then the next line the process prints (its report since the last one), parsed. */
  report(): Promise<unknown>;
  stop(): Promise<void>;
}

/** Starts a bundled program that prints its URL on its first stdout line, then one line per report. */
export async function startChild(file: string, args: string[]): Promise<Child> {
  const child = spawn(
    process.execPath,
    [
      // BENCH_PROFILE=<dir> writes a V8 CPU profile of the process there.
      ...(process.env['BENCH_PROFILE']
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_PROFILE']}`]
        : []),
      file,
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  const waiting: ((line: string) => void)[] = [];
  child.stdout!.on('data', (d) => {
    out += d;
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      const line = out.slice(0, nl).trim();
      out = out.slice(nl + 1);
      waiting.shift()?.(line);
    }
  });
  const url = await new Promise<string>((res, rej) => {
    waiting.push(res);
    child.once('exit', (code) => rej(new Error(`${file} exited ${code}`)));
  });
  return {
    process: child,
    url,
    report: () =>
      new Promise((res) => {
        waiting.push((line) => res(JSON.parse(line)));
        child.kill('SIGUSR2');
      }),
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** The broker as it ships, in its own process: local CA in `dir`/state-<path>, audit lines to
 *  `dir`/audit-<path>.log, on `path` (above). `replica`: a broker process sharing a port through
 *  SO_REUSEPORT (`port` '0' for the first) and the state directory (CA key, replay log) with the
 *  others, as replicas share one replay directory; its audit lines go to audit-<path>-<name>.log. */
export async function startBroker(
  idp: TestIdp,
  dir: string,
  path: BrokerPath = 'after',
  replica?: { readonly name: string; readonly port: string },
): Promise<Child> {
  const brokerJs = join(dir, 'broker.mjs');
  if (!existsSync(brokerJs)) await bundle('broker-process.ts', brokerJs);
  return startChild(brokerJs, [
    idp.issuer,
    idp.jwksUri,
    join(dir, `state-${path}`),
    join(dir, replica === undefined ? `audit-${path}.log` : `audit-${path}-${replica.name}.log`),
    path,
    ...(replica === undefined ? [] : [replica.port]),
  ]);
}

export interface BenchUser {
  readonly claims: Record<string, unknown>;
  /** The user's public key, OpenSSH format. */
  readonly key: string;
}

/** `count` users with their own keys, roles in turn, each acting through the MCP server. */
export function makeUsers(idp: TestIdp, count: number): BenchUser[] {
  const now = Math.floor(Date.now() / 1000);
  return Array.from({ length: count }, (_, i) => ({
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
}

/**
 * `count` tokens, each with its own `jti` (prefixed by `tag`), minted before a run so that nothing the
 * broker could cache per token is ever hit: each request is verified from scratch, as each MCP tool
 * call brings a freshly exchanged token. EdDSA, as the lab IdP signs. Token n belongs to user n % users.
 */
export async function mintTokens(
  idp: TestIdp,
  users: BenchUser[],
  count: number,
  tag: string,
): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i += 1000) {
    tokens.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(1000, count - i) }, (_, j) =>
          idp.sign({ ...users[(i + j) % users.length]!.claims, jti: `${tag}${i + j}` }),
        ),
      )),
    );
  }
  return tokens;
}

// CPU seconds a process has used (utime + stime from /proc, clock ticks of 10 ms): the whole process
// (event loop, libuv thread pool, GC and compiler threads) and its main thread alone. The machine is
// shared, so throughput varies with everyone else's load; CPU per certificate varies far less, and the
// main thread's share is what bounds throughput (one event loop, one core at most).
function cpuSeconds(file: string): number {
  const stat = readFileSync(file, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export function processCpu(pid: number): { all: number; main: number } {
  return { all: cpuSeconds(`/proc/${pid}/stat`), main: cpuSeconds(`/proc/${pid}/task/${pid}/stat`) };
}

/** Calls per second of a synchronous function, after a warm-up, printed and returned. */
export function rate(label: string, fn: () => void, ms = 1000): number {
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

/** Sequential awaited claims of new `jti`s: the wall time of one claim, thread-pool round trip included. */
export async function claimRate(label: string, claim: (jti: string) => Promise<boolean>): Promise<number> {
  const n = 5000;
  for (let i = 0; i < 500; i++) await claim(`warm${label}${i}`);
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await claim(`${label}${i}`);
  const perSec = n / (Number(process.hrtime.bigint() - start) / 1e9);
  console.log(`${label.padEnd(44)} ${Math.round(perSec).toLocaleString('en-US').padStart(10)} /s`);
  return perSec;
}

/** CPU µs per call of a synchronous function (all of this process's threads), after a warm-up. */
export function cpuPerCall(label: string, fn: () => void, calls = 5000): number {
  for (let i = 0; i < 1000; i++) fn(); // warm up
  const c0 = process.cpuUsage();
  for (let i = 0; i < calls; i++) fn();
  const c = process.cpuUsage(c0);
  const us = (c.user + c.system) / calls;
  console.log(`${label.padEnd(44)} ${us.toFixed(1).padStart(8)} us CPU`);
  return us;
}

/** CPU µs per awaited call (thread-pool work included), `parallel` at a time, after a warm-up. */
export async function cpuPerAsyncCall(
  label: string,
  fn: (i: number) => Promise<unknown>,
  calls = 5000,
  parallel = 16,
): Promise<number> {
  const run = async (base: number, n: number) => {
    let i = 0;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (i < n) await fn(base + i++);
      }),
    );
  };
  await run(-1000, 1000); // warm up (negative indices: never the same argument as the run's)
  const c0 = process.cpuUsage();
  await run(0, calls);
  const c = process.cpuUsage(c0);
  const us = (c.user + c.system) / calls;
  console.log(`${label.padEnd(44)} ${us.toFixed(1).padStart(8)} us CPU`);
  return us;
}

/**
 * CPU µs per arrival of `handOffs` thread-pool round trips in a row (`crypto.randomFill` of one byte:
 * the work itself is nothing), arrivals paced at `perSecond` as the load generator paces requests,
 * minus the same arrivals doing nothing. What is left is the hand-off itself: queueing the job, waking
 * a pool thread, and waking the event loop with the result, which a synchronous stage measured alone
 * never pays. All of this process's threads, as the broker's figure.
 */
export async function handOffCpu(
  label: string,
  handOffs: number,
  perSecond = 2000,
  seconds = 2,
): Promise<number> {
  const byte = Buffer.alloc(1);
  const roundTrip = () => new Promise<void>((res) => randomFill(byte, () => res()));
  const paced = async (work: () => Promise<void>): Promise<number> => {
    const total = perSecond * seconds;
    const perTick = Math.max(1, Math.round(perSecond / 1000));
    const pending: Promise<void>[] = [];
    const c0 = process.cpuUsage();
    await new Promise<void>((done) => {
      const timer = setInterval(() => {
        for (let i = 0; i < perTick && pending.length < total; i++) pending.push(work());
        if (pending.length >= total) {
          clearInterval(timer);
          done();
        }
      }, 1);
    });
    await Promise.all(pending);
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / total;
  };
  const chain = async () => {
    for (let i = 0; i < handOffs; i++) await roundTrip();
  };
  await paced(chain); // warm up
  const idle = await paced(async () => undefined);
  const us = Math.max(0, (await paced(chain)) - idle);
  console.log(`${label.padEnd(44)} ${us.toFixed(1).padStart(8)} us CPU`);
  return us;
}

export interface GeneratorResult extends LoadResult {
  /** The generator process's CPU per request sent. */
  readonly cpuUsPerRequest: number;
}

export interface Generator {
  run(run: Omit<GeneratorRun, 'requestsFile'>, requests: readonly Buffer[]): Promise<GeneratorResult>;
  readonly pid: number;
  stop(): void;
}

/** The load generator (bench/load.ts) bundled and started in its own process, driven over IPC. */
export async function startGenerator(dir: string): Promise<Generator> {
  const file = join(dir, 'generator.mjs');
  await bundle('generator-process.ts', file);
  const child = fork(file, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let runs = 0;
  return {
    pid: child.pid!,
    run(run, requests) {
      const requestsFile = join(dir, `requests-${runs++}.bin`);
      writeFileSync(requestsFile, encodeRequests(requests));
      return new Promise((resolve, reject) => {
        const exited = (code: number | null) => reject(new Error(`load generator exited ${code}`));
        child.once('exit', exited);
        child.once('message', (m) => {
          child.off('exit', exited);
          const r = m as GeneratorResult & { latencies: number[] };
          resolve({ ...r, latencies: Float64Array.from(r.latencies) });
        });
        child.send({ ...run, requestsFile } satisfies GeneratorRun);
      });
    },
    stop: () => void child.kill('SIGTERM'),
  };
}
