/**
 * What verifying one access token costs: the bearer verifier (jose's key selection, node:crypto's
 * verification on the thread pool, the identity checks) next to a baseline measured in the same run,
 * jose's own `jwtVerify` with the same key set and options. Sequential (latency) and 50 at once
 * (throughput), EdDSA and ES256, alternating rounds so that a change of load hits both alike.
 *
 *   node --conditions=netward-source --import tsx bench/verify.bench.ts      (BENCH_TOKENS=2000)
 *
 * Prints; asserts nothing.
 */
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWK, jwtVerify, SignJWT } from 'jose';
import { createBearerVerifier } from '../src/index.ts';

const N = Number(process.env['BENCH_TOKENS'] ?? 2000);
const ROUNDS = 4;
const ISSUER = 'https://idp.example';
const AUDIENCE = 'https://mcp.example/mcp';

async function setup(alg: 'EdDSA' | 'ES256') {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg };
  const keys = createLocalJWKSet({ keys: [jwk] });
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({
    sub: 'u1',
    preferred_username: 'alice',
    sid: 'sess-1',
    net_role: 'net-operator',
    scope: 'a b',
    jti: 'j1',
  })
    .setProtectedHeader({ alg, typ: 'at+jwt', kid: 'k1' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(privateKey);
  const options = { issuer: ISSUER, audience: AUDIENCE, algorithms: [alg], clockTolerance: 5, typ: 'at+jwt' };
  const bearer = createBearerVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: [alg],
    clockToleranceSeconds: 5,
    keys,
    roleClaim: 'net_role',
  });
  return {
    jose: () => jwtVerify(token, keys, options),
    bearer: () => bearer.verify(token),
  };
}

/** Wall µs and CPU µs (user + system, every thread of the process) per token, one at a time. */
async function sequential(fn: () => Promise<unknown>): Promise<[number, number]> {
  const t = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < N; i++) await fn();
  const used = process.cpuUsage(cpu);
  return [((performance.now() - t) * 1000) / N, (used.user + used.system) / N];
}

async function concurrent(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < N; i += 50) await Promise.all(Array.from({ length: 50 }, fn));
  return N / ((performance.now() - t) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  console.log(`\ntoken verification, ${N} tokens x ${ROUNDS} alternating rounds, median of rounds`);
  console.log('one at a time: wall µs and CPU µs per token; 50 at once: tokens/s');
  console.log(`${''.padEnd(34)}${'wall µs'.padStart(14)}${'CPU µs'.padStart(14)}${'tokens/s'.padStart(14)}`);
  for (const alg of ['EdDSA', 'ES256'] as const) {
    const s = await setup(alg);
    type Runs = { seq: number[]; cpu: number[]; con: number[] };
    const r: Record<'jose' | 'bearer', Runs> = {
      jose: { seq: [], cpu: [], con: [] },
      bearer: { seq: [], cpu: [], con: [] },
    };
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of ['jose', 'bearer'] as const) {
        const [wall, cpu] = await sequential(s[name]);
        r[name].seq.push(wall);
        r[name].cpu.push(cpu);
        r[name].con.push(await concurrent(s[name]));
      }
    }
    const cell = (x: number[], base: number[]) =>
      `${median(x).toFixed(0).padStart(8)} x${(median(x) / median(base)).toFixed(2)}`;
    const line = (label: string, x: Runs, base: Runs) =>
      console.log(
        `${label.padEnd(34)}${cell(x.seq, base.seq)}${cell(x.cpu, base.cpu)}${cell(x.con, base.con)}`,
      );
    line(`${alg}: jose jwtVerify (baseline)`, r.jose, r.jose);
    line(`${alg}: @netward/bearer verify`, r.bearer, r.jose);
  }
}

await main();
