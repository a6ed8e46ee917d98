import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { formatPublicKey, parsePublicKey, signCertificate } from '@netward/ssh-certificate';
import Fastify, { type FastifyInstance } from 'fastify';

/**
 * A stand-in for Vault/OpenBao's HTTP API: it records every request and answers in Vault's shapes
 * (documented response bodies of auth/jwt/login, auth/approle/login, ssh/sign/:role, ssh/public_key,
 * auth/token/revoke-self, sys/health). This makes the broker's side of the contract testable; it is not
 * a Vault, and the lab's compose file is where the real engine is exercised.
 */
export interface Recorded {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface FakeVault {
  url: string;
  requests: Recorded[];
  caLine: string;
  hostCaLine: string;
  /** Overrides for the next answers. */
  behaviour: {
    down?: boolean;
    signStatus?: number;
    /** What the engine does when the role does not allow user key ids: it sets its own. */
    ignoreKeyId?: boolean;
    /** Role default_extensions, applied when the request names none (Vault's behaviour). */
    defaultExtensions?: string[];
    /** Flip a bit of the signature: the CA key is right, the signature is not. */
    corruptSignature?: boolean;
    /** Tokens the fake considers revoked (403 on use). */
    revoked?: Set<string>;
    leaseSeconds?: number;
    /** Hold the answer to a sign request this long (a hung Vault). */
    signDelayMs?: number;
    /** Answer sign requests with a 307 to this URL (a standby pointing elsewhere, or worse). */
    signRedirect?: string;
    /** Drop the connection on a sign request (a transport error after a successful login). */
    signReset?: boolean;
  };
  /** Forgets the recorded requests and every override: each test starts from a well-behaved Vault. */
  reset(): void;
  close(): Promise<void>;
}

const envelope = (data: unknown, auth: unknown = null) => ({
  request_id: randomBytes(16).toString('hex'),
  lease_id: '',
  renewable: false,
  lease_duration: 0,
  data,
  wrap_info: null,
  warnings: null,
  auth,
});

export async function startFakeVault(): Promise<FakeVault> {
  const ca = generateKeyPairSync('ed25519');
  const hostCa = generateKeyPairSync('ed25519');
  const requests: Recorded[] = [];
  const behaviour: FakeVault['behaviour'] = { revoked: new Set() };
  let issued = 0;
  const app: FastifyInstance = Fastify();
  app.addHook('onRequest', async (_req, reply) => {
    if (behaviour.down) return reply.code(503).send({ errors: ['Vault is sealed'] });
  });
  app.addHook('preHandler', async (req) => {
    requests.push({ method: req.method, url: req.url, headers: { ...req.headers }, body: req.body });
  });
  const login = (kind: string) => async () => {
    const token = `hvs.${kind}${randomBytes(18).toString('base64url')}${issued++}`;
    return envelope(null, {
      client_token: token,
      accessor: randomBytes(8).toString('hex'),
      policies: ['default', 'ssh-net-operator'],
      lease_duration: behaviour.leaseSeconds ?? 3600,
      renewable: true,
    });
  };
  app.post('/v1/auth/jwt/login', login('jwt'));
  app.post('/v1/auth/approle/login', login('approle'));
  app.post<{ Params: { mount: string; role: string } }>('/v1/:mount/sign/:role', async (req, reply) => {
    const token = req.headers['x-vault-token'];
    if (typeof token !== 'string' || !token.startsWith('hvs.') || behaviour.revoked?.has(token)) {
      return reply.code(403).send({ errors: ['permission denied'] });
    }
    if (behaviour.signReset) {
      reply.hijack();
      req.raw.socket.destroy();
      return;
    }
    if (behaviour.signRedirect) return reply.code(307).header('location', behaviour.signRedirect).send();
    if (behaviour.signDelayMs) await new Promise((r) => setTimeout(r, behaviour.signDelayMs));
    if (behaviour.signStatus) return reply.code(behaviour.signStatus).send({ errors: ['internal error'] });
    const b = req.body as Record<string, unknown>;
    const host = b['cert_type'] === 'host';
    const ttl = Number(String(b['ttl']).replace(/s$/, ''));
    const t = Math.floor(Date.now() / 1000);
    const serial = randomBytes(8).readBigUInt64BE(0) || 1n;
    const ext = Object.keys((b['extensions'] as object) ?? {});
    const signed = signCertificate(
      {
        publicKey: parsePublicKey(String(b['public_key'])).key,
        type: host ? 'host' : 'user',
        serial,
        keyId: behaviour.ignoreKeyId ? `vault-jwt-${randomBytes(8).toString('hex')}` : String(b['key_id']),
        principals: String(b['valid_principals']).split(','),
        // not_before_duration defaults to 30 s in the engine
        validAfter: BigInt(t - 30),
        validBefore: BigInt(t + ttl),
        criticalOptions: host ? {} : ((b['critical_options'] as Record<string, string>) ?? {}),
        extensions: host ? [] : ext.length > 0 ? ext : (behaviour.defaultExtensions ?? []),
      },
      host ? hostCa.privateKey : ca.privateKey,
    );
    if (behaviour.corruptSignature) signed.blob[signed.blob.length - 1]! ^= 1;
    const line = `${signed.line.split(' ')[0]} ${signed.blob.toString('base64')}`;
    const hex = serial.toString(16).padStart(16, '0').match(/../g)!.join(':');
    return envelope({ serial_number: hex, signed_key: `${line}\n` });
  });
  app.get<{ Params: { mount: string } }>('/v1/:mount/public_key', async (req, reply) =>
    reply
      .type('text/plain')
      .send(`${formatPublicKey(req.params.mount === 'ssh-host' ? hostCa.publicKey : ca.publicKey)}\n`),
  );
  app.post('/v1/auth/token/revoke-self', async (req, reply) => {
    behaviour.revoked?.add(String(req.headers['x-vault-token']));
    return reply.code(204).send();
  });
  app.get('/v1/sys/health', async () => ({ initialized: true, sealed: false, standby: false }));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    requests,
    caLine: formatPublicKey(ca.publicKey),
    hostCaLine: formatPublicKey(hostCa.publicKey),
    behaviour,
    reset() {
      requests.length = 0;
      for (const k of Object.keys(behaviour)) delete (behaviour as Record<string, unknown>)[k];
      behaviour.revoked = new Set();
    },
    close: () => app.close(),
  };
}
