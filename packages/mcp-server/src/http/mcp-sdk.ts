/**
 * The MCP layer, from the official SDK v2: the 2026-07-28 revision (a fresh server per request, as that
 * revision is stateless) and the 2025 `initialize` flow (the stateless Streamable HTTP transport). Each
 * request gets a server holding only the tools the caller's scopes allow; a tool call goes to the runner.
 */
import {
  type AuthInfo,
  createMcpHandler,
  isLegacyRequest,
  McpServer,
  type ServerContext,
  TRACEPARENT_META_KEY,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server';
import type { Logger } from '@netward/audit-context';
import type { Tool as PolicyTool } from '@netward/policy';
import type { Identity } from '../auth/token.ts';
import { McpServerError } from '../errors.ts';
import { parseTraceparent } from '../pipeline/result.ts';
import type { ToolRunner } from '../pipeline/runner.ts';
import { toolInputSchemas, type toolInputShapes } from '../tools/schemas.ts';

export const SERVER_NAME = 'netward';
export const SERVER_VERSION = '0.1.0';

type ToolName = keyof typeof toolInputShapes;

const READ_ONLY = new Set<string>([
  'list_devices',
  'show_bgp_summary',
  'show_ip_route',
  'show_interfaces',
  'show_running_config',
]);
const DESTRUCTIVE = new Set<string>(['set_interface_description', 'run_raw_command_on_device']);

/** What one HTTP request carries into the MCP layer, and what its tool calls report back. */
export interface RequestState {
  readonly identity: Identity;
  readonly outcome: { loginEnded: boolean };
}

export interface McpDispatcherOptions {
  /** The tools offered (those of the policy implemented here and enabled). */
  readonly tools: readonly PolicyTool[];
  readonly runner: ToolRunner;
  readonly maxBodyBytes: number;
  readonly logger: Logger;
}

export interface McpDispatcher {
  /** Answers one JSON-RPC request of either revision for an authenticated caller. */
  dispatch(request: Request, body: unknown, authInfo: AuthInfo): Promise<Response>;
  close(): Promise<void>;
}

function stateOf(authInfo: AuthInfo | undefined): RequestState {
  const state = authInfo?.extra?.['state'] as RequestState | undefined;
  // The route authenticates before either leg runs; reaching here without an identity is a bug.
  if (state === undefined) throw new McpServerError('ERR_MCP_INTERNAL', 'no verified identity');
  return state;
}

export function createMcpDispatcher(options: McpDispatcherOptions): McpDispatcher {
  const { tools, runner, logger } = options;

  /** One fresh server per request, holding only the tools the caller's scopes allow. */
  const serverFor = ({ identity, outcome }: RequestState): McpServer => {
    const server = new McpServer(
      { name: SERVER_NAME, version: SERVER_VERSION },
      {
        // The tool list is fixed by the policy for the server's lifetime: nothing to subscribe to.
        capabilities: { tools: { listChanged: false } },
        instructions: 'Network device tools. Call list_devices first.',
      },
    );
    for (const tool of tools) {
      if (!identity.scopes.includes(tool.scope)) continue;
      const name = tool.name as ToolName;
      const annotations = {
        readOnlyHint: READ_ONLY.has(name),
        destructiveHint: DESTRUCTIVE.has(name),
        openWorldHint: name !== 'list_devices',
      };
      const config = { description: tool.description, inputSchema: toolInputSchemas[name], annotations };
      server.registerTool(name, config, async (args: Record<string, unknown>, ctx: ServerContext) => {
        const traceparent = parseTraceparent(ctx.mcpReq._meta?.[TRACEPARENT_META_KEY]);
        const result = await runner.run(identity, name, args ?? {}, traceparent ? { traceparent } : {});
        if (result.isError === true && JSON.stringify(result.content).includes('ERR_MCP_LOGIN_ENDED'))
          outcome.loginEnded = true;
        return result;
      });
    }
    return server;
  };
  const onerror = (e: Error) =>
    logger.warn({ event: 'mcp_request_error', err: e }, 'MCP request refused or failed');

  // Revision 2026-07-28 (a `_meta` envelope on every request, server/discover): the SDK's per-request
  // entry. 'auto' answers with one JSON body unless a handler sends a message before its result, which
  // no tool here does; 'json' would answer the same and print a warning on stderr at every start.
  const modern = createMcpHandler(({ authInfo }) => serverFor(stateOf(authInfo)), {
    legacy: 'reject',
    responseMode: 'auto',
    maxRequestBodySize: options.maxBodyBytes,
    onerror,
  });
  // 2025-era clients (initialize, then requests without the envelope): the stateless Streamable HTTP
  // transport in JSON mode, as before (the SDK's built-in fallback would answer over SSE).
  const legacy = async (request: Request, body: unknown, authInfo: AuthInfo): Promise<Response> => {
    const server = serverFor(stateOf(authInfo));
    const transport = new WebStandardStreamableHTTPServerTransport({ enableJsonResponse: true });
    transport.onerror = onerror;
    await server.connect(transport);
    try {
      return await transport.handleRequest(request, { parsedBody: body, authInfo });
    } finally {
      void server.close();
    }
  };

  return {
    async dispatch(request, body, authInfo) {
      return (await isLegacyRequest(request, body, { maxRequestBodySize: options.maxBodyBytes }))
        ? legacy(request, body, authInfo)
        : modern.fetch(request, { parsedBody: body, authInfo });
    },
    close: async () => modern.close(),
  };
}
