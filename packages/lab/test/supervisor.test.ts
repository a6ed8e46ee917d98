import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runningPid, startService, stopService } from '../src/services/supervisor.ts';
import { httpOk } from '../src/system/probe.ts';
import { freePort } from './helpers.ts';

describe('service supervisor', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'netward-sup-'));
  });
  afterEach(async () => {
    await stopService(dir, 'web', 1000);
    rmSync(dir, { recursive: true, force: true });
  });

  const web = (port: number) => ({
    name: 'web',
    command: process.execPath,
    args: [
      '-e',
      `require('http').createServer((q,s)=>s.end('ok')).listen(${port},'127.0.0.1',()=>console.log('listening'))`,
    ],
    log: join(dir, 'web.log'),
    ready: () => httpOk(`http://127.0.0.1:${port}/`),
  });

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
