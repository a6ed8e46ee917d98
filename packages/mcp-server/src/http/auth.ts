/**
 * The resource server's side of OAuth 2.1 for the MCP route (MCP authorization spec; RFC 6750, RFC 9728):
 * the Bearer credential is read from exactly one Authorization header and verified (auth/token.ts); a
 * refusal is answered with the challenge RFC 6750 section 3.1 prescribes, naming the protected resource
 * metadata (RFC 9728 section 5.1) and the scope to ask for.
 */
import type { Logger } from '@netward/audit-context';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Identity, TokenVerifier } from '../auth/token.ts';
import { McpServerError } from '../errors.ts';

export interface BearerAuthOptions {
  readonly verify: TokenVerifier;
  /** The protected resource metadata URL of the MCP endpoint. */
  readonly metadataUrl: string;
  /** The scope asked for when a client has no usable token. */
  readonly baseScope: string;
  readonly logger: Logger;
}

export interface BearerAuth {
  /** The caller's identity, or undefined once the refusal has been sent. */
  authenticate(req: FastifyRequest, reply: FastifyReply): Promise<Identity | undefined>;
  /** 403 insufficient_scope for a tool the token's scopes do not cover ("Scope Challenge Handling"). */
  refuseScope(reply: FastifyReply, identity: Identity, tool: string, scope: string): FastifyReply;
  /** 401 invalid_token after a tool call found the caller's login ended: the cue to log in again. */
  loginEnded(reply: FastifyReply): FastifyReply;
}

export function quote(s: string): string {
  // RFC 7235 quoted-string: the values here are URLs and scope tokens; escape defensively anyway.
  return `"${s.replace(/["\\]/g, '\\$&')}"`;
}

/** RFC 6750 section 3.1: no error code without credentials of this scheme; invalid_request (400) for a
 *  malformed one; invalid_token (401) for a bad token; insufficient_scope (403). */
const CHALLENGES: Partial<Record<McpServerError['code'], { error: string; description: string }>> = {
  ERR_MCP_AUTH_REQUEST: {
    error: 'invalid_request',
    description: 'send exactly one Authorization: Bearer header',
  },
  ERR_MCP_TOKEN_INVALID: {
    error: 'invalid_token',
    description: 'the access token is invalid, expired or not for this server',
  },
  ERR_MCP_INSUFFICIENT_SCOPE: { error: 'insufficient_scope', description: 'this tool needs another scope' },
};

/**
 * RFC 6750 section 2.1: `credentials = "Bearer" 1*SP b64token`, sent in one Authorization header.
 * Two headers are a malformed request (Node keeps only the first in `req.headers`, so the raw list
 * is counted); a header of another scheme (Basic, ...) is "no authentication information" for this
 * server (section 3.1: no error code); `Bearer` without a token is malformed (`invalid_request`).
 */
export function bearerCredential(req: FastifyRequest): string {
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
  return m[1]!;
}

export function createBearerAuth(options: BearerAuthOptions): BearerAuth {
  const { metadataUrl, logger } = options;

  const challenge = (reply: FastifyReply, err: McpServerError, scope: string) => {
    const params = [`resource_metadata=${quote(metadataUrl)}`, `scope=${quote(scope)}`];
    const c = CHALLENGES[err.code];
    if (c !== undefined) {
      params.unshift(`error=${quote(c.error)}`);
      params.push(`error_description=${quote(c.description)}`);
    }
    return reply
      .code(err.status)
      .header('www-authenticate', `Bearer ${params.join(', ')}`)
      .send({ error: err.code, error_description: err.publicMessage });
  };

  return {
    async authenticate(req, reply) {
      try {
        return await options.verify(bearerCredential(req));
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
          void reply
            .code(err.status)
            .header('retry-after', '5')
            .send({ error: err.code, error_description: err.publicMessage });
        } else {
          void challenge(reply, err, options.baseScope);
        }
        return undefined;
      }
    },

    refuseScope(reply, identity, tool, scope) {
      logger.warn(
        {
          event: 'auth_refused',
          code: 'ERR_MCP_INSUFFICIENT_SCOPE',
          user: identity.user,
          sid: identity.sid,
          role: identity.role.name,
          tool,
        },
        'tool needs another scope',
      );
      return challenge(reply, new McpServerError('ERR_MCP_INSUFFICIENT_SCOPE', `needs ${scope}`), scope);
    },

    loginEnded(reply) {
      const err = new McpServerError('ERR_MCP_LOGIN_ENDED');
      return reply
        .code(err.status)
        .header(
          'www-authenticate',
          `Bearer error="invalid_token", error_description=${quote(err.publicMessage)}, resource_metadata=${quote(metadataUrl)}`,
        );
    },
  };
}
