// The program sshd runs (ForceCommand) for every command of the service accounts. Kept to the hot path:
// everything an operator runs by hand (install, render, check) is loaded only when asked for.
import { spawn } from 'node:child_process';
import { userInfo } from 'node:os';
import { SESSION_VERB } from '@netward/session-protocol';
import { createAuditSink } from './audit.ts';
import { createAuthorizer } from './authorize.ts';
import { type ForceCommandConfig, loadConfig } from './config.ts';
import { clientMessage, FC_ERRORS, ForceCommandError } from './errors.ts';
import { runSession } from './session.ts';
import { runValidator, type ValidatorDeps } from './validator.ts';

const ADMIN_COMMANDS = new Set(['install', 'render-sshd', 'render-config', 'check-config', 'help', '--help']);

function configPath(argv: readonly string[]): string | undefined {
  const i = argv.indexOf('--config');
  return i >= 0 ? argv[i + 1] : undefined;
}

export async function main(argv: readonly string[]): Promise<number> {
  const first = argv[0];
  if (first === 'agent') {
    const { runAgentCommand } = await import('./cli/agent.ts');
    return runAgentCommand(argv);
  }
  if (first === 'resident') {
    const { runResidentCommand } = await import('./cli/resident.ts');
    return runResidentCommand(argv);
  }
  if (first !== undefined && ADMIN_COMMANDS.has(first)) {
    const { runAdmin } = await import('./cli/admin.ts');
    return runAdmin(argv);
  }
  // Since the process started (performance's time origin): node's own start, the snapshot deserialised.
  const started = performance.now();
  const file = configPath(argv);
  let config: ForceCommandConfig;
  try {
    if (file === undefined) throw new ForceCommandError('ERR_FC_CONFIG', 'no --config');
    config = await loadConfig(file);
  } catch {
    // The client learns only that the device is misconfigured; `netward-forcecommand check-config`
    // tells the operator why.
    process.stderr.write(clientMessage('ERR_FC_CONFIG'));
    return FC_ERRORS.ERR_FC_CONFIG.exit;
  }
  const startup = { process: round(started), config: round(performance.now() - started) };
  const user = userInfo();
  const audit = createAuditSink({ file: config.audit.file, syslog: config.audit.syslog });
  const deps: Omit<ValidatorDeps, 'stderr'> = {
    config,
    account: user.username,
    home: user.homedir,
    env: process.env,
    authorizer: () => createAuthorizer(config, user.username),
    audit,
    spawn,
    onStopSignal,
  };
  const perCall = { ...deps, startup };
  // Session mode writes every frame itself: when sshd closes the channel (the client went away), the
  // write's callback reports EPIPE and the session stops its command; unhandled, the same error would
  // also be thrown from the stream and end the process with the command still running, unrecorded.
  process.stdout.on('error', () => {});
  const status =
    process.env['SSH_ORIGINAL_COMMAND'] === SESSION_VERB
      ? await runSession({ ...deps, stdin: process.stdin, write: writeStdout })
      : await runValidator({ ...perCall, stderr: (text) => process.stderr.write(text) });
  await audit.close();
  return status;
}

const round = (v: number) => Math.round(v * 10) / 10;

function onStopSignal(stop: () => void): () => void {
  const signals = ['SIGTERM', 'SIGHUP', 'SIGINT'] as const;
  for (const s of signals) process.on(s, stop);
  return () => {
    for (const s of signals) process.off(s, stop);
  };
}

function writeStdout(bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(bytes, (e) => (e ? reject(e) : resolve()));
  });
}

/** Runs the program for `argv` and exits with its status; never throws. */
export function runAndExit(argv: readonly string[]): void {
  main(argv).then(
    (status) => process.exit(status),
    () => {
      process.stderr.write(clientMessage('ERR_FC_INTERNAL'));
      process.exit(FC_ERRORS.ERR_FC_INTERNAL.exit);
    },
  );
}
