// A short coverage-guided fuzz run (fuzz/) on the packet decoder and on the server's request handling,
// after replaying the kept corpus: no untyped error, no internal error, no hang. The long runs (a
// million decoder inputs) are done by hand with `pnpm fuzz`; this keeps every corpus entry clean in CI.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoverageTracker } from '../fuzz/coverage.ts';
import { readCorpus } from '../fuzz/run.ts';

const watch = (url: string) => /\/tacacs-plus\/src\//.test(url);
const corpusOf = (t: string) => fileURLToPath(new URL(`../fuzz/corpus/${t}/`, import.meta.url));
let tracker: CoverageTracker;
let targets: typeof import('../fuzz/targets.ts');
let run: typeof import('../fuzz/run.ts');

beforeAll(async () => {
  // Before the code under test is loaded, so that V8 gives it block counters.
  tracker = new CoverageTracker(watch);
  await tracker.start();
  targets = await import('../fuzz/targets.ts');
  run = await import('../fuzz/run.ts');
});
afterAll(async () => {
  await tracker.stop();
});

describe('fuzz: the packet decoder', () => {
  it('replays the kept corpus, then 2000 mutated inputs, with only TacacsErrors', async () => {
    const corpus = readCorpus(corpusOf('decoder'));
    expect(corpus.length).toBeGreaterThan(50);
    const stats = await run.fuzz({
      runs: 2000,
      seed: 20261205,
      corpusDir: corpusOf('decoder'),
      save: false,
      maxLength: 1024,
      batch: 64,
      run: targets.decoderTarget,
      watch,
      tracker,
    });
    expect(stats.findings).toEqual([]);
    expect(stats.runs).toBe(2000);
    expect(stats.blocks).toBeGreaterThan(100);
  }, 120_000);
});

async function serverRun(transport: 'tcp' | 'memory', runs: number) {
  const server = new targets.ServerTarget(transport);
  await server.start();
  try {
    return await run.fuzz({
      runs,
      seed: 20261205,
      corpusDir: corpusOf('server'),
      save: false,
      maxLength: 512,
      batch: transport === 'tcp' ? 16 : 256,
      concurrent: true,
      run: (i) => server.run(i),
      drain: () => server.drain(),
      watch,
      tracker,
    });
  } finally {
    await server.stop();
  }
}

describe("fuzz: the server's request handling", () => {
  it('over a real socket: replays the kept corpus, then 300 mutated inputs, every connection answered or closed', async () => {
    const stats = await serverRun('tcp', 300);
    expect(stats.findings).toEqual([]);
    expect(stats.runs).toBe(300);
    expect(stats.corpus).toBeGreaterThan(10);
  }, 120_000);

  it("in memory (the long runs' transport): the kept corpus, then 2000 mutated inputs, no finding", async () => {
    const stats = await serverRun('memory', 2000);
    expect(stats.findings).toEqual([]);
    expect(stats.runs).toBe(2000);
    // The same connection code as over TCP: the server's own blocks are reached, not only the codec's.
    expect(stats.blocks).toBeGreaterThan(500);
  }, 120_000);
});
