import { AuditContextError } from './errors.ts';
import { checkField, type FieldName } from './fields.ts';

/**
 * Who is acting, in one tool call. `user`, `sid`, `role` and `requestId` are known from the moment the
 * token is verified; the rest is filled in as the call proceeds (the serial once the certificate is
 * issued, the device once it is chosen).
 */
export interface AuditContext {
  readonly user: string;
  readonly sid: string;
  readonly role: string;
  readonly requestId: string;
  readonly certSerial?: string;
  readonly device?: string;
  readonly tool?: string;
  readonly actor?: string;
}

const REQUIRED = ['user', 'sid', 'role', 'requestId'] as const;
const OPTIONAL = ['certSerial', 'device', 'tool', 'actor'] as const;

/**
 * Validates every field of an untrusted object and returns a frozen AuditContext holding only the known
 * fields. Unknown keys are dropped, never copied.
 */
export function createAuditContext(input: Record<string, unknown>): AuditContext {
  const out: Record<string, string> = {};
  for (const field of REQUIRED) {
    if (input[field] === undefined) {
      throw new AuditContextError('ERR_AUDIT_MISSING_FIELD', `missing ${field}`, { field });
    }
    out[field] = checkField(field, input[field]);
  }
  for (const field of OPTIONAL) {
    if (input[field] !== undefined) out[field] = checkField(field as FieldName, input[field]);
  }
  return Object.freeze(out) as unknown as AuditContext;
}

/** A copy of `ctx` with more fields set, each validated. */
export function withFields(ctx: AuditContext, more: Partial<Record<(typeof OPTIONAL)[number], string>>) {
  return createAuditContext({ ...ctx, ...more });
}
