import { z } from 'zod';
import { FIELD_PATTERNS } from './fields.ts';

/**
 * One audit record as every component writes it: the shape a trail merger can rely on. Extra fields
 * are kept (each component adds its own detail), the correlation fields are checked where present.
 */
export const auditRecordSchema = z.looseObject({
  time: z.iso.datetime({ offset: true }),
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']),
  component: z.string().min(1).max(64),
  msg: z.string().max(4096).optional(),
  event: z.string().max(64).optional(),
  user: z.string().regex(FIELD_PATTERNS.user).optional(),
  sid: z.string().regex(FIELD_PATTERNS.sid).optional(),
  role: z.string().regex(FIELD_PATTERNS.role).optional(),
  cert_serial: z.string().regex(FIELD_PATTERNS.certSerial).optional(),
  request_id: z.string().regex(FIELD_PATTERNS.requestId).optional(),
  device: z.string().regex(FIELD_PATTERNS.device).optional(),
  tool: z.string().regex(FIELD_PATTERNS.tool).optional(),
  // Every value a component writes: the broker's access lines say `served` / `refused`, a request the
  // client dropped `aborted`.
  decision: z.enum(['permit', 'deny', 'issued', 'refused', 'served', 'aborted', 'ok', 'error']).optional(),
  code: z
    .string()
    .regex(/^ERR_[A-Z0-9_]+$/)
    .optional(),
});

export type AuditRecord = z.infer<typeof auditRecordSchema>;

/** Parses one JSON line; returns undefined for a line that is not an audit record. */
export function parseAuditLine(line: string): AuditRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  const result = auditRecordSchema.safeParse(value);
  return result.success ? result.data : undefined;
}
