/**
 * scripts/setup.sh puts the programs the README and the programs' own hints name on PATH, through
 * scripts/link-bins.sh. Run here into a scratch directory, against the built programs (scripts/test.sh
 * builds before the tests).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

describe('programs on PATH after setup', () => {
  const bin = mkdtempSync(join(tmpdir(), 'netward-bin-'));
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  it('link-bins.sh writes one executable wrapper per declared program, and they run', () => {
    execFileSync('bash', [join(ROOT, 'scripts', 'link-bins.sh')], {
      env: { ...process.env, NETWARD_BIN_DIR: bin },
    });
    for (const name of ['netward-lab', 'netward-audit', 'netward-policy', 'netward-ca-broker']) {
      expect(statSync(join(bin, name)).mode & 0o755).toBe(0o755);
      expect(readFileSync(join(bin, name), 'utf8')).toContain(ROOT);
    }
    for (const name of ['netward-lab', 'netward-audit']) {
      const r = spawnSync(join(bin, name), ['--help'], {
        encoding: 'utf8',
        env: { ...process.env, PATH: `${bin}:${process.env['PATH']}` },
      });
      expect(r.status, `${name} --help: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`usage: ${name}`);
    }
  });
});
