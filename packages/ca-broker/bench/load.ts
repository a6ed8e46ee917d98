// Load generators for the broker's latency benchmark: open loop (requests sent on a fixed schedule,
// whatever the answers do) and closed loop (a fixed number in flight, the next sent when one returns).
//
// Open loop measures each request from the moment it was *scheduled*, not from when it was actually
// written: if the server (or the generator) falls behind, the requests waiting to go out wait in the
// figures too. A closed-loop generator sends nothing while the server is slow, so a stall appears as
// one slow request instead of the hundreds that a constant arrival rate would have queued behind it
// ("coordinated omission"); its percentiles are those of the requests it chose to send.
import { Agent, request } from 'node:http';

export interface RequestSpec {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface LoadResult {
  /** Latency of each completed request, ms, sorted ascending. */
  readonly latencies: Float64Array;
  readonly ok: number;
  /** Non-2xx answers and transport errors. */
  readonly failed: number;
  /** Completed requests per second over the run's wall time. */
  readonly throughput: number;
  /** Open loop only: how late the generator itself wrote requests, ms (p99). */
  readonly sendLagP99: number;
}

/** The q-quantile (0..1) of sorted values, nearest rank. */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

function send(base: URL, agent: Agent, spec: RequestSpec): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: base.hostname,
        port: base.port,
        method: 'POST',
        path: spec.path,
        agent,
        headers: { ...spec.headers, 'content-length': Buffer.byteLength(spec.body) },
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode !== undefined && res.statusCode < 300));
        res.once('error', () => resolve(false));
      },
    );
    req.once('error', () => resolve(false));
    req.end(spec.body);
  });
}

function summarise(
  latencies: number[],
  ok: number,
  failed: number,
  wallMs: number,
  lag: number[],
): LoadResult {
  const sorted = Float64Array.from(latencies).sort();
  const lags = Float64Array.from(lag).sort();
  return {
    latencies: sorted,
    ok,
    failed,
    throughput: (ok + failed) / (wallMs / 1000),
    sendLagP99: lags.length > 0 ? quantile(lags, 0.99) : 0,
  };
}

/**
 * `ratePerSecond` requests a second for `durationS` seconds, request i due at start + i / rate. The
 * scheduler wakes every millisecond and sends every request that is due; latency is answer time minus
 * due time. Sockets are kept alive and opened as needed (up to `maxSockets`): a request finding none
 * free waits in the agent's queue, and that wait counts.
 */
export async function openLoop(
  url: string,
  ratePerSecond: number,
  durationS: number,
  next: (i: number) => RequestSpec,
  maxSockets = 512,
): Promise<LoadResult> {
  const base = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets });
  const total = Math.round(ratePerSecond * durationS);
  const interval = 1000 / ratePerSecond;
  const latencies: number[] = [];
  const lag: number[] = [];
  let ok = 0;
  let failed = 0;
  let sent = 0;
  const start = nowMs() + 5;
  const pending: Promise<void>[] = [];
  await new Promise<void>((done) => {
    const tick = () => {
      const now = nowMs();
      for (; sent < total && start + sent * interval <= now; sent++) {
        const due = start + sent * interval;
        lag.push(now - due);
        const spec = next(sent);
        pending.push(
          send(base, agent, spec).then((good) => {
            latencies.push(nowMs() - due);
            if (good) ok++;
            else failed++;
          }),
        );
      }
      if (sent < total) setTimeout(tick, 1);
      else done();
    };
    tick();
  });
  await Promise.all(pending);
  const wall = nowMs() - start;
  agent.destroy();
  return summarise(latencies, ok, failed, wall, lag);
}

/** `inFlight` requests always outstanding for `durationS` seconds; latency from each actual send. */
export async function closedLoop(
  url: string,
  inFlight: number,
  durationS: number,
  next: (i: number) => RequestSpec,
): Promise<LoadResult> {
  const base = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: inFlight });
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  let n = 0;
  const start = nowMs();
  const end = start + durationS * 1000;
  const worker = async () => {
    while (nowMs() < end) {
      const t = nowMs();
      const good = await send(base, agent, next(n++));
      latencies.push(nowMs() - t);
      if (good) ok++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const wall = nowMs() - start;
  agent.destroy();
  return summarise(latencies, ok, failed, wall, []);
}
