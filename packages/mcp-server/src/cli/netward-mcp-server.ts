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

function usageError(reason: string): number {
  console.error(`netward-mcp-server: ${reason} (netward-mcp-server --help for usage)`);
  return 2;
}

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
    return usageError((e as Error).message.split('\n')[0] ?? 'bad arguments');
  }
  const [command, ...rest] = parsed.positionals;
  if (parsed.values.help || command === 'help') {
    console.log(USAGE);
    return 0;
  }
  // The convention of every netward program: a usage error says on one line what was wrong, exit 2.
  if (command === undefined) return usageError('no command given');
  if (command !== 'serve') return usageError(`unknown command "${command}"`);
  if (rest.length > 0) return usageError(`serve takes no argument "${rest[0]}"`);
  if (parsed.values.config === undefined) return usageError('serve needs --config FILE');
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
