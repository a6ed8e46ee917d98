// The public API of @netward/audit-context. Anything exported here is public; everything else is not.
export { type AuditContext, createAuditContext, withFields } from './context.ts';
export {
  encodeKeyId,
  encodeRemAddr,
  encodeSshEnv,
  formatLogPrefix,
  type KeyIdFields,
  type LogPrefixFields,
  parseKeyId,
  parseLogPrefix,
  parseRemAddr,
  parseSshEnv,
  REM_ADDR_MAX,
  type RemAddrFields,
  SSH_ENV,
  type SshEnvFields,
} from './encodings.ts';
export { AUDIT_CONTEXT_ERRORS, AuditContextError, type AuditContextErrorCode } from './errors.ts';
export { checkField, FIELD_PATTERNS, type FieldName, isValidField, newRequestId } from './fields.ts';
export {
  CORRELATION_FIELDS,
  type CorrelationFields,
  type CreateLoggerOptions,
  contextFields,
  createLogger,
  type Logger,
  RECORD_FIELDS,
} from './logger.ts';
export { type AuditRecord, auditRecordSchema, parseAuditLine } from './record.ts';
export { isSecretName, REDACTED, scrub, scrubString } from './redact.ts';
