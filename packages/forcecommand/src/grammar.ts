// Stage 2b: every request of the plan must be described by the role's command grammar (rendered from the
// policy by `netward-policy render --target grammar`), before TACACS+ or the local rules are asked. The
// rules match text; the grammar knows which word is an option, which a value and of what type, so an
// option that reads a file (`ip -b`), enters a namespace (`ip -n`) or floods (`ping -f`) never reaches
// the rules at all. The parser is @netward/policy's, on its lean subpath (zod/mini, no yaml).
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { Grammars } from '@netward/policy/local-rules';
import { checkFileSafety } from './config.ts';
import { ForceCommandError } from './errors.ts';
import { type AuthzRequest, requestString } from './normalize.ts';
import { type Preparsed, preparsed } from './preparsed.ts';

/** What the audit record says about one request the grammar admitted. */
export interface GrammarRecord {
  readonly command: string;
  readonly set: string;
  readonly class: string;
  readonly entry: string;
}

/** Loads and parses the grammar file: root-owned like the config, an invalid file is ERR_FC_CONFIG. */
export async function loadGrammars(file: string): Promise<Grammars> {
  checkFileSafety(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ForceCommandError('ERR_FC_CONFIG', `${file}: cannot read`, { cause: e, detail: { file } });
  }
  const known = PREPARSED.get(text);
  if (known !== undefined) return known;
  const { parseGrammarFile } = await import('@netward/policy/local-rules');
  try {
    return parseGrammarFile(text, file);
  } catch (e) {
    throw new ForceCommandError('ERR_FC_CONFIG', `${file}: invalid grammar file`, {
      cause: e,
      detail: { file },
    });
  }
}

/** Grammar files parsed into the start-up snapshot. */
const PREPARSED: Preparsed<Grammars> = preparsed();

/** For the snapshot builder: parses the grammar file now, so that it is in the heap. */
export async function preparseGrammars(file: string): Promise<void> {
  const text = readFileSync(file, 'utf8');
  const { parseGrammarFile } = await import('@netward/policy/local-rules');
  PREPARSED.set(text, parseGrammarFile(text, file));
}

/** Interface names of the network namespace the validator runs in (the device's). */
export function deviceInterfaces(): ReadonlySet<string> {
  return new Set(Object.keys(networkInterfaces()));
}

/**
 * Checks every request against `role`'s grammar. Returns what matched, for the audit record; null when
 * the grammar file gives the role no grammar (a policy of hand-written rules). Throws ERR_FC_GRAMMAR for
 * the first request nothing describes, with the reason in `detail` (operator only).
 */
export async function checkGrammar(
  grammars: Grammars,
  role: string,
  requests: readonly AuthzRequest[],
  interfaces: () => ReadonlySet<string> = deviceInterfaces,
): Promise<GrammarRecord[] | null> {
  if (!grammars.roles.has(role)) {
    throw new ForceCommandError('ERR_FC_GRAMMAR', undefined, {
      detail: { reason: `role ${role} is not in the grammar file ${grammars.source}` },
    });
  }
  const sets = grammars.roles.get(role) ?? null;
  if (sets === null) return null;
  const { matchGrammar } = await import('@netward/policy/local-rules');
  const out: GrammarRecord[] = [];
  let known: ReadonlySet<string> | undefined;
  for (const request of requests) {
    const command = requestString(request);
    const m = matchGrammar(sets, [request.cmd, ...request.args]);
    if (!m.matched) {
      throw new ForceCommandError('ERR_FC_GRAMMAR', undefined, {
        detail: {
          request: command,
          reason: m.reason,
          ...(m.closest === undefined ? {} : { closest: m.closest }),
        },
      });
    }
    for (const name of m.interfaces) {
      known ??= interfaces();
      if (!known.has(name)) {
        throw new ForceCommandError('ERR_FC_GRAMMAR', undefined, {
          detail: {
            request: command,
            reason: `interface "${name}" is not on this device`,
            set: m.set,
            entry: m.entry,
          },
        });
      }
    }
    out.push({ command, set: m.set, class: m.class, entry: m.entry });
  }
  return out;
}
