#!/usr/bin/env node
/**
 * netward-mcp-server serve --config FILE
 *
 * Exit codes: 0 clean shutdown, 1 runtime failure, 2 usage or configuration error.
 */
import { parseArgs } from 'node:util';
import { createLogger } from '@netward/audit-context';
import { loadConfig } from '../config.ts';
import { McpServerError } from '../errors.ts';
import { startServer } from '../server.ts';

const USAGE = 'usage: netward-mcp-server serve --config FILE';

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<
    typeof parseArgs<{
      options: { config: { type: 'string'; short: 'c' }; help: { type: 'boolean'; short: 'h' } };
      allowPositionals: true;
    }>
  >;
  try {
    parsed = parseArgs({
      args: argv,
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    });
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  const [command, ...rest] = parsed.positionals;
  if (command !== 'serve' || rest.length > 0 || parsed.values.config === undefined) {
    console.error(USAGE);
    return 2;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(parsed.values.config);
  } catch (e) {
    console.error(e instanceof McpServerError ? e.message : String(e));
    return 2;
  }
  const logger = createLogger({ component: 'mcp-server' });
  const server = await startServer(config, { logger });
  logger.info(
    {
      event: 'listening',
      address: server.address,
      public_url: config.publicUrl,
      session_mode: config.sessionMode,
    },
    'netward MCP server listening',
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e instanceof McpServerError ? `${e.code}: ${e.message}` : e);
    process.exitCode = 1;
  },
);
