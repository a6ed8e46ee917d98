/**
 * The two stacks side by side, in one run: the embedded one (lab IdP, broker's local CA) and the
 * design's (`--stack keycloak`: Keycloak, OpenBao behind the broker's vault backend).
 *
 *   bring-up   `labUp` from nothing to every service ready and BGP routes installed (the downloads,
 *              done before the clock starts, are reported apart)
 *   per call   `show_bgp_summary` on spine-a as bob, per-call mode, one call at a time; the MCP server's
 *              own timings per call: the token exchange at the IdP and the signing at the broker (with
 *              Keycloak: Keycloak's exchange; OpenBao's JWT login, signature and token revocation)
 *
 * Prints; asserts nothing. Needs root. Each lab in its own directory, prefix, network and ports, taken
 * down at the end. NETWARD_BENCH_STACK_CALLS sets the number of calls (default 20).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { agentFor } from '../src/demo/steps.ts';
import { labDown, labUp } from '../src/lab.ts';
import type { LabOptions } from '../src/layout.ts';
import { baoBinary, ensureBao, ensureKeycloak, keycloakHome } from '../src/stack/downloads.ts';

const CALLS = Number(process.env['NETWARD_BENCH_STACK_CALLS'] ?? 20);

function pct(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

interface Result {
  readonly stack: string;
  readonly upMs: number;
  readonly idpReadyMs: number;
  readonly total: number[];
  readonly exchange: number[];
  readonly sign: number[];
}

async function measure(stack: LabOptions['stack'], n: number): Promise<Result> {
  const options: Partial<LabOptions> = {
    dir: `/var/lib/netward-lab-bench-${stack}`,
    prefix: stack === 'keycloak' ? 'bk-' : 'be-',
    mgmtNet: stack === 'keycloak' ? '10.251.2' : '10.251.1',
    portBase: stack === 'keycloak' ? 9570 : 9560,
    stack,
  };
  await labDown(options.dir as string).catch(() => undefined);
  const t0 = performance.now();
  let idpReadyMs = Number.NaN;
  const layout = await labUp(options, (e) => {
    // Keycloak starts in the background from the network step on: its own start-to-ready time.
    const started = /started in ([\d.]+) s/.exec(e.detail ?? '');
    if (e.step === 'service keycloak' && started) idpReadyMs = Number(started[1]) * 1000;
    if (e.step === 'service idp' && e.state === 'done' && e.ms !== undefined) idpReadyMs = e.ms;
  });
  const upMs = performance.now() - t0;
  try {
    const bob = await agentFor(layout, 'bob');
    // One warm-up call: JIT, JWKS caches, Keycloak's first exchange.
    await bob.call('show_bgp_summary', { device: 'spine-a' });
    const t1 = new Date().toISOString();
    for (let i = 0; i < n; i++) {
      const out = await bob.call('show_bgp_summary', { device: 'spine-a' });
      if (!out.ok) throw new Error(`call ${i} failed on ${stack}: ${out.text.slice(0, 200)}`);
    }
    await bob.close();
    // The MCP server's own per-step timings, from its end-of-call records.
    const ends = readFileSync(join(layout.paths.logs, 'mcp-server.log'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r['event'] === 'tool_call_end' && typeof r['time'] === 'string' && r['time'] > t1)
      .map((r) => ({
        ms: Number(r['duration_ms'] ?? r['ms']),
        timings: r['timings'] as Record<string, number>,
      }))
      .filter((r) => r.timings !== undefined);
    const total = ends.map((e) =>
      Number.isFinite(e.ms) ? e.ms : Object.values(e.timings).reduce((a, b) => a + b, 0),
    );
    return {
      stack,
      upMs,
      idpReadyMs,
      total,
      exchange: ends.map((e) => e.timings['exchange'] ?? Number.NaN),
      sign: ends.map((e) => e.timings['sign'] ?? Number.NaN),
    };
  } finally {
    await labDown(options.dir as string);
    rmSync(options.dir as string, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the stack benchmark needs root (it brings labs up)');
  const d0 = performance.now();
  const cached = existsSync(join(keycloakHome(), '.netward-built')) && existsSync(baoBinary());
  await ensureKeycloak((l) => console.log(`  ${l}`));
  await ensureBao((l) => console.log(`  ${l}`));
  console.log(
    `downloads: ${cached ? 'cached' : `fetched, verified and built in ${((performance.now() - d0) / 1000).toFixed(1)} s`} (not in the bring-up times below)`,
  );
  const results: Result[] = [];
  for (const stack of ['embedded', 'keycloak'] as const) results.push(await measure(stack, CALLS));

  const row = (cells: string[]) =>
    console.log(cells.map((c, i) => (i === 0 ? c.padEnd(34) : c.padStart(16))).join(''));
  const f = (v: number, unit = 'ms') => (Number.isFinite(v) ? `${v.toFixed(1)} ${unit}` : '-');
  const share = (part: number[], total: number[]) => {
    const p = pct(part, 50);
    const t = pct(total, 50);
    return `${f(p)} (${((100 * p) / t).toFixed(0)}%)`;
  };
  console.log(
    `\nstack benchmark: ${CALLS} calls of show_bgp_summary each, per-call mode, load average ${loadavg()[0]?.toFixed(1)}`,
  );
  row(['', ...results.map((r) => r.stack)]);
  row(['lab bring-up (downloads cached)', ...results.map((r) => f(r.upMs / 1000, 's'))]);
  row(['  IdP start to ready (within it)', ...results.map((r) => f(r.idpReadyMs / 1000, 's'))]);
  row(['per call p50', ...results.map((r) => f(pct(r.total, 50)))]);
  row(['per call p90', ...results.map((r) => f(pct(r.total, 90)))]);
  row(['  token exchange p50 (share)', ...results.map((r) => share(r.exchange, r.total))]);
  row(['  certificate signing p50 (share)', ...results.map((r) => share(r.sign, r.total))]);
  const [e, k] = results;
  if (e && k) {
    console.log(
      `keycloak/embedded: bring-up ${(k.upMs / e.upMs).toFixed(2)}×, per call ${(pct(k.total, 50) / pct(e.total, 50)).toFixed(2)}×`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
