import { newRequestId, parseKeyId } from '@netward/audit-context';
import { parseCertificate } from '@netward/ssh-certificate';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claims, signRequest, startBroker, type TestBroker } from '../src/testing/broker.ts';
import { startIdp, type TestIdp } from '../src/testing/idp.ts';

// Whatever the IdP puts in the user and session claims, the broker either refuses the token or issues
// a certificate whose Key ID reads back as exactly that user, session and request: a crafted claim
// can never make a device log somebody else.
let idp: TestIdp;
let broker: TestBroker;
beforeAll(async () => {
  idp = await startIdp();
  broker = startBroker(idp, { rateLimit: { burst: 1_000_000, perSecond: 1_000_000 } });
});
afterAll(async () => {
  await broker.close();
  await idp.close();
});

const hostile = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.stringMatching(/^[A-Za-z0-9._@+-]{1,70}$/),
  fc.constantFrom('bob,user=alice', 'bob\nuser=alice', 'sid=x', 'bob ', ' bob', 'bob/cert:1', 'ünïcode', ''),
);

describe('attribution (property)', () => {
  it('refuses or attributes exactly', async () => {
    await fc.assert(
      fc.asyncProperty(hostile, hostile, async (user, sid) => {
        const requestId = newRequestId();
        const token = await idp.sign(claims(idp, { preferred_username: user, sid }));
        const res = await signRequest(broker.app, token, { request_id: requestId });
        if (res.statusCode !== 200) {
          expect([res.statusCode, res.json().error.code]).toEqual([401, 'ERR_CA_TOKEN_CLAIMS']);
          return;
        }
        const cert = parseCertificate(res.json().certificate);
        expect(parseKeyId(cert.keyId)).toEqual({ user, sid, requestId });
      }),
      { numRuns: 150 },
    );
  }, 60_000);
});
