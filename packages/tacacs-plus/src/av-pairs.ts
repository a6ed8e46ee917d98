import { lenientText } from './protocol/reader.ts';

/**
 * RFC 8907 section 6.1: an argument is `attribute=value` (mandatory) or `attribute*value` (optional).
 * The separator is the first `=` or `*`; the value may contain either character.
 */
export interface AvPair {
  readonly attribute: string;
  readonly value: string;
  readonly mandatory: boolean;
}

export function parseAvPair(arg: string): AvPair | undefined {
  const eq = arg.indexOf('=');
  const star = arg.indexOf('*');
  const at = eq < 0 ? star : star < 0 ? eq : Math.min(eq, star);
  if (at <= 0) return undefined;
  return { attribute: arg.slice(0, at), value: arg.slice(at + 1), mandatory: arg[at] === '=' };
}

/**
 * The shell-command view of a request: the first `service`, the first `cmd`, and every `cmd-arg` in
 * order. tac_plus-ng rebuilds the command it matches as cmd + " " + each cmd-arg (docs/tacacs.md), so
 * `commandLine` does the same.
 */
export interface ShellCommand {
  service?: string;
  cmd?: string;
  cmdArgs: string[];
  taskId?: string;
  /** Every argument not accounted for above (repeated service/cmd/task_id included), as received. */
  others: string[];
}

export function shellCommand(args: readonly string[]): ShellCommand {
  const out: ShellCommand = { cmdArgs: [], others: [] };
  for (const raw of args) {
    const p = parseAvPair(raw);
    if (p?.attribute === 'service' && out.service === undefined) out.service = p.value;
    else if (p?.attribute === 'cmd' && out.cmd === undefined) out.cmd = p.value;
    else if (p?.attribute === 'cmd-arg') out.cmdArgs.push(p.value);
    else if (p?.attribute === 'task_id' && out.taskId === undefined) out.taskId = p.value;
    else out.others.push(raw);
  }
  return out;
}

export function commandLine(cmd: string | undefined, cmdArgs: readonly string[]): string {
  return [cmd ?? '', ...cmdArgs].join(' ');
}

/**
 * What a server decides on, read from the arguments' bytes the way tac_plus-ng does (author.c at the
 * captured version, checked against its answers in test/vectors/av-layouts.json):
 *
 * - `cmd=` and `cmd*` values are appended, in order, to the command line; each `cmd-arg=` value that is
 *   not empty is appended after one space. Order is the packet's: a `cmd-arg` before the `cmd` stays
 *   before it, and two `cmd` values run together (`reboot` + `/show` is `reboot/show`).
 * - `service=` and `protocol=` with a non-empty value: the last one counts.
 * - Optional `service*`, `cmd-arg*` and `protocol*`, empty `cmd-arg=` and `service=`, and every other
 *   attribute are ignored for the decision.
 * - A non-empty argument with no `=` or `*`, or starting with one, is malformed (RFC 8907 section 6.1:
 *   an argument is attribute, separator, value): the request is refused.
 * - A NUL byte anywhere in an argument: refused. tac_plus-ng copies arguments as C strings, so what
 *   follows a NUL would never be seen by a rule; we answer FAIL, as it does, rather than decide on a cut.
 */
export interface RequestView {
  readonly service?: string;
  readonly protocol?: string;
  /** The command line as bytes: what rules must match (tac_plus-ng's PCRE2 works on bytes). */
  readonly commandBytes: Buffer;
  /** The command line as text for logs; bytes that are not UTF-8 show as U+FFFD. */
  readonly commandLine: string;
  /** The last `cmd` pair had a value: a command authorization rather than a shell start. */
  readonly isCommand: boolean;
  /** Why the request must be refused without asking a handler, or undefined. */
  readonly refusal?: 'nul' | 'malformed';
  /** Index of the argument that caused the refusal. */
  readonly refusedIndex?: number;
}

const EQ = 0x3d;
const STAR = 0x2a;
const SPACE = Buffer.from(' ');
const CMD = Buffer.from('cmd');
const CMD_ARG = Buffer.from('cmd-arg=');
const SERVICE = Buffer.from('service=');
const PROTOCOL = Buffer.from('protocol=');

function startsWith(b: Buffer, prefix: Buffer): boolean {
  return b.length >= prefix.length && b.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

export function requestView(argBytes: readonly Buffer[]): RequestView {
  const parts: Buffer[] = [];
  let service: Buffer | undefined;
  let protocol: Buffer | undefined;
  let isCommand = false;
  for (let i = 0; i < argBytes.length; i++) {
    const a = argBytes[i] as Buffer;
    if (a.includes(0)) return refused('nul', i);
    if (a.length > 0) {
      const eq = a.indexOf(EQ);
      const star = a.indexOf(STAR);
      const sep = eq < 0 ? star : star < 0 ? eq : Math.min(eq, star);
      if (sep <= 0) return refused('malformed', i);
    }
    if (a.length >= 4 && startsWith(a, CMD) && (a[3] === EQ || a[3] === STAR)) {
      isCommand = a.length > 4;
      parts.push(a.subarray(4));
    } else if (a.length > CMD_ARG.length && startsWith(a, CMD_ARG)) {
      parts.push(SPACE, a.subarray(CMD_ARG.length));
    } else if (a.length > SERVICE.length && startsWith(a, SERVICE)) {
      service = a.subarray(SERVICE.length);
    } else if (a.length > PROTOCOL.length && startsWith(a, PROTOCOL)) {
      protocol = a.subarray(PROTOCOL.length);
    }
  }
  const commandBytes = Buffer.concat(parts);
  return {
    ...(service !== undefined ? { service: lenientText(service) } : {}),
    ...(protocol !== undefined ? { protocol: lenientText(protocol) } : {}),
    commandBytes,
    commandLine: lenientText(commandBytes),
    isCommand,
  };
}

function refused(refusal: 'nul' | 'malformed', index: number): RequestView {
  const commandBytes = Buffer.alloc(0);
  return { commandBytes, commandLine: '', isCommand: false, refusal, refusedIndex: index };
}
