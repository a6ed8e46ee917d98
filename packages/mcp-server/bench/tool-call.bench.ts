/**
 * Latency of one MCP tool call, by step, in per-call and session mode, next to a plain SSH exec of the
 * same command to the same sshd with a static credential, all measured in this run.
 *
 *   pnpm --filter @netward/mcp-server bench          (needs root and /usr/sbin/sshd)
 *   BENCH_CALLS=50 pnpm --filter @netward/mcp-server bench
 *
 * The device is a real OpenSSH sshd on 127.0.0.1 with a shell-script ForceCommand; the IdP is the test
 * IdP (JWKS + RFC 8693 exchange over HTTP); the broker is the real @netward/ca-broker service (local
 * backend) over HTTP. So "exchange" and "sign" each include an HTTP round trip and a JWT verification.
 * Prints; asserts nothing.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { connectDevice } from '../src/ssh/connection.ts';
import { generateEphemeralKey, parseKeyLine } from '../src/ssh/keys.ts';
import { startHarness } from '../test/helpers/harness.ts';
import { startRealBroker } from '../test/helpers/real-broker.ts';

const N = Number(process.env['BENCH_CALLS'] ?? 30);
const COMMAND = "vtysh -c 'show bgp summary'";

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
  return { median: q(0.5), p95: q(0.95), min: s[0] ?? Number.NaN };
}

const fmt = (n: number) => n.toFixed(1).padStart(7);

async function main() {
  const h = await startHarness();
  const broker = await startRealBroker(h.idp, h.sshd.userCaKey);
  try {
    const env = {
      MCP_USER: 'bob',
      MCP_SID: 'fd9e4bdc77df2fa8',
      MCP_REQUEST_ID: 'benchbenchbenchbench1',
      MCP_TOOL: 'show_bgp_summary',
    };
    const execOptions = { env, timeoutMs: 10_000, maxOutputBytes: 65_536 };
    const hostKeyPolicy = {
      kind: 'ca' as const,
      caBlobs: [parseKeyLine(h.sshd.hostCaPub, 'ERR_MCP_CONFIG').blob],
    };
    // The static credential: one key, one long-lived certificate, made once (this sshd accepts
    // certificates only, so a "static key" is a key with a certificate that never changes).
    const staticKey = generateEphemeralKey();
    const staticCert = h.sshd.signUserKey(staticKey.publicKeyLine, {
      principal: 'net-viewer',
      keyId: 'sid=fd9e4bdc77df2fa8,user=bob',
      validity: '-5m:+1h',
    });
    const connectStatic = () =>
      connectDevice({
        host: '127.0.0.1',
        port: h.sshd.port,
        username: 'net-viewer',
        hostNames: ['device-1'],
        hostKeyPolicy,
        key: staticKey,
        certificate: staticCert,
        connectTimeoutMs: 10_000,
      });

    // The four ways are measured in interleaved rounds, so that load from other processes on this
    // shared machine spreads over all of them rather than skewing one.
    const ROUNDS = 3;
    const perRound = Math.ceil(N / ROUNDS);
    const baselineConnect: number[] = [];
    const baselineReuse: number[] = [];
    const results: Record<string, { total: number[]; steps: Record<string, number[]> }> = {
      'per-call': { total: [], steps: {} },
      session: { total: [], steps: {} },
    };
    for (let round = 0; round < ROUNDS; round++) {
      // A. static credential, new connection per command (one warm-up).
      for (let i = 0; i <= perRound; i++) {
        const t = performance.now();
        const conn = await connectStatic();
        await conn.exec(COMMAND, execOptions);
        conn.close();
        if (i > 0) baselineConnect.push(performance.now() - t);
      }
      // B. static credential, one connection, a channel per command.
      {
        const conn = await connectStatic();
        for (let i = 0; i <= perRound; i++) {
          const t = performance.now();
          await conn.exec(COMMAND, execOptions);
          if (i > 0) baselineReuse.push(performance.now() - t);
        }
        conn.close();
      }
      for (const mode of ['per-call', 'session'] as const) {
        const { logs } = await h.app(
          {
            broker: { url: broker.url },
            ...(mode === 'session' ? { sessionMode: true, limits: { renewBeforeExpiryMs: 5000 } } : {}),
          },
          { listen: true, broker: null },
        );
        const client = new Client({ name: 'bench', version: '1' });
        await client.connect(
          new StreamableHTTPClientTransport(new URL(h.publicUrl), {
            requestInit: {
              headers: { Authorization: `Bearer ${await h.idp.mint({ net_role: 'net-viewer' })}` },
            },
          }),
        );
        const r = results[mode]!;
        for (let i = 0; i <= perRound; i++) {
          const t = performance.now();
          const res = await client.callTool({ name: 'show_bgp_summary', arguments: { device: 'device-1' } });
          if (res.isError) throw new Error(`tool call failed: ${JSON.stringify(res.content)}`);
          if (i > 0) r.total.push(performance.now() - t);
        }
        await client.close();
        for (const end of logs.events('tool_call_end').slice(1)) {
          const timings = end['timings'] as Record<string, number>;
          const add = (k: string, v: number) => {
            r.steps[k] = [...(r.steps[k] ?? []), v];
          };
          for (const [k, v] of Object.entries(timings)) add(k, v);
          add('server total', end['duration_ms'] as number);
        }
      }
    }

    const base = stats(baselineConnect).median;
    console.log(
      `\nnetward MCP tool call latency, ${ROUNDS * perRound} calls each, ms (median / p95 / min), ratio = median / baseline A`,
    );
    console.log(`command: ${COMMAND} on a real OpenSSH sshd, shell-script ForceCommand\n`);
    const row = (name: string, xs: number[]) => {
      const s = stats(xs);
      console.log(
        `${name.padEnd(52)} ${fmt(s.median)} ${fmt(s.p95)} ${fmt(s.min)}   x${(s.median / base).toFixed(2)}`,
      );
    };
    row('A. static credential, new SSH connection per exec', baselineConnect);
    row('B. static credential, one connection, exec channel', baselineReuse);
    for (const [mode, r] of Object.entries(results)) {
      row(`MCP ${mode}: client-observed tools/call`, r.total);
      for (const [step, xs] of Object.entries(r.steps)) {
        if (step === 'reused') {
          console.log(
            `${`   reused connections`.padEnd(52)} ${xs.filter((x) => x === 1).length}/${xs.length}`,
          );
          continue;
        }
        const s = stats(xs);
        console.log(
          `${`   step ${step} (${xs.length} samples)`.padEnd(52)} ${fmt(s.median)} ${fmt(s.p95)} ${fmt(s.min)}`,
        );
      }
    }

    // Throughput: AGENTS agents (distinct login sessions) calling at once, CALLS_EACH calls each.
    const AGENTS = 10;
    const CALLS_EACH = 5;
    const throughput: [string, number][] = [];
    {
      const t = performance.now();
      await Promise.all(
        Array.from({ length: AGENTS }, async () => {
          for (let i = 0; i < CALLS_EACH; i++) {
            const conn = await connectStatic();
            await conn.exec(COMMAND, execOptions);
            conn.close();
          }
        }),
      );
      throughput.push([
        'A. static credential, new connection per exec',
        (AGENTS * CALLS_EACH) / ((performance.now() - t) / 1000),
      ]);
    }
    for (const mode of ['per-call', 'session'] as const) {
      await h.app(
        {
          broker: { url: broker.url },
          ...(mode === 'session' ? { sessionMode: true, limits: { renewBeforeExpiryMs: 5000 } } : {}),
        },
        { listen: true, broker: null },
      );
      const clients = await Promise.all(
        Array.from({ length: AGENTS }, async (_, a) => {
          const client = new Client({ name: `bench-${a}`, version: '1' });
          const token = await h.idp.mint({ net_role: 'net-viewer', sid: `bench-agent-${a}` });
          await client.connect(
            new StreamableHTTPClientTransport(new URL(h.publicUrl), {
              requestInit: { headers: { Authorization: `Bearer ${token}` } },
            }),
          );
          return client;
        }),
      );
      const t = performance.now();
      let failed = 0;
      await Promise.all(
        clients.map(async (client) => {
          for (let i = 0; i < CALLS_EACH; i++) {
            const r = await client.callTool({ name: 'show_bgp_summary', arguments: { device: 'device-1' } });
            if (r.isError) failed += 1;
          }
        }),
      );
      const rate = (AGENTS * CALLS_EACH) / ((performance.now() - t) / 1000);
      throughput.push([`MCP ${mode}${failed ? ` (${failed} failed)` : ''}`, rate]);
      await Promise.all(clients.map((c) => c.close()));
    }
    console.log(`\nthroughput, ${AGENTS} agents at once x ${CALLS_EACH} calls (calls/s, ratio to A)`);
    const a = throughput[0]![1];
    for (const [name, rate] of throughput) {
      console.log(`${name.padEnd(52)} ${rate.toFixed(1).padStart(7)}   x${(rate / a).toFixed(2)}`);
    }
  } finally {
    await broker.close();
    await h.close();
  }
}

await main();
