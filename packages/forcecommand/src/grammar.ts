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
  if (known !== undefined) return known.value;
  const { parseGrammarFile } = await import('@netward/policy/local-rules');
  try {
    const grammars = parseGrammarFile(text, file);
    PREPARSED.parsed(text, grammars);
    return grammars;
  } catch (e) {
    throw new ForceCommandError('ERR_FC_CONFIG', `${file}: invalid grammar file`, {
      cause: e,
      detail: { file },
    });
  }
}

/** Grammar files parsed into the start-up snapshot or kept by a resident validator. */
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
    for (const address of m.addresses) {
      if (isGroupAddress(address)) {
        throw new ForceCommandError('ERR_FC_GRAMMAR', undefined, {
          detail: {
            request: command,
            reason: `address "${address}" is multicast or broadcast`,
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

/**
 * A multicast or broadcast address: every host of a link (or more) answers it, which is the flood that
 * `ping -b` is refused for. IPv4 224.0.0.0 and up (multicast 224/4, reserved 240/4, 255.255.255.255),
 * read as inet_aton(3) reads it, which ping and traceroute use through getaddrinfo: 1-4 parts, each
 * decimal, octal (leading 0) or hex (0x), so `<host>` words like `3758096385` or `0xe0.1` count too.
 * IPv6 ff00::/8: a first group of four hex digits starting with ff (`ff02::1` is every node of the
 * link; measured in the lab: `ping -I mgmt0 ff02::1` as net-operator was answered by the host and every
 * device on the management LAN). A name that resolves to one cannot be told here.
 */
export function isGroupAddress(value: string): boolean {
  if (value.includes(':')) {
    const first = value.split(':')[0] as string;
    return first.length === 4 && first.toLowerCase().startsWith('ff');
  }
  const parts = value.split('.');
  if (parts.length > 4) return false;
  const numbers = parts.map((p) =>
    /^0x[0-9a-f]+$/i.test(p)
      ? Number.parseInt(p.slice(2), 16)
      : /^0[0-7]*$/.test(p)
        ? Number.parseInt(p, 8)
        : /^[1-9][0-9]*$/.test(p)
          ? Number(p)
          : Number.NaN,
  );
  if (numbers.some((n) => Number.isNaN(n))) return false;
  const first = numbers.length === 1 ? Math.floor((numbers[0] as number) / 2 ** 24) : (numbers[0] as number);
  return first >= 224;
}
