import { type ChildProcess, spawn } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { newRequestId } from '@netward/audit-context';
import { bundleProgram } from '@netward/kit/testing';
import { formatPublicKey } from '@netward/ssh-certificate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDirectoryReplayCache } from '../src/replay.ts';
import { AUDIENCE, claims, freshKey, MCP_CLIENT, signRequest, startBroker } from '../src/testing/broker.ts';
import { startIdp, type TestIdp } from '../src/testing/idp.ts';
import { tempDir } from './helpers/openssh.ts';
import { freePort } from './helpers/sshd.ts';

let idp: TestIdp;
const dir = tempDir('ca-broker-replay');
beforeAll(async () => {
  idp = await startIdp();
});
afterAll(async () => {
  await idp.close();
  dir.remove();
});

describe('one token, one certificate', () => {
  it('refuses a second certificate for the same token with 401 ERR_CA_TOKEN_REPLAYED', async () => {
    const b = startBroker(idp);
    try {
      const token = await idp.sign(claims(idp));
      const first = await signRequest(b.app, token);
      expect(first.statusCode).toBe(200);
      const lines = b.audit.lines.length;
      const again = await signRequest(b.app, token);
      expect([again.statusCode, again.json().error.code]).toEqual([401, 'ERR_CA_TOKEN_REPLAYED']);
      expect(again.headers['www-authenticate']).toBe(
        'Bearer realm="netward-ca-broker", error="invalid_token", error_description="token already used for a certificate"',
      );
      expect(again.body).not.toContain('cert-v01');
      expect(b.audit.lines.slice(lines)).toEqual([
        expect.objectContaining({ decision: 'refused', code: 'ERR_CA_TOKEN_REPLAYED', user: 'bob' }),
      ]);
      // Another token for the same user and session is a new exchange: it gets its certificate.
      expect((await signRequest(b.app, await idp.sign(claims(idp)))).statusCode).toBe(200);
    } finally {
      await b.close();
    }
  });

  it('requires a jti', async () => {
    const b = startBroker(idp);
    try {
      for (const jti of [undefined, '', 42, 'x'.repeat(257)]) {
        const res = await signRequest(b.app, await idp.sign(claims(idp, { jti })));
        expect([res.statusCode, res.json().error.code], String(jti)).toEqual([401, 'ERR_CA_TOKEN_CLAIMS']);
        expect(res.json().error.message).toBe('token lacks a required claim: jti');
      }
    } finally {
      await b.close();
    }
  });

  it('does not spend the token on a request refused for its body or key', async () => {
    const b = startBroker(idp);
    try {
      const token = await idp.sign(claims(idp));
      expect((await signRequest(b.app, token, { public_key: 'ssh-rsa AAAA' })).statusCode).toBe(400);
      expect((await signRequest(b.app, token, { role: 'net-admin' })).statusCode).toBe(403);
      expect((await signRequest(b.app, token)).statusCode).toBe(200);
      expect((await signRequest(b.app, token)).statusCode).toBe(401);
    } finally {
      await b.close();
    }
  });

  it('fails closed with 503 when the cache directory cannot be written, and signs nothing', async () => {
    const b = startBroker(idp);
    try {
      // The whole cache replaced by a file: every entry's creation fails (ENOTDIR).
      const cache = join(b.stateDir, 'replay');
      rmSync(cache, { recursive: true, force: true });
      writeFileSync(cache, '');
      const res = await signRequest(b.app, await idp.sign(claims(idp)));
      expect([res.statusCode, res.json().error.code]).toEqual([503, 'ERR_CA_REPLAY_CACHE_UNAVAILABLE']);
      expect(res.body).not.toContain('cert-v01');
      expect(b.audit.lines.at(-1)).toMatchObject({
        decision: 'refused',
        code: 'ERR_CA_REPLAY_CACHE_UNAVAILABLE',
      });
    } finally {
      await b.close();
    }
  });

  it('refuses a cache directory that group or others may write', () => {
    const loose = join(dir.path, 'loose');
    mkdirSync(loose);
    chmodSync(loose, 0o777);
    expect(() => createDirectoryReplayCache(loose, { graceSeconds: 5 })).toThrow(
      expect.objectContaining({ code: 'ERR_CA_KEY_PERMISSIONS' }),
    );
  });

  it.each(['log', 'files'] as const)(
    'keeps an entry until the token has expired, then forgets it (%s)',
    async (layout) => {
      let now = 1_800_000_000_000;
      const path = join(dir.path, `sweep-${layout}`);
      const cache = createDirectoryReplayCache(path, { graceSeconds: 65, now: () => now, layout });
      try {
        const exp = now / 1000 + 300;
        expect(await cache.claim('a', exp)).toBe(true);
        expect(await cache.claim('a', exp)).toBe(false);
        expect(await cache.claim('b', exp + 3600)).toBe(true);
        now = (exp + 60) * 1000; // expired, but within the grace period
        await cache.sweep();
        expect(await cache.claim('a', exp)).toBe(false);
        now = (exp + 65 + 120) * 1000; // beyond expiry, grace and the bucket's minute
        await cache.sweep();
        expect(readdirSync(path)).toHaveLength(1); // only b's bucket is left
        expect(await cache.claim('b', exp + 3600)).toBe(false);
      } finally {
        cache.close();
      }
    },
  );
});

/** A fresh cache directory, a token expiry two minutes ahead, and the log its claims go to. */
function logCase(name: string): { path: string; exp: number; log: string } {
  const path = join(dir.path, name);
  const exp = Math.floor(Date.now() / 1000) + 120;
  return { path, exp, log: join(path, `${Math.floor(exp / 60)}.log`) };
}

describe('the shared directory', () => {
  it('writes a log when the directory is on a local file system (the layout follows the file system)', async () => {
    const { path, exp, log } = logCase('chosen');
    const cache = createDirectoryReplayCache(path, { graceSeconds: 65 });
    try {
      expect(await cache.claim('one', exp)).toBe(true);
      expect(readdirSync(path).map((f) => join(path, f))).toEqual([log]);
    } finally {
      cache.close();
    }
  });

  it.each(['log', 'files'] as const)(
    'gives each token to exactly one of two caches claiming it at once (%s)',
    async (layout) => {
      const path = join(dir.path, `two-writers-${layout}`);
      const a = createDirectoryReplayCache(path, { graceSeconds: 65, layout });
      const b = createDirectoryReplayCache(path, { graceSeconds: 65, layout });
      try {
        const exp = Math.floor(Date.now() / 1000) + 120;
        const jtis = Array.from({ length: 200 }, (_, i) => `race-${i}`);
        // Each token claimed twice by each cache, all in flight together: batches of both interleave.
        const results = await Promise.all(
          jtis.flatMap((j) => [a.claim(j, exp), b.claim(j, exp), a.claim(j, exp), b.claim(j, exp)]),
        );
        for (let i = 0; i < jtis.length; i++) {
          expect(results.slice(i * 4, i * 4 + 4).filter(Boolean), jtis[i]).toHaveLength(1);
        }
        // Later claims of the same tokens, after both have read the whole log, are replays everywhere.
        expect(await Promise.all(jtis.slice(0, 20).map((j) => b.claim(j, exp)))).not.toContain(true);
        expect(await Promise.all(jtis.slice(0, 20).map((j) => a.claim(j, exp)))).not.toContain(true);
      } finally {
        a.close();
        b.close();
      }
    },
  );

  it('has a claim in the file when it answers, so a broker started afresh refuses the token', async () => {
    const { path, exp, log } = logCase('restart');
    const first = createDirectoryReplayCache(path, { graceSeconds: 65 });
    expect(await first.claim('kept', exp)).toBe(true);
    // No close, no flush: what a killed process leaves behind is what the file already holds.
    expect(readFileSync(log, 'latin1')).toMatch(/^[0-9a-f]{64} [0-9a-f]{16}\n$/);
    const second = createDirectoryReplayCache(path, { graceSeconds: 65 });
    try {
      expect(await second.claim('kept', exp)).toBe(false);
      expect(await second.claim('new', exp)).toBe(true);
    } finally {
      first.close();
      second.close();
    }
  });

  it('refuses a claim whose line was spoiled by a torn write, and goes on with the next', async () => {
    const { path, exp, log } = logCase('torn');
    const cache = createDirectoryReplayCache(path, { graceSeconds: 65 });
    try {
      expect(await cache.claim('before', exp)).toBe(true);
      // A write cut short (a full disk) leaves half a line: the next line appended is merged into it.
      appendFileSync(log, 'ab12');
      await expect(cache.claim('torn', exp)).rejects.toMatchObject({
        code: 'ERR_CA_REPLAY_CACHE_UNAVAILABLE',
      });
      expect(await cache.claim('after', exp)).toBe(true);
      expect(await cache.claim('before', exp)).toBe(false);
    } finally {
      cache.close();
    }
  });
});

describe('several broker processes sharing the cache directory', () => {
  const ROOT = resolve(import.meta.dirname, '..');
  const CLI = join(dir.path, 'netward-ca-broker.mjs');
  const children: ChildProcess[] = [];
  const outputs: string[] = [];
  const urls: string[] = [];

  beforeAll(async () => {
    await bundleProgram(join(ROOT, 'src/cli/main.ts'), CLI);
    const state = join(dir.path, 'shared-state');
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      const file = join(dir.path, `broker-${i}.yaml`);
      writeFileSync(
        file,
        [
          `listen: { port: ${port} }`,
          'token:',
          `  issuer: ${idp.issuer}`,
          `  audience: ${AUDIENCE}`,
          `  jwksUri: ${idp.jwksUri}`,
          `  actor: { allowed: [${MCP_CLIENT}] }`,
          'rateLimit: { burst: 1000, perSecond: 1000 }',
          'backend:',
          '  type: local',
          `  stateDir: ${state}`,
          '',
        ].join('\n'),
      );
      // Both start from the same state directory, so the second finds the keys the first created.
      const child = spawn(process.execPath, [CLI, 'serve', '--config', file], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      outputs.push('');
      child.stdout!.on('data', (d) => (outputs[i] += d));
      child.stderr!.on('data', (d) => (outputs[i] += d));
      for (let t = 0; t < 100 && !outputs[i]!.includes('ca-broker listening'); t++)
        await new Promise((r) => setTimeout(r, 100));
      expect(outputs[i]).toContain('ca-broker listening');
      urls.push(`http://127.0.0.1:${port}`);
    }
  }, 60_000);

  afterAll(() => {
    for (const c of children) c.kill('SIGTERM');
  });

  it('issues exactly one certificate per token when the same token races at both', async () => {
    const TOKENS = 20;
    const COPIES = 6; // three at each process, all in flight at once
    const tokens = await Promise.all(Array.from({ length: TOKENS }, () => idp.sign(claims(idp))));
    const statuses = await Promise.all(
      tokens.flatMap((token) =>
        Array.from({ length: COPIES }, async (_, i) => {
          const res = await fetch(`${urls[i % 2]}/v1/ssh/sign`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({
              public_key: formatPublicKey(freshKey().publicKey),
              request_id: newRequestId(),
            }),
          });
          const body = (await res.json()) as { error?: { code: string } };
          return { token, status: res.status, code: body.error?.code };
        }),
      ),
    );
    for (const token of tokens) {
      const mine = statuses.filter((s) => s.token === token);
      expect(mine.filter((s) => s.status === 200)).toHaveLength(1);
      expect(mine.filter((s) => s.code === 'ERR_CA_TOKEN_REPLAYED')).toHaveLength(COPIES - 1);
    }
    // Both processes took part, and their audit lines agree: TOKENS issued in all.
    await new Promise((r) => setTimeout(r, 200));
    const issued = outputs.map((o) => o.split('\n').filter((l) => l.includes('"decision":"issued"')).length);
    expect(issued[0]! + issued[1]!).toBe(TOKENS);
    const replayed = outputs.map(
      (o) => o.split('\n').filter((l) => l.includes('ERR_CA_TOKEN_REPLAYED')).length,
    );
    expect(replayed[0]! > 0 && replayed[1]! > 0).toBe(true);
  }, 60_000);
});
