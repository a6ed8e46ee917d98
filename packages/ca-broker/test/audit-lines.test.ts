import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { newRequestId, parseAuditLine } from '@netward/audit-context';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claims, freshKey, startBroker, type TestBroker } from '../src/testing/broker.ts';
import { startIdp, type TestIdp } from '../src/testing/idp.ts';

// README (Audit): every request leaves exactly one line, refused or not, including the ones fastify
// refuses before a handler runs (body too large, wrong media type, unparsable JSON, unknown route).
let idp: TestIdp;
let broker: TestBroker;
let port: number;

beforeAll(async () => {
  idp = await startIdp();
  broker = startBroker(idp);
  await broker.app.listen({ host: '127.0.0.1', port: 0 });
  port = (broker.app.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await broker.close();
  await idp.close();
});

/** One request over a real socket; resolves with the status once the answer is complete. */
function send(method: string, path: string, headers: Record<string, string>, body?: string) {
  return new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('one audit line per request', () => {
  it('writes exactly one line for each kind of request, with its status and code', async () => {
    const token = await idp.sign(claims(idp));
    const json = { 'content-type': 'application/json' };
    const auth = { authorization: `Bearer ${token}` };
    const valid = JSON.stringify({ public_key: freshKey().line, request_id: newRequestId() });
    const cases: [string, () => Promise<number>, number, Record<string, unknown>][] = [
      [
        'issued',
        () => send('POST', '/v1/ssh/sign', { ...json, ...auth }, valid),
        200,
        { decision: 'issued' },
      ],
      [
        'replayed',
        () => send('POST', '/v1/ssh/sign', { ...json, ...auth }, valid),
        401,
        { decision: 'refused', code: 'ERR_CA_TOKEN_REPLAYED' },
      ],
      [
        'no token',
        () => send('POST', '/v1/ssh/sign', json, valid),
        401,
        { decision: 'refused', code: 'ERR_CA_TOKEN_MISSING' },
      ],
      [
        'body too large (413)',
        () => send('POST', '/v1/ssh/sign', { ...json, ...auth }, `{"public_key":"${'A'.repeat(20_000)}"}`),
        413,
        { decision: 'refused', code: 'ERR_CA_BAD_REQUEST', route: '/v1/ssh/sign', http_status: 413 },
      ],
      [
        'text/plain (415)',
        () => send('POST', '/v1/ssh/sign', { 'content-type': 'text/plain', ...auth }, valid),
        415,
        { decision: 'refused', code: 'ERR_CA_BAD_REQUEST', http_status: 415 },
      ],
      [
        'invalid JSON (400)',
        () => send('POST', '/v1/ssh/sign', { ...json, ...auth }, '{"public_key":'),
        400,
        { decision: 'refused', code: 'ERR_CA_BAD_REQUEST', http_status: 400 },
      ],
      [
        'unknown route (404)',
        () => send('GET', '/v1/nothing?access_token=secret-in-query', {}),
        404,
        {
          decision: 'refused',
          code: 'ERR_CA_NOT_FOUND',
          detail: { path: '/v1/nothing', message: 'not found' },
        },
      ],
      [
        'malformed URL (400)',
        () => send('GET', '/v1/ssh/%zz', {}),
        400,
        { decision: 'refused', http_status: 400 },
      ],
      [
        'host signing off (404)',
        () => send('POST', '/v1/ssh/sign-host', json, '{}'),
        404,
        { decision: 'refused', code: 'ERR_CA_NOT_FOUND', route: '/v1/ssh/sign-host' },
      ],
      [
        'CA key',
        () => send('GET', '/v1/ssh/ca.pub', {}),
        200,
        { decision: 'served', route: '/v1/ssh/ca.pub' },
      ],
      ['health', () => send('GET', '/healthz', {}), 200, { decision: 'served', route: '/healthz' }],
      ['no host CA here', () => send('GET', '/v1/ssh/host-ca.pub', {}), 200, { decision: 'served' }],
    ];
    for (const [name, run, status, expected] of cases) {
      const before = broker.audit.raw.length;
      expect(await run(), name).toBe(status);
      // The answer is complete: onResponse has run (a line is handed over synchronously).
      await new Promise((r) => setTimeout(r, 20));
      const added = broker.audit.raw.slice(before);
      expect(added, name).toHaveLength(1);
      const line = JSON.parse(added[0]!);
      expect(line, name).toMatchObject({ component: 'ca-broker', http_status: status, ...expected });
      expect(() => parseAuditLine(added[0]!), name).not.toThrow();
      expect(added[0], name).not.toContain(token.split('.')[2]);
      expect(added[0], name).not.toContain('secret-in-query');
    }
  });
});
