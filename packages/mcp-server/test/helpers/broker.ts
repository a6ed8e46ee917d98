/**
 * An in-process certificate broker for this package's tests: it checks the exchanged token as the
 * real broker would (issuer, broker audience, actor = this server) and signs with the sshd fixture's
 * user CA through @netward/ssh-certificate. The real broker service is exercised end to
 * end in test/.
 */
import { readFileSync } from 'node:fs';
import { encodeKeyId } from '@netward/audit-context';
import { type BrokerClient, BrokerClientError, type SignedUserCertificate } from '@netward/ca-broker/client';
import { parseCertificate, parsePrivateKey, parsePublicKey, signCertificate } from '@netward/ssh-certificate';
import { CLIENT_ID, type TestIdp } from './idp.ts';

export interface TestBroker extends BrokerClient {
  mode: 'ok' | 'unavailable' | 'refuse';
  /** Seconds of validity of the next certificates. */
  ttlSeconds: number;
  /** Every token presented to the broker. */
  readonly tokens: string[];
  readonly issued: SignedUserCertificate[];
}

export function createTestBroker(idp: TestIdp, userCaKeyFile: string): TestBroker {
  const caKey = parsePrivateKey(readFileSync(userCaKeyFile, 'utf8'));
  let serial = 1000n;
  const broker: TestBroker = {
    mode: 'ok',
    ttlSeconds: 60,
    tokens: [],
    issued: [],
    async sign(req) {
      broker.tokens.push(req.token);
      if (broker.mode === 'unavailable') throw new BrokerClientError('ERR_BROKER_UNAVAILABLE', 'down');
      if (broker.mode === 'refuse') {
        throw new BrokerClientError('ERR_BROKER_REFUSED', 'refused', {
          status: 403,
          brokerCode: 'ERR_CA_POLICY',
        });
      }
      let claims: Awaited<ReturnType<TestIdp['verifyBrokerToken']>>;
      try {
        claims = await idp.verifyBrokerToken(req.token);
      } catch (cause) {
        throw new BrokerClientError('ERR_BROKER_REFUSED', 'token rejected', { status: 401, cause });
      }
      const act = claims['act'] as { sub?: unknown } | undefined;
      if (act?.sub !== CLIENT_ID || claims['net_role'] !== req.role) {
        throw new BrokerClientError('ERR_BROKER_REFUSED', 'actor or role mismatch', { status: 403 });
      }
      const role = claims['net_role'] as string;
      const keyId = encodeKeyId({
        user: claims['preferred_username'] as string,
        sid: claims['sid'] as string,
        requestId: req.requestId,
      });
      const now = Math.floor(Date.now() / 1000);
      serial += 1n;
      const line = typeof req.publicKey === 'string' ? req.publicKey : '';
      const signed = signCertificate(
        {
          publicKey: parsePublicKey(line).key,
          type: 'user',
          serial,
          keyId,
          principals: [role],
          validAfter: BigInt(now - 5),
          validBefore: BigInt(now + broker.ttlSeconds),
        },
        caKey,
      );
      const out: SignedUserCertificate = {
        certificate: signed.line,
        serial: serial.toString(),
        keyId,
        principal: role,
        validAfter: new Date((now - 5) * 1000),
        validBefore: new Date((now + broker.ttlSeconds) * 1000),
        parsed: parseCertificate(signed.line),
      };
      broker.issued.push(out);
      return out;
    },
  };
  return broker;
}
