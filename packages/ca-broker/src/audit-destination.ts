/**
 * Where the broker's audit lines go: a file descriptor written with write(2) on the calling thread, so
 * that a line is in the file (or the pipe) when the logger call returns, and so before the answer
 * that follows it is sent. pino's default destination (sonic-boom, asynchronous) only buffers the line
 * and writes it on libuv's thread pool later: a broker killed in between had sent a certificate
 * without its line, and each of those writes cost a wake-up of the event loop.
 *
 * A write that fails throws from the logger call: on the issuing path that is before the certificate
 * is sent, so the request is refused (500) and no certificate leaves without its line (fail closed).
 * A full pipe (a log reader that does not keep up) blocks the broker until the reader catches up, for
 * at most `stallMs`; then the line is given up and the request refused the same way.
 */
import { openSync, writeSync } from 'node:fs';
import type { CreateLoggerOptions } from '@netward/audit-context';

const DEFAULT_STALL_MS = 10_000;
/** Waits without spinning; a SharedArrayBuffer of one int that nobody notifies. */
const pause = new Int32Array(new SharedArrayBuffer(4));

export interface AuditDestinationOptions {
  /** How long a full pipe may hold a line back before it is given up. Default 10 s. */
  readonly stallMs?: number;
}

/**
 * A synchronous destination on `target`: a file descriptor (default 1, standard output) or a file
 * path, opened for appending (created 0600).
 */
export function auditDestination(
  target: number | string = 1,
  options: AuditDestinationOptions = {},
): NonNullable<CreateLoggerOptions['destination']> {
  const fd = typeof target === 'number' ? target : openSync(target, 'a', 0o600);
  const stallMs = options.stallMs ?? DEFAULT_STALL_MS;
  return {
    write(line: string) {
      writeAll(fd, Buffer.from(line, 'utf8'), stallMs);
    },
  };
}

function writeAll(fd: number, data: Buffer, stallMs: number): void {
  let offset = 0;
  let deadline: number | undefined;
  while (offset < data.length) {
    try {
      offset += writeSync(fd, data, offset);
    } catch (err) {
      // A non-blocking pipe that is full: wait for its reader, 1 ms at a time.
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      deadline ??= Date.now() + stallMs;
      if (Date.now() >= deadline) throw err;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}
