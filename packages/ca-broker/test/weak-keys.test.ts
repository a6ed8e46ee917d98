import { generateKeyPairSync } from 'node:crypto';
import { newRequestId } from '@netward/audit-context';
import { formatPublicKey } from '@netward/ssh-certificate';
import { keyLine, NON_CANONICAL, SMALL_ORDER } from '@netward/ssh-certificate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalBackend } from '../src/signers/local.ts';
import { claims, startBroker, type TestBroker } from '../src/testing/broker.ts';
import { startIdp, type TestIdp } from '../src/testing/idp.ts';

// The codec's own tests (packages/ssh-certificate/test/weak-keys.test.ts) refuse every vector; here the
// broker answers them over HTTP.

describe('the broker and weak keys', () => {
  let idp: TestIdp;
  let broker: TestBroker;
  let signs = 0;
  beforeAll(async () => {
    idp = await startIdp();
    broker = startBroker(
      idp,
      {},
      {
        backend: (stateDir) => {
          const inner = createLocalBackend({ stateDir });
          return {
            ...inner,
            signUser: (req) => {
              signs++;
              return inner.signUser(req);
            },
          };
        },
      },
    );
  });
  afterAll(async () => {
    await broker.close();
    await idp.close();
  });

  it('signs nothing for a weak key: 400 ERR_CA_WEAK_KEY, one refused audit line, the token unspent', async () => {
    for (const hex of [...SMALL_ORDER, ...NON_CANONICAL.slice(0, 3)]) {
      const token = await idp.sign(claims(idp));
      const before = broker.audit.lines.length;
      const res = await broker.app.inject({
        method: 'POST',
        url: '/v1/ssh/sign',
        headers: { authorization: `Bearer ${token}` },
        payload: { public_key: keyLine(hex), request_id: newRequestId() },
      });
      expect([res.statusCode, res.json().error.code], hex).toEqual([400, 'ERR_CA_WEAK_KEY']);
      expect(res.body).not.toContain('cert-v01');
      expect(broker.audit.lines.slice(before), hex).toEqual([
        expect.objectContaining({ decision: 'refused', code: 'ERR_CA_WEAK_KEY', http_status: 400 }),
      ]);
      // Refused before the replay cache: the same token still obtains a certificate for a real key.
      const ok = await broker.app.inject({
        method: 'POST',
        url: '/v1/ssh/sign',
        headers: { authorization: `Bearer ${token}` },
        payload: {
          public_key: formatPublicKey(generateKeyPairSync('ed25519').publicKey),
          request_id: newRequestId(),
        },
      });
      expect(ok.statusCode, hex).toBe(200);
    }
    expect(signs).toBe(SMALL_ORDER.length + 3);
  });
});
