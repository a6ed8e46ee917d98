/**
 * Tool-call latency and throughput on the native lab, beside a baseline measured in the same run.
 *
 *   per-call resident      MCP client → MCP server → token exchange → key → broker → SSH (certificate)
 *                          → sshd → shim → the device's resident validator for the account → TACACS+
 *                          → vtysh, a new certificate and connection per call (the lab's default)
 *   per-call per-process   the same with a validator process started per command (the shim's
 *                          fallback, and the lab's `--validators per-process`)
 *   session mode           one certificate and SSH connection per (session, role, device)
 *   baseline               the same command over SSH with a static key, straight to the device's
 *                          namespace, to a second sshd per device whose ForceCommand just runs it (no
 *                          certificate, no validator)
 *
 * Prints; asserts nothing. Needs root. Uses a lab at $NETWARD_BENCH_LAB (already up), or brings up
 * its own in /var/lib/netward-lab-bench (prefix b-, 10.252.0.0/24, ports 9550-9552) and takes it down;
 * NETWARD_BENCH_DIR, _PREFIX, _NET and _PORT_BASE change those, so that two benches can run side by side.
 *
 * The throughput part (issue 16) prints each mode's calls/s against the baseline's in the same run,
 * with the goals (session mode >= 3x, per-call >= 0.8x, zero errors), and where the time went: the MCP
 * server's steps, the device validators' own time (their records' duration_ms), and the CPU each
 * process spent per call. On two shared cores every run is CPU-bound, so the CPU per call is what sets
 * the ratios; wall-clock steps mostly measure the queue for a core.
 */
import { execFile } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client as SshClient } from 'ssh2';
import { type Agent, agentFor } from '../src/demo/steps.ts';
import { labDown, labUp, loadLab, restartService, useValidators } from '../src/lab.ts';
import type { LabLayout, LabOptions } from '../src/layout.ts';
import { writeMcpConfig } from '../src/services/configs.ts';
import { startService, stopService } from '../src/services/supervisor.ts';
import { sshBanner } from '../src/system/probe.ts';
import { residentServiceNames } from '../src/topology/resident.ts';
import { devicePaths } from '../src/topology/sshd.ts';

const run = promisify(execFile);
const CALLS = Number(process.env['NETWARD_BENCH_CALLS'] ?? 30);
const THROUGHPUT_SECONDS = Number(process.env['NETWARD_BENCH_SECONDS'] ?? 12);
const AGENTS = 10;
const BASELINE_PORT = 2222;

function pct(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}
const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)} ms` : '-');

// ---------------------------------------------------------------------------------------------------
// Baseline: a plain sshd in each device's namespace, static key, ForceCommand that runs the command as
// is. One per device, so that the throughput baseline spreads over the same three devices as the MCP
// modes do (with spine-a alone, its vtysh and FRR were the baseline's only device-side queue).
// ---------------------------------------------------------------------------------------------------

interface BaselineTarget {
  readonly device: string;
  readonly key: Buffer;
  readonly host: string;
  readonly command: string;
}

const baselineServiceName = (device: string) => `bench-baseline-sshd-${device}`;

/** The static key, its authorized_keys file and the plain ForceCommand, shared by the devices' sshds. */
async function baselineFiles(layout: LabLayout): Promise<{ dir: string; keyFile: string; plain: string }> {
  const dir = join(layout.paths.root, 'bench');
  mkdirSync(join(dir, 'keys'), { recursive: true, mode: 0o755 });
  const keyFile = join(dir, 'static_key');
  if (!existsSync(keyFile)) await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
  writeFileSync(join(dir, 'keys', 'net-operator'), readFileSync(`${keyFile}.pub`), { mode: 0o644 });
  const plain = join(dir, 'plain-forcecommand.sh');
  writeFileSync(
    plain,
    '#!/bin/sh\n# baseline: run the client command as is\nexec /bin/sh -c "$SSH_ORIGINAL_COMMAND"\n',
  );
  chmodSync(plain, 0o755);
  return { dir, keyFile, plain };
}

async function startBaseline(layout: LabLayout): Promise<BaselineTarget[]> {
  const { dir, keyFile, plain } = await baselineFiles(layout);
  const key = readFileSync(keyFile);
  return Promise.all(
    layout.devices.map(async (device) => {
      const p = devicePaths(device, layout);
      const config = join(dir, `sshd_config-${device.name}`);
      writeFileSync(
        config,
        [
          `ListenAddress ${device.mgmtAddress}:${BASELINE_PORT}`,
          `PidFile ${join(dir, `sshd-${device.name}.pid`)}`,
          `HostKey ${p.hostKey}`,
          `AuthorizedKeysFile ${join(dir, 'keys')}/%u`,
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'UsePAM no',
          'AllowUsers net-operator',
          `ForceCommand ${plain}`,
          'PermitTTY no',
          'DisableForwarding yes',
          'MaxStartups 64:30:128',
          'MaxSessions 32',
          '',
        ].join('\n'),
      );
      await startService(layout.paths.run, {
        name: baselineServiceName(device.name),
        command: 'ip',
        args: ['netns', 'exec', device.ns, '/usr/sbin/sshd', '-D', '-e', '-f', config],
        log: join(layout.paths.logs, `${baselineServiceName(device.name)}.log`),
        ready: () => sshBanner(device.mgmtAddress, BASELINE_PORT),
      });
      return {
        device: device.name,
        key,
        host: device.mgmtAddress,
        command: `vtysh --config_dir /etc/frr -N ${device.ns} -c 'show bgp summary'`,
      };
    }),
  );
}

function sshConnect(host: string, key: Buffer): Promise<SshClient> {
  return new Promise((resolve, reject) => {
    const c = new SshClient();
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.connect({ host, port: BASELINE_PORT, username: 'net-operator', privateKey: key, readyTimeout: 10_000 });
  });
}

function sshExec(c: SshClient, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    c.exec(command, (err, stream) => {
      if (err) return reject(err);
      let out = '';
      stream.on('data', (d: Buffer) => {
        out += d.toString();
      });
      stream.stderr.on('data', () => {});
      stream.on('close', (code: number) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))));
    });
  });
}

async function baselineCall(b: BaselineTarget): Promise<number> {
  const t = performance.now();
  const c = await sshConnect(b.host, b.key);
  try {
    const out = await sshExec(c, b.command);
    if (!out.includes('BGP router identifier')) throw new Error('unexpected baseline output');
  } finally {
    c.end();
  }
  return performance.now() - t;
}

// ---------------------------------------------------------------------------------------------------
// The MCP path.
// ---------------------------------------------------------------------------------------------------

async function mcpCall(agent: Agent, device: string): Promise<number> {
  const t = performance.now();
  const out = await agent.call('show_bgp_summary', { device });
  if (!out.ok || !out.text.includes('BGP router identifier'))
    throw new Error(`tool call failed: ${out.text.slice(0, 200)}`);
  return performance.now() - t;
}

interface StepTimes {
  readonly [step: string]: number[];
}

/** The per-step timings the MCP server logged for the calls since `since` (tool_call_end records). */
function stepsSince(layout: LabLayout, since: string): StepTimes {
  const out: Record<string, number[]> = {};
  const lines = readFileSync(join(layout.paths.logs, 'mcp-server.log'), 'utf8').split('\n');
  for (const line of lines) {
    if (!line.includes('"tool_call_end"')) continue;
    const r = JSON.parse(line) as { time: string; timings?: Record<string, number>; duration_ms?: number };
    if (r.time < since || !r.timings) continue;
    const add = (k: string, v: number) => {
      out[k] = [...(out[k] ?? []), v];
    };
    for (const [k, v] of Object.entries(r.timings)) if (k !== 'reused') add(k, v);
    if (typeof r.duration_ms === 'number') add('server total', r.duration_ms);
  }
  return out;
}

async function sequential(label: string, n: number, fn: () => Promise<number>): Promise<number[]> {
  for (let i = 0; i < 3; i++) await fn(); // warm-up: JIT, TCP, first certificate in session mode
  const times: number[] = [];
  for (let i = 0; i < n; i++) times.push(await fn());
  console.log(
    `  ${label.padEnd(34)} p50 ${ms(pct(times, 50)).padStart(9)}  p95 ${ms(pct(times, 95)).padStart(9)}  (n=${n})`,
  );
  return times;
}

async function throughput(
  label: string,
  workers: number,
  seconds: number,
  fn: (worker: number, i: number) => Promise<number>,
): Promise<Throughput> {
  const deadline = performance.now() + seconds * 1000;
  const times: number[] = [];
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let i = 0; performance.now() < deadline; i++) {
        try {
          times.push(await fn(w, i));
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const rate = times.length / elapsed;
  const calls = times.length;
  console.log(
    `  ${label.padEnd(34)} ${rate.toFixed(1).padStart(6)} calls/s  p50 ${ms(pct(times, 50)).padStart(9)}  p95 ${ms(pct(times, 95)).padStart(9)}  errors ${errors}`,
  );
  return { rate, calls, p50: pct(times, 50), p95: pct(times, 95), errors };
}

interface Throughput {
  readonly rate: number;
  readonly calls: number;
  readonly p50: number;
  readonly p95: number;
  readonly errors: number;
}

// ---------------------------------------------------------------------------------------------------
// CPU per call, per process tree. The trees' processes are moved into cpuacct control groups of the
// bench's own (cgroup v1 `cpuacct`, or v2 `cpu.stat`): a group's usage counts every task that ever ran
// in it, exited ones included, and a child starts in its parent's group. Reading /proc instead (utime +
// cutime of the live processes) lost the CPU of every ForceCommand process: sshd does not reap them
// into its cutime, so a validator's node start and the shim alike counted zero (measured on one lab,
// 20 sequential calls: the sshd tree's /proc ticks 32 ms per call with either line, its cgroup 104 ms
// with per-process validators and 39 ms with the resident one). /proc stays the fallback where no
// control group can be made.
// ---------------------------------------------------------------------------------------------------

/** pid → parent and CPU ticks (utime + stime + cutime + cstime: its own and its reaped children's). */
function processTable(): Map<number, { ppid: number; ticks: number }> {
  const table = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // proc(5): fields after the parenthesised name: state ppid ... utime(14) stime cutime cstime(17).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(f[i]), 0);
    table.set(Number(entry), { ppid: Number(f[1]), ticks });
  }
  return table;
}

/** The live processes of the trees rooted at `roots`. */
function treePids(table: Map<number, { ppid: number; ticks: number }>, roots: readonly number[]): number[] {
  const inTree = (pid: number): boolean => {
    for (let p = pid, depth = 0; p > 1 && depth < 64; depth++) {
      if (roots.includes(p)) return true;
      p = table.get(p)?.ppid ?? 0;
    }
    return false;
  };
  return [...table.keys()].filter(inTree);
}

const pidIn = (file: string): number[] => {
  try {
    return [Number(readFileSync(file, 'utf8').trim())].filter((n) => Number.isInteger(n) && n > 1);
  } catch {
    return [];
  }
};

/** The process trees that serve a call, by role. */
function cpuRoots(layout: LabLayout): Record<string, number[]> {
  const run = (name: string) => pidIn(join(layout.paths.run, `${name}.pid`));
  const each = (prefix: string) => layout.devices.flatMap((d) => run(`${prefix}-${d.name}`));
  const frr = layout.devices.flatMap((d) => {
    const dir = `/var/run/frr/${d.ns}`;
    return existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.endsWith('.pid'))
          .flatMap((f) => pidIn(join(dir, f)))
      : [];
  });
  return {
    'MCP server': run('mcp-server'),
    IdP: run('idp'),
    'CA broker': run('ca-broker'),
    'sshd + shim or validator': each('sshd'),
    'resident validators': residentServiceNames(layout).flatMap(run),
    'authz agents': each('agent'),
    'TACACS+ server': run('tacacs'),
    syslog: run('syslog'),
    'FRR daemons': frr,
    'baseline sshd + sh + vtysh': layout.devices.flatMap((d) => run(baselineServiceName(d.name))),
  };
}

/** A control-group hierarchy that accounts CPU: its directory and how to read a group's usage in ms. */
interface CpuAccounting {
  readonly root: string;
  readonly usageMs: (group: string) => number;
}

function cpuAccounting(): CpuAccounting | undefined {
  const v1 = '/sys/fs/cgroup/cpuacct';
  if (existsSync(join(v1, 'cpuacct.usage')))
    return { root: v1, usageMs: (g) => Number(readFileSync(join(g, 'cpuacct.usage'), 'utf8')) / 1e6 };
  for (const root of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    if (!existsSync(join(root, 'cgroup.controllers'))) continue;
    return {
      root,
      usageMs: (g) => Number(/usage_usec (\d+)/.exec(readFileSync(join(g, 'cpu.stat'), 'utf8'))?.[1]) / 1000,
    };
  }
  return undefined;
}

/**
 * The bench's groups, one per role, under `<hierarchy>/netward-bench-<pid>/`; `undefined` (and the
 * /proc fallback) when none can be made (no such hierarchy, or not allowed).
 */
class CpuGroups {
  private constructor(
    private readonly acct: CpuAccounting,
    private readonly dir: string,
  ) {}

  static open(): CpuGroups | undefined {
    const acct = cpuAccounting();
    if (acct === undefined) return undefined;
    const dir = join(acct.root, `netward-bench-${process.pid}`);
    try {
      mkdirSync(dir);
      return new CpuGroups(acct, dir);
    } catch {
      return undefined;
    }
  }

  private group(name: string): string {
    const g = join(this.dir, name.replace(/[^A-Za-z0-9]+/g, '-'));
    if (!existsSync(g)) mkdirSync(g);
    return g;
  }

  /** Moves every live process of each role's trees into the role's group (new ones since included). */
  assign(roots: Record<string, number[]>): void {
    const table = processTable();
    for (const [name, r] of Object.entries(roots)) {
      const procs = join(this.group(name), 'cgroup.procs');
      for (const pid of treePids(table, r)) {
        try {
          writeFileSync(procs, String(pid));
        } catch {
          // exited meanwhile
        }
      }
    }
  }

  usageMs(name: string): number {
    return this.acct.usageMs(this.group(name));
  }

  /** Every process back in the hierarchy's root group, and the bench's groups removed. */
  close(): void {
    for (const g of readdirSync(this.dir, { withFileTypes: true }).filter((e) => e.isDirectory())) {
      const path = join(this.dir, g.name);
      for (const pid of readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        try {
          writeFileSync(join(this.acct.root, 'cgroup.procs'), pid);
        } catch {
          // exited meanwhile
        }
      }
      rmdirSync(path);
    }
    rmdirSync(this.dir);
  }
}

type CpuSample = { readonly ms: Record<string, number>; readonly self: NodeJS.CpuUsage };

/** CPU ms so far by role: from the groups (after moving new processes in), or /proc's live trees. */
function cpuSample(layout: LabLayout, groups: CpuGroups | undefined, tickMs: number): CpuSample {
  const roots = cpuRoots(layout);
  const ms: Record<string, number> = {};
  if (groups !== undefined) {
    groups.assign(roots);
    for (const name of Object.keys(roots)) ms[name] = groups.usageMs(name);
  } else {
    const table = processTable();
    for (const [name, r] of Object.entries(roots))
      ms[name] = treePids(table, r).reduce((sum, pid) => sum + (table.get(pid)?.ticks ?? 0), 0) * tickMs;
  }
  return { ms, self: process.cpuUsage() };
}

/** CPU milliseconds per call between two samples, by process; `bench client` is this process. */
function cpuPerCall(from: CpuSample, to: CpuSample, calls: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, t] of Object.entries(to.ms)) {
    const d = t - (from.ms[name] ?? 0);
    if (d > 0.05 * calls) out[name] = d / calls;
  }
  const selfUs = to.self.user - from.self.user + to.self.system - from.self.system;
  out['bench client (MCP or SSH)'] = selfUs / 1000 / calls;
  return out;
}

function printCpu(columns: readonly [string, Record<string, number>][]): void {
  const names = [...new Set(columns.flatMap(([, c]) => Object.keys(c)))];
  console.log(`    ${'CPU ms per call'.padEnd(28)} ${columns.map(([l]) => l.padStart(10)).join(' ')}`);
  const cell = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(1)).padStart(10);
  for (const n of names) console.log(`    ${n.padEnd(28)} ${columns.map(([, c]) => cell(c[n])).join(' ')}`);
  const totals = columns.map(([, c]) => Object.values(c).reduce((a, b) => a + b, 0));
  console.log(`    ${'total'.padEnd(28)} ${totals.map((t) => cell(t)).join(' ')}`);
  const cores = availableParallelism();
  console.log(
    `    ${`ceiling on ${cores} idle cores`.padEnd(28)} ${totals.map((t) => `${((cores * 1000) / t).toFixed(0)}/s`.padStart(10)).join(' ')}`,
  );
}

/** duration_ms of the device validators' decision and completed records since `since`. */
function validatorSince(layout: LabLayout, since: string): StepTimes {
  const out: Record<string, number[]> = { 'validator decision': [], 'validator completed': [] };
  for (const file of readdirSync(layout.paths.logs)) {
    if (!file.startsWith('forcecommand-') || !file.endsWith('.jsonl')) continue;
    for (const line of readFileSync(join(layout.paths.logs, file), 'utf8').split('\n')) {
      if (!line.includes('"duration_ms"')) continue;
      const r = JSON.parse(line) as { time: string; event?: string; duration_ms?: number };
      if (r.time < since || typeof r.duration_ms !== 'number') continue;
      if (r.event === 'decision') out['validator decision']?.push(r.duration_ms);
      if (r.event === 'completed') out['validator completed']?.push(r.duration_ms);
    }
  }
  return out;
}

function printSteps(columns: readonly [string, StepTimes][]): void {
  const names = [
    'exchange',
    'key',
    'sign',
    'connect',
    'exec',
    'server total',
    'validator decision',
    'validator completed',
  ];
  console.log(`    ${'step (p50 / p95 ms)'.padEnd(20)} ${columns.map(([l]) => l.padStart(18)).join(' ')}`);
  const cell = (v: number[] | undefined) =>
    v?.length ? `${pct(v, 50).toFixed(1)} / ${pct(v, 95).toFixed(1)}` : '-';
  for (const s of names) {
    console.log(`    ${s.padEnd(20)} ${columns.map(([, t]) => cell(t[s]).padStart(18)).join(' ')}`);
  }
}

/** The bench's own lab (or $NETWARD_BENCH_LAB's), with resident validators unless that lab runs without. */
async function benchLab(): Promise<{ layout: LabLayout; external: boolean }> {
  const external = process.env['NETWARD_BENCH_LAB'];
  if (external) return { layout: loadLab(external), external: true };
  const dir = process.env['NETWARD_BENCH_DIR'] ?? '/var/lib/netward-lab-bench';
  console.log(`lab bench: bringing up a bench lab in ${dir} ...`);
  const layout = await labUp({
    dir,
    prefix: process.env['NETWARD_BENCH_PREFIX'] ?? 'b-',
    mgmtNet: process.env['NETWARD_BENCH_NET'] ?? '10.252.0',
    portBase: Number(process.env['NETWARD_BENCH_PORT_BASE'] ?? 9550),
    validators: 'resident',
  });
  return { layout, external: false };
}

/**
 * The MCP modes measured: per-call with the resident validators (the lab's default), per-call with a
 * validator process per command (the devices' sshds switched to the per-process line), session mode.
 */
interface Mode {
  readonly label: string;
  readonly sessionMode: boolean;
  readonly validators: LabOptions['validators'];
}

function modes(layout: LabLayout): Mode[] {
  const resident = layout.options.validators === 'resident';
  return [
    ...(resident
      ? [{ label: 'per-call resident', sessionMode: false, validators: 'resident' as const }]
      : []),
    { label: 'per-call per-process', sessionMode: false, validators: 'per-process' },
    { label: 'session', sessionMode: true, validators: layout.options.validators },
  ];
}

/** The MCP server in the mode's session setting, and the devices' sshds on the mode's validator line. */
async function enterMode(layout: LabLayout, mode: Mode): Promise<void> {
  writeMcpConfig(layout, { sessionMode: mode.sessionMode });
  await restartService(layout, 'mcp-server');
  await useValidators(layout, mode.validators);
}

async function sequentialPart(layout: LabLayout, baseline: readonly BaselineTarget[]): Promise<void> {
  const spine = baseline[0] as BaselineTarget;
  console.log(
    `\nlab bench: show_bgp_summary on ${spine.device}, ${CALLS} sequential calls each (after 3 warm-up calls)`,
  );
  const base = await sequential('baseline: static key, plain sshd', CALLS, () => baselineCall(spine));
  const conn = await sshConnect(spine.host, spine.key);
  const baseReused = await sequential('baseline: one connection, new exec', CALLS, async () => {
    const t = performance.now();
    await sshExec(conn, spine.command);
    return performance.now() - t;
  });
  conn.end();
  const times: Record<string, number[]> = {};
  const steps: [string, StepTimes][] = [];
  for (const mode of modes(layout)) {
    await enterMode(layout, mode);
    const bob = await agentFor(layout, 'bob');
    const since = new Date().toISOString();
    times[mode.label] = await sequential(`MCP ${mode.label}`, CALLS, () => mcpCall(bob, spine.device));
    steps.push([mode.label, { ...stepsSince(layout, since), ...validatorSince(layout, since) }]);
    await bob.close();
  }
  console.log('\n  ratio to the baseline (p50):');
  for (const [label, t] of Object.entries(times)) {
    const goal = label === 'session' ? '(goal < 1x)' : '(goal <= 1.3x)';
    console.log(
      `    ${`${label} / baseline`.padEnd(34)} ${(pct(t, 50) / pct(base, 50)).toFixed(2)}x  ${goal}`,
    );
  }
  const session = times['session'] ?? [];
  console.log(
    `    ${'session / baseline reused'.padEnd(34)} ${(pct(session, 50) / pct(baseReused, 50)).toFixed(2)}x`,
  );
  console.log('\n  per-step breakdown, as the MCP server and the validators logged it:');
  printSteps(steps);
  console.log('    (session mode: exchange/key/sign/connect only when a certificate is (re)issued)');
}

async function throughputPart(
  layout: LabLayout,
  baseline: readonly BaselineTarget[],
  groups: CpuGroups | undefined,
): Promise<void> {
  const devices = layout.devices.map((d) => d.name);
  console.log(
    `\nlab bench: throughput, ${AGENTS} concurrent agents across ${devices.join(', ')}, ${THROUGHPUT_SECONDS} s each`,
  );
  const users = ['alice', 'bob', 'carol'];
  const rates: Record<string, Throughput> = {};
  const steps: [string, StepTimes][] = [];
  const cpu: [string, Record<string, number>][] = [];
  const tickMs = 1000 / Number((await run('getconf', ['CLK_TCK'])).stdout.trim());
  for (const mode of modes(layout)) {
    await enterMode(layout, mode);
    const agents = await Promise.all(
      Array.from({ length: AGENTS }, (_, i) => agentFor(layout, users[i % 3] as string)),
    );
    const from = new Date().toISOString();
    const cpuFrom = cpuSample(layout, groups, tickMs);
    try {
      const rate = await throughput(`MCP ${mode.label}`, AGENTS, THROUGHPUT_SECONDS, (w, i) =>
        mcpCall(agents[w] as Agent, devices[(w + i) % devices.length] as string),
      );
      rates[mode.label] = rate;
      cpu.push([mode.label, cpuPerCall(cpuFrom, cpuSample(layout, groups, tickMs), rate.calls)]);
    } finally {
      await Promise.all(agents.map((a) => a.close()));
    }
    steps.push([mode.label, { ...stepsSince(layout, from), ...validatorSince(layout, from) }]);
  }
  // The same spread as the MCP modes: worker w's call i goes to device (w + i) mod 3.
  const baseFrom = cpuSample(layout, groups, tickMs);
  const baseRate = await throughput(
    `baseline (${devices.length} devices)`,
    AGENTS,
    THROUGHPUT_SECONDS,
    (w, i) => baselineCall(baseline[(w + i) % baseline.length] as BaselineTarget),
  );
  cpu.push(['baseline', cpuPerCall(baseFrom, cpuSample(layout, groups, tickMs), baseRate.calls)]);
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`\n  throughput ratio to the baseline (load average ${load}):`);
  for (const [label, r] of Object.entries(rates)) {
    const goal = label === 'session' ? 3 : 0.8;
    const ratio = r.rate / baseRate.rate;
    const met = ratio >= goal && r.errors === 0 && baseRate.errors === 0 ? 'met' : 'NOT met';
    console.log(
      `    ${`${label} / baseline`.padEnd(34)} ${ratio.toFixed(2)}x  (goal >= ${goal}x, zero errors: ${met}; errors ${r.errors})`,
    );
  }
  console.log('\n  where the time went under load (throughput runs):');
  printSteps(steps);
  console.log(
    groups === undefined
      ? '\n  CPU per call by process (/proc: live processes of each tree with their reaped children; no ForceCommand process counted):'
      : '\n  CPU per call by process (a cpuacct control group per process tree, exited processes included; this process for the client):',
  );
  printCpu(cpu);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('lab bench: skipped, needs root (network namespaces, sshd, FRR)');
    return;
  }
  const { layout, external } = await benchLab();
  const groups = CpuGroups.open();
  try {
    if (layout.options.validators !== 'resident')
      console.log('lab bench: the lab runs per-process validators only: no resident mode measured');
    const baseline = await startBaseline(layout);
    await sequentialPart(layout, baseline);
    await throughputPart(layout, baseline, groups);
  } finally {
    groups?.close();
    await Promise.all(layout.devices.map((d) => stopService(layout.paths.run, baselineServiceName(d.name))));
    writeMcpConfig(layout, { sessionMode: layout.options.sessionMode });
    await restartService(layout, 'mcp-server').catch(() => undefined);
    await useValidators(layout, layout.options.validators).catch(() => undefined);
    if (!external) {
      console.log(`\nlab bench: taking the bench lab down`);
      await labDown(layout.paths.root);
    }
  }
}

main().catch((err: unknown) => {
  console.error('lab bench failed:', err);
  process.exitCode = 1;
});
