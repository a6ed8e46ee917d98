// `netward-forcecommand resident --config FILE --socket PATH`: the account's resident validator
// (resident.ts), started as the account itself (never root), in the device's namespace. Reads the config
// once: a changed file or SIGHUP does not reload it (restart the process); the grammar and rules files
// are read per request, as by the per-process validator. SIGTERM or SIGINT: stop accepting, let running
// requests finish (each bounded by limits.runTimeoutMs), exit 0. Logs JSON lines to stdout.
import { spawn } from 'node:child_process';
import { userInfo } from 'node:os';
import { isAbsolute } from 'node:path';
import { createLogger } from '@netward/audit-context';
import { createAuditSink } from '../audit.ts';
import { createAuthorizer } from '../authorize.ts';
import { loadConfig } from '../config.ts';
import { FC_ERRORS, ForceCommandError } from '../errors.ts';
import { keepParsedFiles } from '../preparsed.ts';
import { startResident } from '../resident.ts';

function option(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

export async function runResidentCommand(argv: readonly string[]): Promise<number> {
  const logger = createLogger({ component: 'forcecommand-resident' });
  const file = option(argv, '--config');
  const socket = option(argv, '--socket');
  try {
    // It serves one account with that account's rights: as root it would run every command as root.
    if (process.getuid?.() === 0) throw new ForceCommandError('ERR_FC_RESIDENT_ROOT');
    if (file === undefined || socket === undefined || !isAbsolute(socket))
      throw new TypeError('usage: netward-forcecommand resident --config FILE --socket /ABSOLUTE/PATH');
    const config = await loadConfig(file);
    const user = userInfo();
    if (!config.accounts.includes(user.username))
      throw new ForceCommandError('ERR_FC_CONFIG', `${user.username} is not in ${file} accounts`);
    // Commands inherit the working directory: the account's home, as sshd sets for the per-process
    // validator (and `/`, as sshd falls back to, when the home cannot be entered).
    try {
      process.chdir(user.homedir);
    } catch {
      process.chdir('/');
    }
    // Rules and grammar files are still read and checked per request; a text parsed before is not
    // parsed again (1.8 ms per request measured with local rules).
    keepParsedFiles();
    const resident = await startResident({
      config,
      account: user.username,
      home: user.homedir,
      socket,
      spawn,
      audit: () => createAuditSink({ file: config.audit.file, syslog: config.audit.syslog }),
      authorizer: () => createAuthorizer(config, user.username),
    });
    const context = { device: config.device, account: user.username, socket };
    logger.info({ event: 'resident_started', ...context }, 'resident validator listening');
    // An error nothing caught leaves this process in a state not to be trusted: stop every running
    // command (their completion records are written, bounded by 2 s), then exit for the supervisor to
    // restart it. Meanwhile the shims fall back to the per-process validator.
    const crash = (err: unknown) => {
      logger.fatal({ event: 'resident_crashed', ...context, err }, 'resident validator failed');
      const bounded = new Promise((resolve) => setTimeout(resolve, 2000).unref());
      void Promise.race([resident.abort(), bounded]).finally(() =>
        process.exit(FC_ERRORS.ERR_FC_INTERNAL.exit),
      );
    };
    process.once('uncaughtException', crash);
    process.once('unhandledRejection', crash);
    process.on('SIGHUP', () => {
      logger.info(
        { event: 'resident_hup', ...context },
        'SIGHUP: the config is not reloaded; restart to apply',
      );
    });
    await new Promise<void>((resolve) => {
      for (const s of ['SIGTERM', 'SIGINT'] as const) process.once(s, () => resolve());
    });
    await resident.close();
    logger.info({ event: 'resident_stopped', ...context }, 'resident validator stopped');
    return 0;
  } catch (e) {
    const code = e instanceof ForceCommandError ? e.code : 'ERR_FC_CONFIG';
    const message =
      code === 'ERR_FC_RESIDENT_ROOT'
        ? `${FC_ERRORS.ERR_FC_RESIDENT_ROOT.message}: start it as the account it serves`
        : (e as Error).message;
    logger.error(
      { event: 'resident_failed', code, err: e },
      `resident validator not started (${code}): ${message}`,
    );
    return FC_ERRORS[code].exit;
  }
}
