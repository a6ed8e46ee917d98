import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const PKG = fileURLToPath(new URL('..', import.meta.url));

// The ForceCommand validator builds a V8 start-up snapshot, which node 20.20 cannot do from a script
// that has loaded node:tls: importing this package and using it over plain TCP must not load it.
describe('node:tls is loaded only for TLS', () => {
  it('importing the package and making a keyed client and server leaves node:tls unloaded', async () => {
    const script = `
      const m = await import('./src/index.ts');
      new m.TacacsClient({ servers: [{ host: '127.0.0.1', key: 'k' }] });
      m.createTacacsServer({ key: 'k', handlers: {} });
      const before = process.moduleLoadList.filter((x) => /\\btls\\b/.test(x)).length;
      await import('node:tls');
      const after = process.moduleLoadList.filter((x) => /\\btls\\b/.test(x)).length;
      console.log(JSON.stringify({ before, after }));`;
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--conditions=netward-source', '--import', 'tsx', '--input-type=module', '-e', script],
        { cwd: PKG, timeout: 20_000 },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      );
    });
    // `after` shows the probe can see node:tls once it is loaded.
    const { before, after } = JSON.parse(out.trim().split('\n').at(-1)!) as { before: number; after: number };
    expect(before).toBe(0);
    expect(after).toBeGreaterThan(0);
  }, 30_000);
});
