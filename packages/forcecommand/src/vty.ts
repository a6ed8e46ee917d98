// A CLI line answered by one FRR daemon alone, sent to that daemon's vty socket instead of starting
// vtysh. vtysh spends ~30-40 ms of CPU per start building the command tree of every daemon and then
// connects to each daemon's socket; for a line one daemon answers it forwards the line to that socket
// and prints the answer unchanged (docs/frr.md: the same bytes, measured per command). The validator
// speaks that exchange itself, ~0.15 ms, with the same account and socket permissions as vtysh.
//
// The exchange on `<socketDir>/<daemon>.vty` (FRR lib/vty.c, the VTY_SHELL_SERV side):
//
//     client → daemon   line bytes | 0x00
//     daemon → client   output bytes ... | 0x00 0x00 0x00 | u8 status (lib/command.h CMD_*)
//
// vtysh exits 0 for CMD_SUCCESS and CMD_WARNING (a show command's "% BGP instance not found" is a
// warning) and 1 otherwise; the same mapping here. A daemon that is not running, a refused socket or a
// cut answer ends as a failed start (ERR_FC_EXEC), never as output: fail closed.
import { createConnection } from 'node:net';
import type { ExecuteResult } from './execute.ts';

export interface VtyRoute {
  /** The FRR daemon that answers the line alone (`bgpd`, `zebra`). */
  readonly daemon: string;
  /** `<socketDir>/<daemon>.vty`. */
  readonly socket: string;
  /** The one CLI line, exactly as it was authorized. */
  readonly line: string;
}

export interface VtyOptions {
  readonly timeoutMs: number;
  /** Receives the daemon's output as it arrives (the status trailer is never passed on). */
  readonly stdout: (chunk: Buffer) => void;
  readonly onStopSignal?: (stop: () => void) => () => void;
}

/** lib/command.h: CMD_SUCCESS 0, CMD_WARNING 1. */
const VTYSH_OK_STATUSES: ReadonlySet<number> = new Set([0, 1]);
const TRAILER = 4;

export function runVty(route: VtyRoute, options: VtyOptions): Promise<ExecuteResult> {
  return new Promise((resolve) => {
    const socket = createConnection({ path: route.socket });
    // The last bytes received are held back until more arrive: they may be the status trailer.
    let held: Buffer = Buffer.alloc(0);
    let settled = false;
    const finish = (r: ExecuteResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unregister?.();
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ exitStatus: 124, timedOut: true }), options.timeoutMs);
    const unregister = options.onStopSignal?.(() =>
      finish({ exitStatus: 128 + 9, timedOut: false, signal: 'SIGKILL' }),
    );
    socket.once('connect', () => socket.write(Buffer.from(`${route.line}\0`, 'utf8')));
    socket.on('data', (chunk: Buffer) => {
      held = held.length === 0 ? chunk : Buffer.concat([held, chunk]);
      const end = held.length - TRAILER;
      if (end >= 0 && held[end] === 0 && held[end + 1] === 0 && held[end + 2] === 0) {
        if (end > 0) options.stdout(held.subarray(0, end));
        const status = held[end + 3] as number;
        finish({ exitStatus: VTYSH_OK_STATUSES.has(status) ? 0 : 1, timedOut: false });
        return;
      }
      if (end > 0) {
        options.stdout(held.subarray(0, end));
        held = held.subarray(end);
      }
    });
    socket.once('error', (e: NodeJS.ErrnoException) =>
      finish({ exitStatus: 126, timedOut: false, spawnError: e.code ?? 'vty' }),
    );
    // The daemon closed before its status: whatever it printed may be partial.
    socket.once('close', () => finish({ exitStatus: 126, timedOut: false, spawnError: 'EPIPE' }));
  });
}
