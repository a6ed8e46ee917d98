import type { Socket } from 'node:net';

/**
 * Writes one packet; the packets written in the same turn of the event loop leave in one writev. On a
 * connection with many sessions this halved the system calls per packet (bench/authorize.bench.ts); the
 * client's kept connections and every server connection write through it.
 */
export function batchedWrite(socket: Socket, wire: Buffer): void {
  if (socket.writableCorked === 0) {
    socket.cork();
    process.nextTick(uncork, socket);
  }
  socket.write(wire);
}

function uncork(socket: Socket): void {
  socket.uncork();
}
