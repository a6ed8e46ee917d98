// A certificate is issued without handing work to libuv's thread pool (token verification, signature,
// replay log, audit line all on the event loop), and its audit line is in the audit file when the
// answer arrives: shown with the thread pool wedged, where nothing queued there could have run.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, createWriteStream, open, openSync, readFileSync, stat } from 'node:fs';
import { join } from 'node:path';
import type { CreateLoggerOptions } from '@netward/audit-context';
import { defaultPolicy } from '@netward/policy';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { auditDestination } from '../src/audit-destination.ts';
import { createLocalBackend } from '../src/signers/local.ts';
import { brokerConfig, claims, signRequest } from '../src/testing/broker.ts';
import { countHandOffs } from '../src/testing/hand-offs.ts';
import { startIdp, type TestIdp } from '../src/testing/idp.ts';
import { tempDir } from './helpers/openssh.ts';

let idp: TestIdp;
const dir = tempDir('ca-broker-hand-offs');
beforeAll(async () => {
  idp = await startIdp();
});
afterAll(async () => {
  await idp.close();
  dir.remove();
});

type Destination = NonNullable<CreateLoggerOptions['destination']>;

/** A broker on a local CA and the shared-directory replay log in `name`, audit lines to `destination`. */
function broker(name: string, destination: Destination, threadPool?: boolean): FastifyInstance {
  const stateDir = join(dir.path, name);
  return buildApp(brokerConfig(idp, {}, stateDir), {
    backend: createLocalBackend({ stateDir, threadPool: threadPool ?? false }),
    policy: defaultPolicy(),
    logDestination: destination,
    // undefined: the broker's defaults
    ...(threadPool === undefined ? {} : { threadPool: { token: threadPool, replay: threadPool } }),
  });
}

/** `count` certificates one after another (tokens minted beforehand: minting is not the broker's). */
async function issue(app: FastifyInstance, count: number) {
  const tokens = await Promise.all(Array.from({ length: count }, () => idp.sign(claims(idp))));
  return countHandOffs(async () => {
    const serials: string[] = [];
    for (const token of tokens) {
      const res = await signRequest(app, token);
      expect(res.statusCode).toBe(200);
      serials.push(res.json().serial);
    }
    return serials;
  });
}

describe('thread-pool hand-offs per certificate', () => {
  it('one by default (the token), none with the token on the loop; the former path has five', async () => {
    const now = broker('now', auditDestination(join(dir.path, 'now.log')), false);
    const shipped = broker('shipped', auditDestination(join(dir.path, 'shipped.log')));
    const before = broker('before', createWriteStream(join(dir.path, 'before.log')), true);
    try {
      // The first certificate fetches the JWKS and opens the replay log: set-up, not per certificate.
      await issue(now, 1);
      await issue(shipped, 1);
      await issue(before, 1);
      const a = await issue(now, 10);
      const d = await issue(shipped, 10);
      const b = await issue(before, 10);
      expect(a.byType).toEqual({});
      expect(a.total).toBe(0);
      // As it ships: the token's verification alone goes to the pool.
      expect(d.byType).toEqual({ SIGNREQUEST: 10 });
      // Verification and signature (SIGNREQUEST each), the log's write and read-back, the audit
      // write: the counter sees each kind of job the default path no longer starts.
      expect(b.byType['SIGNREQUEST']).toBe(20);
      expect(b.byType['FSREQCALLBACK']).toBeGreaterThanOrEqual(20);
      expect(b.total).toBeGreaterThanOrEqual(40);
      // Every line of the default path is in its file already.
      const lines = readFileSync(join(dir.path, 'now.log'), 'utf8');
      for (const serial of a.result) expect(lines).toContain(`"cert_serial":"${serial}"`);
    } finally {
      await now.close();
      await shipped.close();
      await before.close();
    }
  });
});

/** Occupies every thread of libuv's pool with an open(2) of a FIFO that has no writer yet. */
function wedgeThreadPool(): { stuck: () => boolean; release: () => Promise<void> } {
  const fifo = join(dir.path, 'wedge.fifo');
  execFileSync('mkfifo', [fifo]);
  const threads = Number(process.env['UV_THREADPOOL_SIZE'] ?? 4);
  let returned = 0;
  for (let i = 0; i < threads; i++) {
    open(fifo, 'r', (_err, fd) => {
      returned++;
      if (fd !== undefined) closeSync(fd);
    });
  }
  // Queued behind them: it completes only once a thread is free again.
  let done = false;
  stat(dir.path, () => {
    done = true;
  });
  return {
    stuck: () => !done,
    async release() {
      // The readers' opens return once a writer opens (non-blocking: it fails while no reader waits);
      // repeated until every reader is back, so that no pool thread stays behind.
      for (let i = 0; returned < threads && i < 400; i++) {
        try {
          closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
        } catch {
          // ENXIO: no reader in open(2) at this instant.
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    },
  };
}

describe('audit line written before the answer', () => {
  it('is in the file when the certificate arrives, with nothing able to run on the thread pool', async () => {
    const nowFile = join(dir.path, 'wedged-now.log');
    const asyncFile = join(dir.path, 'wedged-async.log');
    const now = broker('wedged-now', auditDestination(nowFile), false);
    // The destination the broker used before: an asynchronous stream, opened before the wedge.
    const stream = createWriteStream(asyncFile);
    await new Promise<void>((resolve) => stream.once('ready', () => resolve()));
    const withAsyncStream = broker('wedged-async', stream, false);
    const [warm1, warm2, t1, t2] = await Promise.all([1, 2, 3, 4].map(() => idp.sign(claims(idp))));
    expect((await signRequest(now, warm1)).statusCode).toBe(200);
    expect((await signRequest(withAsyncStream, warm2)).statusCode).toBe(200);
    const wedge = wedgeThreadPool();
    try {
      const res = await signRequest(now, t1);
      expect(res.statusCode).toBe(200);
      expect(readFileSync(nowFile, 'utf8')).toContain(`"cert_serial":"${res.json().serial}"`);
      // The same with the asynchronous stream: the answer arrives, its line is still queued.
      const other = await signRequest(withAsyncStream, t2);
      expect(other.statusCode).toBe(200);
      expect(readFileSync(asyncFile, 'utf8')).not.toContain(`"cert_serial":"${other.json().serial}"`);
      expect(wedge.stuck()).toBe(true);
    } finally {
      await wedge.release();
    }
    await now.close();
    await withAsyncStream.close();
  });

  it('refuses the certificate when its line cannot be written (fail closed)', async () => {
    // /dev/full: every write(2) fails with ENOSPC, as on a full disk.
    const app = broker('unwritable', auditDestination('/dev/full'), false);
    try {
      const res = await signRequest(app, await idp.sign(claims(idp)));
      expect(res.statusCode).toBe(500);
      expect(res.json()).toEqual({ error: { code: 'ERR_CA_INTERNAL', message: 'internal error' } });
    } finally {
      await app.close();
    }
  });
});
