import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  agentFor,
  type LabLayout,
  type LabOptions,
  LINKS,
  labDown,
  labUp,
  readLabEvents,
  requestIdOf,
  type StepResult,
  stepAdmin,
  stepFailClosed,
  stepOperator,
  stepRawCommand,
  stepViewer,
  traceRequest,
} from '@netward/lab';
import { describe, expect, it } from 'vitest';

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
function expectEveryRowPassed(rows: readonly { action: string; pass: boolean }[]): void {
  expect(rows.map((r) => [r.action, r.pass])).toEqual(rows.map((r) => [r.action, true]));
}

/** A suite's own checks on top of the demo's, per step: the first row of a one-row step, or all rows. */
export interface DemoChecks {
  readonly viewer?: (rows: StepResult[]) => void;
  readonly rawCommand?: (row: StepResult | undefined) => void;
  readonly admin?: (row: StepResult | undefined) => void;
}

/**
 * The demo's five steps as tests on a suite's lab (`netward-lab demo` runs the same steps): every row
 * passes, the raw tool's `configure terminal` is refused by the device grammar, carol reads the running
 * configuration. Each suite adds its own checks through `more`.
 */
export function demoStepTests(layoutOf: () => LabLayout, more: DemoChecks = {}): void {
  describe('the demo, step by step', () => {
    it('1: alice sees read tools only and reads real FRR output', async () => {
      const rows = await stepViewer(layoutOf());
      expectEveryRowPassed(rows);
      more.viewer?.(rows);
    });

    it("2: bob pings leaf-1's loopback from spine-a; show_running_config is hidden and refused", async () => {
      expectEveryRowPassed(await stepOperator(layoutOf()));
    });

    it('3: the unsafe raw tool lets bob send configure terminal; the device grammar refuses it before TACACS+', async () => {
      const [row] = await stepRawCommand(layoutOf());
      expect(row?.pass).toBe(true);
      // The default policy's grammar refuses it on the device before TACACS+ is asked.
      expect(row?.output).toMatch(/ERR_FC_GRAMMAR/);
      more.rawCommand?.(row);
    });

    it('4: TACACS+ stopped, the device fails closed; restarted, the same call works again', async () => {
      expectEveryRowPassed(await stepFailClosed(layoutOf()));
    });

    it('5: carol reads the running configuration', async () => {
      const [row] = await stepAdmin(layoutOf());
      expect(row?.pass).toBe(true);
      expect(row?.output).toMatch(/router bgp 65000/);
      more.admin?.(row);
    });
  });
}

/**
 * One call by bob (ping leaf-1 → leaf-2's loopback) and its trace once every link has logged it (UDP
 * syslog and pino write asynchronously: the records land within moments): the call worked, the chain
 * holds every link, names bob, and one certificate serial.
 */
export async function tracedCall(layout: LabLayout) {
  const bob = await agentFor(layout, 'bob');
  const out = await bob.call('ping', { device: 'leaf-1', destination: '10.1.0.12', count: 1 });
  await bob.close();
  expect(out.ok).toBe(true);
  const requestId = await requestIdOf(layout, out, { user: 'bob', tool: 'ping', device: 'leaf-1' });
  expect(requestId).toBeDefined();
  let chain = traceRequest(readLabEvents(layout.paths.logs), requestId as string);
  for (let i = 0; i < 20 && chain.missing.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 250));
    chain = traceRequest(readLabEvents(layout.paths.logs), requestId as string);
  }
  expect(chain.missing).toEqual([]);
  expect(new Set(chain.events.map((e) => e.link))).toEqual(new Set(LINKS.map((l) => l.id)));
  expect(chain.user).toBe('bob');
  expect(chain.serials).toHaveLength(1);
  return { requestId: requestId as string, chain, sid: bob.sid };
}

/** A device validator's own records of one request, as written to its audit file (forcecommand-<device>.jsonl). */
export function validatorRecords(
  layout: LabLayout,
  device: string,
  requestId: string,
): Record<string, unknown>[] {
  return readFileSync(join(layout.paths.logs, `forcecommand-${device}.jsonl`), 'utf8')
    .split('\n')
    .filter((line) => line.includes(requestId))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((r) => r['request_id'] === requestId);
}
