/**
 * The HTTP face of the server: fastify, the official MCP SDK v2 serving the 2026-07-28 revision (a
 * fresh server per request, as that revision is stateless) and the 2025 `initialize` flow (the
 * stateless Streamable HTTP transport), and the OAuth 2.1 resource server parts of the MCP
 * authorization spec:
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

import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import {
  type AuthInfo,
  createMcpHandler,
  isLegacyRequest,
  McpServer,
  type ServerContext,
  TRACEPARENT_META_KEY,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server';
import { createLogger, type Logger } from '@netward/audit-context';
import { type BrokerClient, createBrokerClient } from '@netward/ca-broker/client';
import { defaultPolicy, loadPolicy, type Policy } from '@netward/policy';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { JWTVerifyGetKey } from 'jose';
import { createTokenVerifier, type Identity, remoteJwks } from './auth/token.ts';
import type { Config } from './config.ts';
import { McpServerError } from './errors.ts';
import { createTokenExchanger, type TokenExchanger } from './exchange.ts';
import { buildInventory, createToolRunner, parseTraceparent, type ToolRunner } from './pipeline.ts';
import { SessionPool } from './session-pool.ts';
import { toolInputSchemas, toolInputShapes } from './tools/schemas.ts';

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

/** What one HTTP request carries into the MCP layer, and what its tool calls report back. */
interface RequestState {
  readonly identity: Identity;
  readonly outcome: { loginEnded: boolean };
}

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
    // RFC 6750 section 3.1: a request without credentials of this scheme gets no error code; a
    // malformed one is invalid_request with 400; a bad token invalid_token with 401.
    if (err.code === 'ERR_MCP_AUTH_REQUEST') {
      status = 400;
      params.unshift(`error=${quote('invalid_request')}`);
      params.push(`error_description=${quote('send exactly one Authorization: Bearer header')}`);
    } else if (err.code === 'ERR_MCP_TOKEN_INVALID') {
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

  /** The tool a JSON-RPC request calls, if it is a tools/call. */
  const calledTool = (body: object): string | undefined => {
    const m = body as { method?: unknown; params?: { name?: unknown } };
    if (m.method !== 'tools/call') return undefined;
    return typeof m.params?.name === 'string' ? m.params.name : undefined;
  };

  /**
   * RFC 6750 section 2.1: `credentials = "Bearer" 1*SP b64token`, sent in one Authorization header.
   * Two headers are a malformed request (Node keeps only the first in `req.headers`, so the raw list
   * is counted); a header of another scheme (Basic, ...) is "no authentication information" for this
   * server (section 3.1: no error code); `Bearer` without a token is malformed (`invalid_request`).
   */
  const authenticate = async (req: FastifyRequest): Promise<Identity> => {
    let count = 0;
    const raw = req.raw.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === 'authorization') count++;
    if (count > 1) throw new McpServerError('ERR_MCP_AUTH_REQUEST', 'more than one Authorization header');
    const header = req.headers.authorization;
    if (header === undefined) throw new McpServerError('ERR_MCP_TOKEN_MISSING', 'no Authorization header');
    const scheme = /^[^ ]*/.exec(header)![0];
    if (scheme.toLowerCase() !== 'bearer') {
      throw new McpServerError('ERR_MCP_TOKEN_MISSING', 'Authorization is not a Bearer credential');
    }
    const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
    if (!m) throw new McpServerError('ERR_MCP_AUTH_REQUEST', 'Bearer credential is empty or malformed');
    return verify(m[1]!);
  };

  /** A JSON-RPC 2.0 error response whose id could not be determined (JSON-RPC 2.0 section 5). */
  const rpcError = (reply: FastifyReply, status: number, code: number, message: string) =>
    reply.code(status).type('application/json').send({ jsonrpc: '2.0', id: null, error: { code, message } });

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
      server.registerTool(
        name,
        {
          description: tool.description,
          inputSchema: toolInputSchemas[name],
          annotations: {
            readOnlyHint: READ_ONLY.has(name),
            destructiveHint: name === 'set_interface_description' || name === 'run_raw_command_on_device',
            openWorldHint: name !== 'list_devices',
          },
        },
        async (args: Record<string, unknown>, ctx: ServerContext) => {
          const traceparent = parseTraceparent(ctx.mcpReq._meta?.[TRACEPARENT_META_KEY]);
          const result = await runner.run(identity, name, args ?? {}, traceparent ? { traceparent } : {});
          if (result.isError === true && JSON.stringify(result.content).includes('ERR_MCP_LOGIN_ENDED'))
            outcome.loginEnded = true;
          return result;
        },
      );
    }
    return server;
  };
  const identityOf = (authInfo: AuthInfo | undefined): RequestState => {
    const state = authInfo?.extra?.['state'] as RequestState | undefined;
    // The route authenticates before either leg runs; reaching here without an identity is a bug.
    if (state === undefined) throw new McpServerError('ERR_MCP_INTERNAL', 'no verified identity');
    return state;
  };
  const onerror = (e: Error) =>
    logger.warn({ event: 'mcp_request_error', err: e }, 'MCP request refused or failed');

  // Revision 2026-07-28 (a `_meta` envelope on every request, server/discover): the SDK's per-request
  // entry. 'auto' answers with one JSON body unless a handler sends a message before its result, which
  // no tool here does; 'json' would answer the same and print a warning on stderr at every start.
  const modern = createMcpHandler(({ authInfo }) => serverFor(identityOf(authInfo)), {
    legacy: 'reject',
    responseMode: 'auto',
    maxRequestBodySize: config.limits.maxBodyBytes,
    onerror,
  });
  // 2025-era clients (initialize, then requests without the envelope): the stateless Streamable HTTP
  // transport in JSON mode, as before (the SDK's built-in fallback would answer over SSE).
  const legacy = async (request: Request, body: unknown, authInfo: AuthInfo): Promise<Response> => {
    const server = serverFor(identityOf(authInfo));
    const transport = new WebStandardStreamableHTTPServerTransport({ enableJsonResponse: true });
    transport.onerror = onerror;
    await server.connect(transport);
    try {
      return await transport.handleRequest(request, { parsedBody: body, authInfo });
    } finally {
      void server.close();
    }
  };
  const mcp = { close: () => modern.close() };
  app.addHook('onClose', async () => mcp.close());

  // The body reaches the route as text: invalid JSON must be answered in JSON-RPC (-32700), not with
  // the framework's error body, and only once the caller is authenticated.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.setErrorHandler((err: { code?: string }, _req, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return rpcError(reply, 413, -32600, 'request body too large');
    logger.error({ event: 'http_error', err }, 'request failed');
    return rpcError(reply, 500, -32603, 'internal error');
  });

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

    // Streamable HTTP: every client message is a POST with a JSON body.
    const contentType = String(req.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    if (contentType !== 'application/json') {
      return rpcError(reply, 415, -32600, 'Content-Type must be application/json');
    }
    const text = typeof req.body === 'string' ? req.body : '';
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return rpcError(reply, 400, -32700, 'Parse error');
    }
    // MCP removed JSON-RPC batching in revision 2025-06-18; one HTTP request would otherwise become as
    // many certificates and SSH logins as it has entries. Refused whole, nothing runs.
    if (Array.isArray(body)) {
      logger.warn(
        { event: 'request_refused', reason: 'batch', user: identity.user, sid: identity.sid },
        'JSON-RPC batch refused',
      );
      return rpcError(reply, 400, -32600, 'JSON-RPC batches are not supported');
    }
    if (body === null || typeof body !== 'object') {
      return rpcError(reply, 400, -32600, 'Invalid Request');
    }

    // Step-up: a call to a tool the token's scopes do not cover is refused at the HTTP layer with the
    // scope it needs; tools that do not exist are left to the MCP layer ("unknown tool").
    const called = calledTool(body);
    const tool = called === undefined ? undefined : tools.find((t) => t.name === called);
    if (tool && !identity.scopes.includes(tool.scope)) {
      logger.warn(
        {
          event: 'auth_refused',
          code: 'ERR_MCP_INSUFFICIENT_SCOPE',
          user: identity.user,
          sid: identity.sid,
          role: identity.role.name,
          tool: called,
        },
        'tool needs another scope',
      );
      return challenge(
        reply,
        new McpServerError('ERR_MCP_INSUFFICIENT_SCOPE', `needs ${tool.scope}`),
        tool.scope,
      );
    }

    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      // The token stays out of the SDK's view; the verified identity travels in authInfo instead.
      if (v === undefined || k === 'authorization' || k === 'content-length' || k === 'transfer-encoding')
        continue;
      headers.set(k, Array.isArray(v) ? v.join(', ') : v);
    }
    const abort = new AbortController();
    reply.raw.on('close', () => abort.abort());
    const request = new Request(`${publicUrl.origin}${req.url}`, {
      method: 'POST',
      headers,
      body: text,
      signal: abort.signal,
    });
    const state: RequestState = { identity, outcome: { loginEnded: false } };
    const authInfo: AuthInfo = {
      token: '[verified]',
      clientId: identity.clientId ?? '',
      scopes: [...identity.scopes],
      expiresAt: identity.expiresAt,
      resource: publicUrl,
      extra: { state },
    };
    const response = (await isLegacyRequest(request, body, {
      maxRequestBodySize: config.limits.maxBodyBytes,
    }))
      ? await legacy(request, body, authInfo)
      : await modern.fetch(request, { parsedBody: body, authInfo });
    reply.code(response.status);
    response.headers.forEach((value, key) => {
      reply.header(key, value);
    });
    // A tool call refused because the caller's login has ended (the exchange's invalid_grant) is
    // answered 401 invalid_token, as for an expired token: the client's cue to log in again (MCP
    // authorization, RFC 6750 section 3.1). The JSON-RPC body still carries the coded tool error.
    if (state.outcome.loginEnded) {
      reply.code(401);
      reply.header(
        'www-authenticate',
        `Bearer error="invalid_token", error_description="the login session has ended: log in again", resource_metadata=${quote(metadataUrl)}`,
      );
    }
    // Streamed, not buffered: a 2026-07-28 `subscriptions/listen` answer is an open SSE stream.
    return reply.send(response.body === null ? '' : Readable.fromWeb(response.body as NodeReadableStream));
  });

  // Stateless: no server-initiated stream and no session to delete (Streamable HTTP allows 405).
  const notAllowed = async (_req: FastifyRequest, reply: FastifyReply) =>
    reply.code(405).header('allow', 'POST').send({ error: 'method_not_allowed' });
  app.get(mcpPath, notAllowed);
  app.delete(mcpPath, notAllowed);

  return app;
}
