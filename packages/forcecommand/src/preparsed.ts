// Files already parsed, by the SHA-256 of their text: those parsed while a start-up snapshot was built
// (buildSnapshot({ config })), and, in a long-lived resident validator, those it parsed for an earlier
// request. A command still reads and checks each file; it skips only the parse, and only when the text
// is byte for byte the one parsed, so an edited file is parsed and in force at the next command.
import { createHash } from 'node:crypto';

/** Where a file's parsed form came from: this command's parse, the snapshot, or an earlier request. */
export type ParsedFrom = 'file' | 'snapshot' | 'kept';

export interface Preparsed<T> {
  get(text: string): { readonly value: T; readonly from: ParsedFrom } | undefined;
  /** The snapshot builder's parse. */
  set(text: string, value: T): void;
  /** A parse at run time: kept only by a process that called keepParsedFiles(). */
  parsed(text: string, value: T): void;
}

/** Texts kept per file kind: an edited file leaves its old parse behind, so the map is bounded. */
const MAX_KEPT = 4;
let keep = false;

/** For a long-lived process (the resident validator): keep run-time parses for the next request. */
export function keepParsedFiles(): void {
  keep = true;
}

export function preparsed<T>(): Preparsed<T> {
  const byDigest = new Map<string, { value: T; from: ParsedFrom }>();
  const digest = (text: string) => createHash('sha256').update(text).digest('hex');
  return {
    get: (text) => (byDigest.size === 0 ? undefined : byDigest.get(digest(text))),
    set: (text, value) => {
      byDigest.set(digest(text), { value, from: 'snapshot' });
    },
    parsed: (text, value) => {
      if (!keep) return;
      if (byDigest.size >= MAX_KEPT) byDigest.delete(byDigest.keys().next().value as string);
      byDigest.set(digest(text), { value, from: 'kept' });
    },
  };
}
