/** An error class of a netward package: its instances carry a stable `code` (packages/errors). */
export type CodedErrorClass<E extends { readonly code: string }> = abstract new (...args: never[]) => E;

/**
 * The code of the `type` error `fn` throws, or undefined when it returns. Any other error is thrown on:
 * a test comparing codes then fails on it, instead of reading the code of an error of the wrong kind.
 */
export function thrownCode<E extends { readonly code: string }>(
  fn: () => unknown,
  type: CodedErrorClass<E>,
): E['code'] | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof type) return e.code;
    throw e;
  }
  return undefined;
}

/** `thrownCode` for a promise: the code of the `type` error it rejects with, or undefined when it resolves. */
export async function rejectedCode<E extends { readonly code: string }>(
  promise: Promise<unknown>,
  type: CodedErrorClass<E>,
): Promise<E['code'] | undefined> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof type) return e.code;
    throw e;
  }
  return undefined;
}
