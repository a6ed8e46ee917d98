import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { constants } from 'node:os';
import type { ExecutionPlan } from './normalize.ts';
import { runVty } from './vty.ts';

/** The PATH every child gets; nothing of the client's or sshd's environment is passed on. */
export const CHILD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The spawn function (node:child_process.spawn in production; tests inject a recorder). */
export type SpawnFunction = (file: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

export interface ExecuteOptions {
  readonly spawn: SpawnFunction;
  readonly timeoutMs: number;
  readonly account: string;
  readonly home?: string;
  /** Registers a callback for the validator being told to stop (SIGTERM/SIGHUP); returns an unregister. */
  readonly onStopSignal?: (stop: () => void) => () => void;
  /** Session mode: the child's output is read from pipes and handed here (framed by the caller). */
  readonly output?: ExecuteOutput;
}

export interface ExecuteOutput {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
  /**
   * A promise while the consumer holds more than it wants to: the child's pipes are not read until it
   * settles, so the child blocks writing, as it would on the channel itself in per-call mode.
   */
  backlog?(): Promise<void> | undefined;
}

export interface ExecuteResult {
  /** The status the validator exits with: the child's code, or 128+signal, or 124 after the limit. */
  readonly exitStatus: number;
  readonly signal?: string;
  readonly timedOut: boolean;
  /** Set when the program could not be started (errno code). */
  readonly spawnError?: string;
}

/** A clean environment: fixed PATH, C locale, the account's identity; nothing from the client. */
export function childEnvironment(account: string, home = '/'): Record<string, string> {
  return { PATH: CHILD_PATH, LANG: 'C', LC_ALL: 'C', HOME: home, USER: account, LOGNAME: account };
}

/**
 * Runs the plan: execve of an absolute path with an argv array (shell: false), stdin from /dev/null,
 * stdout/stderr inherited so output streams straight to the SSH channel. The child leads its own
 * process group, so the run-time limit kills everything it started.
 */
export function execute(plan: ExecutionPlan, options: ExecuteOptions): Promise<ExecuteResult> {
  if (plan.vty !== undefined) return executeVty(plan, options);
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = options.spawn(plan.file, [...plan.args], {
        shell: false,
        env: childEnvironment(options.account, options.home),
        stdio: ['ignore', options.output ? 'pipe' : 'inherit', options.output ? 'pipe' : 'inherit'],
        detached: true,
        windowsHide: true,
      });
    } catch (e) {
      resolve({ exitStatus: 126, timedOut: false, spawnError: (e as NodeJS.ErrnoException).code ?? 'spawn' });
      return;
    }
    const output = options.output;
    const throttle = output === undefined ? undefined : readOutput(child, output);
    let timedOut = false;
    let settled = false;
    const killGroup = () => {
      // Read what is left, whoever is behind: the pipes must reach their end for 'close' to come.
      throttle?.release();
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, options.timeoutMs);
    const unregister = options.onStopSignal?.(killGroup);
    const finish = (r: ExecuteResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unregister?.();
      resolve(r);
    };
    child.once('error', (e: NodeJS.ErrnoException) => {
      // ENOENT / EACCES: the allowlisted program is missing or not executable for this account.
      finish({ exitStatus: e.code === 'ENOENT' ? 127 : 126, timedOut: false, spawnError: e.code ?? 'spawn' });
    });
    // With pipes, 'close' comes after the last output byte ('exit' may come before it).
    child.once(
      output === undefined ? 'exit' : 'close',
      (code: number | null, signal: NodeJS.Signals | null) => {
        if (timedOut) finish({ exitStatus: 124, timedOut: true, ...(signal ? { signal } : {}) });
        else if (signal) {
          const n = (constants.signals as Record<string, number>)[signal] ?? 0;
          finish({ exitStatus: 128 + n, timedOut: false, signal });
        } else finish({ exitStatus: code ?? 1, timedOut: false });
      },
    );
  });
}

/**
 * The plan's one CLI line to the daemon that answers it (vty.ts), no process started. Per-call mode
 * writes the answer to the validator's own stdout (the channel) and waits until it is handed over, as
 * an inherited stdout would have been before the child exited.
 */
async function executeVty(plan: ExecutionPlan, options: ExecuteOptions): Promise<ExecuteResult> {
  const route = plan.vty as NonNullable<ExecutionPlan['vty']>;
  let flushed: Promise<unknown> = Promise.resolve();
  const stdout =
    options.output?.stdout ??
    ((chunk: Buffer) => {
      flushed = new Promise((done) => process.stdout.write(chunk, done));
    });
  const result = await runVty(route, {
    timeoutMs: options.timeoutMs,
    stdout,
    ...(options.onStopSignal === undefined ? {} : { onStopSignal: options.onStopSignal }),
  });
  await flushed;
  return result;
}

/** Hands the child's output to `output`, pausing both pipes while `output.backlog()` says it is behind. */
function readOutput(child: ChildProcess, output: ExecuteOutput): { release(): void } {
  const pipes = [child.stdout, child.stderr].filter((p) => p !== null && p !== undefined);
  let released = false;
  let waiting = false;
  const check = () => {
    if (released || waiting) return;
    const wait = output.backlog?.();
    if (wait === undefined) return;
    waiting = true;
    for (const p of pipes) p.pause();
    void wait.then(() => {
      waiting = false;
      if (!released) for (const p of pipes) p.resume();
    });
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    output.stdout(chunk);
    check();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output.stderr(chunk);
    check();
  });
  return {
    release() {
      released = true;
      for (const p of pipes) p.resume();
    },
  };
}
