import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bundleProgram } from '@netward/kit/testing';
import { checkCertificate, formatPublicKey, parseCertificate } from '@netward/ssh-certificate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE } from '../src/testing/broker.ts';
import { startIdp, type TestIdp } from '../src/testing/idp.ts';
import { sshKeygen, tempDir } from './helpers/openssh.ts';
import { freePort } from './helpers/sshd.ts';

const ROOT = resolve(import.meta.dirname, '..');
const dir = tempDir('ca-broker-cli');
// The program as it ships: one esbuild bundle of src/cli/main.ts (as scripts/bundle.mjs builds it), so
// that each run costs a Node start and not a TypeScript compile.
const CLI = join(dir.path, 'netward-ca-broker.mjs');
beforeAll(async () => {
  await bundleProgram(join(ROOT, 'src/cli/main.ts'), CLI);
}, 60_000);
afterAll(() => dir.remove());

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: ROOT, env: { ...process.env, TZ: 'UTC' } },
      (err, stdout, stderr) =>
        done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('netward-ca-broker CLI', () => {
  // Seven program starts, run side by side: one after the other they took 10 s on a loaded CI machine.
  it('--help, -h and help exit 0 with the usage; a usage error exits 2 with one line', {
    timeout: 30_000,
  }, async () => {
    const helps = [['--help'], ['-h'], ['help'], ['serve', '--help']];
    const usages = [
      [['frobnicate'], 'unknown command frobnicate'],
      [[], 'no command'],
      [['init', '--bogus'], "Unknown option '--bogus'"],
    ] as const;
    const [helped, refused] = await Promise.all([
      Promise.all(helps.map((args) => cli(args))),
      Promise.all(usages.map(([args]) => cli([...args]))),
    ]);
    helps.forEach((args, i) => {
      expect(helped[i]!.code, args.join(' ')).toBe(0);
      expect(helped[i]!.stdout).toContain('netward-ca-broker serve --config FILE');
    });
    usages.forEach(([args, reason], i) => {
      const r = refused[i]!;
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(reason);
    });
  });

  const state = join(dir.path, 'state');

  it('init creates private CA keys; ca-pub prints them', async () => {
    const init = await cli(['init', '--state-dir', state]);
    expect(init.code, init.stderr).toBe(0);
    const [user, host] = init.stdout.trim().split('\n');
    expect(user).toMatch(/^ssh-ed25519 AAAA/);
    expect(host).toMatch(/^ssh-ed25519 AAAA/);
    expect(user).not.toBe(host);
    expect(statSync(join(state, 'user_ca')).mode & 0o777).toBe(0o600);
    expect(statSync(join(state, 'host_ca')).mode & 0o777).toBe(0o600);
    expect(statSync(state).mode & 0o777).toBe(0o700);
    expect((await cli(['ca-pub', '--state-dir', state])).stdout.trim()).toBe(user);
    expect((await cli(['ca-pub', '--state-dir', state, '--host'])).stdout.trim()).toBe(host);
    // ssh-keygen reads the same private key and derives the same public key
    expect(
      sshKeygen(['-y', '-f', join(state, 'user_ca')])
        .split(' ')
        .slice(0, 2)
        .join(' '),
    ).toBe(user);
    // a second init keeps the keys
    expect((await cli(['init', '--state-dir', state])).stdout.trim().split('\n')[0]).toBe(user);
  });

  it('sign-host signs a device key offline with the host CA', async () => {
    const hostKey = join(dir.path, 'ssh_host_ed25519_key');
    sshKeygen(['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
    const out = join(dir.path, 'host-cert.pub');
    const res = await cli([
      'sign-host',
      '--state-dir',
      state,
      '--host-key',
      `${hostKey}.pub`,
      '--principals',
      'spine-a,10.0.0.1',
      '--validity-days',
      '7',
      '--out',
      out,
    ]);
    expect(res.code, res.stderr).toBe(0);
    const cert = parseCertificate(readFileSync(out, 'utf8'));
    const hostCa = readFileSync(join(state, 'host_ca.pub'), 'utf8');
    expect(checkCertificate(cert, { trustedCaKeys: [hostCa], type: 'host', principal: '10.0.0.1' })).toBe(
      cert,
    );
    expect(cert.principals).toEqual(['spine-a', '10.0.0.1']);
    expect(cert.keyId).toBe('host:spine-a');
  });

  it('refuses with codes and exit statuses', async () => {
    chmodSync(join(state, 'user_ca'), 0o640);
    const loose = await cli(['ca-pub', '--state-dir', state]);
    expect([loose.code, loose.stderr]).toEqual([1, expect.stringContaining('ERR_CA_KEY_PERMISSIONS')]);
    chmodSync(join(state, 'user_ca'), 0o600);
    const missing = await cli(['ca-pub', '--state-dir', join(dir.path, 'none')]);
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringContaining('ERR_CA_KEY_FILE')]);
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['sign-host', '--state-dir', state])).code).toBe(2);
    expect((await cli(['init', '--nonsense'])).code).toBe(2);
  });
});

describe('netward-ca-broker serve', () => {
  let idp: TestIdp;
  let child: ChildProcess | undefined;
  beforeAll(async () => {
    idp = await startIdp();
  });
  afterAll(async () => {
    child?.kill('SIGTERM');
    await idp.close();
  });

  it('refuses an invalid config naming file and key', async () => {
    const file = join(dir.path, 'bad.yaml');
    writeFileSync(
      file,
      `token: { issuer: x, audience: y, jwksUri: 'http://127.0.0.1/jwks', requireActr: true }\nbackend: { type: local }\n`,
    );
    const res = await cli(['serve', '--config', file]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('ERR_CA_CONFIG');
    expect(res.stderr).toContain(`${file}: token`);
  });

  it('listens on loopback, serves ca.pub and issues', async () => {
    const port = await freePort();
    const file = join(dir.path, 'broker.yaml');
    writeFileSync(
      file,
      [
        'listen: { port: PORT }'.replace('PORT', String(port)),
        'token:',
        `  issuer: ${idp.issuer}`,
        `  audience: ${AUDIENCE}`,
        `  jwksUri: ${idp.jwksUri}`,
        'backend:',
        '  type: local',
        `  stateDir: ${join(dir.path, 'serve-state')}`,
        '',
      ].join('\n'),
    );
    child = spawn(process.execPath, [CLI, 'serve', '--config', file], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    for (let i = 0; i < 100 && !out.includes('ca-broker listening'); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(out).toContain('ca-broker listening');
    const startLine = JSON.parse(out.split('\n').find((l) => l.includes('ca-broker listening'))!);
    expect(startLine.listen).toBe(`http://127.0.0.1:${port}`);
    const pub = await (await fetch(`http://127.0.0.1:${port}/v1/ssh/ca.pub`)).text();
    expect(pub.trim()).toBe(
      readFileSync(join(dir.path, 'serve-state', 'user_ca.pub'), 'utf8')
        .trim()
        .split(' ')
        .slice(0, 2)
        .join(' '),
    );
    const token = await idp.sign({
      iss: idp.issuer,
      aud: AUDIENCE,
      sub: 'bob',
      sid: 's1',
      net_role: 'net-viewer',
      exp: Math.floor(Date.now() / 1000) + 60,
      jti: 'cli-serve-token-0001',
    });
    const { createBrokerClient } = await import('../src/client.ts');
    const { generateKeyPairSync } = await import('node:crypto');
    const signed = await createBrokerClient({ baseUrl: `http://127.0.0.1:${port}` }).sign({
      token,
      publicKey: formatPublicKey(generateKeyPairSync('ed25519').publicKey),
      requestId: 'cli-serve-request-0001',
    });
    expect(signed.principal).toBe('net-viewer');
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    child = undefined;
    // the audit line went to stdout
    expect(out).toMatch(/"decision":"issued".*"role":"net-viewer"|"role":"net-viewer".*"decision":"issued"/);
  }, 30_000);
});
