import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:net';
import { formatPublicKey, parsePublicKey, signCertificate } from '@netward/ssh-certificate';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerClientError, createBrokerClient } from '../src/client.ts';

// A stand-in broker whose answer each test chooses, so every client branch can be reached, including
// answers the real broker never gives (a certificate for another key, a host certificate, ...).
const ca = generateKeyPairSync('ed25519');
const mine = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const TOKEN = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJl';
const REQ = 'Qm9iUmVxdWVzdElkMDAx';

type Answer = (body: Record<string, string>) => {
  status: number;
  body: unknown;
  raw?: string;
  delayMs?: number;
};
let answer: Answer;
const seen: { headers: Record<string, unknown>; body: Record<string, string> }[] = [];
let app: FastifyInstance;
let baseUrl: string;

function certFor(line: string, overrides: Partial<Parameters<typeof signCertificate>[0]> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return signCertificate(
    {
      publicKey: parsePublicKey(line).key,
      type: 'user',
      serial: 42n,
      keyId: `sid=s1,user=bob,req=${REQ}`,
      principals: ['net-operator'],
      validAfter: BigInt(now - 5),
      validBefore: BigInt(now + 60),
      ...overrides,
    },
    ca.privateKey,
  ).line;
}

const ok =
  (
    overrides: Partial<Parameters<typeof signCertificate>[0]> = {},
    body: Record<string, unknown> = {},
  ): Answer =>
  (b) => ({
    status: 200,
    body: {
      certificate: certFor(b['public_key']!, overrides),
      serial: '42',
      key_id: `sid=s1,user=bob,req=${REQ}`,
      principal: 'net-operator',
      valid_after: new Date().toISOString(),
      valid_before: new Date().toISOString(),
      ...body,
    },
  });

beforeAll(async () => {
  app = Fastify();
  app.post('/prefix/v1/ssh/sign', async (req, reply) => {
    const body = req.body as Record<string, string>;
    seen.push({ headers: req.headers, body });
    const a = answer(body);
    if (a.delayMs) await new Promise((r) => setTimeout(r, a.delayMs));
    if (a.raw !== undefined) return reply.code(a.status).type('text/plain').send(a.raw);
    return reply.code(a.status).send(a.body);
  });
  baseUrl = `${await app.listen({ host: '127.0.0.1', port: 0 })}/prefix`;
});
afterAll(() => app.close());

async function failure(p: Promise<unknown>): Promise<BrokerClientError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(BrokerClientError);
    const e = err as BrokerClientError;
    // The token is a secret: never in an error, whatever happened.
    expect(`${e.message} ${String(e.cause)} ${JSON.stringify(e)}`).not.toContain(TOKEN);
    return e;
  }
  throw new Error('expected a BrokerClientError');
}

const sign = (client = createBrokerClient({ baseUrl })) =>
  client.sign({
    token: TOKEN,
    publicKey: formatPublicKey(mine.publicKey),
    requestId: REQ,
    role: 'net-operator',
  });

describe('createBrokerClient().sign', () => {
  it('sends the contract and returns the checked certificate', async () => {
    answer = ok();
    seen.length = 0;
    const res = await sign();
    expect(seen[0]!.headers['authorization']).toBe(`Bearer ${TOKEN}`);
    expect(seen[0]!.body).toEqual({
      public_key: formatPublicKey(mine.publicKey),
      request_id: REQ,
      role: 'net-operator',
    });
    expect(res.serial).toBe('42');
    expect(res.keyId).toBe(`sid=s1,user=bob,req=${REQ}`);
    expect(res.principal).toBe('net-operator');
    expect(res.certificate).toMatch(/^ssh-ed25519-cert-v01@openssh\.com AAAA/);
    expect(res.validBefore.getTime() - res.validAfter.getTime()).toBe(65_000);
    // role is optional on the wire
    await createBrokerClient({ baseUrl }).sign({ token: TOKEN, publicKey: mine.publicKey, requestId: REQ });
    expect(seen[1]!.body).toEqual({ public_key: formatPublicKey(mine.publicKey), request_id: REQ });
  });

  it('reports a refusal with the status and the broker code', async () => {
    answer = () => ({
      status: 403,
      body: { error: { code: 'ERR_CA_ROLE_MISMATCH', message: 'role mismatch' } },
    });
    const e = await failure(sign());
    expect([e.code, e.status, e.brokerCode]).toEqual(['ERR_BROKER_REFUSED', 403, 'ERR_CA_ROLE_MISMATCH']);
    answer = () => ({ status: 502, body: null, raw: '<html>bad gateway</html>' });
    const e2 = await failure(sign());
    expect([e2.code, e2.status, e2.brokerCode]).toEqual(['ERR_BROKER_REFUSED', 502, undefined]);
  });

  it('tells an unreachable broker from a slow one', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    expect((await failure(sign(createBrokerClient({ baseUrl: `http://127.0.0.1:${port}` })))).code).toBe(
      'ERR_BROKER_UNAVAILABLE',
    );
    answer = (b) => ({ ...ok()(b), delayMs: 400 });
    expect((await failure(sign(createBrokerClient({ baseUrl, timeoutMs: 100 })))).code).toBe(
      'ERR_BROKER_TIMEOUT',
    );
  });

  it('refuses answers that do not hold a user certificate for the key it sent', async () => {
    const cases: [string, Answer][] = [
      ['not JSON', () => ({ status: 200, body: null, raw: 'certificate: yes' })],
      ['missing fields', () => ({ status: 200, body: { certificate: 'x' } })],
      ['junk certificate', ok({}, { certificate: 'ssh-ed25519-cert-v01@openssh.com AAAA' })],
      ['another key', (b) => ok({ publicKey: other.publicKey })(b)],
      ['host certificate', ok({ type: 'host' })],
      ['serial differs', ok({ serial: 43n })],
      ['key id differs', ok({ keyId: 'sid=s1,user=mallory' })],
      ['principal differs', ok({ principals: ['net-admin'] })],
      ['two principals', ok({ principals: ['net-operator', 'net-admin'] })],
      ['expired', ok({ validAfter: 1000n, validBefore: 1060n })],
      ['never expires', ok({ validBefore: (1n << 64n) - 1n })],
      ['a plain key', ok({}, { certificate: formatPublicKey(mine.publicKey) })],
    ];
    for (const [name, a] of cases) {
      answer = a;
      const e = await failure(sign());
      expect(e.code, name).toBe('ERR_BROKER_BAD_RESPONSE');
    }
  });

  it('rejects bad arguments as programming errors', async () => {
    const client = createBrokerClient({ baseUrl });
    await expect(client.sign({ token: TOKEN, publicKey: 'ssh-rsa AAAA', requestId: REQ })).rejects.toThrow(
      TypeError,
    );
    await expect(
      client.sign({ token: '', publicKey: formatPublicKey(mine.publicKey), requestId: REQ }),
    ).rejects.toThrow(TypeError);
    expect(() => createBrokerClient({ baseUrl: 'ftp://x' })).toThrow(TypeError);
    expect(() => createBrokerClient({ baseUrl, timeoutMs: 0 })).toThrow(TypeError);
  });
});
