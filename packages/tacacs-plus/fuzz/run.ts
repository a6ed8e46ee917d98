// The fuzzing loop: pick a corpus entry, mutate it, run it, keep it when V8's block coverage shows
// blocks never run before. Inputs run in batches (coverage is read once per batch, since reading it
// costs far more than one decode); a batch with new coverage is re-run in halves down to the inputs
// that add coverage, and only those join the corpus.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoverageTracker } from './coverage.ts';
import { mutate, prng } from './mutate.ts';
import type { Finding } from './targets.ts';

export interface FuzzOptions {
  /** Inputs to run (not counting the corpus replay). */
  runs: number;
  seed: number;
  /** Folder of the kept corpus: read at start; new entries written there when `save`. */
  corpusDir: string;
  save: boolean;
  maxLength: number;
  batch: number;
  /** Runs one input; `concurrent` inputs of a batch may run at once. */
  run: (input: Buffer) => Promise<Finding | undefined> | Finding | undefined;
  /** Findings reported outside `run` (a server's log), collected after each batch. */
  drain?: () => Finding[];
  concurrent?: boolean;
  /** Which script URLs count for coverage. */
  watch: (url: string) => boolean;
  onProgress?: (s: FuzzStats) => void;
  /** A tracker started before the code under test was loaded (V8 counts blocks of code compiled after). */
  tracker?: CoverageTracker;
}

export interface FuzzStats {
  runs: number;
  seconds: number;
  corpus: number;
  added: number;
  blocks: number;
  findings: { kind: string; detail: string; input: string }[];
  slowestMs: number;
}

export function readCorpus(dir: string): Buffer[] {
  let names: string[] = [];
  try {
    names = readdirSync(dir)
      .filter((n) => n.endsWith('.bin'))
      .sort();
  } catch {}
  return names.map((n) => readFileSync(join(dir, n)));
}

/**
 * A batch showed new coverage: find the inputs that add it by halving, so that a batch of n inputs with
 * one new input costs about 2·log2(n) coverage reads instead of n (a read costs far more than an input:
 * 70% of the decoder run's time went to reading coverage with a read per 64 inputs). The first input
 * that reproduces the news alone is kept, as with one read per input.
 */
async function attribute(
  inputs: Buffer[],
  execute: (inputs: Buffer[]) => Promise<void>,
  tracker: CoverageTracker,
  keep: (input: Buffer) => void,
): Promise<void> {
  if (inputs.length === 1) {
    keep(inputs[0] as Buffer);
    return;
  }
  const half = Math.ceil(inputs.length / 2);
  for (const part of [inputs.slice(0, half), inputs.slice(half)]) {
    await execute(part);
    if ((await tracker.take()) > 0) await attribute(part, execute, tracker, keep);
  }
}

export async function fuzz(o: FuzzOptions): Promise<FuzzStats> {
  const tracker = o.tracker ?? new CoverageTracker(o.watch);
  if (!o.tracker) await tracker.start();
  const corpus = readCorpus(o.corpusDir);
  if (corpus.length === 0) corpus.push(Buffer.alloc(1));
  const rand = prng(o.seed);
  const stats: FuzzStats = {
    runs: 0,
    seconds: 0,
    corpus: corpus.length,
    added: 0,
    blocks: 0,
    findings: [],
    slowestMs: 0,
  };
  const started = process.hrtime.bigint();

  const execute = async (inputs: Buffer[]) => {
    const one = async (input: Buffer) => {
      const t = process.hrtime.bigint();
      const f = await o.run(input);
      const ms = Number(process.hrtime.bigint() - t) / 1e6;
      if (ms > stats.slowestMs) stats.slowestMs = ms;
      if (f) stats.findings.push({ ...f, input: input.toString('hex') });
    };
    if (o.concurrent) await Promise.all(inputs.map(one));
    else for (const i of inputs) await one(i);
    for (const f of o.drain?.() ?? [])
      stats.findings.push({ ...f, input: inputs.map((i) => i.toString('hex')).join(',') });
  };
  const keep = (input: Buffer) => {
    corpus.push(input);
    stats.added++;
    if (o.save) {
      mkdirSync(o.corpusDir, { recursive: true });
      const name = createHash('sha1').update(input).digest('hex').slice(0, 16);
      writeFileSync(join(o.corpusDir, `${name}.bin`), input);
    }
  };

  // The kept corpus first: every entry must still run clean, and it sets the coverage baseline.
  for (let i = 0; i < corpus.length; i += o.batch) await execute(corpus.slice(i, i + o.batch));
  await tracker.take();

  let lastProgress = 0;
  while (stats.runs < o.runs) {
    const n = Math.min(o.batch, o.runs - stats.runs);
    const inputs: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      const a = corpus[rand() % corpus.length] as Buffer;
      const b = corpus[rand() % corpus.length] as Buffer;
      inputs.push(mutate(a, b, rand, o.maxLength));
    }
    await execute(inputs);
    stats.runs += n;
    if ((await tracker.take()) > 0) await attribute(inputs, execute, tracker, keep);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (o.onProgress && seconds - lastProgress >= 30) {
      lastProgress = seconds;
      stats.seconds = seconds;
      stats.blocks = tracker.blocks;
      stats.corpus = corpus.length;
      o.onProgress(stats);
    }
  }
  stats.seconds = Number(process.hrtime.bigint() - started) / 1e9;
  stats.blocks = tracker.blocks;
  stats.corpus = corpus.length;
  if (!o.tracker) await tracker.stop();
  return stats;
}
