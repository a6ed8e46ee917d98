/**
 * Every failure of this package is an AuditContextError with a stable code. Callers branch on `code`,
 * never on the message; the message may name the field but never echoes the hostile value itself.
 */
export type AuditContextErrorCode =
  | 'ERR_AUDIT_INVALID_FIELD'
  | 'ERR_AUDIT_MISSING_FIELD'
  | 'ERR_AUDIT_MALFORMED'
  | 'ERR_AUDIT_TOO_LONG';

export class AuditContextError extends Error {
  override readonly name = 'AuditContextError';
  readonly code: AuditContextErrorCode;
  /** The field that was refused, when one was. */
  readonly field: string | undefined;

  constructor(code: AuditContextErrorCode, message: string, options?: { field?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.field = options?.field;
  }
}
