import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeKeyId, newRequestId, parseAuditLine } from '@netward/audit-context';
import {
  checkCertificate,
  fingerprint,
  formatPublicKey,
  parseCertificate,
  parsePublicKey,
  signCertificate,
} from '@netward/ssh-certificate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CA_BROKER_ERRORS } from '../src/index.ts';
import { createLocalBackend } from '../src/signers/local.ts';
import type { SigningBackend } from '../src/signers/types.ts';
import {
  claims,
  freshKey,
  signRequest,
  startBroker,
  type TestBroker,
  testPolicy,
} from '../src/testing/broker.ts';
import { startIdp, type TestIdp } from '../src/testing/idp.ts';
import { sshKeygen, tempDir } from './helpers/openssh.ts';

let idp: TestIdp;
let broker: TestBroker;
let token: string;

beforeAll(async () => {
  idp = await startIdp();
  broker = startBroker(idp);
  token = await idp.sign(claims(idp));
});

/** A new token (its own jti), as the MCP server obtains one per tool call. */
const fresh = () => idp.sign(claims(idp));

/** The last certificate decision: GET requests in between write lines of their own. */
const lastDecision = (b: TestBroker) => b.audit.lines.filter((l) => 'certificate_type' in l).at(-1);
afterAll(async () => {
  await broker.close();
  await idp.close();
});

async function caPub(b: TestBroker): Promise<string> {
  const res = await b.app.inject({ method: 'GET', url: '/v1/ssh/ca.pub' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain/);
  return res.body.trim();
}

describe('POST /v1/ssh/sign', () => {
  it('logs a certificate issued after the caller gave up as late', async () => {
    const slow = (dir: string): SigningBackend => {
      const inner = createLocalBackend({ stateDir: dir });
      return {
        ...inner,
        signUser: async (r) => {
          await new Promise((res) => setTimeout(res, 400));
          return inner.signUser(r);
        },
        signHost: (r) => inner.signHost(r),
        userCaPublicKey: () => inner.userCaPublicKey(),
        hostCaPublicKey: () => inner.hostCaPublicKey(),
        ready: () => inner.ready(),
        close: () => inner.close(),
      };
    };
    const b = startBroker(idp, {}, { backend: slow });
    try {
      await b.backend.ready();
      const url = await b.app.listen({ host: '127.0.0.1', port: 0 });
      // A fresh token each: one exchanged token yields one certificate (the replay cache).
      const sign = async (signal?: AbortSignal) =>
        fetch(`${url}/v1/ssh/sign`, {
          method: 'POST',
          headers: { authorization: `Bearer ${await fresh()}`, 'content-type': 'application/json' },
          body: JSON.stringify({ public_key: freshKey().line, request_id: newRequestId() }),
          ...(signal ? { signal } : {}),
        });
      // The caller times out after 100 ms; the broker finishes signing at 400 ms.
      await expect(sign(AbortSignal.timeout(100))).rejects.toThrow();
      await new Promise((r) => setTimeout(r, 700));
      expect((await sign()).status).toBe(200);
      const issued = b.audit.lines.filter((l) => l['decision'] === 'issued');
      expect(issued.map((l) => l['late'] === true)).toEqual([true, false]);
      expect(issued[0]?.['msg']).toBe('user certificate issued late: the caller had already gone');
    } finally {
      await b.close();
    }
  });

  it('issues a 60-second user certificate for the token role, and audits it', async () => {
    const key = freshKey();
    const requestId = newRequestId();
    const before = Math.floor(Date.now() / 1000);
    const res = await signRequest(broker.app, token, {
      public_key: `${key.line} bob@laptop`,
      request_id: requestId,
    });
    const after = Math.floor(Date.now() / 1000);
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    const keyId = encodeKeyId({ user: 'bob', sid: 'fd9e4bdc77df2fa8', requestId });
    expect(body).toEqual({
      certificate: expect.stringMatching(/^ssh-ed25519-cert-v01@openssh\.com AAAA[A-Za-z0-9+/=]+$/),
      serial: expect.stringMatching(/^[1-9][0-9]*$/),
      key_id: keyId,
      principal: 'net-operator',
      valid_after: expect.any(String),
      valid_before: expect.any(String),
    });
    const cert = parseCertificate(body.certificate);
    expect(checkCertificate(cert, { trustedCaKeys: [await caPub(broker)], principal: 'net-operator' })).toBe(
      cert,
    );
    expect(cert.publicKeyBlob.equals(parsePublicKey(key.line).blob)).toBe(true);
    expect(cert.serial.toString()).toBe(body.serial);
    expect(cert.keyId).toBe(keyId);
    expect(cert.principals).toEqual(['net-operator']);
    // default policy: 60 s; 5 s backdate; no extensions; no critical options unless configured
    expect(Number(cert.validBefore - cert.validAfter)).toBe(65);
    expect(Number(cert.validBefore)).toBeGreaterThanOrEqual(before + 60);
    expect(Number(cert.validBefore)).toBeLessThanOrEqual(after + 60);
    expect(new Date(body.valid_before).getTime()).toBe(Number(cert.validBefore) * 1000);
    expect(new Date(body.valid_after).getTime()).toBe(Number(cert.validAfter) * 1000);
    expect(cert.extensions).toEqual([]);
    expect(cert.criticalOptions).toEqual([]);

    const line = lastDecision(broker)!;
    expect(line).toMatchObject({
      component: 'ca-broker',
      decision: 'issued',
      user: 'bob',
      sid: 'fd9e4bdc77df2fa8',
      role: 'net-operator',
      request_id: requestId,
      cert_serial: body.serial,
      key_fingerprint: fingerprint(key.publicKey),
      ttl: 60,
      actor: 'netward-mcp-server',
    });
    expect(() => parseAuditLine(broker.audit.raw.at(-1)!)).not.toThrow();
    expect(broker.audit.raw.join('\n')).not.toContain(token.split('.')[2]);
  });

  it('gives distinct serials', async () => {
    const serials = new Set<string>();
    const b = startBroker(idp, { rateLimit: { burst: 100, perSecond: 100 } });
    try {
      for (let i = 0; i < 50; i++) serials.add((await signRequest(b.app, await fresh())).json().serial);
    } finally {
      await b.close();
    }
    expect(serials.size).toBe(50);
  });

  it('keeps the TTL at or below the role maximum and adds only granted extensions', async () => {
    const b = startBroker(
      idp,
      { certificate: { sourceAddress: ['127.0.0.1/32', '::1'] } },
      {
        policy: testPolicy({ ttl: 20, maxTtl: 30, extensions: ['permit-pty'] }),
      },
    );
    try {
      const res = await signRequest(b.app, await fresh());
      expect(res.statusCode).toBe(200);
      const cert = parseCertificate(res.json().certificate);
      expect(Number(cert.validBefore - cert.validAfter)).toBe(25);
      expect(cert.extensions).toEqual([{ name: 'permit-pty', value: '' }]);
      expect(cert.criticalOptions).toEqual([{ name: 'source-address', value: '127.0.0.1/32,::1' }]);
    } finally {
      await b.close();
    }
  });

  it('binds the certificate to the device the request names when devicePrincipal is on', async () => {
    const b = startBroker(idp, { certificate: { devicePrincipal: true } });
    try {
      const res = await signRequest(b.app, await fresh(), { device: 'spine-a' });
      expect(res.statusCode).toBe(200);
      expect(res.json().principal).toBe('net-operator@spine-a');
      expect(parseCertificate(res.json().certificate).principals).toEqual(['net-operator@spine-a']);
      // Without a device there is nothing to bind to: refused, not a role-wide certificate.
      const none = await signRequest(b.app, await fresh());
      expect([none.statusCode, none.json().error.code]).toEqual([400, 'ERR_CA_BAD_REQUEST']);
      const bad = await signRequest(b.app, await fresh(), { device: 'spine a' });
      expect(bad.statusCode).toBe(400);
    } finally {
      await b.close();
    }
    // Off (the default): the principal stays the role whatever the request names.
    const plain = await signRequest(broker.app, await fresh(), { device: 'spine-a' });
    expect(plain.json().principal).toBe('net-operator');
  });

  it('accepts the role by IdP name or policy name, and refuses a mismatch', async () => {
    expect((await signRequest(broker.app, await fresh(), { role: 'net-operator' })).statusCode).toBe(200);
    const viewer = await idp.sign(claims(idp, { net_role: 'net-viewer' }));
    const res = await signRequest(broker.app, viewer, { role: 'net-operator' });
    expect([res.statusCode, res.json().error.code]).toEqual([403, 'ERR_CA_ROLE_MISMATCH']);
  });

  it('takes the user from sub when preferred_username is absent', async () => {
    const t = await idp.sign(claims(idp, { preferred_username: undefined, sub: 'carol' }));
    const res = await signRequest(broker.app, t);
    expect(res.json().key_id).toMatch(/^sid=fd9e4bdc77df2fa8,user=carol,req=/);
  });

  it('refuses keys and bodies it cannot certify with 400 and a code', async () => {
    const rsaDir = tempDir('ca-broker-rsa');
    sshKeygen(['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', join(rsaDir.path, 'k')]);
    const rsa = sshKeygen(['-y', '-f', join(rsaDir.path, 'k')]).trim();
    rsaDir.remove();
    const ca = freshKey();
    const someCert = signCertificate(
      {
        publicKey: freshKey().publicKey,
        type: 'user',
        serial: 1n,
        keyId: 'x',
        principals: ['net-operator'],
        validAfter: 0n,
        validBefore: 1n << 40n,
      },
      ca.privateKey,
    ).line;
    const cases: [string, Record<string, unknown>, string][] = [
      ['RSA key', { public_key: rsa }, 'ERR_CA_UNSUPPORTED_KEY'],
      ['a certificate instead of a key', { public_key: someCert }, 'ERR_CA_CERTIFICATE_NOT_KEY'],
      ['junk key', { public_key: 'ssh-ed25519 AAAAjunk' }, 'ERR_CA_MALFORMED_KEY'],
      ['private key', { public_key: '-----BEGIN OPENSSH PRIVATE KEY-----' }, 'ERR_CA_MALFORMED_KEY'],
      ['missing request id', { request_id: undefined }, 'ERR_CA_BAD_REQUEST'],
      ['short request id', { request_id: 'abc' }, 'ERR_CA_BAD_REQUEST'],
      ['request id with separators', { request_id: 'aaaaaaaaaaaaaaaa,user=x' }, 'ERR_CA_BAD_REQUEST'],
      ['unknown field', { principals: ['net-admin'] }, 'ERR_CA_BAD_REQUEST'],
      ['public key not a string', { public_key: 42 }, 'ERR_CA_BAD_REQUEST'],
    ];
    for (const [name, body, code] of cases) {
      const res = await signRequest(broker.app, token, body);
      expect([res.statusCode, res.json().error.code], name).toEqual([400, code]);
      expect(res.body, name).not.toContain('cert-v01');
    }
    for (const [name, payload, type, status] of [
      ['not JSON', '{"public_key":', 'application/json', 400],
      ['text body', 'hello', 'text/plain', 415],
      ['huge body', JSON.stringify({ public_key: 'x'.repeat(20_000) }), 'application/json', 413],
    ] as const) {
      const res = await broker.app.inject({
        method: 'POST',
        url: '/v1/ssh/sign',
        headers: { authorization: `Bearer ${token}`, 'content-type': type },
        payload,
      });
      expect([res.statusCode, res.json().error.code], name).toEqual([status, 'ERR_CA_BAD_REQUEST']);
    }
  });

  it('limits each user separately with 429 and Retry-After', async () => {
    const b = startBroker(idp, { rateLimit: { burst: 3, perSecond: 0.01 } });
    try {
      for (let i = 0; i < 3; i++) expect((await signRequest(b.app, await fresh())).statusCode).toBe(200);
      const res = await signRequest(b.app, await fresh());
      expect([res.statusCode, res.json().error.code]).toEqual([429, 'ERR_CA_RATE_LIMITED']);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(res.body).not.toContain('cert-v01');
      const alice = await idp.sign(claims(idp, { preferred_username: 'alice' }));
      expect((await signRequest(b.app, alice)).statusCode).toBe(200);
    } finally {
      await b.close();
    }
  });

  it('answers 503 and issues nothing when the backend fails or misbehaves', async () => {
    const failing = (): SigningBackend => ({
      kind: 'local',
      inProcess: true,
      signUser: async () => {
        throw new Error('HSM offline');
      },
      signHost: async () => {
        throw new Error('HSM offline');
      },
      userCaPublicKey: async () => formatPublicKey(freshKey().publicKey),
      hostCaPublicKey: async () => undefined,
      ready: async () => {
        throw new Error('HSM offline');
      },
      close: async () => {},
    });
    // A backend that signs, but not what was asked: each must be caught by the service's own check.
    const wrong =
      (change: (req: Parameters<SigningBackend['signUser']>[0]) => Record<string, unknown>) =>
      (dir: string): SigningBackend => {
        const real = createLocalBackend({ stateDir: dir });
        const ca = freshKey();
        return {
          ...real,
          signUser: async (req) => {
            const t = Math.floor(Date.now() / 1000);
            const fields = {
              publicKey: req.publicKey,
              type: 'user' as const,
              serial: 7n,
              keyId: req.keyId,
              principals: [req.principal],
              validAfter: BigInt(t - 5),
              validBefore: BigInt(t + req.ttlSeconds),
              ...change(req),
            };
            const { useOtherCa, ...rest } = fields as typeof fields & { useOtherCa?: boolean };
            if (useOtherCa) return signCertificate(rest, ca.privateKey).line;
            return real.signUser({ ...req, ...(change(req) as object) });
          },
        };
      };
    const other = freshKey();
    const variants: [string, (dir: string) => SigningBackend][] = [
      ['backend down', () => failing()],
      ['other principal', wrong(() => ({ principal: 'net-admin' }))],
      ['longer TTL', wrong(() => ({ ttlSeconds: 3600 }))],
      ['other key id', wrong(() => ({ keyId: 'sid=x,user=mallory' }))],
      ['other key', wrong(() => ({ publicKey: other.publicKey }))],
      ['extension not granted', wrong(() => ({ extensions: ['permit-port-forwarding'] }))],
      ['critical option dropped', wrong(() => ({ criticalOptions: { 'source-address': '0.0.0.0/0' } }))],
      ['another CA', wrong(() => ({ useOtherCa: true }))],
    ];
    for (const [name, backend] of variants) {
      const b = startBroker(idp, {}, { backend });
      try {
        const res = await signRequest(b.app, await fresh());
        expect([res.statusCode, res.json().error.code], name).toEqual([503, 'ERR_CA_BACKEND_UNAVAILABLE']);
        expect(res.body, name).not.toContain('cert-v01');
        expect(lastDecision(b), name).toMatchObject({
          decision: 'refused',
          code: 'ERR_CA_BACKEND_UNAVAILABLE',
        });
        expect(lastDecision(b)!['cert_serial'], name).toBeUndefined();
      } finally {
        await b.close();
      }
    }
    const down = startBroker(idp, {}, { backend: () => failing() });
    try {
      const res = await down.app.inject({ method: 'GET', url: '/readyz' });
      expect([res.statusCode, res.json().error.code]).toEqual([503, 'ERR_CA_NOT_READY']);
    } finally {
      await down.close();
    }
  });
});

describe('other endpoints', () => {
  it('serves the CA public key, health and readiness, and a JSON 404', async () => {
    const pub = await caPub(broker);
    expect(pub).toMatch(/^ssh-ed25519 AAAA/);
    const d = tempDir('ca-broker-pub');
    writeFileSync(join(d.path, 'ca.pub'), `${pub}\n`);
    expect(sshKeygen(['-l', '-f', join(d.path, 'ca.pub')])).toContain(fingerprint(parsePublicKey(pub).key));
    d.remove();
    expect((await broker.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await broker.app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ status: 'ready' });
    const nf = await broker.app.inject({ method: 'GET', url: '/v1/nothing' });
    expect([nf.statusCode, nf.json().error.code]).toEqual([404, 'ERR_CA_NOT_FOUND']);
    // host signing is off unless an operator token file is configured
    const off = await broker.app.inject({ method: 'POST', url: '/v1/ssh/sign-host', payload: {} });
    expect(off.statusCode).toBe(404);
  });
});

describe('POST /v1/ssh/sign-host', () => {
  const OPERATOR = 'op-token-0123456789abcdef';
  let b: TestBroker;
  const dir = tempDir('ca-broker-op');
  beforeAll(() => {
    const file = join(dir.path, 'operator-token');
    writeFileSync(file, `${OPERATOR}\n`, { mode: 0o600 });
    b = startBroker(idp, { hostSigning: { operatorTokenFile: file, maxValidityDays: 30 } });
  });
  afterAll(async () => {
    await b.close();
    dir.remove();
  });
  const post = (auth: string | undefined, payload: Record<string, unknown>) =>
    b.app.inject({
      method: 'POST',
      url: '/v1/ssh/sign-host',
      headers: auth ? { authorization: auth } : {},
      payload,
    });

  it('signs a device host key with the host CA, for the operator only', async () => {
    const key = freshKey();
    const res = await post(`Bearer ${OPERATOR}`, {
      public_key: key.line,
      principals: ['spine-a', '10.0.0.1'],
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const cert = parseCertificate(body.certificate);
    const hostCa = (await b.app.inject({ method: 'GET', url: '/v1/ssh/host-ca.pub' })).body.trim();
    expect(hostCa).not.toBe(await caPub(b));
    expect(checkCertificate(cert, { trustedCaKeys: [hostCa], type: 'host', principal: 'spine-a' })).toBe(
      cert,
    );
    const userCa = await caPub(b);
    expect(() => checkCertificate(cert, { trustedCaKeys: [userCa], type: 'host' })).toThrow();
    expect(Number(cert.validBefore - cert.validAfter)).toBe(30 * 86_400 + 5);
    expect(body.principals).toEqual(['spine-a', '10.0.0.1']);
    expect(lastDecision(b)).toMatchObject({
      decision: 'issued',
      certificate_type: 'host',
      user: 'operator',
    });
    expect(b.audit.raw.join('\n')).not.toContain(OPERATOR);

    for (const auth of [undefined, 'Bearer wrong-token-0123456789', `Basic ${OPERATOR}`, `Bearer ${token}`]) {
      const r = await post(auth, { public_key: key.line, principals: ['spine-a'] });
      expect([r.statusCode, r.json().error.code], String(auth)).toEqual([
        401,
        'ERR_CA_OPERATOR_UNAUTHORIZED',
      ]);
      expect(r.headers['www-authenticate']).toBe('Bearer realm="netward-ca-broker-operator"');
    }
    const long = await post(`Bearer ${OPERATOR}`, {
      public_key: key.line,
      principals: ['a'],
      validity_days: 31,
    });
    expect([long.statusCode, long.json().error.code]).toEqual([400, 'ERR_CA_BAD_REQUEST']);
    const wild = await post(`Bearer ${OPERATOR}`, { public_key: key.line, principals: ['*'] });
    expect(wild.statusCode).toBe(400);
  });

  it('refuses an operator token file others can read', () => {
    const file = join(dir.path, 'loose');
    writeFileSync(file, OPERATOR);
    chmodSync(file, 0o644);
    expect(() => startBroker(idp, { hostSigning: { operatorTokenFile: file } })).toThrow(
      expect.objectContaining({ code: 'ERR_CA_KEY_PERMISSIONS' }),
    );
  });
});

describe('error catalogue', () => {
  it('documents every code in README.md with the status the service answers', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const rows = new Map(
      [...readme.matchAll(/^\|\s*`(ERR_[A-Z_]+)`\s*\|([^|]+)\|/gm)].map((m) => [m[1]!, m[2]!.trim()]),
    );
    for (const [code, spec] of Object.entries(CA_BROKER_ERRORS)) {
      expect(rows.has(code), `${code} missing from README.md`).toBe(true);
      const status = (spec as { status?: number }).status;
      expect(rows.get(code)!.split(' ')[0], code).toBe(status === undefined ? '—' : String(status));
    }
    expect([...rows.keys()].filter((c) => !Object.hasOwn(CA_BROKER_ERRORS, c))).toEqual([]);
  });
});
