/**
 * What the MCP layer costs per request, by protocol revision: `tools/list` over HTTP with full token
 * verification, from a 2025-11-25 client (v1 SDK, stateless transport) and from a client pinned to
 * 2026-07-28 (v2 SDK, per-request handler), next to a baseline measured in the same run on the same
 * server: an authenticated-free GET of the protected resource metadata (HTTP round trip, fastify,
 * Host check, no MCP). No device is involved.
 *
 *   node --conditions=netward-source --import tsx bench/protocol.bench.ts      (BENCH_REQUESTS=500)
 *
 * Prints; asserts nothing.
 */
import {
  Client as ClientV2,
  StreamableHTTPClientTransport as TransportV2,
} from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startHarness } from '../test/helpers/harness.ts';

const N = Number(process.env['BENCH_REQUESTS'] ?? 300);

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
  return { median: q(0.5), p95: q(0.95) };
}

async function main() {
  const h = await startHarness();
  try {
    await h.app({}, { listen: true });
    const token = await h.idp.mint({ net_role: 'net-operator' });
    const requestInit = { headers: { Authorization: `Bearer ${token}` } };
    const v1 = new ClientV1({ name: 'bench', version: '1' });
    await v1.connect(new TransportV1(new URL(h.publicUrl), { requestInit }));
    const v2 = new ClientV2(
      { name: 'bench', version: '1' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await v2.connect(new TransportV2(new URL(h.publicUrl), { requestInit }));
    const metadata = new URL('/.well-known/oauth-protected-resource/mcp', h.publicUrl);

    const ways: [string, () => Promise<unknown>][] = [
      ['baseline: GET protected resource metadata', async () => (await fetch(metadata)).arrayBuffer()],
      ['tools/list, 2025-11-25 client', () => v1.listTools()],
      ['tools/list, 2026-07-28 client', () => v2.listTools()],
    ];
    const samples = new Map<string, number[]>(ways.map(([name]) => [name, []]));
    // Interleaved rounds, so that load from other work on the shared machine spreads over all three.
    const ROUNDS = 5;
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, fn] of ways) {
        await fn(); // warm-up
        for (let i = 0; i < Math.ceil(N / ROUNDS); i++) {
          const t = performance.now();
          await fn();
          samples.get(name)!.push(performance.now() - t);
        }
      }
    }
    await v1.close();
    await v2.close();
    const base = stats(samples.get(ways[0]![0])!).median;
    console.log(
      `\nnetward MCP layer per request, ${N} requests each, ms (median / p95), ratio = median / baseline`,
    );
    for (const [name, xs] of samples) {
      const s = stats(xs);
      console.log(
        `${name.padEnd(44)} ${s.median.toFixed(2).padStart(7)} ${s.p95.toFixed(2).padStart(7)}   x${(s.median / base).toFixed(2)}`,
      );
    }
  } finally {
    await h.close();
  }
}

await main();
