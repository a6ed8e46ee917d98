/**
 * The replay cache's shared log (replay.ts): one append-only file per minute of expiry
 * (`<minute>.log`), one line per claimed token, `<sha256(jti) hex> <writer id>`. Every process appends
 * with O_APPEND, which Linux makes atomic between processes on a local file system (the whole
 * write(2) under the inode's lock), so all processes read the same order, and the first line of a
 * `jti` is the one claim that counts: a process knows it won a token when, reading the log after its
 * own write, the token's first line carries its own writer id.
 *
 * Claims are written in batches (group commit): one write(2) and one read(2) for all the claims made
 * during one turn of the event loop, where a file per token cost an O_EXCL create (~200 µs of CPU per
 * certificate on ext4, most of it the journal). Both calls are made synchronously, from a setImmediate
 * callback once the turn's I/O callbacks have run: an append of a few lines and the read of what
 * other brokers appended since take microseconds on a local file system (the only one this layout is
 * used on), less than the wake-up of the event loop that a thread-pool job's completion costs
 * (~57 µs of CPU on the 2-core VM, README: Speed). `io: 'thread-pool'` keeps the former form (each
 * call on the thread pool, a batch being whatever queued during the previous one) for the benchmark's
 * comparison. A claim answers `true` only once its line is in the file, so a broker killed afterwards
 * has lost nothing; a line that cannot be written or read back answers ERR_CA_REPLAY_CACHE_UNAVAILABLE
 * (fail closed).
 */
import { randomBytes } from 'node:crypto';
import {
  close,
  closeSync,
  constants,
  mkdirSync,
  open,
  openSync,
  read,
  readSync,
  write,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CaBrokerError } from './errors.ts';

/** `<64 hex> <16 hex>` */
const LINE = /^([0-9a-f]{64}) ([0-9a-f]{16})$/;
const READ_CHUNK = 64 * 1024;

export function replayUnavailable(cause: unknown): CaBrokerError {
  return new CaBrokerError('ERR_CA_REPLAY_CACHE_UNAVAILABLE', 'replay cache unavailable', { cause });
}

/** Where the log's file calls run: on the event loop (default) or on libuv's thread pool. */
export type LogIo = 'sync' | 'thread-pool';

/** The four file calls a log needs, in either form: the synchronous ones return their result, the
 *  others a promise of it, and the log awaits either. */
interface FileCalls {
  open(path: string): number | Promise<number>;
  /** One write(2): a short write leaves a torn line, which every reader skips. */
  write(fd: number, data: string): unknown;
  read(fd: number, buf: Buffer, position: number): number | Promise<number>;
  close(fd: number): void;
}

const FLAGS = constants.O_RDWR | constants.O_APPEND | constants.O_CREAT;
const ignore = () => undefined;
const SYNC_CALLS: FileCalls = {
  open: (path) => openSync(path, FLAGS, 0o600),
  write: (fd, data) => writeSync(fd, data),
  read: (fd, buf, position) => readSync(fd, buf, 0, buf.length, position),
  close(fd) {
    try {
      closeSync(fd);
    } catch {
      // Already closed or gone: nothing is lost, the next batch opens it again.
    }
  },
};
const openAsync = promisify(open);
const writeAsync = promisify(write);
const readAsync = promisify(read);
const POOL_CALLS: FileCalls = {
  open: (path) => openAsync(path, FLAGS, 0o600),
  write: (fd, data) => writeAsync(fd, data),
  read: async (fd, buf, position) => (await readAsync(fd, buf, 0, buf.length, position)).bytesRead,
  close: (fd) => close(fd, ignore),
};

export interface LogClaims {
  /** `digest`: the `jti`'s SHA-256 in hex; `bucket`: its minute of expiry. */
  claim(digest: string, bucket: number): Promise<boolean>;
  /** Drops what is kept of the logs up to minute `last` (their files are removed by the sweep). */
  forget(last: number): void;
  close(): void;
}

interface Pending {
  readonly digest: string;
  readonly bucket: number;
  resolve(won: boolean): void;
  reject(err: unknown): void;
}

/** One minute's log: its open file, how far it has been read, and the first writer of each digest. */
interface Bucket {
  fd: number | undefined;
  /** Bytes read and parsed: always just after a newline. */
  offset: number;
  readonly first: Map<string, string>;
}

/** Reads a log from `b.offset` to its end, recording the first writer of each digest. Only whole lines
 *  are taken: another process's write may be seen half-copied, and its rest is read next time. */
async function readNew(calls: FileCalls, fd: number, b: Bucket, buf: Buffer): Promise<void> {
  for (;;) {
    const bytesRead = await calls.read(fd, buf, b.offset);
    const last = buf.lastIndexOf(10, bytesRead - 1);
    if (bytesRead === 0 || last < 0) return;
    // A line that is not a record (a write cut short by a full disk, merged with the next one) is
    // skipped: the claims it carried are never found, and their callers are refused.
    for (const line of buf.toString('latin1', 0, last).split('\n')) {
      const m = LINE.exec(line);
      if (m !== null && !b.first.has(m[1]!)) b.first.set(m[1]!, m[2]!);
    }
    b.offset += last + 1;
    if (bytesRead < buf.length) return;
  }
}

async function openLog(calls: FileCalls, directory: string, bucket: number): Promise<number> {
  const path = join(directory, `${bucket}.log`);
  try {
    return await calls.open(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    // The directory was removed under us: recreate it, as the first start did (once, so synchronously).
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    return await calls.open(path);
  }
}

/** What one cache commits with; `closed` once the cache is (its batches are then refused). */
interface LogState {
  readonly calls: FileCalls;
  readonly directory: string;
  /** This cache's lines; another process, or another cache in this one, has its own. */
  readonly writer: string;
  readonly buckets: Map<number, Bucket>;
  /** One batch is committed at a time, so one read buffer serves them all. */
  readonly readBuffer: Buffer;
  closed: boolean;
}

/** Appends one bucket's claims, reads the log back, and answers each claim from the first lines. */
async function commit(log: LogState, bucket: number, claims: Pending[]): Promise<void> {
  const { calls } = log;
  let b = log.buckets.get(bucket);
  if (b === undefined) {
    b = { fd: undefined, offset: 0, first: new Map() };
    log.buckets.set(bucket, b);
  }
  try {
    if (log.closed) throw new Error('replay cache closed');
    b.fd ??= await openLog(calls, log.directory, bucket);
    await calls.write(b.fd, claims.map((c) => `${c.digest} ${log.writer}\n`).join(''));
    await readNew(calls, b.fd, b, log.readBuffer);
  } catch (err) {
    // Opened again for the next batch: the file may have been closed or replaced meanwhile.
    if (b.fd !== undefined) calls.close(b.fd);
    b.fd = undefined;
    for (const c of claims) c.reject(replayUnavailable(err));
    return;
  }
  for (const c of claims) {
    const first = b.first.get(c.digest);
    if (first === undefined) c.reject(replayUnavailable(new Error('claim not in the log after writing it')));
    else c.resolve(first === log.writer);
  }
}

function byBucket(batch: readonly Pending[]): Map<number, Pending[]> {
  const out = new Map<number, Pending[]>();
  for (const c of batch) {
    const list = out.get(c.bucket);
    if (list === undefined) out.set(c.bucket, [c]);
    else list.push(c);
  }
  return out;
}

export function logClaims(directory: string, io: LogIo = 'sync'): LogClaims {
  const calls = io === 'sync' ? SYNC_CALLS : POOL_CALLS;
  const buckets = new Map<number, Bucket>();
  const state: LogState = {
    calls,
    directory,
    writer: randomBytes(8).toString('hex'),
    buckets,
    readBuffer: Buffer.allocUnsafe(READ_CHUNK),
    closed: false,
  };
  const pendingDigests = new Set<string>();
  let queue: Pending[] = [];
  // A flush is scheduled (setImmediate) or running: a new claim joins the queue it will commit.
  let writing = false;
  // Descriptors dropped while a batch may be using them are closed once it is done: closed under a
  // call in flight, a descriptor could be reused by another open before the call lands.
  let dropped: number[] = [];
  const drop = (fd: number | undefined) => {
    if (fd === undefined) return;
    if (writing) dropped.push(fd);
    else calls.close(fd);
  };

  /** Commits the queue, then whatever queued up meanwhile, until it is empty (group commit). */
  async function flush(): Promise<void> {
    try {
      while (queue.length > 0) {
        const batch = queue;
        queue = [];
        for (const [bucket, claims] of byBucket(batch)) await commit(state, bucket, claims);
        for (const c of batch) pendingDigests.delete(c.digest);
      }
    } finally {
      writing = false;
      for (const fd of dropped) calls.close(fd);
      dropped = [];
    }
  }

  return {
    claim(digest, bucket) {
      // Already in the log, or in a batch on its way there: a replay, without touching the file.
      if (buckets.get(bucket)?.first.has(digest) || pendingDigests.has(digest)) return Promise.resolve(false);
      pendingDigests.add(digest);
      return new Promise((resolve, reject) => {
        queue.push({ digest, bucket, resolve, reject });
        if (writing) return;
        writing = true;
        // Synchronous calls batch the claims of one turn of the loop; the thread-pool form starts at
        // once and batches what arrives while its calls are in flight.
        if (io === 'sync') setImmediate(() => void flush());
        else void flush();
      });
    },
    forget(last) {
      for (const [bucket, b] of buckets) {
        if (bucket > last) continue;
        buckets.delete(bucket);
        drop(b.fd);
      }
    },
    close() {
      state.closed = true;
      for (const b of buckets.values()) drop(b.fd);
      buckets.clear();
    },
  };
}
