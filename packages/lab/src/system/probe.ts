import { connect, type NetConnectOpts, type Socket } from 'node:net';

/**
 * Connects (to host:port, or a Unix socket's path) and resolves with what `judge` makes of the socket (or false on an error or
 * after `timeoutMs`); the socket is closed once the answer is known.
 */
function probeSocket(
  target: NetConnectOpts,
  timeoutMs: number,
  judge: (socket: Socket, done: (ok: boolean) => void) => void,
): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(target);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    judge(socket, done);
  });
}

/** True when a TCP connection to host:port opens within `timeoutMs`. */
export function tcpOpen(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return probeSocket({ host, port }, timeoutMs, (socket, done) => socket.once('connect', () => done(true)));
}

/** True when a connection to the Unix socket at `path` opens within `timeoutMs`. */
export function unixOpen(path: string, timeoutMs = 1_000): Promise<boolean> {
  return probeSocket({ path }, timeoutMs, (socket, done) => socket.once('connect', () => done(true)));
}

/** True when the server sends an SSH identification string (RFC 4253 section 4.2). */
export function sshBanner(host: string, port: number, timeoutMs = 2_000): Promise<boolean> {
  return probeSocket({ host, port }, timeoutMs, (socket, done) =>
    socket.once('data', (d) => done(d.toString('latin1').startsWith('SSH-2.0-'))),
  );
}

/** True when GET url answers 2xx within `timeoutMs`. */
export async function httpOk(url: string, timeoutMs = 1_000): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}
