// The validator's JSON files (local rules, grammars) read the same way: JSON syntax, then a zod/mini
// schema, with zod's English messages passed per parse (zod/mini loads no locale by itself, and the
// global `z.config` would change every other zod user in the process). Every problem is an issue naming
// its path, and one PolicyError carries them all, so an operator fixes the file in one pass.
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { PolicyError, type PolicyErrorCode, type PolicyIssue } from './errors.ts';

const messages = { error: en().localeError };

/** Throws `code` for `fileName` with every issue listed. */
export type FailWith = (issues: PolicyIssue[]) => never;

export function failWith(code: PolicyErrorCode, what: string, fileName: string): FailWith {
  return (issues) => {
    throw new PolicyError(
      code,
      `invalid ${what} ${fileName}:\n${issues.map((i) => `${fileName}: ${i.path || '(document)'}: ${i.message}`).join('\n')}`,
      { file: fileName, issues },
    );
  };
}

/** `text` parsed as JSON and checked against `schema`; a syntax or schema problem goes to `fail`. */
export function parseJsonFile<S extends z.ZodMiniType>(text: string, schema: S, fail: FailWith): z.infer<S> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    fail([{ code: 'syntax', path: '', message: `JSON: ${(err as Error).message}` }]);
  }
  const parsed = z.safeParse(schema, data, messages);
  if (!parsed.success) {
    fail(
      parsed.error.issues.map((i) => ({
        code: 'schema' as const,
        path: i.path
          .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
          .join('')
          .replace(/^\./, ''),
        message: i.message,
      })),
    );
  }
  return (parsed as { data: z.infer<S> }).data;
}
