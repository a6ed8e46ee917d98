import { type ChildProcess, spawn } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';

/** What the supervisor process reads from run/<name>.spec.json (written 0600 by startService). */
export interface SuperviseSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly log: string;
  /** Written by startService once the service first answered; a crash before it is a failed start. */
  readonly readyFile: string;
  readonly childPidFile: string;
  /** JSON lines, one per start, exit and restart. */
  readonly supervisorLog: string;
  readonly restart: RestartPolicy;
}

export interface RestartPolicy {
  readonly policy: 'always' | 'never';
  /** First delay after a crash; doubled on every crash in a row, up to maxDelayMs. */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  /** A run at least this long resets the delay: the crash was not part of a crash loop. */
  readonly resetAfterMs?: number;
}

export const DEFAULT_RESTART: Required<RestartPolicy> = {
  policy: 'always',
  // 250 ms lets a port held in TIME_WAIT-free LISTEN close; 8 s caps a crash loop at ~8 starts a minute.
  initialDelayMs: 250,
  maxDelayMs: 8_000,
  resetAfterMs: 30_000,
};

/** The delay before restart number `crashesInARow` (1-based): exponential, capped. */
export function backoffDelay(policy: RestartPolicy, crashesInARow: number): number {
  const p = { ...DEFAULT_RESTART, ...policy };
  return Math.min(p.maxDelayMs, p.initialDelayMs * 2 ** Math.max(0, crashesInARow - 1));
}

/**
 * The supervisor process of one lab service: runs it, and when it exits on its own after it was
 * once ready, logs the exit and starts it again after a backoff delay. SIGTERM/SIGINT (what `down`
 * and `stopService` send to the whole process group) end both without a restart. A service that exits
 * before it was ever ready is not restarted: the supervisor exits with its code, so `up` reports the
 * failed start with the service's log instead of waiting out a crash loop.
 */
export async function supervise(specFile: string): Promise<number> {
  const spec = JSON.parse(readFileSync(specFile, 'utf8')) as SuperviseSpec;
  const policy = { ...DEFAULT_RESTART, ...spec.restart };
  const log = supervisorLog(spec);
  let stopping = false;
  let current: ChildProcess | undefined;
  let wake: (() => void) | undefined;
  const stop = () => {
    stopping = true;
    signalGroup(current?.pid, 'SIGTERM');
    wake?.();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  let crashes = 0;
  for (let starts = 1; ; starts++) {
    const run = await runOnce(spec, starts, log, (child) => {
      current = child;
    });
    current = undefined;
    if (stopping) {
      log('stopped', { pid: run.pid, uptime_ms: run.uptimeMs });
      return 0;
    }
    const { exit, pid, uptimeMs } = run;
    const status = exit.code ?? (exit.signal ? 128 : 1);
    if (!existsSync(spec.readyFile)) {
      log('failed-start', { pid, code: exit.code, signal: exit.signal, error: exit.error });
      return status === 0 ? 1 : status;
    }
    if (policy.policy === 'never') {
      log('exited', { pid, code: exit.code, signal: exit.signal, uptime_ms: uptimeMs });
      return status;
    }
    crashes = uptimeMs >= policy.resetAfterMs ? 1 : crashes + 1;
    const delay = backoffDelay(policy, crashes);
    log('restart', {
      pid,
      code: exit.code,
      signal: exit.signal,
      uptime_ms: uptimeMs,
      crashes_in_a_row: crashes,
      delay_ms: delay,
    });
    process.stderr.write(
      `supervisor: ${spec.name} exited (${exit.signal ?? exit.code}) after ${uptimeMs} ms; restart in ${delay} ms\n`,
    );
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delay);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    wake = undefined;
    if (stopping) {
      log('stopped', { uptime_ms: 0 });
      return 0;
    }
  }
}

type SupervisorLog = (event: string, fields?: Record<string, unknown>) => void;

/** One JSON line per event in the supervisor's log. */
function supervisorLog(spec: SuperviseSpec): SupervisorLog {
  return (event, fields = {}) =>
    appendFileSync(
      spec.supervisorLog,
      `${JSON.stringify({ time: new Date().toISOString(), component: 'supervisor', service: spec.name, event, ...fields })}\n`,
    );
}

function signalGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, sig);
  } catch {
    // the group is gone
  }
}

interface Exit {
  readonly code: number | null;
  readonly signal: string | null;
  readonly error?: string;
}

/**
 * One run of the service, from its start to its exit: its pid file while it runs, and its whole
 * process group killed after it exits. `started` learns the child so that a stop can signal it.
 */
async function runOnce(
  spec: SuperviseSpec,
  starts: number,
  log: SupervisorLog,
  started: (child: ChildProcess) => void,
): Promise<{ pid: number | undefined; exit: Exit; uptimeMs: number }> {
  const out = openSync(spec.log, 'a');
  const t0 = Date.now();
  // Its own process group: when it dies, whatever it started (sshd under the log stamper) is killed
  // with the group before the next start, so no orphan holds the port the new one needs.
  const child = spawn(spec.command, [...spec.args], {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, ...spec.env },
  });
  closeSync(out);
  started(child);
  if (child.pid !== undefined) writeFileSync(spec.childPidFile, `${child.pid}\n`);
  log('start', { pid: child.pid, start: starts });
  const exit = await new Promise<Exit>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', (err) => resolve({ code: null, signal: null, error: err.message }));
  });
  signalGroup(child.pid, 'SIGKILL');
  rmSync(spec.childPidFile, { force: true });
  return { pid: child.pid, exit, uptimeMs: Date.now() - t0 };
}
