import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLabDir } from '../src/system/labdir.ts';

describe('lab directory check (before anything starts)', () => {
  let base: string;
  beforeAll(() => {
    // Under /var/lib: root-owned, 0755 all the way up, like the default lab directory.
    base = mkdtempSync('/var/lib/netward-labdir-test-');
    chmodSync(base, 0o755);
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('accepts a directory under root-owned, non-writable, traversable parents', () => {
    expect(checkLabDir(join(base, 'lab'))).toBe(join(base, 'lab'));
  });

  it('refuses a directory under /tmp: sshd StrictModes would refuse every certificate', () => {
    expect(() => checkLabDir('/tmp/netward-lab-x')).toThrow(
      expect.objectContaining({
        code: 'ERR_LAB_DIR',
        message: expect.stringContaining('/tmp is writable by everyone'),
      }),
    );
  });

  it('refuses a parent the device accounts cannot traverse (a 0700 mktemp folder)', () => {
    const closed = join(base, 'closed');
    mkdirSync(closed, { mode: 0o700 });
    chmodSync(closed, 0o700);
    expect(() => checkLabDir(join(closed, 'lab'))).toThrow(
      expect.objectContaining({
        code: 'ERR_LAB_DIR',
        message: expect.stringContaining('cannot be traversed'),
      }),
    );
  });

  it('refuses a group-writable parent and one owned by another user', () => {
    const group = join(base, 'group');
    mkdirSync(group);
    chmodSync(group, 0o775);
    expect(() => checkLabDir(join(group, 'lab'))).toThrow(
      expect.objectContaining({
        code: 'ERR_LAB_DIR',
        message: expect.stringContaining('writable by its group'),
      }),
    );
    const other = join(base, 'other');
    mkdirSync(other, { mode: 0o755 });
    chownSync(other, 65534, 65534);
    expect(() => checkLabDir(join(other, 'lab'))).toThrow(
      expect.objectContaining({
        code: 'ERR_LAB_DIR',
        message: expect.stringContaining('owned by uid 65534'),
      }),
    );
  });
});
