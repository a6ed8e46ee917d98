import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LabError } from '../src/errors.ts';
import { packageDir, packageFile, programPathLazy } from '../src/system/packages.ts';

describe('sibling programs, found through the packages themselves', () => {
  it('finds a dependency as Node does, and the lab itself', () => {
    for (const name of ['@netward/ca-broker', '@netward/policy', '@netward/lab']) {
      const manifest = JSON.parse(readFileSync(join(packageDir(name), 'package.json'), 'utf8'));
      expect(manifest.name).toBe(name);
    }
  });

  it("takes a program's path from the package's bin", () => {
    const dir = packageDir('@netward/mcp-server');
    const { bin } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(programPathLazy('@netward/mcp-server', 'netward-mcp-server')).toBe(
      join(dir, bin['netward-mcp-server']),
    );
    expect(programPathLazy('@netward/lab', 'netward-audit')).toMatch(
      /packages\/lab\/dist\/netward-audit\.js$/,
    );
  });

  it('refuses a program or a package that does not exist, with the lab code', () => {
    for (const f of [
      () => programPathLazy('@netward/mcp-server', 'netward-nothing'),
      () => packageDir('@netward/not-a-package'),
    ]) {
      expect(f).toThrow(LabError);
      try {
        f();
      } catch (e) {
        expect((e as LabError).code).toBe('ERR_LAB_MISSING_PEER');
      }
    }
  });

  it('reads a file the policy package ships (its policies)', () => {
    expect(existsSync(packageFile('@netward/policy', 'policy', 'default.yaml'))).toBe(true);
  });
});
