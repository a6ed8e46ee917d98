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
 * order. tac_plus-ng rebuilds the command it matches as cmd + " " + each cmd-arg (LAB-NOTES), so
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
