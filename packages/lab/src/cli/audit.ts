import { readLabEvents } from '../audit/sources.ts';
import {
  classify,
  formatChain,
  isComplete,
  requestIdsFor,
  TRACE_WIDTH,
  traceRequest,
} from '../audit/trace.ts';
import { DEFAULT_LAB_DIR, labLayout } from '../layout.ts';

const USAGE = `usage: netward-audit trace <request-id | cert-serial | sid | user> [--dir D] [--all] [--json]

Merges the logs of the lab's IdP, MCP server, CA broker, device sshds, validators, syslog collector and
TACACS+ server, and prints the chain of each matching tool call in time order, flagging missing links.
A request id or serial gives one call; a sid or user gives the calls of that session or user (the
latest one in full, the others as one line each, or all in full with --all).`;

/**
 * Arguments by hand rather than util.parseArgs: a request id is base64url and may start with `-`
 * (`-B8oPtCBRtl16_oLEyxQMA`), which parseArgs would take for an option.
 */
function parseTraceArgs(argv: readonly string[]): {
  values: { dir?: string; all?: boolean; json?: boolean; help?: boolean };
  positionals: string[];
  unknownOption: string | undefined;
} {
  const values: { dir?: string; all?: boolean; json?: boolean; help?: boolean } = {};
  const positionals: string[] = [];
  let unknownOption: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') positionals.push(...argv.slice(i + 1));
    else if (a === '--dir') {
      const dir = argv[++i];
      if (dir !== undefined) values.dir = dir;
    } else if (a.startsWith('--dir=')) values.dir = a.slice(6);
    else if (a === '--all') values.all = true;
    else if (a === '--json') values.json = true;
    else if (a === '--help' || a === '-h') values.help = true;
    else if (a.startsWith('--') && a.length > 2) unknownOption ??= `unknown option "${a}"`;
    else positionals.push(a);
    if (a === '--') break;
  }
  return { values, positionals, unknownOption };
}

export function runTrace(argv: string[]): number {
  const { values, positionals, unknownOption } = parseTraceArgs(argv);
  const [command, query, extra] = positionals;
  if (values.help || command === 'help') {
    console.log(USAGE);
    return 0;
  }
  const reason =
    command === undefined
      ? 'no command given'
      : command !== 'trace'
        ? `unknown command "${command}"`
        : query === undefined
          ? 'trace needs a request id, certificate serial, sid or user'
          : extra !== undefined
            ? `trace takes one id, not also "${extra}"`
            : unknownOption;
  if (reason !== undefined || query === undefined) {
    console.error(`netward-audit: ${reason ?? 'usage'} (netward-audit --help for usage)`);
    return 2;
  }
  const dir = values.dir ?? process.env['NETWARD_LAB_DIR'] ?? DEFAULT_LAB_DIR;
  const layout = labLayout({ dir });
  const events = readLabEvents(layout.paths.logs);
  const kind = classify(events, query);
  if (kind === undefined) {
    console.error(`no record in ${layout.paths.logs} carries ${query} as a request id, serial, sid or user`);
    return 1;
  }
  const ids = requestIdsFor(events, query);
  if (ids.length === 0) {
    console.error(`${query} (${kind}) appears in the logs, but in no tool call`);
    return 1;
  }
  const chains = ids.map((id) => traceRequest(events, id));
  if (values.json) {
    console.log(JSON.stringify({ query, kind, chains }, null, 2));
    return chains.every(isComplete) ? 0 : 3;
  }
  const n = chains.length;
  console.log(`${query} is a ${kind.replace('_', ' ')}: ${n} tool call${n === 1 ? '' : 's'}, oldest first\n`);
  const full = values.all ? chains : chains.slice(-1);
  if (n > 1) {
    chains.forEach((c, i) => {
      const state = isComplete(c)
        ? 'complete'
        : `${c.missing.length} missing, ${(c.inconsistent ?? []).length} inconsistent`;
      // When the call itself started (its MCP server record), not the login its chain begins with.
      const started = (c.events.find((e) => e.link === 'mcp-call') ?? c.events[0])?.time ?? '';
      const line = `  ${String(i + 1).padStart(String(n).length)}. ${started.slice(11, 23)}  ${c.requestId}  ${c.tool ?? '?'} on ${c.device ?? '?'}  ${state}`;
      console.log(line.length > TRACE_WIDTH ? `${line.slice(0, TRACE_WIDTH - 1)}…` : line);
    });
    console.log(
      values.all
        ? '\nevery call in full:\n'
        : `\nthe latest call (${n}.) in full; --all shows every one, trace <request-id> one of them:\n`,
    );
  }
  for (const c of full) {
    for (const line of formatChain(c)) console.log(line);
    console.log('');
  }
  return full.every(isComplete) ? 0 : 3;
}
