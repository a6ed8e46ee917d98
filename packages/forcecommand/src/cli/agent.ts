// `netward-forcecommand agent --config FILE`: the device's authorization agent (agent.ts), as root.
// Reads the same config as the validator: the TACACS+ servers, key file and deadlines, and
// authorization.agent.socketDir. Logs JSON lines to stdout (component forcecommand-agent).
import { createLogger } from '@netward/audit-context';
import { loadConfig } from '../config.ts';
import { ForceCommandError } from '../errors.ts';

export async function runAgentCommand(argv: readonly string[]): Promise<number> {
  const i = argv.indexOf('--config');
  const file = i >= 0 ? argv[i + 1] : undefined;
  const logger = createLogger({ component: 'forcecommand-agent' });
  try {
    if (file === undefined) throw new TypeError('usage: netward-forcecommand agent --config FILE');
    if (process.getuid?.() !== 0) throw new ForceCommandError('ERR_FC_CONFIG', 'the agent must run as root');
    const config = await loadConfig(file);
    const a = config.authorization;
    if (a.mode !== 'tacacs' || a.agent === undefined)
      throw new ForceCommandError('ERR_FC_CONFIG', `${file}: authorization.agent is not configured`);
    // tacacs-plus's readKeyFile: 0600 or stricter, as a private key. No account can read it.
    const { readKeyFile, TacacsClient } = await import('@netward/tacacs-plus');
    const key = readKeyFile(a.keyFile);
    const client = new TacacsClient({
      servers: a.servers.map((s) => ({ host: s.host, port: s.port, key })),
      timeoutMs: a.timeoutMs,
      deadlineMs: a.deadlineMs,
      // RFC 8907 section 4.3: one TCP connection for every session, kept open: no handshake per command.
      singleConnection: true,
    });
    const { startAgent } = await import('../agent.ts');
    const agent = await startAgent({
      device: config.device,
      socketDir: a.agent.socketDir,
      accounts: config.accounts,
      client,
      accounting: a.accounting,
      logger,
    });
    await new Promise<void>((resolve) => {
      for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(s, () => resolve());
    });
    await agent.close();
    logger.info({ event: 'agent_stopped', device: config.device }, 'authorization agent stopped');
    return 0;
  } catch (e) {
    logger.error({ event: 'agent_failed', err: e }, `authorization agent failed: ${(e as Error).message}`);
    return 112;
  }
}
