/**
 * The replay cache's shared log (replay.ts): one append-only file per minute of expiry
 * (`<minute>.log`), one line per claimed token, `<sha256(jti) hex> <writer id>`. Every process appends
 * with O_APPEND, which Linux makes atomic between processes on a local file system (the whole
 * write(2) under the inode's lock), so all processes read the same order, and the first line of a
 * `jti` is the one claim that counts: a process knows it won a token when, reading the log after its
 * own write, the token's first line carries its own writer id.
 *
 * Claims that arrive while a write is in flight are written together with the next one (group
 * commit): one write(2) and one read(2) for a batch, where a file per token cost an O_EXCL create
 * (~200 µs of CPU per certificate on ext4, most of it the journal). A claim answers `true` only once
 * its line is in the file, so a broker killed afterwards has lost nothing; a line that cannot be
 * written or read back answers ERR_CA_REPLAY_CACHE_UNAVAILABLE (fail closed).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { CaBrokerError } from './errors.ts';

/** `<64 hex> <16 hex>` */
const LINE = /^([0-9a-f]{64}) ([0-9a-f]{16})$/;
const READ_CHUNK = 64 * 1024;

export function replayUnavailable(cause: unknown): CaBrokerError {
  return new CaBrokerError('ERR_CA_REPLAY_CACHE_UNAVAILABLE', 'replay cache unavailable', { cause });
}

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
  file: FileHandle | undefined;
  /** Bytes read and parsed: always just after a newline. */
  offset: number;
  readonly first: Map<string, string>;
}

/** Reads a log from `b.offset` to its end, recording the first writer of each digest. Only whole lines
 *  are taken: another process's write may be seen half-copied, and its rest is read next time. */
async function readNew(file: FileHandle, b: Bucket, buf: Buffer): Promise<void> {
  for (;;) {
    const { bytesRead } = await file.read(buf, 0, buf.length, b.offset);
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

async function openLog(directory: string, bucket: number): Promise<FileHandle> {
  const path = join(directory, `${bucket}.log`);
  const flags = constants.O_RDWR | constants.O_APPEND | constants.O_CREAT;
  try {
    return await open(path, flags, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    // The directory was removed under us: recreate it, as the first start did.
    await mkdir(directory, { recursive: true, mode: 0o700 });
    return await open(path, flags, 0o600);
  }
}

export function logClaims(directory: string): LogClaims {
  // This cache's lines; another process, or another cache in this one, has its own.
  const writer = randomBytes(8).toString('hex');
  const buckets = new Map<number, Bucket>();
  const pendingDigests = new Set<string>();
  let queue: Pending[] = [];
  let writing = false;
  // One batch is committed at a time, so one read buffer serves them all.
  const readBuffer = Buffer.allocUnsafe(READ_CHUNK);

  /** Appends one bucket's claims, reads the log back, and answers each claim from the first lines. */
  async function commit(bucket: number, claims: Pending[]): Promise<void> {
    let b = buckets.get(bucket);
    if (b === undefined) {
      b = { file: undefined, offset: 0, first: new Map() };
      buckets.set(bucket, b);
    }
    try {
      b.file ??= await openLog(directory, bucket);
      await b.file.write(claims.map((c) => `${c.digest} ${writer}\n`).join(''));
      await readNew(b.file, b, readBuffer);
    } catch (err) {
      // Opened again for the next batch: the file may have been closed or replaced meanwhile.
      b.file?.close().catch(() => undefined);
      b.file = undefined;
      for (const c of claims) c.reject(replayUnavailable(err));
      return;
    }
    for (const c of claims) {
      const first = b.first.get(c.digest);
      if (first === undefined)
        c.reject(replayUnavailable(new Error('claim not in the log after writing it')));
      else c.resolve(first === writer);
    }
  }

  /** Commits the queue, then whatever queued up meanwhile, until it is empty (group commit). */
  async function flush(): Promise<void> {
    writing = true;
    try {
      while (queue.length > 0) {
        const batch = queue;
        queue = [];
        const byBucket = new Map<number, Pending[]>();
        for (const c of batch) {
          const list = byBucket.get(c.bucket);
          if (list === undefined) byBucket.set(c.bucket, [c]);
          else list.push(c);
        }
        for (const [bucket, claims] of byBucket) await commit(bucket, claims);
        for (const c of batch) pendingDigests.delete(c.digest);
      }
    } finally {
      writing = false;
    }
  }

  return {
    claim(digest, bucket) {
      // Already in the log, or in a batch on its way there: a replay, without touching the file.
      if (buckets.get(bucket)?.first.has(digest) || pendingDigests.has(digest)) return Promise.resolve(false);
      pendingDigests.add(digest);
      return new Promise((resolve, reject) => {
        queue.push({ digest, bucket, resolve, reject });
        if (!writing) void flush();
      });
    },
    forget(last) {
      for (const [bucket, b] of buckets) {
        if (bucket > last) continue;
        buckets.delete(bucket);
        b.file?.close().catch(() => undefined);
      }
    },
    close() {
      for (const b of buckets.values()) b.file?.close().catch(() => undefined);
      buckets.clear();
    },
  };
}
