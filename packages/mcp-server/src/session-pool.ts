/**
 * Session mode: one certificate and one SSH connection per (login session, role, device), reused for
 * new exec channels while the certificate has more than `renewBeforeExpiryMs` left. The seed names the
 * trade-off ("cache a short-lived cert for the lifetime of a session"); the benchmark measures it.
 *
 * sshd checks a certificate's validity once, at authentication: a connection opened with it would
 * stay usable after it expires. So the pool closes each connection, and forgets its key, before the
 * certificate's `validBefore` (a timer), and refuses to start an exec past that point even if the
 * timer has not fired yet. Each exec still runs the device's ForceCommand validator.
 *
 * Renewal drains: a connection being replaced is closed only when its last exec has finished (or
 * after `maxDrainMs`, the longest an exec may run). Closing it at once cut commands in flight: under
 * parallel calls at certificate age ~55 s, commands that had run were reported as not run, and an
 * agent retrying a write would have run it twice.
 */
import type { DeviceConnection } from './ssh/connection.ts';

export interface PooledSession {
  readonly connection: DeviceConnection;
  readonly certSerial: string;
  /**
   * The request id the certificate was issued for (its Key ID ends `,req=<id>`). Later calls on the
   * same connection send it as MCP_REQUEST_ID: the device validator refuses an MCP_REQUEST_ID that
   * differs from the certificate's. The MCP audit line maps each call's own request id to it.
   */
  readonly certRequestId: string;
  readonly validBefore: Date;
}

interface Entry {
  readonly session: Promise<PooledSession>;
  timer?: NodeJS.Timeout;
  settled?: PooledSession;
  /** Execs started on this entry's connection and not yet finished. */
  inFlight: number;
  /** Replaced or expiring: no new exec; the connection closes when inFlight reaches 0. */
  draining: boolean;
}

export interface SessionPoolOptions {
  readonly renewBeforeExpiryMs: number;
  /** Longest wait for execs in flight before a drained connection is closed anyway. Default 60 s. */
  readonly maxDrainMs?: number;
  readonly now?: () => number;
}

export interface Acquired {
  readonly session: PooledSession;
  readonly reused: boolean;
  /** Called once when the caller's exec has finished (or was not started): lets a drained connection close. */
  readonly release: () => void;
}

export class SessionPool {
  readonly #entries = new Map<string, Entry>();
  readonly #margin: number;
  readonly #maxDrainMs: number;
  readonly #now: () => number;

  constructor(options: SessionPoolOptions) {
    this.#margin = options.renewBeforeExpiryMs;
    this.#maxDrainMs = options.maxDrainMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  static key(sid: string, role: string, device: string): string {
    return `${sid}\0${role}\0${device}`;
  }

  /** True while `s` may start another exec. */
  usable(s: PooledSession): boolean {
    return s.connection.usable && s.validBefore.getTime() - this.#now() > this.#margin;
  }

  /**
   * The live session for `key`, or a new one from `create`. Concurrent callers share one creation.
   * `reused` says whether the certificate and connection already existed. The caller must call
   * `release` once its exec is over.
   */
  async acquire(key: string, create: () => Promise<PooledSession>): Promise<Acquired> {
    const existing = this.#entries.get(key);
    if (existing) {
      if (existing.settled === undefined) {
        try {
          const s = await existing.session;
          if (this.usable(s) && !existing.draining) return this.#hold(existing, s, true);
        } catch {
          // the creation failed for someone else; try afresh below
        }
      } else if (this.usable(existing.settled) && !existing.draining) {
        return this.#hold(existing, existing.settled, true);
      }
      this.#drop(key, existing);
    }
    const entry: Entry = { session: create(), inFlight: 0, draining: false };
    this.#entries.set(key, entry);
    let s: PooledSession;
    try {
      s = await entry.session;
    } catch (e) {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
      throw e;
    }
    entry.settled = s;
    const closeIn = s.validBefore.getTime() - this.#now() - this.#margin;
    entry.timer = setTimeout(() => this.#drop(key, entry), Math.max(0, closeIn));
    entry.timer.unref();
    return this.#hold(entry, s, false);
  }

  #hold(entry: Entry, session: PooledSession, reused: boolean): Acquired {
    entry.inFlight++;
    let released = false;
    return {
      session,
      reused,
      release: () => {
        if (released) return;
        released = true;
        entry.inFlight--;
        if (entry.draining && entry.inFlight === 0) this.#close(entry);
      },
    };
  }

  /** Takes the entry out of use; its connection closes once the execs in flight are done. */
  #drop(key: string, entry: Entry): void {
    if (entry.timer) clearTimeout(entry.timer);
    if (this.#entries.get(key) === entry) this.#entries.delete(key);
    entry.draining = true;
    if (entry.inFlight === 0) {
      this.#close(entry);
      return;
    }
    const hard = setTimeout(() => this.#close(entry), this.#maxDrainMs);
    hard.unref();
  }

  #close(entry: Entry): void {
    entry.settled?.connection.close();
    entry.session.then((s) => s.connection.close()).catch(() => {});
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Shutdown: closes every connection now, in flight or not. */
  closeAll(): void {
    for (const [key, entry] of this.#entries) {
      this.#drop(key, entry);
      this.#close(entry);
    }
  }
}
