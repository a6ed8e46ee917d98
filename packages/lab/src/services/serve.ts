import { readFileSync } from 'node:fs';
import { createLogger } from '@netward/audit-context';
import { LabError } from '../errors.ts';
import { loadIdpConfig } from '../idp/config.ts';
import { startIdp } from '../idp/server.ts';
import type { SyslogServiceConfig } from './configs.ts';
import { startSyslogReceiver } from './syslog.ts';
import { loadTacacsConfig, startLabTacacs } from './tacacs.ts';

/** Keeps a service process alive until SIGTERM/SIGINT, then closes it. */
function untilSignal(close: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      close().finally(() => resolve());
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

/** `serve-idp --config F`: the lab IdP in the foreground, JSON lines on stdout. */
export async function serveIdp(configFile: string): Promise<void> {
  const logger = createLogger({ component: 'idp' });
  const running = await startIdp(loadIdpConfig(configFile), { logger });
  await untilSignal(running.close);
}

export async function serveSyslog(configFile: string): Promise<void> {
  let config: SyslogServiceConfig;
  try {
    config = JSON.parse(readFileSync(configFile, 'utf8')) as SyslogServiceConfig;
  } catch (cause) {
    throw new LabError('ERR_LAB_CONFIG', `${configFile}: cannot read JSON`, { cause });
  }
  const logger = createLogger({ component: 'syslog-receiver' });
  const receiver = await startSyslogReceiver(config);
  logger.info(
    { event: 'listening', host: config.host, port: config.port, out: config.outFile },
    'syslog receiver',
  );
  await untilSignal(receiver.close);
}

export async function serveTacacs(configFile: string): Promise<void> {
  const logger = createLogger({ component: 'tacacs-server' });
  const { server } = await startLabTacacs(loadTacacsConfig(configFile), { logger });
  await untilSignal(() => server.close());
}
