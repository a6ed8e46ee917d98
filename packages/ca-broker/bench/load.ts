// Load generators for the broker's latency benchmark: open loop (requests sent on a fixed schedule,
// whatever the answers do) and closed loop (a fixed number in flight, the next sent when one returns).
// They run in their own process (generator-process.ts), so that what they cost is not the broker's.
//
// Open loop measures each request from the moment it was *scheduled*, not from when it was actually
// written: if the server (or the generator) falls behind, the requests waiting to go out wait in the
// figures too. A closed-loop generator sends nothing while the server is slow, so a stall appears as
// one slow request instead of the hundreds that a constant arrival rate would have queued behind it
// ("coordinated omission"); its percentiles are those of the requests it chose to send.
//
// The client is raw keep-alive TCP connections writing requests built before the run (request line,
// headers and body in one buffer, one write each) and reading just the status line and
// Content-Length of each answer. node:http's client cost ~60 µs of CPU per request here, which on two
// shared cores is CPU taken from the broker under test; this one costs a fraction of that (the
// benchmark prints the generator's CPU per request).
import { connect, type Socket } from 'node:net';

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
  /** Connections the run opened. */
  readonly connections: number;
}

/** The q-quantile (0..1) of sorted values, nearest rank. */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length: *(\d+)/i;

/** One keep-alive connection carrying one request at a time; `done(ok)` once its answer is in. */
class Connection {
  private buffered: Buffer = Buffer.alloc(0);
  private done: ((ok: boolean) => void) | undefined;
  closed = false;
  private readonly socket: Socket;

  constructor(port: number, host: string) {
    this.socket = connect({ port, host, noDelay: true });
    this.socket.on('data', (d: Buffer) => this.onData(d));
    const fail = () => {
      this.closed = true;
      this.finish(false);
    };
    this.socket.on('error', fail);
    this.socket.on('close', fail);
  }

  send(request: Buffer, done: (ok: boolean) => void): void {
    this.done = done;
    this.socket.write(request);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private finish(ok: boolean): void {
    const done = this.done;
    this.done = undefined;
    done?.(ok);
  }

  private onData(d: Buffer): void {
    this.buffered = this.buffered.length === 0 ? d : Buffer.concat([this.buffered, d]);
    const end = this.buffered.indexOf(HEADER_END);
    if (end < 0) return;
    const head = this.buffered.toString('latin1', 0, end);
    const length = CONTENT_LENGTH.exec(head);
    if (length === null) {
      // Every answer of the broker and of the floor carries a length; anything else is a failure.
      this.closed = true;
      this.socket.destroy();
      this.finish(false);
      return;
    }
    const total = end + 4 + Number(length[1]);
    if (this.buffered.length < total) return;
    this.buffered = this.buffered.subarray(total);
    this.finish(head.startsWith('HTTP/1.1 2'));
  }
}

interface Pool {
  /** An idle connection, a new one while fewer than the pool's maximum are open, else undefined. */
  acquire(): Connection | undefined;
  release(c: Connection): void;
  readonly opened: number;
  destroy(): void;
}

/** Open connections are capped (as a client's pool caps them): beyond the cap a request waits for one
 *  to come free, and the wait counts in its latency. Without a cap an overloaded broker is sent ever
 *  more connections, whose set-up costs both sides CPU (thousands were opened in one run). */
export const MAX_CONNECTIONS = 256;

function pool(url: string): Pool {
  const base = new URL(url);
  const idle: Connection[] = [];
  const all: Connection[] = [];
  let open = 0;
  return {
    acquire() {
      for (let c = idle.pop(); c !== undefined; c = idle.pop()) if (!c.closed) return c;
      if (open >= MAX_CONNECTIONS) return undefined;
      const c = new Connection(Number(base.port), base.hostname);
      all.push(c);
      open++;
      return c;
    },
    release(c) {
      if (!c.closed) idle.push(c);
      else open--;
    },
    get opened() {
      return all.length;
    },
    destroy() {
      for (const c of all) c.destroy();
    },
  };
}

function summarise(
  latencies: number[],
  ok: number,
  failed: number,
  wallMs: number,
  lag: number[],
  connections: number,
): LoadResult {
  const sorted = Float64Array.from(latencies).sort();
  const lags = Float64Array.from(lag).sort();
  return {
    latencies: sorted,
    ok,
    failed,
    throughput: (ok + failed) / (wallMs / 1000),
    sendLagP99: lags.length > 0 ? quantile(lags, 0.99) : 0,
    connections,
  };
}

/**
 * `ratePerSecond` requests a second for `durationS` seconds, request i due at start + i / rate. The
 * scheduler wakes every millisecond and sends every request that is due, each on an idle connection
 * or a new one (as a client's connection pool does); latency is answer time minus due time.
 */
export async function openLoop(
  url: string,
  ratePerSecond: number,
  durationS: number,
  requests: readonly Buffer[],
): Promise<LoadResult> {
  const connections = pool(url);
  const total = Math.round(ratePerSecond * durationS);
  const interval = 1000 / ratePerSecond;
  const latencies: number[] = [];
  const lag: number[] = [];
  let ok = 0;
  let failed = 0;
  let sent = 0;
  const start = nowMs() + 5;
  await new Promise<void>((finished) => {
    let answered = 0;
    // Requests due but waiting for a connection, oldest first.
    const waiting: number[] = [];
    const dispatch = (i: number, c: Connection) => {
      const due = start + i * interval;
      lag.push(nowMs() - due);
      c.send(requests[i % requests.length]!, (good) => {
        latencies.push(nowMs() - due);
        if (good) ok++;
        else failed++;
        connections.release(c);
        if (++answered === total) return finished();
        const next = waiting.length > 0 ? connections.acquire() : undefined;
        if (next !== undefined) dispatch(waiting.shift()!, next);
      });
    };
    const tick = () => {
      const now = nowMs();
      for (; sent < total && start + sent * interval <= now; sent++) waiting.push(sent);
      for (let c = waiting.length > 0 ? connections.acquire() : undefined; c !== undefined; ) {
        dispatch(waiting.shift()!, c);
        c = waiting.length > 0 ? connections.acquire() : undefined;
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  const wall = nowMs() - start;
  connections.destroy();
  return summarise(latencies, ok, failed, wall, lag, connections.opened);
}

/** `inFlight` requests always outstanding for `durationS` seconds; latency from each actual send. */
export async function closedLoop(
  url: string,
  inFlight: number,
  durationS: number,
  requests: readonly Buffer[],
): Promise<LoadResult> {
  const connections = pool(url);
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  let n = 0;
  const start = nowMs();
  const end = start + durationS * 1000;
  const worker = async () => {
    while (nowMs() < end) {
      const t = nowMs();
      // Never undefined: the pool's cap is above any in-flight count used here.
      const c = connections.acquire()!;
      const good = await new Promise<boolean>((r) => c.send(requests[n++ % requests.length]!, r));
      connections.release(c);
      latencies.push(nowMs() - t);
      if (good) ok++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const wall = nowMs() - start;
  connections.destroy();
  return summarise(latencies, ok, failed, wall, [], connections.opened);
}

/** A request as bytes on the wire: request line, headers and body, built once before a run. */
export function rawRequest(path: string, headers: Record<string, string>, body: string): Buffer {
  const lines = [`POST ${path} HTTP/1.1`, 'host: 127.0.0.1', `content-length: ${Buffer.byteLength(body)}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/** Requests as one file (each a 32-bit length, then its bytes), for the generator's process. */
export function encodeRequests(requests: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const r of requests) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(r.length);
    parts.push(len, r);
  }
  return Buffer.concat(parts);
}

export function decodeRequests(file: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < file.length; ) {
    const len = file.readUInt32BE(at);
    out.push(file.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out;
}
