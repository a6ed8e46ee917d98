import { execFile } from 'node:child_process';
import { LabError } from '../errors.ts';

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/**
 * Runs a program with an argv array (never a shell) and returns its output. Throws ERR_LAB_COMMAND
 * with the program's stderr when it exits non-zero, unless `allowFailure` is set.
 */
export function run(
  file: string,
  args: readonly string[],
  options: { allowFailure?: boolean; timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        timeout: options.timeoutMs ?? 30_000,
        maxBuffer: 16 * 1024 * 1024,
        encoding: 'utf8',
        ...(options.env ? { env: options.env } : {}),
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        if (error && !options.allowFailure) {
          const detail = String(stderr || stdout || error.message)
            .trim()
            .split('\n')
            .slice(-3)
            .join(' | ');
          reject(new LabError('ERR_LAB_COMMAND', `${file} ${args.join(' ')}: ${detail}`, { cause: error }));
          return;
        }
        resolve({ stdout: String(stdout), stderr: String(stderr), code });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** The argv that runs `file args` inside a network namespace: `ip netns exec <ns> file args`. */
export function inNamespace(ns: string, file: string, args: readonly string[]): [string, ...string[]] {
  return ['ip', 'netns', 'exec', ns, file, ...args];
}

/**
 * The argv that runs `file args` inside a network namespace and in a UTS namespace of its own named
 * `hostname`: `ip netns exec <ns> unshare --uts -- sh -c 'hostname "$1" && shift && exec "$@"' sh
 * <hostname> file args`. A device's FRR and sshd run so; vtysh, under either, prints the device's name in
 * `show running-config`, not the host's. The names are positional parameters, not interpolated: they
 * never reach the shell's parser.
 */
export function inNamespaceNamed(
  ns: string,
  hostname: string,
  file: string,
  args: readonly string[],
): [string, ...string[]] {
  const script = 'hostname "$1" && shift && exec "$@"';
  return inNamespace(ns, 'unshare', ['--uts', '--', 'sh', '-c', script, 'sh', hostname, file, ...args]);
}

/** Runs a program inside a network namespace (`ip netns exec`). */
export function runIn(
  ns: string,
  file: string,
  args: readonly string[],
  options: Parameters<typeof run>[2] = {},
): Promise<RunResult> {
  const [ip, ...argv] = inNamespace(ns, file, args);
  return run(ip, argv, options);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` every `intervalMs` until it returns a value other than undefined, or times out. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  { timeoutMs = 30_000, intervalMs = 200 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new LabError('ERR_LAB_TIMEOUT', `${what}: not ready after ${timeoutMs} ms`, { cause: last });
    }
    await sleep(intervalMs);
  }
}
