import type { z } from 'zod';
import { CaBrokerError } from '../errors.ts';

/** A request body checked against its schema; the refusal names the fields, never their values. */
export function parseBody<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const bad = parsed.error.issues.map((i) => i.path.join('.') || '(body)').join(', ');
    throw new CaBrokerError('ERR_CA_BAD_REQUEST', `invalid request: ${bad}`);
  }
  return parsed.data;
}
