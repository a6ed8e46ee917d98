// pnpm fuzz -- --target decoder|server [--runs N] [--seed S] [--save] [--transport memory|tcp]
// Prints progress and a closing JSON summary; exits 1 on any finding (the inputs are in the summary).
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CoverageTracker } from './coverage.ts';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'decoder' },
    runs: { type: 'string', default: '100000' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    save: { type: 'boolean', default: false },
    // The server target's transport: in memory (default, the same connection code without the kernel's
    // sockets) or over real loopback TCP connections.
    transport: { type: 'string', default: 'memory' },
  },
});
const target = values.target;
if (target !== 'decoder' && target !== 'server') throw new TypeError('--target decoder|server');
const watch = (url: string) => /\/tacacs-plus\/src\//.test(url);
// Started before the code under test is loaded, so that V8 gives its functions block counters.
const tracker = new CoverageTracker(watch);
await tracker.start();
const { decoderTarget, ServerTarget } = await import('./targets.ts');
const { fuzz } = await import('./run.ts');

const transport = values.transport;
if (transport !== 'memory' && transport !== 'tcp') throw new TypeError('--transport memory|tcp');
const server = target === 'server' ? new ServerTarget(transport) : undefined;
await server?.start();
const seed = Number(values.seed);
const stats = await fuzz({
  runs: Number(values.runs),
  seed,
  corpusDir: fileURLToPath(new URL(`./corpus/${target}/`, import.meta.url)),
  save: values.save,
  maxLength: target === 'server' ? 512 : 1024,
  batch: target === 'server' ? 256 : 1024,
  concurrent: target === 'server',
  run: server ? (i) => server.run(i) : decoderTarget,
  ...(server ? { drain: () => server.drain() } : {}),
  watch,
  tracker,
  onProgress: (s) =>
    process.stderr.write(
      `${s.runs} runs, ${(s.runs / s.seconds).toFixed(0)}/s, corpus ${s.corpus}, blocks ${s.blocks}, findings ${s.findings.length}\n`,
    ),
});
await server?.stop();
process.stdout.write(
  `${JSON.stringify({ target, ...(server ? { transport } : {}), seed, ...stats, findings: stats.findings.slice(0, 5), findingCount: stats.findings.length })}\n`,
);
process.exit(stats.findings.length === 0 ? 0 : 1);
