import { readLabEvents } from '../audit/sources.ts';
import { classify, formatChain, requestIdsFor, traceRequest } from '../audit/trace.ts';
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
} {
  const values: { dir?: string; all?: boolean; json?: boolean; help?: boolean } = {};
  const positionals: string[] = [];
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
    else positionals.push(a);
    if (a === '--') break;
  }
  return { values, positionals };
}

export function runTrace(argv: string[]): number {
  const { values, positionals } = parseTraceArgs(argv);
  const [command, query] = positionals;
  if (values.help || command !== 'trace' || query === undefined) {
    console.error(USAGE);
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
    return chains.every((c) => c.missing.length === 0) ? 0 : 3;
  }
  console.log(`${query} is a ${kind.replace('_', ' ')}: ${chains.length} tool call(s)\n`);
  const full = values.all ? chains : chains.slice(-1);
  if (!values.all && chains.length > 1) {
    for (const c of chains.slice(0, -1)) {
      console.log(
        `  ${c.events[0]?.time ?? ''}  ${c.requestId}  ${c.tool ?? '?'} on ${c.device ?? '?'}  ${c.events.length} records${c.missing.length ? `, ${c.missing.length} missing` : ''}`,
      );
    }
    console.log('');
  }
  for (const c of full) {
    for (const line of formatChain(c)) console.log(line);
    console.log('');
  }
  return full.every((c) => c.missing.length === 0) ? 0 : 3;
}
