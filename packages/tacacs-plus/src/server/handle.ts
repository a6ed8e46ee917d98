// The one template the three request types (authorization, accounting, authentication) go through:
// read the request, decide (a refusal before any handler, the default when no handler is configured,
// the handler under its timeout with its answer checked, ERROR when it fails), encode the reply, write
// the decision-log line, send the reply. Each type supplies only what differs.
import { parseRemAddr, type RemAddrFields } from '@netward/audit-context';
import { TacacsError } from '../errors.ts';
import type { PacketHeader } from '../protocol/header.ts';
import type { ServerConfig } from './config.ts';
import type { MaybePromise } from './types.ts';

/** What a request type needs from the connection the request arrived on. */
export interface RequestContext {
  readonly peer: string;
  readonly config: ServerConfig;
  /** The client closed its side before the answer: it gave up on its timeout and failed closed. */
  readonly clientGone: boolean;
  /** One JSON line per decision (see ServerConnection). */
  decisionLog(
    event: string,
    msg: string,
    remAddr: string,
    fields: Record<string, unknown>,
    audit: RemAddrFields | undefined,
  ): void;
  /** Sends the last reply of the session. */
  finish(header: PacketHeader, body: Buffer): void;
}

/** A request as read from its packet, with what the decision log needs of it. */
export interface ReadRequest<R, D> {
  readonly request: R;
  readonly remAddr: string;
  readonly audit: RemAddrFields | undefined;
  /** Decided before any handler sees the request (NUL or a malformed argument). */
  readonly refused?: D;
}

/** `X` is what the type keeps from reading its packet for its log fields. */
export interface RequestType<R, D, X> {
  readonly event: string;
  readonly msg: string;
  /** Also marks a decision the client no longer waited for (`late`), since the device acted otherwise. */
  readonly reportsLate: boolean;
  handler(config: ServerConfig): ((req: R) => MaybePromise<D | undefined>) | undefined;
  /** No handler configured. */
  readonly absent: D;
  /** The handler threw, timed out, or answered something invalid. */
  readonly failed: D;
  /** The handler's answer checked (throws when invalid); `undefined` is the type's own default or invalid. */
  check(d: D | undefined): D;
  encode(d: D): Buffer;
  /** The type's own decision-log fields; the template adds duration, `late` and the error. */
  fields(read: ReadRequest<R, D> & X, d: D, header: PacketHeader): Record<string, unknown>;
}

export async function answer<R, D, X>(
  ctx: RequestContext,
  header: PacketHeader,
  type: RequestType<R, D, X>,
  read: ReadRequest<R, D> & X,
  started: bigint,
): Promise<void> {
  let decision: D;
  let failure: unknown;
  const handler = type.handler(ctx.config);
  if (read.refused !== undefined) decision = read.refused;
  else if (!handler) decision = type.absent;
  else {
    try {
      decision = type.check(await withTimeout(() => handler(read.request), ctx.config.handlerTimeoutMs));
    } catch (e) {
      failure = e;
      decision = type.failed;
    }
  }
  const reply = type.encode(decision);
  ctx.decisionLog(
    type.event,
    type.msg,
    read.remAddr,
    {
      ...type.fields(read, decision, header),
      duration_ms: Number(process.hrtime.bigint() - started) / 1e6,
      // A stalled server, resumed, otherwise logged "permit" for requests the device had denied.
      ...(type.reportsLate && ctx.clientGone ? { late: true } : {}),
      ...(failure !== undefined ? { err: failure } : {}),
    },
    read.audit,
  );
  ctx.finish(header, reply);
}

async function withTimeout<T>(fn: () => MaybePromise<T>, ms: number): Promise<T> {
  const result = fn();
  // A synchronous handler (a rule lookup) needs no timer; only a pending promise can hang.
  if (!(result instanceof Promise)) return result;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      result,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new TacacsError('ERR_TACACS_TIMEOUT', `handler took over ${ms} ms`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The audit fields of a rem_addr with the netward layout; anything else is logged as untrusted. */
export function auditOf(remAddr: string): RemAddrFields | undefined {
  if (remAddr === '') return undefined;
  try {
    return parseRemAddr(remAddr);
  } catch {
    return undefined;
  }
}

export function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
