import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const CLI = join(import.meta.dirname, '..', 'src', 'cli.ts');

function lab(...args: string[]) {
  const r = spawnSync(process.execPath, ['--conditions=netward-source', '--import', 'tsx', CLI, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('netward-lab command line conventions', { timeout: 60_000 }, () => {
  const dir = mkdtempSync('/var/lib/netward-lab-cli-test-');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--help, -h and help print the usage on stdout and exit 0', () => {
    for (const a of [['--help'], ['-h'], ['help'], ['up', '--help']]) {
      const r = lab(...a);
      expect(r.code, a.join(' ')).toBe(0);
      expect(r.stdout).toContain('usage: netward-lab <command>');
    }
  });

  it('a usage error exits 2 with its reason on one line', () => {
    const cases: [string[], string][] = [
      [[], 'no command given'],
      [['frobnicate'], 'unknown command "frobnicate"'],
      [['status', '--bogus'], "Unknown option '--bogus'"],
      [['up', '--port-base', 'x'], '--port-base must be a number, not "x"'],
      [['down', 'extra'], 'down takes no argument "extra"'],
      [['up', '--policy', 'hardened'], '--policy must be default or design'],
      [['up', '--validators', 'threads'], '--validators must be resident or per-process'],
    ];
    for (const [args, reason] of cases) {
      const r = lab(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(reason);
      expect(r.stderr).toContain('netward-lab --help');
    }
  });

  it('down is idempotent: on a directory without a lab it is nothing to do, twice', () => {
    for (let i = 0; i < 2; i++) {
      const r = lab('down', '--dir', join(dir, 'never-up'));
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('nothing to do');
    }
  });
});
