import { generateKeyPairSync } from 'node:crypto';
import { newRequestId } from '@netward/audit-context';
import { formatPublicKey } from '@netward/ssh-certificate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalBackend } from '../src/signers/local.ts';
import { claims, startBroker, type TestBroker } from './helpers/broker.ts';
import { startIdp, type TestIdp } from './helpers/idp.ts';

// The codec's own tests (packages/ssh-certificate/test/weak-keys.test.ts) refuse every vector; here the
// broker answers them over HTTP.
// The eight points of small order as libsodium's blocklist spells them (ed25519_ref10.c,
// `has_small_order`), copied as bytes rather than derived from the code under test.
const SMALL_ORDER = [
  '0100000000000000000000000000000000000000000000000000000000000000', // identity, order 1
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // order 2
  '0000000000000000000000000000000000000000000000000000000000000000', // order 4 (the all-zero key)
  '0000000000000000000000000000000000000000000000000000000000000080', // order 4
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', // order 8
];

/** y = p + k for k in 0..18 (p = 2^255 - 19): every value of y at or above p, little-endian. */
function yAtOrAboveP(k: number, signBit: boolean): string {
  const b = Buffer.alloc(32, 0xff);
  b[0] = 0xed + k; // p's lowest byte is 0xed; 0xed + 18 = 0xff, so no carry.
  b[31] = signBit ? 0xff : 0x7f;
  return b.toString('hex');
}

const NON_CANONICAL = [
  ...Array.from({ length: 19 }, (_, k) => yAtOrAboveP(k, false)),
  ...Array.from({ length: 19 }, (_, k) => yAtOrAboveP(k, true)),
  // "Negative zero": x = 0 (y = 1 or y = p - 1) with the sign bit set.
  '0100000000000000000000000000000000000000000000000000000000000080',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
];

function keyLine(rawHex: string): string {
  const type = Buffer.from('ssh-ed25519');
  const raw = Buffer.from(rawHex, 'hex');
  const blob = Buffer.alloc(4 + type.length + 4 + raw.length);
  blob.writeUInt32BE(type.length, 0);
  type.copy(blob, 4);
  blob.writeUInt32BE(raw.length, 4 + type.length);
  raw.copy(blob, 8 + type.length);
  return `ssh-ed25519 ${blob.toString('base64')}`;
}

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
