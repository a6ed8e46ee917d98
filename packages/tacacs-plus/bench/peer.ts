// The far side of the benchmark, in its own process so that client and server each get a core:
// our TACACS+ server (decision log written as JSON lines to a discarding stream, so serialisation is
// counted) and a plain TCP echo server for the baseline. Prints the two ports as one JSON line.
import net from 'node:net';
import { Writable } from 'node:stream';
import { createLogger } from '@netward/audit-context';
import { createTacacsServer } from '../src/index.ts';

const logger = createLogger({
  ...(process.env['BENCH_NO_LOG'] ? { level: 'silent' } : {}),
  component: 'tacacs-server',
  destination: new Writable({
    write(_chunk, _enc, cb) {
      cb();
    },
  }),
});
const server = createTacacsServer({
  key: 'benchsecret',
  logger,
  limits: { maxSessionsPerConnection: 1024 },
  handlers: { authorize: (r) => ({ status: r.cmd === 'show' ? 'PASS_ADD' : 'FAIL' }) },
});
const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
const echo = net.createServer((s) => {
  s.setNoDelay(true);
  s.on('error', () => {});
  s.pipe(s);
});
await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
process.stdout.write(`${JSON.stringify({ tacacs: port, echo: (echo.address() as net.AddressInfo).port })}\n`);
// Each line on stdin asks for this process's CPU time so far, so the bench can report CPU per operation
// (a figure that holds up on a shared machine better than wall-clock rates do).
process.stdin.on('data', () => process.stdout.write(`${JSON.stringify(process.cpuUsage())}\n`));
process.on('SIGTERM', () => process.exit(0));
