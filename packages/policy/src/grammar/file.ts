// The rendered grammar file the ForceCommand validator reads (`netward-policy render --target grammar`),
// and the matcher it runs before asking TACACS+ or the local rules. Lean like the local rules: zod/mini.
import * as z from 'zod/mini';
import type { PolicyIssue } from '../errors.ts';
import { failWith, parseJsonFile } from '../json-file.ts';
import { ACCOUNT_NAME, SCOPE } from '../names.ts';
import { type GrammarEntry, GrammarSpecError, mismatchAt, parseEntry } from './spec.ts';

export const GRAMMAR_FILE_VERSION = 1;

/**
 * What a command does to the device. `read` reads state, `operational` runs a diagnostic or clears
 * counters/sessions without changing configuration, `configuration` changes state.
 */
export const COMMAND_CLASSES = ['read', 'operational', 'configuration'] as const;
export type CommandClass = (typeof COMMAND_CLASSES)[number];

/** A named set of grammar entries, granted as a whole to roles holding its MCP scope. */
export interface GrammarSet {
  readonly name: string;
  readonly scope: string;
  readonly class: CommandClass;
  readonly entries: readonly GrammarEntry[];
}

/** Set names: what a role's `grammar:` list refers to. */
export const GRAMMAR_SET_NAME = /^[a-z][a-z0-9-]{0,63}$/;

const grammarFileSchema = z.strictObject({
  version: z.literal(GRAMMAR_FILE_VERSION),
  sets: z.record(
    z.string().check(z.regex(GRAMMAR_SET_NAME, 'expected a set name')),
    z.strictObject({
      scope: z.string().check(z.regex(SCOPE, 'expected a scope')),
      class: z.enum(COMMAND_CLASSES),
      commands: z.array(z.string()).check(z.minLength(1)),
    }),
  ),
  roles: z.record(
    z.string().check(z.regex(ACCOUNT_NAME, 'expected an account name')),
    z.nullable(z.array(z.string())),
  ),
});

/** A parsed grammar file. `roles.get(name)` is null for a role the policy gives no grammar. */
export interface Grammars {
  readonly source: string;
  readonly roles: ReadonlyMap<string, readonly GrammarSet[] | null>;
}

/**
 * Parses a rendered grammar file. Throws PolicyError ERR_POLICY_GRAMMAR_INVALID naming the file and every
 * problem (JSON, schema, an entry outside the language, a role naming an unknown set).
 */
export function parseGrammarFile(text: string, fileName: string): Grammars {
  const fail = failWith('ERR_POLICY_GRAMMAR_INVALID', 'grammar file', fileName);
  const file = parseJsonFile(text, grammarFileSchema, fail);
  const issues: PolicyIssue[] = [];
  const sets = new Map<string, GrammarSet>();
  for (const [name, s] of Object.entries(file.sets)) {
    const entries: GrammarEntry[] = [];
    s.commands.forEach((spec, k) => {
      try {
        entries.push(parseEntry(spec));
      } catch (e) {
        if (!(e instanceof GrammarSpecError)) throw e;
        issues.push({ code: 'grammar', path: `sets.${name}.commands[${k}]`, message: e.message });
      }
    });
    sets.set(name, Object.freeze({ name, scope: s.scope, class: s.class, entries: Object.freeze(entries) }));
  }
  const roles = new Map<string, readonly GrammarSet[] | null>();
  for (const [role, names] of Object.entries(file.roles)) {
    if (names === null) {
      roles.set(role, null);
      continue;
    }
    const list: GrammarSet[] = [];
    names.forEach((n, k) => {
      const s = sets.get(n);
      if (s === undefined)
        issues.push({ code: 'grammar', path: `roles.${role}[${k}]`, message: `unknown set "${n}"` });
      else list.push(s);
    });
    roles.set(role, Object.freeze(list));
  }
  if (issues.length > 0) fail(issues);
  return Object.freeze({ source: fileName, roles });
}

/** The grammar's verdict on one request, with what the operator's audit record needs. */
export type GrammarMatch =
  | {
      readonly matched: true;
      readonly set: string;
      readonly class: CommandClass;
      readonly scope: string;
      /** The entry as written in the policy, and its index in the set. */
      readonly entry: string;
      readonly index: number;
      /** Words in `<interface>` positions: the validator checks that they exist on the device. */
      readonly interfaces: readonly string[];
      /** Words in `<ip>`, `<ipv4>`, `<ipv6>` and `<host>` positions: the validator refuses group addresses. */
      readonly addresses: readonly string[];
    }
  | {
      readonly matched: false;
      /** Why nothing matched, for the operator (never shown to the client). */
      readonly reason: string;
      /** The entry that matched the most leading words, if any matched the command name. */
      readonly closest?: { readonly set: string; readonly entry: string; readonly stoppedAt: number };
    };

/** Value types whose words name a host the command talks to. */
const ADDRESS_TYPES: readonly string[] = ['ip', 'ipv4', 'ipv6', 'host'];

/**
 * Matches a request (the command name and its arguments, as the validator authorizes it) against a
 * role's grammar sets, in order; the first entry that admits it wins.
 */
export function matchGrammar(sets: readonly GrammarSet[], words: readonly string[]): GrammarMatch {
  let best: { set: string; entry: string; stoppedAt: number } | undefined;
  for (const set of sets) {
    for (let index = 0; index < set.entries.length; index++) {
      const entry = set.entries[index] as GrammarEntry;
      for (const variant of entry.variants) {
        const at = mismatchAt(variant, words);
        if (at === -1) {
          const typed = (types: readonly string[]) =>
            words.filter((_, i) => {
              const t = variant[i];
              return t?.kind === 'value' && types.includes(t.type);
            });
          const interfaces = typed(['interface']);
          const addresses = typed(ADDRESS_TYPES);
          return {
            matched: true,
            set: set.name,
            class: set.class,
            scope: set.scope,
            entry: entry.spec,
            index,
            interfaces,
            addresses,
          };
        }
        if (at > 0 && (best === undefined || at > best.stoppedAt))
          best = { set: set.name, entry: entry.spec, stoppedAt: at };
      }
    }
  }
  if (best === undefined) {
    return { matched: false, reason: `no grammar entry for the command "${words[0] ?? ''}"` };
  }
  const word = words[best.stoppedAt];
  return {
    matched: false,
    reason:
      word === undefined
        ? `closest entry "${best.entry}" (${best.set}) expects more words`
        : `closest entry "${best.entry}" (${best.set}) does not admit word ${best.stoppedAt} ("${word}")`,
    closest: best,
  };
}
