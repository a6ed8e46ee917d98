/**
 * The official MCP conformance suite (`@modelcontextprotocol/conformance`) against this server, every
 * scenario that applies to a tools-only server (README, "Conformance"). The suite has no way to send a
 * token, so a small proxy in front of the server adds `Authorization: Bearer` to each request. The
 * proxy maps only its own Host and Origin to the server's: the suite's DNS-rebinding scenario sends
 * foreign ones, and those must reach the server unchanged to be refused there.
 *
 * The suite needs Node 22 or newer (it imports `fs.globSync`); on an older node this test fails with
 * that reason instead of passing silently.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './helpers/harness.ts';

/** Scenarios for a tools-only, stateless server; the README lists the others and why they do not apply. */
export const APPLICABLE_SCENARIOS = ['server-initialize', 'ping', 'tools-list', 'dns-rebinding-protection'];

const cli = join(
  dirname(createRequire(import.meta.url).resolve('@modelcontextprotocol/conformance/package.json')),
  'dist',
  'index.js',
);

let h: Harness;
let proxy: Server;
let proxyUrl: string;
let outDir: string;

beforeAll(async () => {
  h = await startHarness();
  await h.app({}, { listen: true });
  const token = await h.idp.mint({ net_role: 'net-viewer' });
  const target = new URL(h.publicUrl);
  proxy = createServer((req, res) => {
    const headers = { ...req.headers, authorization: `Bearer ${token}` };
    const own = `127.0.0.1:${(proxy.address() as { port: number }).port}`;
    if (headers.host === own) headers.host = target.host;
    if (headers.origin === `http://${own}`) headers.origin = target.origin;
    const upstream = request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}${target.pathname}`;
  outDir = mkdtempSync(join(tmpdir(), 'netward-conformance-'));
}, 30_000);

afterAll(async () => {
  await new Promise((resolve) => proxy?.close(resolve));
  await h?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

interface Check {
  id: string;
  status: string;
  errorMessage?: string;
}

function runScenario(scenario: string): Promise<{ code: number | null; output: string; checks: Check[] }> {
  const dir = join(outDir, scenario);
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [cli, 'server', '--url', proxyUrl, '--scenario', scenario, '-o', dir],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const checks: Check[] = [];
      const walk = (d: string) => {
        for (const e of readdirSync(d, { withFileTypes: true })) {
          if (e.isDirectory()) walk(join(d, e.name));
          else if (e.name === 'checks.json')
            checks.push(...(JSON.parse(readFileSync(join(d, e.name), 'utf8')) as Check[]));
        }
      };
      try {
        walk(dir);
      } catch {
        // no results written: the exit code and output say why
      }
      resolve({ code, output, checks });
    });
  });
}

describe('MCP conformance suite (through an Authorization-adding proxy)', () => {
  it('runs on this node (the suite needs Node 22 or newer)', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(22);
  });

  for (const scenario of APPLICABLE_SCENARIOS) {
    it(scenario, async () => {
      const { code, output, checks } = await runScenario(scenario);
      const failed = checks.filter((c) => c.status === 'FAILURE' || c.status === 'WARNING');
      expect(failed, output).toEqual([]);
      expect(checks.filter((c) => c.status === 'SUCCESS').length, output).toBeGreaterThan(0);
      expect(code, output).toBe(0);
    }, 60_000);
  }
});
