import { createHook } from 'node:async_hooks';

/**
 * async_hooks resource types of the work libuv can run on its thread pool: file system calls (callback,
 * promise, FileHandle close), crypto jobs (`SIGNREQUEST` for sign and verify, `RANDOMBYTESREQUEST`,
 * ...), DNS lookups and compression. The synchronous crypto calls create the same resources but never
 * call back, so a job is counted when its callback runs: that is the wake-up of the event loop.
 */
const THREAD_POOL =
  /^(FSREQCALLBACK|FSREQPROMISE|FILEHANDLECLOSEREQ|GETADDRINFOREQWRAP|GETNAMEINFOREQWRAP|ZLIB|[A-Z0-9]+REQUEST)$/;

export interface HandOffs<T> {
  readonly result: T;
  /** Thread-pool jobs started while `run` ran whose completion reached the event loop, by type. */
  readonly byType: Readonly<Record<string, number>>;
  readonly total: number;
}

/**
 * Counts the thread-pool jobs this process starts while `run` runs and that call back to the event
 * loop, up to `settleMs` after it returns (a job still in flight then, such as an audit line written
 * in the background). Anything else running meanwhile in the process is counted too: run it alone.
 */
export async function countHandOffs<T>(run: () => Promise<T>, settleMs = 50): Promise<HandOffs<T>> {
  const byType: Record<string, number> = {};
  const started = new Map<number, string>();
  let total = 0;
  const hook = createHook({
    init(id, type) {
      if (THREAD_POOL.test(type)) started.set(id, type);
    },
    before(id) {
      const type = started.get(id);
      if (type === undefined) return;
      started.delete(id);
      byType[type] = (byType[type] ?? 0) + 1;
      total++;
    },
    destroy(id) {
      started.delete(id);
    },
  });
  hook.enable();
  try {
    const result = await run();
    // A synchronous job never calls back, so waiting for every started one to finish would not end.
    await new Promise((r) => setTimeout(r, settleMs));
    return { result, byType, total };
  } finally {
    hook.disable();
  }
}
