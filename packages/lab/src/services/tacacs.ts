import { readFileSync } from 'node:fs';
import { createLogger, type Logger } from '@netward/audit-context';
import { decide, loadPolicy, type Policy } from '@netward/policy';
import {
  createTacacsServer,
  readKeyFile,
  type TacacsServer,
  type TacacsServerHandlers,
} from '@netward/tacacs-plus';
import { LabError } from '../errors.ts';
import type { TacacsServiceConfig } from './configs.ts';

export function loadTacacsConfig(file: string): TacacsServiceConfig {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as TacacsServiceConfig;
  } catch (cause) {
    throw new LabError('ERR_LAB_CONFIG', `${file}: cannot read JSON`, { cause });
  }
}

/**
 * The rendered tac_plus-ng profile as a handler: `if (service == shell) { rules… deny } deny`. The server
 * has already refused NUL and malformed pairs and built the command line from the bytes as tac_plus-ng
 * does (`req.commandBytes`: `cmd` and `cmd-arg` values in packet order, last `service=` counts); a shell
 * start (no `cmd`) is decided on the empty command line, as tac_plus-ng's `cmd =~` rules see it.
 */
export function authorizeByPolicy(policy: Policy): NonNullable<TacacsServerHandlers['authorize']> {
  return (req) => {
    if (req.service !== 'shell') return { status: 'FAIL', serverMsg: 'only service=shell is served' };
    const d = decide(policy, req.user, req.commandBytes);
    return d.decision === 'permit'
      ? { status: 'PASS_ADD' }
      : { status: 'FAIL', serverMsg: `command not authorized for ${req.user}` };
  };
}

/**
 * The lab's TACACS+ server: our RFC 8907 server answering command authorization from the policy's
 * rules, exactly as the rendered tac_plus-ng profiles would (the policy package's decide() follows
 * tac_plus-ng's matching: cmd + ' ' + each cmd-arg, ordered, first match, default deny). The TACACS+
 * user is the device account, i.e. the role. Only `service=shell` command authorization passes.
 */
export async function startLabTacacs(
  config: TacacsServiceConfig,
  deps: { logger?: Logger; policy?: Policy } = {},
): Promise<{ server: TacacsServer; host: string; port: number }> {
  const logger = deps.logger ?? createLogger({ component: 'tacacs-server' });
  const policy = deps.policy ?? loadPolicy(config.policyFile);
  const server = createTacacsServer({
    key: readKeyFile(config.keyFile),
    logger,
    handlers: {
      authorize: authorizeByPolicy(policy),
    },
  });
  const bound = await server.listen({ host: config.host, port: config.port });
  return { server, ...bound };
}
