// Files parsed while a start-up snapshot was built (buildSnapshot({ config })), by the SHA-256 of their
// text. A command still reads and checks each file; it skips only the parse, and only when the text is
// byte for byte the one parsed, so an edited file is parsed and in force at the next command.
import { createHash } from 'node:crypto';

export interface Preparsed<T> {
  get(text: string): T | undefined;
  set(text: string, value: T): void;
}

export function preparsed<T>(): Preparsed<T> {
  const byDigest = new Map<string, T>();
  const digest = (text: string) => createHash('sha256').update(text).digest('hex');
  return {
    get: (text) => (byDigest.size === 0 ? undefined : byDigest.get(digest(text))),
    set: (text, value) => {
      byDigest.set(digest(text), value);
    },
  };
}
