import { isNetwardError } from '@netward/errors';
import { describe, expect, it } from 'vitest';
import { AuditContextError, parseKeyId } from '../src/index.ts';

describe('AuditContextError', () => {
  it('is the shared error shape: a code, the field, and a public rendering without the refused value', () => {
    let caught: unknown;
    try {
      parseKeyId('sid=abc,user=bob,user=eve$(id)');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(AuditContextError);
    expect(isNetwardError(caught)).toBe(true);
    const err = caught as AuditContextError;
    expect(err.code).toBe('ERR_AUDIT_MALFORMED');
    expect(err.toJSON()).toEqual({ code: 'ERR_AUDIT_MALFORMED', message: 'malformed correlation encoding' });
    expect(JSON.stringify(err)).not.toContain('eve');
  });
});
