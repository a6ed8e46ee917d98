import { describe, expect, it } from 'vitest';
import { defineCatalogue, isNetwardError, NetwardError } from '../src/index.ts';

const CATALOGUE = defineCatalogue({
  ERR_DEMO_REFUSED: { message: 'refused', status: 403, exit: 109, stage: 'authorize' },
  ERR_DEMO_PLAIN: { message: 'plain' },
});
type DemoCode = keyof typeof CATALOGUE;

class DemoError extends NetwardError<DemoCode> {
  static override readonly catalogue = CATALOGUE;
  override readonly name = 'DemoError';
}

describe('defineCatalogue', () => {
  it('freezes the table and its rows', () => {
    expect(Object.isFrozen(CATALOGUE)).toBe(true);
    expect(Object.isFrozen(CATALOGUE.ERR_DEMO_REFUSED)).toBe(true);
  });

  it.each(['ERR_DEMO', 'err_demo_x', 'ERR__X', 'DEMO_X'])('refuses the code %s', (code) => {
    expect(() => defineCatalogue({ [code]: { message: 'x' } })).toThrow(/ERR_<AREA>_<WHAT>/);
  });

  it('refuses a row without a message', () => {
    expect(() => defineCatalogue({ ERR_DEMO_X: { message: '' } })).toThrow(/no message/);
  });
});

describe('NetwardError', () => {
  it('reads message, status, exit and stage from its catalogue', () => {
    const e = new DemoError('ERR_DEMO_REFUSED');
    expect(e.message).toBe('refused');
    expect([e.status, e.exitStatus, e.stage, e.name]).toEqual([403, 109, 'authorize', 'DemoError']);
  });

  it('falls back to 500 and exit 1 where the catalogue is silent', () => {
    const e = new DemoError('ERR_DEMO_PLAIN', 'said more');
    expect([e.status, e.exitStatus, e.stage]).toEqual([500, 1, undefined]);
    expect(e.message).toBe('said more');
  });

  it('keeps cause and detail out of its public rendering', () => {
    const cause = new Error('secret-token-value');
    const e = new DemoError('ERR_DEMO_REFUSED', 'refused for user x', { cause, detail: { key: 'k3y' } });
    expect(e.cause).toBe(cause);
    expect(e.detail).toEqual({ key: 'k3y' });
    expect(Object.isFrozen(e.detail)).toBe(true);
    expect(JSON.stringify(e)).toBe('{"code":"ERR_DEMO_REFUSED","message":"refused"}');
  });

  it('is recognised by isNetwardError, with and without a class', () => {
    const e = new DemoError('ERR_DEMO_PLAIN');
    expect(isNetwardError(e)).toBe(true);
    expect(isNetwardError(e, DemoError)).toBe(true);
    expect(isNetwardError(new Error('x'))).toBe(false);
    expect(isNetwardError({ code: 'ERR_DEMO_PLAIN' })).toBe(false);
  });
});
