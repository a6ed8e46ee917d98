/**
 * One way to turn a schema's findings into text an operator can act on: every issue is
 * `path: message (line:col)`, the path written as in the file (`roles[0].rules[2].match`), the message
 * saying what was expected rather than zod's internal wording, the position when the file was YAML or
 * JSON text the parser could locate.
 */
import type * as z from 'zod/v4/core';
import { safeParse } from 'zod/v4/core';
import { KitError, type KitIssue } from './errors.ts';
import { deepFreeze } from './freeze.ts';

export type PathPart = string | number;

/** A function from a path inside the document to the 1-based line and column of its node. */
export type Locate = (path: readonly PathPart[], key?: string) => { line?: number; column?: number };

/** `roles[0].rules[2].match`: keys dotted, array indexes in brackets; empty for the document. */
export function formatPath(path: readonly PathPart[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

/** `path: message (line:col)`; `(root)` for the whole document, no position when none is known. */
export function formatIssue(issue: KitIssue): string {
  const where = issue.line === undefined ? '' : ` (${issue.line}:${issue.column ?? 1})`;
  return `${issue.path === '' ? '(root)' : issue.path}: ${issue.message}${where}`;
}

/** What one zod issue expected, in words that do not need zod to be understood. */
export function issueMessage(issue: z.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (expected only the documented keys)`;
    case 'invalid_type':
      return issue.input === undefined ? `missing, expected ${issue.expected}` : `expected ${issue.expected}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return `expected ${bound(issue.origin, 'at least', '>=', issue.minimum)}`;
    case 'too_big':
      return `expected ${bound(issue.origin, 'at most', '<=', issue.maximum)}`;
    default:
      return issue.message;
  }
}

function bound(origin: string, words: string, sign: string, n: number | bigint): string {
  if (origin === 'array') return `${words} ${n} item(s)`;
  if (origin === 'string') return `${words} ${n} character(s)`;
  return `a number ${sign} ${n}`;
}

/** The issues of a failed parse, each located when `locate` is given, in file order. */
export function toIssues(issues: readonly z.$ZodIssue[], locate?: Locate): KitIssue[] {
  const out = issues.map((i) => {
    const path = i.path.filter((p): p is PathPart => typeof p !== 'symbol');
    const key = i.code === 'unrecognized_keys' ? i.keys[0] : undefined;
    return { path: formatPath(path), ...locate?.(path, key), message: issueMessage(i) };
  });
  return sortIssues(out);
}

/** In file order, so that a message reads top to bottom; unlocated issues first, then by path. */
export function sortIssues<I extends KitIssue>(issues: readonly I[]): I[] {
  return [...issues].sort(
    (a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0),
  );
}

/** One line per issue, each prefixed with the source: `broker.yaml: listen.port: expected number (3:9)`. */
export function describeIssues(source: string, issues: readonly KitIssue[]): string {
  return issues.map((i) => `${source}: ${formatIssue(i)}`).join('\n');
}

export interface ValidateOptions {
  /** Names the file (or where the value came from) in every message. Default `<config>`. */
  readonly source?: string;
  /** Locates a path in the parsed text, for line:column in the issues. */
  readonly locate?: Locate;
}

/**
 * Validates a parsed value against a zod schema (classic or mini) and deep-freezes the result. Throws
 * ERR_KIT_CONFIG_INVALID carrying every issue.
 */
export function validateConfig<S extends z.$ZodType>(
  schema: S,
  value: unknown,
  options: ValidateOptions = {},
): z.output<S> {
  const source = options.source ?? '<config>';
  const result = safeParse(schema, value);
  if (!result.success) {
    const issues = toIssues(result.error.issues, options.locate);
    throw new KitError(
      'ERR_KIT_CONFIG_INVALID',
      `${source}: invalid configuration\n${describeIssues(source, issues)}`,
      { cause: result.error, file: source, issues },
    );
  }
  return deepFreeze(result.data);
}
