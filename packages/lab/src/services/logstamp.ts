import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';

/**
 * Runs a program and appends each line of its stderr and stdout to `logFile`, prefixed with an ISO
 * 8601 timestamp. sshd writes no timestamp when it logs to a file (`-E`) or to stderr (`-e`), and
 * there is no syslog daemon here: without this the trace could not order sshd's `Accepted publickey`
 * lines among the other components' records. Signals are passed on; the exit status is the child's.
 */
export function runStamped(logFile: string, command: string, args: readonly string[]): Promise<number> {
  const out = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
    lines.on('line', (line) => out.write(`${new Date().toISOString()} ${line}\n`));
  }
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(sig, () => child.kill(sig));
  }
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      out.end(() => resolve(code ?? (signal ? 128 + 15 : 1)));
    });
    child.on('error', (err) => {
      out.write(`${new Date().toISOString()} netward-lab: cannot start ${command}: ${err.message}\n`);
      out.end(() => resolve(127));
    });
  });
}
