/**
 * The MCP endpoint (Streamable HTTP): every client message is a POST with one JSON-RPC body, answered
 * once the caller is authenticated; GET and DELETE are 405, as the server is stateless (no
 * server-initiated stream, no session to delete).
 */
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type { AuthInfo } from '@modelcontextprotocol/server';
import type { Logger } from '@netward/audit-context';
import type { Tool as PolicyTool } from '@netward/policy';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Identity } from '../auth/token.ts';
import type { BearerAuth } from './auth.ts';
import type { McpDispatcher, RequestState } from './mcp-sdk.ts';

export interface McpRouteOptions {
  readonly publicUrl: URL;
  readonly tools: readonly PolicyTool[];
  readonly auth: BearerAuth;
  readonly dispatcher: McpDispatcher;
  readonly logger: Logger;
}

/** A JSON-RPC 2.0 error response whose id could not be determined (JSON-RPC 2.0 section 5). */
function rpcError(reply: FastifyReply, status: number, code: number, message: string) {
  return reply
    .code(status)
    .type('application/json')
    .send({ jsonrpc: '2.0', id: null, error: { code, message } });
}

/** The tool a JSON-RPC request calls, if it is a tools/call. */
function calledTool(body: object): string | undefined {
  const m = body as { method?: unknown; params?: { name?: unknown } };
  if (m.method !== 'tools/call') return undefined;
  return typeof m.params?.name === 'string' ? m.params.name : undefined;
}

interface Refusal {
  readonly refuse: [status: number, rpcCode: number, message: string];
  readonly batch?: true;
}

/** The JSON-RPC request in the body, or the answer that refuses it. */
function parseBody(req: FastifyRequest): { body: object; text: string } | Refusal {
  // Streamable HTTP: every client message is a POST with a JSON body.
  const contentType = String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (contentType !== 'application/json')
    return { refuse: [415, -32600, 'Content-Type must be application/json'] };
  const text = typeof req.body === 'string' ? req.body : '';
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { refuse: [400, -32700, 'Parse error'] };
  }
  // MCP removed JSON-RPC batching in revision 2025-06-18; one HTTP request would otherwise become as
  // many certificates and SSH logins as it has entries. Refused whole, nothing runs.
  if (Array.isArray(body))
    return { refuse: [400, -32600, 'JSON-RPC batches are not supported'], batch: true };
  if (body === null || typeof body !== 'object') return { refuse: [400, -32600, 'Invalid Request'] };
  return { body, text };
}

/** The web Request the SDK reads: the token stays out of its view (the identity travels in authInfo). */
function webRequest(req: FastifyRequest, reply: FastifyReply, origin: string, text: string): Request {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || k === 'authorization' || k === 'content-length' || k === 'transfer-encoding')
      continue;
    headers.set(k, Array.isArray(v) ? v.join(', ') : v);
  }
  const abort = new AbortController();
  reply.raw.on('close', () => abort.abort());
  return new Request(`${origin}${req.url}`, { method: 'POST', headers, body: text, signal: abort.signal });
}

function authInfoFor(identity: Identity, resource: URL, state: RequestState): AuthInfo {
  return {
    token: '[verified]',
    clientId: identity.clientId ?? '',
    scopes: [...identity.scopes],
    expiresAt: identity.expiresAt,
    resource,
    extra: { state },
  };
}

export async function mcpRoutePlugin(app: FastifyInstance, options: McpRouteOptions): Promise<void> {
  const { publicUrl, tools, auth, dispatcher, logger } = options;
  app.addHook('onClose', async () => dispatcher.close());

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

  app.post(publicUrl.pathname, async (req, reply) => {
    const identity = await auth.authenticate(req, reply);
    if (identity === undefined) return reply;
    const parsed = parseBody(req);
    if ('refuse' in parsed) {
      if (parsed.batch) {
        logger.warn(
          { event: 'request_refused', reason: 'batch', user: identity.user, sid: identity.sid },
          'JSON-RPC batch refused',
        );
      }
      return rpcError(reply, ...parsed.refuse);
    }
    // Step-up: a call to a tool the token's scopes do not cover is refused at the HTTP layer with the
    // scope it needs; tools that do not exist are left to the MCP layer ("unknown tool").
    const called = calledTool(parsed.body);
    const tool = called === undefined ? undefined : tools.find((t) => t.name === called);
    if (tool && !identity.scopes.includes(tool.scope))
      return auth.refuseScope(reply, identity, tool.name, tool.scope);

    const state: RequestState = { identity, outcome: { loginEnded: false } };
    const request = webRequest(req, reply, publicUrl.origin, parsed.text);
    const response = await dispatcher.dispatch(request, parsed.body, authInfoFor(identity, publicUrl, state));
    reply.code(response.status);
    response.headers.forEach((value, key) => {
      reply.header(key, value);
    });
    // A tool call refused because the caller's login has ended (the exchange's invalid_grant) is
    // answered 401 invalid_token, as for an expired token: the client's cue to log in again (MCP
    // authorization, RFC 6750 section 3.1). The JSON-RPC body still carries the coded tool error.
    if (state.outcome.loginEnded) auth.loginEnded(reply);
    // Streamed, not buffered: a 2026-07-28 `subscriptions/listen` answer is an open SSE stream.
    return reply.send(response.body === null ? '' : Readable.fromWeb(response.body as NodeReadableStream));
  });

  // Stateless: no server-initiated stream and no session to delete (Streamable HTTP allows 405).
  const notAllowed = async (_req: FastifyRequest, reply: FastifyReply) =>
    reply.code(405).header('allow', 'POST').send({ error: 'method_not_allowed' });
  app.get(publicUrl.pathname, notAllowed);
  app.delete(publicUrl.pathname, notAllowed);
}
