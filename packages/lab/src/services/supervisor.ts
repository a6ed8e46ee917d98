import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabError } from '../errors.ts';
import { sleep } from '../system/exec.ts';
import { programPath } from '../system/packages.ts';
import type { RestartPolicy, SuperviseSpec } from './supervise.ts';

/**
 * A long-running lab process, declared as data: the supervisor (`netward-lab supervise`) runs it with
 * its output appended to one log file and restarts it with backoff when it crashes.
 */
export interface ServiceSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly log: string;
  /** Resolves true once the service answers (port open, HTTP 200, ...). */
  readonly ready: () => Promise<boolean>;
  readonly readyTimeoutMs?: number;
  /**
   * A process that writes its own pid file (sshd's PidFile): used instead of the spawned pid when
   * present. Unset for programs that stay in the foreground (`-D`, node services).
   */
  readonly pidFile?: string;
  /** Default: restart always, 250 ms doubling to 8 s (DEFAULT_RESTART in supervise.ts). */
  readonly restart?: RestartPolicy;
}

/**
 * How to start the supervisor process: the built lab program when this module is bundled into it,
 * the TypeScript entry through tsx when the lab runs from its sources (the tests).
 */
function supervisorArgv(specFile: string): string[] {
  const self = fileURLToPath(import.meta.url);
  if (self.endsWith('.ts')) {
    return ['--import', import.meta.resolve('tsx'), join(dirname(self), 'supervise-entry.ts'), specFile];
  }
  return [programPath('@netward/lab', 'netward-lab'), 'supervise', specFile];
}

/** The pid of the service process itself (not its supervisor), for fault experiments. */
export function childPid(runDir: string, name: string): number | undefined {
  const pid = readPid(join(runDir, `${name}.child.pid`));
  return pid !== undefined && alive(pid) ? pid : undefined;
}

export function supervisorLogOf(log: string): string {
  return join(dirname(log), 'supervisor.log');
}

export function pidFileOf(runDir: string, name: string): string {
  return join(runDir, `${name}.pid`);
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0); it is not running anything.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The pid of a running service, or undefined (stale pid files are ignored). */
export function runningPid(runDir: string, name: string): number | undefined {
  const pid = readPid(pidFileOf(runDir, name));
  return pid !== undefined && alive(pid) ? pid : undefined;
}

function tail(file: string, lines = 8): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Starts a service unless it already runs and answers (idempotent `up`), then waits until it is
 * ready. The process is detached in its own process group, so the CLI can exit and `stop` can signal
 * the whole group. A service that exits before it is ready is an ERR_LAB_SERVICE with its log's tail.
 */
export async function startService(
  runDir: string,
  spec: ServiceSpec,
): Promise<{ pid: number; started: boolean }> {
  const existing = runningPid(runDir, spec.name);
  if (existing !== undefined && (await spec.ready().catch(() => false)))
    return { pid: existing, started: false };
  if (existing !== undefined) await stopService(runDir, spec.name);
  // A service left behind by a supervisor that was killed outright would hold the port.
  const orphan = childPid(runDir, spec.name);
  if (orphan !== undefined) {
    try {
      process.kill(-orphan, 'SIGKILL');
    } catch {
      // gone
    }
    while (alive(orphan)) await sleep(20);
  }

  const readyFile = join(runDir, `${spec.name}.ready`);
  rmSync(readyFile, { force: true });
  const specFile = join(runDir, `${spec.name}.spec.json`);
  const superviseSpec: SuperviseSpec = {
    name: spec.name,
    command: spec.command,
    args: spec.args,
    env: spec.env ?? {},
    log: spec.log,
    readyFile,
    childPidFile: join(runDir, `${spec.name}.child.pid`),
    supervisorLog: supervisorLogOf(spec.log),
    restart: spec.restart ?? { policy: 'always' },
  };
  // 0600: the environment may hold a secret (tac_plus-ng's key).
  rmSync(specFile, { force: true });
  writeFileSync(specFile, JSON.stringify(superviseSpec), { mode: 0o600 });
  const out = openSync(spec.log, 'a');
  writeFileSync(out, `\n`);
  let exited: number | null | undefined;
  const child = spawn(process.execPath, supervisorArgv(specFile), {
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const pid = child.pid;
  if (pid === undefined)
    throw new LabError('ERR_LAB_SERVICE', `${spec.name}: could not spawn ${spec.command}`);
  child.on('exit', (code, signal) => {
    exited = code ?? (signal ? -1 : null);
  });
  child.on('error', () => {
    exited = -1;
  });
  writeFileSync(pidFileOf(runDir, spec.name), `${pid}\n`);

  const deadline = Date.now() + (spec.readyTimeoutMs ?? 20_000);
  for (;;) {
    if (exited !== undefined) {
      rmSync(pidFileOf(runDir, spec.name), { force: true });
      throw new LabError(
        'ERR_LAB_SERVICE',
        `${spec.name} exited (${exited}) before it was ready:\n${tail(spec.log)}`,
      );
    }
    if (await spec.ready().catch(() => false)) break;
    if (Date.now() > deadline) {
      await stopService(runDir, spec.name);
      throw new LabError('ERR_LAB_TIMEOUT', `${spec.name} not ready in time:\n${tail(spec.log)}`);
    }
    await sleep(100);
  }
  writeFileSync(readyFile, `${new Date().toISOString()}\n`);
  child.unref();
  return { pid, started: true };
}

/**
 * SIGTERM to the supervisor's process group and to the service's own group (the supervisor forwards
 * it too), SIGKILL to both after `graceMs`. Idempotent.
 */
export async function stopService(runDir: string, name: string, graceMs = 5_000): Promise<boolean> {
  const file = pidFileOf(runDir, name);
  const pid = readPid(file);
  rmSync(join(runDir, `${name}.ready`), { force: true });
  const child = childPid(runDir, name);
  const signal = (target: number | undefined, sig: NodeJS.Signals) => {
    if (target === undefined) return;
    try {
      process.kill(-target, sig);
    } catch {
      try {
        process.kill(target, sig);
      } catch {
        // gone
      }
    }
  };
  const running = () => (pid !== undefined && alive(pid)) || (child !== undefined && alive(child));
  if (!running()) {
    rmSync(file, { force: true });
    return false;
  }
  signal(pid, 'SIGTERM');
  signal(child, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (running() && Date.now() < deadline) await sleep(50);
  if (running()) {
    signal(pid, 'SIGKILL');
    signal(child, 'SIGKILL');
  }
  while (running()) await sleep(20);
  rmSync(file, { force: true });
  rmSync(join(runDir, `${name}.child.pid`), { force: true });
  return true;
}

export function serviceRunning(runDir: string, name: string): boolean {
  return existsSync(pidFileOf(runDir, name)) && runningPid(runDir, name) !== undefined;
}
