import { readdirSync, rmSync } from 'node:fs';
import { labDown } from '@netward/lab';

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
