import { readLabEvents } from '../audit/sources.ts';
import { formatChain, traceRequest } from '../audit/trace.ts';
import { loadLab } from '../lab.ts';
import {
  type StepResult,
  stepAdmin,
  stepFailClosed,
  stepOperator,
  stepRawCommand,
  stepViewer,
} from './steps.ts';

/** Output fits a terminal of this many columns. */
const WIDTH = 120;

const clip = (s: string, w: number) => (s.length > w ? `${s.slice(0, w - 1)}…` : s);

/** The outcomes table, every line within `width` columns (the widest column is narrowed first). */
export function table(rows: readonly StepResult[], width = WIDTH): string[] {
  const cols = [
    ['#', (r: StepResult) => r.step],
    ['who', (r: StepResult) => r.who],
    ['action', (r: StepResult) => r.action],
    ['expected', (r: StepResult) => r.expected],
    ['outcome', (r: StepResult) => r.got],
    ['result', (r: StepResult) => (r.pass ? 'PASS' : 'FAIL')],
  ] as const;
  const widths = cols.map(([h, f]) => Math.max(h.length, ...rows.map((r) => f(r).length)));
  const total = () => widths.reduce((a, b) => a + b, 0) + 3 * (cols.length - 1);
  while (total() > width) {
    const widest = widths.indexOf(Math.max(...widths));
    widths[widest] = (widths[widest] ?? 1) - 1;
  }
  const cell = (s: string, w: number) => clip(s, w).padEnd(w);
  const lines = [
    cols
      .map(([h], i) => cell(h, widths[i] ?? 0))
      .join(' | ')
      .trimEnd(),
  ];
  lines.push(widths.map((w) => '-'.repeat(w)).join('-+-'));
  for (const r of rows)
    lines.push(
      cols
        .map(([, f], i) => cell(f(r), widths[i] ?? 0))
        .join(' | ')
        .trimEnd(),
    );
  return lines;
}

/**
 * The demo of issue 8 through a real MCP client (the SDK's Client over Streamable HTTP), each user
 * logged in through the IdP's authorization code + PKCE flow. Returns true when every step passed.
 */
export async function runDemo(dir: string, print: (line: string) => void): Promise<boolean> {
  const layout = loadLab(dir);
  const rows: StepResult[] = [];
  const steps = [
    ['1. alice (viewer): tools and BGP summary of spine-a', stepViewer],
    ['2. bob (operator): ping from spine-a; running config refused', stepOperator],
    ['3. unsafe raw-command tool on: bob tries configure terminal', stepRawCommand],
    ['4. TACACS+ stopped then restarted', stepFailClosed],
    ['5. carol (admin): running config', stepAdmin],
  ] as const;
  for (const [title, fn] of steps) {
    print(`\n==> ${title}`);
    try {
      const result = await fn(layout);
      for (const r of result) {
        print(clip(`    ${r.pass ? 'PASS' : 'FAIL'}  ${r.action}: ${r.got}`, WIDTH));
        if (r.output && r.step === '1' && r.action.startsWith('show_bgp')) {
          for (const l of r.output.trim().split('\n')) print(clip(`      | ${l}`, WIDTH));
        }
        if (r.output && r.step === '3')
          print(clip(`      device said: ${r.output.trim().split('\n')[0]}`, WIDTH));
      }
      rows.push(...result);
    } catch (err) {
      const e = err as { code?: string; message?: string };
      print(clip(`    FAIL  ${e.code ?? 'error'}: ${e.message}`, WIDTH));
      rows.push({
        step: title.slice(0, 1),
        who: '-',
        action: title,
        expected: 'completes',
        got: `${e.code ?? 'error'}: ${e.message}`,
        pass: false,
      });
    }
  }
  print('\n==> outcomes');
  for (const l of table(rows, WIDTH)) print(l);

  // The audit trail of the seed's scenario (step 3) if it reached the device, else of bob's ping.
  const shown =
    rows.find((r) => r.step === '3' && r.requestId) ?? rows.find((r) => r.step === '2' && r.requestId);
  if (shown?.requestId) {
    // Records reach the logs asynchronously (syslog over UDP, pino buffers): give them a moment.
    await new Promise((r) => setTimeout(r, 500));
    print(`\n==> audit trail of one call (netward-audit trace ${shown.requestId})`);
    for (const l of formatChain(traceRequest(readLabEvents(layout.paths.logs), shown.requestId))) print(l);
  }
  const ok = rows.every((r) => r.pass);
  print(
    `\n${ok ? 'demo: every step as expected' : 'demo: some steps did not go as expected (see FAIL above)'}`,
  );
  return ok;
}
