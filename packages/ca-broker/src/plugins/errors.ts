/**
 * Every refusal is answered here, in one shape: the catalogue's `status`, `Cache-Control: no-store`, a
 * body `{ error: { code, message } }` and, for a 401, the RFC 6750 section 3 challenge. Route handlers
 * only throw; a 500 shows neither its code nor its message (the audit line has them).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { asBrokerError, CaBrokerError } from '../errors.ts';
import { appWide, routeConfig } from './app-wide.ts';
import type { AuditTrail } from './audit.ts';

export const REALM = 'netward-ca-broker';

export type Refuse = (
  req: FastifyRequest,
  reply: FastifyReply,
  err: CaBrokerError,
  status?: number,
) => FastifyReply;

/** Answers a refusal, after writing the request's audit line if it has none yet. */
export function createRefuse(trail: AuditTrail): Refuse {
  return (req, reply, err, status = err.status) => {
    trail.request(req, status, err);
    if (status === 401) {
      const realm = routeConfig(req).realm ?? REALM;
      // RFC 6750 section 3: no error attribute when the request carried no credentials at all.
      const missing = err.code === 'ERR_CA_TOKEN_MISSING' || err.code === 'ERR_CA_OPERATOR_UNAUTHORIZED';
      reply.header(
        'www-authenticate',
        missing
          ? `Bearer realm="${realm}"`
          : `Bearer realm="${realm}", error="invalid_token", error_description="${err.message.replace(/["\\]/g, '')}"`,
      );
    }
    const internal = status === 500;
    return reply
      .code(status)
      .header('cache-control', 'no-store')
      .send({
        error: {
          code: internal ? 'ERR_CA_INTERNAL' : err.code,
          message: internal ? 'internal error' : err.message,
        },
      });
  };
}

/** fastify's own refusals before any handler: unsupported media type (415), too large (413), bad JSON. */
function isParserRefusal(err: unknown): err is { statusCode: number } {
  const status = (err as { statusCode?: unknown }).statusCode;
  return !(err instanceof CaBrokerError) && typeof status === 'number' && status >= 400 && status < 500;
}

export const errorsPlugin = appWide<{ trail: AuditTrail; refuse: Refuse }>(async (app, { trail, refuse }) => {
  app.setNotFoundHandler((req, reply) =>
    refuse(req, reply, new CaBrokerError('ERR_CA_NOT_FOUND', 'not found')),
  );
  app.setErrorHandler((err, req, reply) => {
    if (trail.decision(req) === undefined && isParserRefusal(err)) {
      const e = new CaBrokerError('ERR_CA_BAD_REQUEST', 'malformed request', { cause: err });
      return refuse(req, reply, e, err.statusCode);
    }
    const e = asBrokerError(err);
    // A certificate request's line is its decision, refused with this error.
    trail.decide(req, e);
    return refuse(req, reply, e);
  });
});
