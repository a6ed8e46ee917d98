// The load generator in its own process (bench/load.ts), driven over the IPC channel by
// latency.bench.ts: each message names a run and the file of requests built for it; the answer is the
// run's result and the CPU this process spent on it, so the figures show what sending cost and the
// broker's own CPU is measured without it.
import { readFileSync } from 'node:fs';
import { closedLoop, decodeRequests, openLoop } from './load.ts';

export interface GeneratorRun {
  readonly mode: 'open' | 'closed';
  readonly url: string;
  /** Requests per second (open) or requests in flight (closed). */
  readonly load: number;
  readonly durationS: number;
  readonly requestsFile: string;
}

process.on('message', (run: GeneratorRun) => {
  const requests = decodeRequests(readFileSync(run.requestsFile));
  const cpu0 = process.cpuUsage();
  const result =
    run.mode === 'open'
      ? openLoop(run.url, run.load, run.durationS, requests)
      : closedLoop(run.url, run.load, run.durationS, requests);
  void result.then((r) => {
    const cpu = process.cpuUsage(cpu0);
    process.send?.({
      ...r,
      latencies: Array.from(r.latencies),
      cpuUsPerRequest: (cpu.user + cpu.system) / Math.max(1, r.ok + r.failed),
    });
  });
});
