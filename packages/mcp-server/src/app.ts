/**
 * The HTTP face of the server: fastify, the MCP SDK's Streamable HTTP transport in stateless mode (a
 * new McpServer and transport per request, as the SDK requires since 1.26), and the OAuth 2.1
 * resource server parts of the MCP authorization spec (revision 2025-11-25):
 *
 * - protected resource metadata (RFC 9728 section 3) at `/.well-known/oauth-protected-resource` and at
 *   the path-suffixed form for the MCP endpoint (`/.well-known/oauth-protected-resource/mcp`);
 * - 401 with `WWW-Authenticate: Bearer resource_metadata="...", scope="..."` without a token, plus
 *   `error="invalid_token"` for a bad one (RFC 6750 section 3.1);
 * - 403 with `error="insufficient_scope"` and the scope a called tool needs (spec "Scope Challenge
 *   Handling");
 * - Host and Origin checked on every request (DNS rebinding; spec "Security Warning" of the Streamable
 *   HTTP transport), before anything else runs.
 */

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createLogger, type Logger } from '@netward/audit-context';
import { type BrokerClient, createBrokerClient } from '@netward/ca-broker';
import { defaultPolicy, loadPolicy, type Policy } from '@netward/policy';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { JWTVerifyGetKey } from 'jose';
import { createTokenVerifier, type Identity, remoteJwks } from './auth/token.ts';
import type { Config } from './config.ts';
import { McpServerError } from './errors.ts';
import { createTokenExchanger, type TokenExchanger } from './exchange.ts';
import { buildInventory, createToolRunner, type ToolRunner } from './pipeline.ts';
import { SessionPool } from './session-pool.ts';
import { toolInputShapes } from './tools/schemas.ts';

export const SERVER_NAME = 'netward';
export const SERVER_VERSION = '0.1.0';
export const PRM_PATH = '/.well-known/oauth-protected-resource';

export interface AppDeps {
  /** Default: config.policyFile, else @netward/policy's default policy. */
  readonly policy?: Policy;
  /** Default: the issuer's remote JWKS. */
  readonly jwks?: JWTVerifyGetKey;
  /** Default: RFC 8693 at config.tokenExchange. */
  readonly exchange?: TokenExchanger;
  /** Default: @netward/ca-broker's client for config.broker.url. */
  readonly broker?: BrokerClient;
  /** Default: JSON lines on stdout. */
  readonly logger?: Logger;
}

type ToolName = keyof typeof toolInputShapes;

const READ_ONLY = new Set<string>([
  'list_devices',
  'show_bgp_summary',
  'show_ip_route',
  'show_interfaces',
  'show_running_config',
]);

function quote(s: string): string {
  // RFC 7235 quoted-string: the values here are URLs and scope tokens; escape defensively anyway.
  return `"${s.replace(/["\\]/g, '\\$&')}"`;
}

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const logger = deps.logger ?? createLogger({ component: 'mcp-server' });
  const policy = deps.policy ?? (config.policyFile ? loadPolicy(config.policyFile) : defaultPolicy());
  const publicUrl = new URL(config.publicUrl);
  const mcpPath = publicUrl.pathname;
  const suffix = mcpPath === '/' ? '' : mcpPath.replace(/\/$/, '');
  const metadataUrl = `${publicUrl.origin}${PRM_PATH}${suffix}`;
  const allowedHosts = new Set([publicUrl.host, ...config.allowedHosts].map((h) => h.toLowerCase()));
  const allowedOrigins = new Set([publicUrl.origin, ...config.allowedOrigins.map((o) => new URL(o).origin)]);

  const tools = policy.tools.filter((t) => {
    if (!Object.hasOwn(toolInputShapes, t.name)) {
      logger.warn(
        { event: 'tool_skipped', tool: t.name },
        'policy tool has no implementation here; not offered',
      );
      return false;
    }
    return t.name !== 'run_raw_command_on_device' || config.unsafeRawCommandTool;
  });
  if (config.unsafeRawCommandTool) {
    logger.warn(
      { event: 'unsafe_tool_enabled', tool: 'run_raw_command_on_device' },
      'UNSAFE: run_raw_command_on_device is registered (a raw command passthrough under a read scope). ' +
        'Only the device-side validator stands between it and the device. Never enable this in production.',
    );
  }
  const allScopes = [...new Set(policy.tools.map((t) => t.scope))];
  // The scope asked for when a client has no token: what the smallest useful tool needs.
  const baseScope = policy.tools.find((t) => t.name === 'list_devices')?.scope ?? allScopes.join(' ');

  const verify = createTokenVerifier({
    issuer: config.issuer,
    audience: config.publicUrl,
    algorithms: config.algorithms,
    roleClaim: config.roleClaim,
    clockToleranceSeconds: config.clockToleranceSeconds,
    policy,
    jwks: deps.jwks ?? remoteJwks(config.issuer, config.jwksUri),
  });
  const runner: ToolRunner = createToolRunner({
    policy,
    inventory: buildInventory(config.inventory, config.hostCaKeys),
    limits: config.limits,
    logger,
    unsafeRawCommandTool: config.unsafeRawCommandTool,
    exchange:
      deps.exchange ??
      createTokenExchanger({ ...config.tokenExchange, timeoutMs: config.limits.exchangeTimeoutMs }),
    broker:
      deps.broker ??
      createBrokerClient({ baseUrl: config.broker.url, timeoutMs: config.limits.brokerTimeoutMs }),
    ...(config.sessionMode
      ? { sessionPool: new SessionPool({ renewBeforeExpiryMs: config.limits.renewBeforeExpiryMs }) }
      : {}),
  });

  const app = Fastify({ logger: false, bodyLimit: config.limits.maxBodyBytes });
  app.addHook('onClose', async () => runner.close());

  // DNS rebinding protection, on every route.
  app.addHook('onRequest', async (req, reply) => {
    const host = (req.headers.host ?? '').toLowerCase();
    const origin = req.headers.origin;
    if (!allowedHosts.has(host)) {
      logger.warn({ event: 'request_refused', reason: 'host', host: host.slice(0, 256) }, 'Host not allowed');
      return reply.code(403).send({ error: 'forbidden', error_description: 'Host not allowed' });
    }
    if (origin !== undefined && !allowedOrigins.has(origin)) {
      logger.warn(
        { event: 'request_refused', reason: 'origin', origin: origin.slice(0, 256) },
        'Origin not allowed',
      );
      return reply.code(403).send({ error: 'forbidden', error_description: 'Origin not allowed' });
    }
  });

  const metadata = Object.freeze({
    resource: config.publicUrl,
    authorization_servers: [config.issuer],
    scopes_supported: allScopes,
    bearer_methods_supported: ['header'],
    resource_name: 'netward MCP server',
  });
  for (const path of new Set([PRM_PATH, `${PRM_PATH}${suffix}`])) {
    app.get(path, async (_req, reply) => reply.header('cache-control', 'max-age=300').send(metadata));
  }

  const challenge = (reply: FastifyReply, err: McpServerError, scope: string) => {
    const params = [`resource_metadata=${quote(metadataUrl)}`, `scope=${quote(scope)}`];
    let status = 401;
    if (err.code === 'ERR_MCP_TOKEN_INVALID') {
      params.unshift(`error=${quote('invalid_token')}`);
      params.push(
        `error_description=${quote('the access token is invalid, expired or not for this server')}`,
      );
    } else if (err.code === 'ERR_MCP_INSUFFICIENT_SCOPE') {
      status = 403;
      params.unshift(`error=${quote('insufficient_scope')}`);
      params.push(`error_description=${quote('this tool needs another scope')}`);
    }
    return reply
      .code(status)
      .header('www-authenticate', `Bearer ${params.join(', ')}`)
      .send({ error: err.code, error_description: err.publicMessage });
  };

  const authenticate = async (req: FastifyRequest): Promise<Identity> => {
    const header = req.headers.authorization;
    if (header === undefined) throw new McpServerError('ERR_MCP_TOKEN_MISSING', 'no Authorization header');
    const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
    if (!m) throw new McpServerError('ERR_MCP_TOKEN_INVALID', 'Authorization is not a Bearer token');
    return verify(m[1]!);
  };

  /** Tool names a JSON-RPC body (or batch) calls. */
  const calledTools = (body: unknown): string[] => {
    const messages = Array.isArray(body) ? body : [body];
    const out: string[] = [];
    for (const m of messages) {
      if (m && typeof m === 'object' && (m as { method?: unknown }).method === 'tools/call') {
        const name = (m as { params?: { name?: unknown } }).params?.name;
        if (typeof name === 'string') out.push(name);
      }
    }
    return out;
  };

  app.post(mcpPath, async (req, reply) => {
    let identity: Identity;
    try {
      identity = await authenticate(req);
    } catch (e) {
      const err =
        e instanceof McpServerError
          ? e
          : new McpServerError('ERR_MCP_TOKEN_INVALID', 'token check failed', { cause: e });
      const cause = err.cause as { code?: unknown } | undefined;
      logger.warn(
        {
          event: 'auth_refused',
          code: err.code,
          reason: typeof cause?.code === 'string' ? cause.code : err.message,
        },
        'request refused',
      );
      if (err.code === 'ERR_MCP_AUTH_UNAVAILABLE') {
        return reply
          .code(503)
          .header('retry-after', '5')
          .send({ error: err.code, error_description: err.publicMessage });
      }
      return challenge(reply, err, baseScope);
    }
    // Step-up: a call to a tool the token's scopes do not cover is refused at the HTTP layer with the
    // scope it needs; tools that do not exist are left to the MCP layer ("unknown tool").
    for (const name of calledTools(req.body)) {
      const tool = tools.find((t) => t.name === name);
      if (tool && !identity.scopes.includes(tool.scope)) {
        logger.warn(
          {
            event: 'auth_refused',
            code: 'ERR_MCP_INSUFFICIENT_SCOPE',
            user: identity.user,
            sid: identity.sid,
            role: identity.role.name,
            tool: name,
          },
          'tool needs another scope',
        );
        return challenge(
          reply,
          new McpServerError('ERR_MCP_INSUFFICIENT_SCOPE', `needs ${tool.scope}`),
          tool.scope,
        );
      }
    }

    let loginEnded = false;
    const server = new McpServer(
      { name: SERVER_NAME, version: SERVER_VERSION },
      { capabilities: { tools: {} }, instructions: 'Network device tools. Call list_devices first.' },
    );
    for (const tool of tools) {
      if (!identity.scopes.includes(tool.scope)) continue;
      const name = tool.name as ToolName;
      server.registerTool(
        name,
        {
          description: tool.description,
          inputSchema: toolInputShapes[name],
          annotations: {
            readOnlyHint: READ_ONLY.has(name),
            destructiveHint: name === 'set_interface_description' || name === 'run_raw_command_on_device',
            openWorldHint: name !== 'list_devices',
          },
        },
        async (args: Record<string, unknown>) => {
          const result = await runner.run(identity, name, args ?? {});
          if (result.isError === true && JSON.stringify(result.content).includes('ERR_MCP_LOGIN_ENDED'))
            loginEnded = true;
          return result;
        },
      );
    }
    // No sessionIdGenerator: stateless mode. JSON answers, no SSE: every call here is request/response.
    const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true });
    reply.hijack();
    // A tool call refused because the caller's login has ended (the exchange's invalid_grant) is
    // answered 401 invalid_token, as for an expired token: the client's cue to log in again (MCP
    // authorization, RFC 6750 section 3.1). The JSON-RPC body still carries the coded tool error.
    const writeHead = reply.raw.writeHead.bind(reply.raw) as (...a: unknown[]) => typeof reply.raw;
    reply.raw.writeHead = ((status: number, ...rest: unknown[]) => {
      if (!loginEnded) return writeHead(status, ...rest);
      reply.raw.setHeader(
        'www-authenticate',
        `Bearer error="invalid_token", error_description="the login session has ended: log in again", resource_metadata=${quote(metadataUrl)}`,
      );
      return writeHead(401, ...rest);
    }) as typeof reply.raw.writeHead;
    reply.raw.on('close', () => {
      void transport.close();
      void server.close();
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(req.raw, reply.raw, req.body);
    } catch (e) {
      logger.error({ event: 'transport_error', err: e }, 'MCP transport failed');
      if (!reply.raw.headersSent) {
        reply.raw.writeHead(500, { 'content-type': 'application/json' });
        reply.raw.end(
          JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'internal error' }, id: null }),
        );
      }
    }
  });

  // Stateless: no server-initiated stream and no session to delete (Streamable HTTP allows 405).
  const notAllowed = async (_req: FastifyRequest, reply: FastifyReply) =>
    reply.code(405).header('allow', 'POST').send({ error: 'method_not_allowed' });
  app.get(mcpPath, notAllowed);
  app.delete(mcpPath, notAllowed);

  return app;
}
