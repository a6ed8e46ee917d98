/**
 * One audit line per request, refused ones included. A certificate endpoint's line is its decision
 * (issued or refused, with who asked and for which key), written before the answer (README: Audit);
 * every other request gets one from its refusal or, once answered, from onResponse.
 */
import { contextFields, type Logger } from '@netward/audit-context';
import type { FastifyRequest } from 'fastify';
import type { CaBrokerError } from '../errors.ts';
import { appWide, routeConfig } from './app-wide.ts';

/** What a certificate request's line says, filled in as the request goes through its checks. */
export interface Decision {
  readonly kind: 'user' | 'host';
  user?: string;
  sid?: string;
  role?: string;
  requestId?: string;
  certSerial?: string;
  actor?: string;
  keyFingerprint?: string;
  ttl?: number;
  /** Issued after the caller had closed its connection (it timed out): the certificate is never used. */
  late?: boolean;
}

export interface AuditTrail {
  /** Starts the decision of a certificate request (the plugin's preHandler). */
  begin(req: FastifyRequest, kind: Decision['kind']): void;
  /** The decision of a certificate request, once begun; else undefined. */
  decision(req: FastifyRequest): Decision | undefined;
  /** Writes a certificate request's decision line: issued, or refused with `err`. */
  decide(req: FastifyRequest, err?: CaBrokerError): void;
  /** Writes the line of a request that is not a certificate decision, unless it has one already. */
  request(req: FastifyRequest, status: number, err?: CaBrokerError): void;
  /** Writes the line of a request whose client left before the answer, unless it has one already. */
  aborted(req: FastifyRequest): void;
}

export function createAuditTrail(log: Logger): AuditTrail {
  // Requests whose line has been written: each request, refused or not, leaves exactly one.
  const audited = new WeakSet<FastifyRequest>();
  const decisions = new WeakMap<FastifyRequest, Decision>();
  function once(req: FastifyRequest): boolean {
    if (audited.has(req)) return false;
    audited.add(req);
    return true;
  }
  return {
    begin: (req, kind) => void decisions.set(req, { kind }),
    decision: (req) => decisions.get(req),
    decide(req, err) {
      const d = decisions.get(req);
      if (d !== undefined && once(req)) writeDecision(log, d, err);
    },
    request(req, status, err) {
      if (once(req)) writeRequest(log, req, status, err);
    },
    aborted(req) {
      if (!once(req)) return;
      const route = req.routeOptions?.url;
      log.warn(
        { decision: 'aborted', http_method: req.method, ...(route !== undefined ? { route } : {}) },
        'request aborted by the client',
      );
    },
  };
}

export const auditPlugin = appWide<{ trail: AuditTrail }>(async (app, { trail }) => {
  // After the body is parsed: a request refused by the parser (413, 415, bad JSON) is no decision.
  // Synchronous hooks (a `done` callback rather than an async function): fastify then allocates no
  // promise for them on every request.
  app.addHook('preHandler', (req, _reply, done) => {
    const kind = routeConfig(req).certificate;
    if (kind !== undefined) trail.begin(req, kind);
    done();
  });
  // Whatever did not write its own line (a served GET, an answer fastify gave by itself such as the
  // 503 while closing) is written here; a request whose client went away before the answer, below.
  app.addHook('onResponse', (req, reply, done) => {
    trail.request(req, reply.statusCode);
    done();
  });
  app.addHook('onRequestAbort', async (req) => {
    // A certificate request's handler goes on after the client left and writes its decision line
    // itself (an issued certificate is never logged as merely "aborted").
    if (routeConfig(req).certificate === undefined) trail.aborted(req);
  });
});

function writeDecision(log: Logger, d: Decision, err: CaBrokerError | undefined): void {
  const fields = {
    ...contextFields({
      ...(d.user !== undefined ? { user: d.user } : {}),
      ...(d.sid !== undefined ? { sid: d.sid } : {}),
      ...(d.role !== undefined ? { role: d.role } : {}),
      ...(d.requestId !== undefined ? { requestId: d.requestId } : {}),
      ...(d.certSerial !== undefined ? { certSerial: d.certSerial } : {}),
    }),
    decision: err ? 'refused' : 'issued',
    ...(d.late ? { late: true } : {}),
    certificate_type: d.kind,
    ...(d.actor !== undefined ? { actor: d.actor } : {}),
    ...(d.keyFingerprint !== undefined ? { key_fingerprint: d.keyFingerprint } : {}),
    ...(d.ttl !== undefined ? { ttl: d.ttl } : {}),
    http_status: err ? err.status : 200,
    ...(err ? { code: err.code, detail: { message: err.message, cause: describeCause(err.cause) } } : {}),
  };
  if (err) log.warn(fields, `${d.kind} certificate refused`);
  else if (d.late) log.warn(fields, `${d.kind} certificate issued late: the caller had already gone`);
  else log.info(fields, `${d.kind} certificate issued`);
}

function writeRequest(log: Logger, req: FastifyRequest, status: number, err?: CaBrokerError): void {
  const route = req.routeOptions?.url;
  const fields = {
    decision: status < 400 ? 'served' : 'refused',
    http_method: req.method,
    ...(route !== undefined ? { route } : {}),
    http_status: status,
    ...(err ? { code: status === 500 ? 'ERR_CA_INTERNAL' : err.code } : {}),
    ...(err || route === undefined
      ? {
          detail: {
            ...(route === undefined ? { path: requestPath(req.url) } : {}),
            ...(err ? { message: err.message, cause: describeCause(err.cause) } : {}),
          },
        }
      : {}),
  };
  if (status >= 500) log.error(fields, 'request failed');
  else if (status >= 400) log.warn(fields, 'request refused');
  else log.info(fields, 'request served');
}

/** A request path for the audit line: without the query, bounded, nested under `detail` by callers. */
function requestPath(url: string): string {
  const path = url.split('?', 1)[0] ?? '';
  return path.length > 256 ? `${path.slice(0, 256)}…` : path;
}

function describeCause(cause: unknown, depth = 0): unknown {
  if (cause === undefined || depth > 4) return undefined;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return {
      type: cause.name,
      message: cause.message,
      ...(code !== undefined ? { code } : {}),
      ...(cause.cause !== undefined ? { cause: describeCause(cause.cause, depth + 1) } : {}),
    };
  }
  // jose puts { claim, reason, payload } here: keep the first two, never the (unverified) payload.
  if (typeof cause === 'object' && cause !== null) {
    const { claim, reason } = cause as { claim?: unknown; reason?: unknown };
    return {
      ...(typeof claim === 'string' ? { claim } : {}),
      ...(typeof reason === 'string' ? { reason } : {}),
    };
  }
  return String(cause);
}
