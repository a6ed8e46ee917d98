import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

/** A stand-in IdP: a real HTTP server publishing a JWKS, and a token minter for its keys. */
export interface TestIdp {
  readonly issuer: string;
  readonly jwksUri: string;
  /** Number of JWKS fetches served. */
  readonly fetches: number;
  sign(
    claims: JWTPayload,
    options?: { alg?: 'EdDSA' | 'ES256' | 'RS256' | 'PS256'; kid?: string; typ?: string },
  ): Promise<string>;
  /** Generates a key the JWKS does not publish yet (or ever). */
  addKey(kid: string, publish: boolean): Promise<void>;
  /** The public JWK of a key (for HMAC-with-public-key attacks). */
  publicJwk(kid: string): JWK;
  setDown(down: boolean): void;
  close(): Promise<void>;
}

export async function startIdp(): Promise<TestIdp> {
  const keys = new Map<
    string,
    {
      alg: string;
      privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
      jwk: JWK;
      published: boolean;
    }
  >();
  async function add(kid: string, alg: 'EdDSA' | 'ES256' | 'RS256' | 'PS256', published = true) {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
    keys.set(kid, { alg, privateKey, jwk, published });
  }
  await add('ed1', 'EdDSA');
  await add('es1', 'ES256');
  await add('rs1', 'RS256');
  await add('ps1', 'PS256');
  let fetches = 0;
  let down = false;
  const server: Server = createServer((req, res) => {
    if (req.url === '/jwks' && !down) {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [...keys.values()].filter((k) => k.published).map((k) => k.jwk) }));
      return;
    }
    res.writeHead(down ? 503 : 404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer: `${base}/realms/netward`,
    jwksUri: `${base}/jwks`,
    get fetches() {
      return fetches;
    },
    async sign(claims, options = {}) {
      const kid = options.kid ?? 'ed1';
      const key = keys.get(kid);
      if (!key) throw new Error(`no key ${kid}`);
      return new SignJWT(claims)
        .setProtectedHeader({ alg: options.alg ?? key.alg, kid, typ: options.typ ?? 'at+jwt' })
        .sign(key.privateKey);
    },
    async addKey(kid, publish) {
      await add(kid, 'EdDSA', publish);
    },
    publicJwk(kid) {
      return keys.get(kid)!.jwk;
    },
    setDown(d) {
      down = d;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
