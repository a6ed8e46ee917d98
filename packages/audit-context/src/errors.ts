import { defineCatalogue, NetwardError } from '@netward/errors';

/**
 * Every failure of this package is an AuditContextError with a stable code. Callers branch on `code`,
 * never on the message; the message may name the field but never echoes the hostile value itself.
 */
export const AUDIT_CONTEXT_ERRORS = defineCatalogue({
  /** A correlation field outside its character class or length bound (`FIELD_PATTERNS`). */
  ERR_AUDIT_INVALID_FIELD: { message: 'invalid correlation field' },
  /** A required correlation field is absent (user, sid, role, request id; sid or user in a Key ID). */
  ERR_AUDIT_MISSING_FIELD: { message: 'missing correlation field' },
  /** An encoding (Key ID, rem_addr, log prefix) its encoder would not have written. */
  ERR_AUDIT_MALFORMED: { message: 'malformed correlation encoding' },
  /** The fields do not fit an encoding's length bound (rem_addr: 255 bytes, RFC 8907 section 6.1). */
  ERR_AUDIT_TOO_LONG: { message: 'correlation fields too long for their encoding' },
});
export type AuditContextErrorCode = keyof typeof AUDIT_CONTEXT_ERRORS;

export class AuditContextError extends NetwardError<AuditContextErrorCode> {
  static override readonly catalogue = AUDIT_CONTEXT_ERRORS;
  override readonly name = 'AuditContextError';
  /** The field that was refused, when one was. */
  readonly field: string | undefined;

  constructor(code: AuditContextErrorCode, message: string, options?: { field?: string; cause?: unknown }) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.field = options?.field;
  }
}
