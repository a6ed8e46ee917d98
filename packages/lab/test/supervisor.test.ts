import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backoffDelay } from '../src/services/supervise.ts';
import { childPid, runningPid, startService, stopService } from '../src/services/supervisor.ts';
import { httpOk } from '../src/system/probe.ts';
import { freePort } from './helpers.ts';

// Each test's own directory of services; its service "web" stopped and the directory removed after it.
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'netward-sup-'));
});
afterEach(async () => {
  await stopService(dir, 'web', 1000);
  rmSync(dir, { recursive: true, force: true });
});

/** The service "web": a node HTTP server on `port` answering `body` (a JS expression), `listened` run once listening. */
function webService(port: number, body: string, listened = '') {
  const server = `require('http').createServer((q,s)=>s.end(${body}))`;
  return {
    name: 'web',
    command: process.execPath,
    args: ['-e', `${server}.listen(${port},'127.0.0.1'${listened && `,()=>${listened}`})`],
    log: join(dir, 'web.log'),
    ready: () => httpOk(`http://127.0.0.1:${port}/`),
  };
}

describe('service supervisor', () => {
  const web = (port: number) => webService(port, "'ok'", "console.log('listening')");

  it('starts a detached service, waits until it answers, keeps it on a second start, stops it', async () => {
    const port = await freePort();
    const first = await startService(dir, web(port));
    expect(first.started).toBe(true);
    expect(runningPid(dir, 'web')).toBe(first.pid);
    expect(await startService(dir, web(port))).toEqual({ pid: first.pid, started: false });
    expect(readFileSync(join(dir, 'web.log'), 'utf8')).toContain('listening');
    expect(await stopService(dir, 'web')).toBe(true);
    expect(runningPid(dir, 'web')).toBeUndefined();
    expect(await httpOk(`http://127.0.0.1:${port}/`, 300)).toBe(false);
    expect(await stopService(dir, 'web')).toBe(false);
  });

  it('reports a service that exits before it is ready as ERR_LAB_SERVICE, with its log', async () => {
    const spec = { ...web(1), args: ['-e', "console.error('bad config'); process.exit(2)"] };
    await expect(startService(dir, spec)).rejects.toMatchObject({
      code: 'ERR_LAB_SERVICE',
      message: expect.stringContaining('bad config'),
    });
    expect(runningPid(dir, 'web')).toBeUndefined();
  });
});

describe('supervisor restarts', () => {
  const web = (port: number) => ({
    ...webService(port, 'String(process.pid)'),
    restart: { policy: 'always' as const, initialDelayMs: 100, maxDelayMs: 400 },
  });

  async function until<T>(f: () => T | undefined, ms = 8000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = f();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('restarts a killed service with backoff, logs each restart, and keeps the supervisor pid', async () => {
    const port = await freePort();
    const { pid: supervisor } = await startService(dir, web(port));
    for (const round of [1, 2, 3]) {
      const before = await until(() => childPid(dir, 'web'));
      process.kill(before, 'SIGKILL');
      const after = await until(() => {
        const p = childPid(dir, 'web');
        return p !== undefined && p !== before ? p : undefined;
      });
      expect(after).not.toBe(before);
      expect(round).toBeGreaterThan(0);
      // The new process answers on the same port.
      const deadline = Date.now() + 8000;
      while (!(await httpOk(`http://127.0.0.1:${port}/`, 300)) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      expect(await httpOk(`http://127.0.0.1:${port}/`, 300)).toBe(true);
    }
    expect(runningPid(dir, 'web')).toBe(supervisor);
    const events = readFileSync(join(dir, 'supervisor.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; delay_ms?: number; signal?: string });
    const restarts = events.filter((e) => e.event === 'restart');
    expect(restarts.map((e) => e.signal)).toEqual(['SIGKILL', 'SIGKILL', 'SIGKILL']);
    // 100 ms doubling, capped at 400 ms: the crashes came in a row.
    expect(restarts.map((e) => e.delay_ms)).toEqual([100, 200, 400]);
  });

  it('does not restart a service it was told to stop', async () => {
    const port = await freePort();
    await startService(dir, web(port));
    const child = await until(() => childPid(dir, 'web'));
    expect(await stopService(dir, 'web')).toBe(true);
    expect(() => process.kill(child, 0)).toThrow();
    await new Promise((r) => setTimeout(r, 300));
    expect(childPid(dir, 'web')).toBeUndefined();
    expect(await httpOk(`http://127.0.0.1:${port}/`, 300)).toBe(false);
    const events = readFileSync(join(dir, 'supervisor.log'), 'utf8');
    expect(events).toContain('"event":"stopped"');
    expect(events).not.toContain('"event":"restart"');
  });

  it('computes the backoff: exponential, capped', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay({ policy: 'always' }, n))).toEqual([
      250, 500, 1000, 2000, 4000, 8000, 8000, 8000,
    ]);
  });
});
