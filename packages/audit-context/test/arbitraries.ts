import fc from 'fast-check';

const chars = (set: string) => fc.constantFrom(...set.split(''));
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const B64URL = `${ALNUM}_-`;

export const userArb = fc
  .tuple(chars(ALNUM), fc.string({ unit: chars(`${ALNUM}._@+-`), maxLength: 63 }))
  .map(([a, b]) => a + b);
export const sidArb = fc.string({ unit: chars(B64URL), minLength: 1, maxLength: 96 });
export const roleArb = fc
  .tuple(
    chars('abcdefghijklmnopqrstuvwxyz'),
    fc.string({ unit: chars('abcdefghijklmnopqrstuvwxyz0123456789-'), maxLength: 31 }),
  )
  .map(([a, b]) => a + b);
export const requestIdArb = fc.string({ unit: chars(B64URL), minLength: 16, maxLength: 43 });
export const serialArb = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map(String);

export const contextArb = fc.record({
  user: userArb,
  sid: sidArb,
  role: roleArb,
  requestId: requestIdArb,
  certSerial: serialArb,
});

/** Characters no field may hold: every separator of every encoding, and control characters. */
export const HOSTILE_CHARS = [
  ',',
  '=',
  '/',
  ':',
  '[',
  ']',
  ' ',
  '"',
  "'",
  '\n',
  '\r',
  '\0',
  '\t',
  '`',
  '$',
  ';',
  '\\',
];

/** A valid value with one hostile character spliced in somewhere. */
export const hostile = (base: fc.Arbitrary<string>) =>
  fc.tuple(base, fc.constantFrom(...HOSTILE_CHARS), fc.nat()).map(([s, c, at]) => {
    const i = at % (s.length + 1);
    return s.slice(0, i) + c + s.slice(i);
  });
