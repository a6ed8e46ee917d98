/**
 * One exchanged token, one certificate. The MCP server exchanges the caller's token for a fresh broker
 * token on every tool call, so a second certificate for the same token is a replay: someone holding a
 * copy of it (a log, a proxy, a second process) asking again. The cache remembers every token's `jti`
 * (RFC 7519 section 4.1.7) until the token has expired, and no longer: an expired token is refused by
 * the verifier anyway, so the cache is bounded by the tokens' lifetimes, not by a count.
 *
 * Several broker processes behind one load balancer must share it, so the shared form is a directory,
 * in one of two layouts, both keyed by minute of expiry so that forgetting expired tokens is removing
 * whole entries of the directory, never a scan of live ones:
 * - on a local file system, an append-only log per minute, written in batches (replay-log.ts): the
 *   kernel orders concurrent appends, and the first line of a token wins;
 * - on any other (NFS, CIFS, FUSE: the chart's ReadWriteMany volumes), where appends from two machines
 *   are not atomic, one file per token created with O_CREAT | O_EXCL, which NFSv3 and later make
 *   atomic across clients: exactly one process wins a token, with no lock and no daemon.
 * Every broker on one directory sees the same file system, so all of them choose the same layout.
 */
import { createHash } from 'node:crypto';
import { constants, mkdirSync, readdirSync, statfsSync, statSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrokerConfig } from './config.ts';
import { CaBrokerError } from './errors.ts';
import { type LogIo, logClaims, replayUnavailable as unavailable } from './replay-log.ts';

export interface ReplayCache {
  /**
   * Records a token. `true` the first time its `jti` is seen, `false` every later time until
   * `expiresAt` (seconds since the epoch) plus the grace period has passed. Throws
   * ERR_CA_REPLAY_CACHE_UNAVAILABLE when it cannot tell (the caller refuses: fail closed).
   */
  claim(jti: string, expiresAt: number): Promise<boolean>;
  /** Forgets tokens whose expiry and grace period have passed (also run by a timer every minute). */
  sweep(): Promise<void>;
  close(): void;
}

export interface ReplayCacheOptions {
  /** Seconds an entry is kept after `exp`: at least the verifier's clock tolerance. */
  readonly graceSeconds: number;
  readonly now?: () => number;
  /** Sweep period, ms. Default 60,000. */
  readonly sweepIntervalMs?: number;
  /** Default: `log` on a local file system, else `files` (tests choose). */
  readonly layout?: 'log' | 'files';
  /** The log's file calls: on the event loop (default) or on the thread pool (replay-log.ts). The
   *  one-file-per-token layout always uses the thread pool: its file system may be remote. */
  readonly io?: LogIo;
}

const BUCKET_SECONDS = 60;
/** A minute's log (`<minute>.log`) or directory of token files (`<minute>`). */
const BUCKET_NAME = /^(\d{1,12})(\.log)?$/;

// statfs(2) f_type of the local file systems whose O_APPEND writes are atomic between processes:
// ext2/3/4, xfs, btrfs, tmpfs, overlayfs (a container's own layer), zfs, f2fs.
const LOCAL_FILE_SYSTEMS = new Set([
  0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x794c7630, 0x2fc12fc1, 0xf2f52010,
]);

/** The file name of a `jti`: a digest, so any string the IdP chose is a safe fixed-length name. */
function entryName(jti: string): string {
  return createHash('sha256').update(jti, 'utf8').digest('hex');
}

/** The one-file-per-token layout. */
function fileClaims(directory: string): (digest: string, bucket: number) => Promise<boolean> {
  const flags = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY;
  // The file system calls run on libuv's thread pool: the event loop, which bounds the broker's
  // throughput, only dispatches them (measured on the 2-core machine: an O_EXCL create and close
  // cost more than an Ed25519 signature when done synchronously).
  return async (digest, bucket) => {
    const dir = join(directory, String(bucket));
    const file = join(dir, digest);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(file, flags, 0o600);
        // Nothing is written: the name is the record. The close need not delay the certificate.
        handle.close().catch(() => undefined);
        return true;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') return false;
        if (code !== 'ENOENT' || attempt > 0) throw unavailable(err);
        try {
          await mkdir(dir, { recursive: true, mode: 0o700 });
        } catch (mkdirErr) {
          throw unavailable(mkdirErr);
        }
      }
    }
    throw unavailable(new Error('unreachable'));
  };
}

/**
 * The shared cache in `directory` (created 0700 if absent). A directory that group or others may write
 * is refused at startup: whoever can delete an entry can replay that token.
 */
export function createDirectoryReplayCache(directory: string, options: ReplayCacheOptions): ReplayCache {
  const now = options.now ?? Date.now;
  try {
    mkdirSync(directory, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new CaBrokerError('ERR_CA_CONFIG', `${directory}: cannot create the replay cache directory`, {
      cause: err,
    });
  }
  const st = statSync(directory);
  if (!st.isDirectory() || (st.mode & 0o022) !== 0) {
    throw new CaBrokerError(
      'ERR_CA_KEY_PERMISSIONS',
      `${directory}: replay cache directory is not a directory only its owner may write`,
    );
  }
  const layout = options.layout ?? (LOCAL_FILE_SYSTEMS.has(statfsSync(directory).type) ? 'log' : 'files');
  const log = layout === 'log' ? logClaims(directory, options.io) : undefined;
  const files = layout === 'files' ? fileClaims(directory) : undefined;

  async function claim(jti: string, expiresAt: number): Promise<boolean> {
    const bucket = Math.floor(expiresAt / BUCKET_SECONDS);
    return log ? log.claim(entryName(jti), bucket) : files!(entryName(jti), bucket);
  }

  async function sweep(): Promise<void> {
    // A minute's entry holds tokens expiring before its end; once that end plus the grace period has
    // passed, no token in it can verify any more, in this process or another.
    const last = Math.floor((now() / 1000 - options.graceSeconds) / BUCKET_SECONDS) - 1;
    log?.forget(last);
    let names: string[];
    try {
      names = readdirSync(directory);
    } catch {
      return;
    }
    for (const name of names) {
      const m = BUCKET_NAME.exec(name);
      if (m === null || Number(m[1]) > last) continue;
      // Another broker may be removing the same entry: force ignores entries already gone.
      await rm(join(directory, name), { recursive: true, force: true }).catch(() => undefined);
    }
  }

  const cache = withTimer({ claim, sweep }, options.sweepIntervalMs);
  return {
    ...cache,
    close() {
      cache.close();
      log?.close();
    },
  };
}

/**
 * A cache inside this process: correct for one broker only. Used when no directory is configured
 * (the startup warning says so).
 */
export function createMemoryReplayCache(options: ReplayCacheOptions): ReplayCache {
  const now = options.now ?? Date.now;
  const seen = new Map<string, number>();
  return withTimer(
    {
      async claim(jti, expiresAt) {
        if (seen.has(jti)) return false;
        seen.set(jti, expiresAt);
        return true;
      },
      async sweep() {
        const limit = now() / 1000 - options.graceSeconds;
        for (const [jti, exp] of seen) if (exp < limit) seen.delete(jti);
      },
    },
    options.sweepIntervalMs,
  );
}

function withTimer(
  cache: Pick<ReplayCache, 'claim' | 'sweep'>,
  intervalMs = BUCKET_SECONDS * 1000,
): ReplayCache {
  const timer = setInterval(() => void cache.sweep(), intervalMs);
  timer.unref();
  return { ...cache, close: () => clearInterval(timer) };
}

/** The replay cache `config` asks for: its directory, `<stateDir>/replay`, or this process's memory. */
export function createReplayCache(config: BrokerConfig, now?: () => number, io?: LogIo): ReplayCache {
  // Kept a minute beyond the verifier's tolerance: brokers sharing the directory may disagree on the
  // time by a few seconds, and one must not forget a token another would still accept.
  const options = {
    graceSeconds: config.token.clockToleranceSeconds + 60,
    ...(now ? { now } : {}),
    ...(io ? { io } : {}),
  };
  const directory = replayDirectory(config);
  return directory === undefined
    ? createMemoryReplayCache(options)
    : createDirectoryReplayCache(directory, options);
}

export function replayDirectory(config: BrokerConfig): string | undefined {
  if (config.replay.directory !== undefined) return config.replay.directory;
  if (config.backend.type === 'local' && config.backend.stateDir !== undefined) {
    return join(config.backend.stateDir, 'replay');
  }
  return undefined;
}
