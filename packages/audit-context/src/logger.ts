import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import type { AuditContext } from './context.ts';
import { scrub, scrubString } from './redact.ts';

/**
 * The correlation fields, at fixed top-level names on every line of every component, so that one query
 * on any of them (user, sid, cert_serial, request_id) finds the whole chain.
 */
export const CORRELATION_FIELDS = Object.freeze([
  'user',
  'sid',
  'role',
  'cert_serial',
  'request_id',
  'device',
  'tool',
  'decision',
] as const);

export type CorrelationFields = Partial<Record<(typeof CORRELATION_FIELDS)[number], string>>;

/** Each correlation field's name in a record → its name in an AuditContext and in FIELD_PATTERNS. */
export const RECORD_FIELDS = Object.freeze({
  user: 'user',
  sid: 'sid',
  role: 'role',
  cert_serial: 'certSerial',
  request_id: 'requestId',
  device: 'device',
  tool: 'tool',
} as const);

/** The top-level log fields of an audit context (validated fields only; nothing untrusted is spread). */
export function contextFields(ctx: Partial<AuditContext>): CorrelationFields {
  const out: CorrelationFields = {};
  if (ctx.user !== undefined) out.user = ctx.user;
  if (ctx.sid !== undefined) out.sid = ctx.sid;
  if (ctx.role !== undefined) out.role = ctx.role;
  if (ctx.certSerial !== undefined) out.cert_serial = ctx.certSerial;
  if (ctx.requestId !== undefined) out.request_id = ctx.requestId;
  if (ctx.device !== undefined) out.device = ctx.device;
  if (ctx.tool !== undefined) out.tool = ctx.tool;
  return out;
}

export interface CreateLoggerOptions {
  /** Name of the emitting component: `mcp-server`, `ca-broker`, `forcecommand`, `tacacs-server`, ... */
  readonly component: string;
  /** Where JSON lines go. Default: stdout. Tests pass a stream and parse what was written. */
  readonly destination?: DestinationStream;
  /** Default `info`. */
  readonly level?: LoggerOptions['level'];
}

/**
 * One logger factory for every component: JSON lines, ISO timestamps, a `component` field, and every
 * record scrubbed of secrets before it is serialised (redaction is on and cannot be turned off).
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const opts: LoggerOptions = {
    level: options.level ?? 'info',
    base: { component: options.component },
    timestamp: pino.stdTimeFunctions.isoTime,
    messageKey: 'msg',
    formatters: {
      level: (label) => ({ level: label }),
      bindings: (bindings) => scrub(bindings) as Record<string, unknown>,
      log: (record) => scrub(record) as Record<string, unknown>,
    },
    // Errors are scrubbed by the `log` formatter, which sees them before pino's serializers would.
    serializers: { err: (e: unknown) => scrub(e) },
    hooks: {
      logMethod(args, method) {
        const cleaned = args.map((a) => (typeof a === 'string' ? scrubString(a) : a));
        return method.apply(this, cleaned as Parameters<typeof method>);
      },
    },
  };
  const logger = options.destination ? pino(opts, options.destination) : pino(opts);
  // pino serialises child bindings once, without the formatters; scrub them on the way in. Children are
  // created with Object.create(parent), so every descendant inherits this override.
  const pinoChild = logger.child;
  logger.child = function child(this: Logger, bindings, childOptions) {
    return pinoChild.call(this, scrub(bindings) as typeof bindings, childOptions);
  } as Logger['child'];
  return logger;
}

export type { Logger } from 'pino';
