import { readFileSync } from 'node:fs';
import { createLogger, type Logger } from '@netward/audit-context';
import { commandString, decide, loadPolicy, type Policy } from '@netward/policy';
import { createTacacsServer, readKeyFile, type TacacsServer } from '@netward/tacacs-plus';
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
      authorize: async (req) => {
        if (req.service !== 'shell' || req.cmd === undefined || req.cmd === '') {
          return { status: 'FAIL', serverMsg: 'only shell command authorization is served' };
        }
        const command = commandString(req.cmd, req.args);
        const d = decide(policy, req.user, command);
        return d.decision === 'permit'
          ? { status: 'PASS_ADD' }
          : { status: 'FAIL', serverMsg: `command not authorized for ${req.user}` };
      },
    },
  });
  const bound = await server.listen({ host: config.host, port: config.port });
  return { server, ...bound };
}
