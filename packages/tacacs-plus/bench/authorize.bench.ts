// pnpm bench: authorizations per second and latency of our client against our server over loopback,
// single-connection and connection-per-request, each next to a plain TCP echo round trip measured in the
// same run. Prints figures; asserts nothing (the machine is shared). The client is the bundle `pnpm build`
// ships (see shippedClient); the server runs from source in its own process (peer.ts).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundleProgram } from '@netward/kit/testing';

/**
 * The client as it ships: bundled by esbuild with the build's settings (bundleProgram), from the
 * current source. Run through tsx instead, every closure the client creates costs an extra
 * Object.defineProperty call (tsx transforms with keepNames), about 4 us per request in a --cpu-prof
 * profile; the Python client is likewise measured as installed.
 */
async function shippedClient(): Promise<typeof import('../src/client-entry.ts')> {
  const dir = mkdtempSync(join(tmpdir(), 'tacacs-bench-'));
  try {
    const outfile = join(dir, 'client.mjs');
    await bundleProgram(fileURLToPath(new URL('../src/client-entry.ts', import.meta.url)), outfile);
    return await import(pathToFileURL(outfile).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const { TacacsClient } = await shippedClient();

const DURATION_MS = Number(process.env['BENCH_MS'] ?? 3000);
const WARMUP_MS = 500;
const MESSAGE = Buffer.alloc(82, 0x61); // the size of the "show bgp summary" authorization request

interface Result {
  ops: number;
  seconds: number;
  p50: number;
  p99: number;
  /** CPU microseconds per operation in this process and in the server process. */
  clientCpu: number;
  serverCpu: number;
}

let askServerCpu: () => Promise<number> = async () => 0;

/** Runs `op` with `concurrency` loops for the duration; latencies in milliseconds. */
async function measure(op: () => Promise<unknown>, concurrency: number): Promise<Result> {
  const warmEnd = Date.now() + WARMUP_MS;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < warmEnd) await op();
    }),
  );
  const lat: number[] = [];
  const server0 = await askServerCpu();
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const end = Date.now() + DURATION_MS;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const t = process.hrtime.bigint();
        await op();
        lat.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const serverCpu = (await askServerCpu()) - server0;
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? Number.NaN;
  return {
    ops: lat.length,
    seconds,
    p50: q(0.5),
    p99: q(0.99),
    clientCpu: (cpu.user + cpu.system) / lat.length,
    serverCpu: serverCpu / lat.length,
  };
}

/** One kept TCP connection; echoes come back in order, so each 82-byte return completes the oldest send. */
async function echoKept(port: number) {
  const s = net.connect(port, '127.0.0.1');
  s.setNoDelay(true);
  await new Promise((r) => s.once('connect', r));
  const waiting: (() => void)[] = [];
  let pending = 0;
  s.on('data', (c: Buffer) => {
    pending += c.length;
    while (pending >= MESSAGE.length) {
      pending -= MESSAGE.length;
      waiting.shift()?.();
    }
  });
  return {
    op: () =>
      new Promise<void>((resolve) => {
        waiting.push(resolve);
        s.write(MESSAGE);
      }),
    close: () => s.destroy(),
  };
}

function echoFresh(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(MESSAGE));
    s.setNoDelay(true);
    let got = 0;
    s.on('data', (c: Buffer) => {
      got += c.length;
      if (got >= MESSAGE.length) {
        s.destroy();
        resolve();
      }
    });
    s.on('error', reject);
  });
}

function row(name: string, concurrency: number, r: Result, base?: Result): string {
  const rate = r.ops / r.seconds;
  const ratio = base
    ? `${(rate / (base.ops / base.seconds)).toFixed(2)}x echo rate, ${(r.p50 / base.p50).toFixed(1)}x echo p50`
    : 'baseline';
  // With a core each, the busier side bounds the rate: a ceiling that does not depend on the load.
  const ceiling = 1e6 / Math.max(r.clientCpu, r.serverCpu);
  const cpu = `cpu/op client ${r.clientCpu.toFixed(0)} us, server ${r.serverCpu.toFixed(0)} us, ceiling ${ceiling.toFixed(0)}/s`;
  return `${name.padEnd(40)} c=${String(concurrency).padEnd(3)} ${rate.toFixed(0).padStart(6)}/s  p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms  ${cpu}  (${ratio})`;
}

const peer = spawn(
  process.execPath,
  ['--conditions=netward-source', '--import', 'tsx', fileURLToPath(new URL('./peer.ts', import.meta.url))],
  {
    stdio: ['pipe', 'pipe', 'inherit'],
  },
);
try {
  const ports = await new Promise<{ tacacs: number; echo: number }>((resolve, reject) => {
    peer.stdout.once('data', (c) => resolve(JSON.parse(String(c))));
    peer.once('exit', () => reject(new Error('bench peer exited')));
  });
  const cpuReplies: ((n: number) => void)[] = [];
  peer.stdout.on('data', (c) => {
    for (const line of String(c).split('\n').filter(Boolean)) {
      const u = JSON.parse(line) as { user: number; system: number };
      cpuReplies.shift()?.(u.user + u.system);
    }
  });
  askServerCpu = () =>
    new Promise((resolve) => {
      cpuReplies.push(resolve);
      peer.stdin?.write('cpu\n');
    });
  const servers = [{ host: '127.0.0.1', port: ports.tacacs, key: 'benchsecret' }];
  const authz = {
    user: 'net-viewer',
    cmd: 'show',
    args: ['bgp', 'summary'],
    remAddr: 'bob/cert:7/sid:fd9e4bdc77df2fa8/req:AAAAAAAAAAAAAAAAAAAAAA',
  };
  process.stdout.write(
    `node ${process.version}, client bundled as shipped, ${DURATION_MS} ms per run after ${WARMUP_MS} ms warm-up, client and server in separate processes, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n\n`,
  );

  const only = process.env['BENCH_ONLY'];
  for (const concurrency of only ? [] : [1, 4, 8, 32]) {
    const echo = await echoKept(ports.echo);
    const base = await measure(echo.op, concurrency);
    echo.close();
    process.stdout.write(`${row('TCP echo, one kept connection', concurrency, base)}\n`);
    const client = new TacacsClient({ servers, singleConnection: true, timeoutMs: 2000 });
    let denied = 0;
    const r = await measure(async () => {
      if (!(await client.authorize(authz)).permitted) denied++;
    }, concurrency);
    await client.close();
    process.stdout.write(
      `${row('authorize, single-connection (flag 0x04)', concurrency, r, base)}${denied ? `  DENIED ${denied}` : ''}\n`,
    );
  }
  process.stdout.write('\n');
  for (const concurrency of only ? [] : [1, 8]) {
    const base = await measure(() => echoFresh(ports.echo), concurrency);
    process.stdout.write(`${row('TCP echo, connection per round trip', concurrency, base)}\n`);
    const client = new TacacsClient({ servers, timeoutMs: 2000 });
    let denied = 0;
    const r = await measure(async () => {
      if (!(await client.authorize(authz)).permitted) denied++;
    }, concurrency);
    await client.close();
    process.stdout.write(
      `${row('authorize, connection per request', concurrency, r, base)}${denied ? `  DENIED ${denied}` : ''}\n`,
    );
  }

  // Connection per request, one request at a time: our client and the Python tacacs_plus client (PyPI
  // 2.6, the same fields: service=shell cmd=show cmd-arg=bgp cmd-arg=summary and the same rem_addr)
  // against the same server in the same run. They take turns in slices of SLICE_MS, so that the load of a
  // shared machine, which changes from second to second, falls on both alike; Python runs in its own
  // process, kept between slices, and times its own loop.
  const SLICE_MS = 200;
  const slices = Math.max(3, Math.round(DURATION_MS / SLICE_MS));
  const py = startPython(ports.tacacs);
  const client = new TacacsClient({ servers, timeoutMs: 2000 });
  const oursOp = async () => {
    if (!(await client.authorize(authz)).permitted) throw new Error('denied');
  };
  for (let i = 0; i < 200; i++) await oursOp();
  await py.run(SLICE_MS);
  const total = { ours: 0, oursS: 0, oursCpu: 0, py: 0, pyS: 0, pyCpu: 0 };
  // One ratio per pair of neighbouring slices: on a shared machine a burst of load spoils a pair, not the
  // result, and the median of the pairs is printed beside the ratio of the totals.
  const ratios: number[] = [];
  for (let i = 0; i < slices; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const end = Date.now() + SLICE_MS;
    let n = 0;
    while (Date.now() < end) {
      await oursOp();
      n++;
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    total.ours += n;
    total.oursS += seconds;
    total.oursCpu += (cpu.user + cpu.system) / 1e6;
    const p = await py.run(SLICE_MS);
    total.py += p.authorizations;
    total.pyS += p.seconds;
    total.pyCpu += p.cpu_seconds;
    ratios.push(n / seconds / (p.authorizations / p.seconds));
  }
  await client.close();
  py.stop();
  const oursRate = total.ours / total.oursS;
  const pyRate = total.py / total.pyS;
  ratios.sort((a, b) => a - b);
  const median = ratios[Math.floor(ratios.length / 2)] ?? Number.NaN;
  process.stdout.write(
    `\nconnection per request, one at a time, ${slices} alternating slices of ${SLICE_MS} ms each, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}:\n` +
      `  ours   ${oursRate.toFixed(0).padStart(6)}/s  cpu/op ${((total.oursCpu / total.ours) * 1e6).toFixed(0)} us\n` +
      `  python ${pyRate.toFixed(0).padStart(6)}/s  cpu/op ${((total.pyCpu / total.py) * 1e6).toFixed(0)} us (tacacs_plus 2.6)\n` +
      `  ours/python ${(oursRate / pyRate).toFixed(2)} (totals), ${median.toFixed(2)} (median of ${ratios.length} slice pairs, ` +
      `quartiles ${(ratios[Math.floor(ratios.length / 4)] ?? Number.NaN).toFixed(2)}-${(ratios[Math.floor((3 * ratios.length) / 4)] ?? Number.NaN).toFixed(2)})\n`,
  );
} finally {
  peer.kill('SIGTERM');
}

/** The Python tacacs_plus client in its own process (.cache/python-tacacs, set up by setup.sh). */
function startPython(port: number) {
  const python = fileURLToPath(new URL('../../../.cache/python-tacacs/bin/python', import.meta.url));
  const script = fileURLToPath(new URL('../test/peers/python-client.py', import.meta.url));
  // Without it the comparison cannot run: say so at once rather than wait for a slice that never ends.
  if (!existsSync(python)) throw new Error(`${python} is missing: run scripts/setup.sh`);
  const child = spawn(python, [script, String(port), 'bench'], {
    env: { ...process.env, TACACS_KEY: 'benchsecret' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting: ((r: PythonSlice) => void)[] = [];
  child.once('exit', (code) => {
    if (waiting.length > 0) throw new Error(`the Python client exited (${code}) during a slice`);
  });
  let buffered = '';
  child.stdout.on('data', (c) => {
    buffered += String(c);
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      waiting.shift()?.(JSON.parse(buffered.slice(0, nl)) as PythonSlice);
      buffered = buffered.slice(nl + 1);
    }
  });
  return {
    run: (ms: number) =>
      new Promise<PythonSlice>((resolve, reject) => {
        if (child.exitCode !== null) reject(new Error('the Python client exited'));
        waiting.push(resolve);
        child.stdin.write(`${ms}\n`);
      }),
    stop: () => child.kill('SIGTERM'),
  };
}

interface PythonSlice {
  authorizations: number;
  seconds: number;
  cpu_seconds: number;
}
