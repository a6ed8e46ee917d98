/** A type whose every level is read-only: what {@link deepFreeze} makes of a validated config. */
export type DeepReadonly<T> = T extends Buffer
  ? T
  : T extends (infer U)[]
    ? readonly DeepReadonly<U>[]
    : T extends object
      ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
      : T;

/**
 * Freezes an object and everything reachable from it, so that a configuration validated at startup
 * cannot be changed afterwards by any code path. Typed arrays (Buffers: key blobs) are left as they
 * are: `Object.freeze` refuses an array view with elements.
 */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) {
    return value;
  }
  for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}
