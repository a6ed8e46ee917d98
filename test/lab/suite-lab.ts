import { readdirSync, rmSync } from 'node:fs';
import { type LabLayout, type LabOptions, labDown, labUp } from '@netward/lab';
import { expect } from 'vitest';

/**
 * The names of one suite's own lab, derived from the process id under `/var/lib/<root><pid>`: two runs of
 * the suites on one machine (a developer's and CI's), and the suites beside each other, must not share a
 * directory, a namespace or an address. Ports stay with each suite: their ranges are laid out side by side.
 */
export function suiteLabNames(root: string, prefixLetter: string, mgmtOctet: number) {
  return {
    dir: `${root}${process.pid}`,
    prefix: `${prefixLetter}${process.pid % 1000}-`,
    mgmtNet: `10.${mgmtOctet}.${1 + (process.pid % 250)}`,
  };
}

/**
 * Labs of earlier runs whose process is gone (an interrupted run), under `/var/lib/<root><pid>`: taken
 * down and removed before a suite brings up its own.
 */
export async function downStaleLabs(root: string): Promise<void> {
  for (const name of readdirSync('/var/lib')) {
    const full = `/var/lib/${name}`;
    if (!full.startsWith(root)) continue;
    const pid = Number(full.slice(root.length));
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = pid !== process.pid;
    } catch {
      alive = false;
    }
    if (alive) continue;
    await labDown(full).catch(() => undefined);
    rmSync(full, { recursive: true, force: true });
  }
}

/** A suite's lab brought up after the stale ones of its root are gone; it needs root. */
export async function upSuiteLab(
  root: string,
  options: Partial<LabOptions> & { dir: string },
): Promise<LabLayout> {
  if (process.getuid?.() !== 0)
    throw new Error('the end-to-end lab needs root (network namespaces, sshd, FRR)');
  await downStaleLabs(root);
  return labUp(options);
}

/** The safety net after a suite: its lab taken down when a test did not, and its directory removed. */
export async function downSuiteLab(dir: string, up: boolean): Promise<void> {
  if (up) await labDown(dir).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}

/** Every row of a demo step passed; a failing one is named by its action. */
export function expectEveryRowPassed(rows: readonly { action: string; pass: boolean }[]): void {
  expect(rows.map((r) => [r.action, r.pass])).toEqual(rows.map((r) => [r.action, true]));
}
