// Coverage feedback from V8's block coverage, read through node:inspector in this same process
// (Profiler.startPreciseCoverage with callCount and detailed). No native fuzzing engine is involved:
// see README.md in this folder for why and for what this does not do that libFuzzer would.
import { Session } from 'node:inspector/promises';

interface Range {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface FunctionCoverage {
  functionName: string;
  ranges: Range[];
}
interface ScriptCoverage {
  url: string;
  functions: FunctionCoverage[];
}

/**
 * Collects which blocks of the watched files ran. `take()` returns the number of blocks never seen
 * before (and remembers them); V8 resets its counters on every take, so each take covers only what ran
 * since the previous one.
 */
export class CoverageTracker {
  readonly #session = new Session();
  readonly #seen = new Set<string>();
  readonly #watch: (url: string) => boolean;

  constructor(watch: (url: string) => boolean) {
    this.#watch = watch;
  }

  async start(): Promise<void> {
    this.#session.connect();
    await this.#session.post('Profiler.enable');
    await this.#session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  }

  get blocks(): number {
    return this.#seen.size;
  }

  async take(): Promise<number> {
    const { result } = (await this.#session.post('Profiler.takePreciseCoverage')) as unknown as {
      result: ScriptCoverage[];
    };
    let fresh = 0;
    for (const script of result) {
      if (!this.#watch(script.url)) continue;
      for (const fn of script.functions) {
        for (const r of fn.ranges) {
          if (r.count === 0) continue;
          // A block counts once it has run; how often is not a new behaviour worth keeping an input for,
          // except in buckets (1, 2-3, 4-7, 8+), as libFuzzer does with its counters.
          const bucket = r.count >= 8 ? 8 : r.count >= 4 ? 4 : r.count >= 2 ? 2 : 1;
          const key = `${script.url}:${r.startOffset}:${r.endOffset}:${bucket}`;
          if (!this.#seen.has(key)) {
            this.#seen.add(key);
            fresh++;
          }
        }
      }
    }
    return fresh;
  }

  async stop(): Promise<void> {
    await this.#session.post('Profiler.stopPreciseCoverage');
    this.#session.disconnect();
  }
}
