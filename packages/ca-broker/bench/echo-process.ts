// The floor under the broker's latency: the same HTTP server (fastify, as the broker is built), the
// same request and an answer of a certificate's size, but no token check, no signing, no replay cache
// and no audit line. Run at the same arrival rate as the broker, it shows what the generator, the
// loopback and fastify alone cost. Prints its URL on stdout; SIGUSR2 prints an empty report.
import Fastify from 'fastify';

const certificate = `ssh-ed25519-cert-v01@openssh.com ${'A'.repeat(520)} user`;
const app = Fastify({ logger: false, bodyLimit: 16 * 1024 });
app.post('/v1/ssh/sign', async (req) => {
  const body = req.body as { public_key?: unknown; request_id?: unknown };
  return {
    certificate,
    serial: '1',
    key_id: `sid=s1,user=u,req=${String(body.request_id)}`,
    principal: 'net-viewer',
    valid_after: new Date().toISOString(),
    valid_before: new Date(Date.now() + 60_000).toISOString(),
  };
});
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${url}\n`);
process.on('SIGUSR2', () => process.stdout.write('{}\n'));
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
