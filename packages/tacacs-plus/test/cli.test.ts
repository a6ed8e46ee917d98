import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, startServer } from './helpers.ts';
import { makePki, type Pki } from './tls-certs.ts';

const PKG = fileURLToPath(new URL('..', import.meta.url));
const NODE_ARGS = ['--conditions=netward-source', '--import', 'tsx', 'src/cli.ts'];
const dir = mkdtempSync(join(tmpdir(), 'tacacs-cli-'));
const keyFile = join(dir, 'key');
writeFileSync(keyFile, 'labsecret\n');
chmodSync(keyFile, 0o600);
let pki: Pki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => {
  pki?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const { TACACS_KEY: _, ...base } = process.env;
    execFile(
      process.execPath,
      [...NODE_ARGS, ...args],
      { cwd: PKG, env: { ...base, ...env }, timeout: 20_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 99) : 0, stdout, stderr });
      },
    );
  });
}

async function policyServer(tls = false) {
  return startServer(
    {
      ...(tls ? { tls: { ca: pki.ca, cert: pki.serverCert, key: pki.serverKey } } : { key: 'labsecret' }),
      handlers: {
        authorize: (r) =>
          r.cmd === 'show'
            ? { status: 'PASS_ADD', args: ['priv-lvl=1'] }
            : r.cmd === 'crash'
              ? { status: 'ERROR' }
              : { status: 'FAIL', serverMsg: 'not for you' },
      },
    },
    cleanup,
  );
}

const T = { timeout: 30_000 };

describe('tacacs-plus authorize', () => {
  it(
    'exit 0 on permit, printing the decision and returned attributes; the command words become cmd and cmd-arg',
    T,
    async () => {
      const { port, lines } = await policyServer();
      const r = await cli([
        'authorize',
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--key-file',
        keyFile,
        '--user',
        'net-viewer',
        '--rem-addr',
        'bob/cert:9/sid:s1/req:AAAAAAAAAAAAAAAAAAAA',
        '--',
        'show',
        'bgp',
        'summary',
      ]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`permit PASS_ADD from 127.0.0.1:${port}\narg: priv-lvl=1\n`);
      const line = lines.find((l) => l['event'] === 'tacacs.authorization')!;
      expect(line).toMatchObject({
        user: 'bob',
        cert_serial: '9',
        tacacs: { cmd: 'show', args: ['bgp', 'summary'] },
      });
    },
  );

  it('exit 1 on deny, exit 2 on the server ERROR status and when no server answers', T, async () => {
    const { port } = await policyServer();
    const base = [
      'authorize',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--key-file',
      keyFile,
      '--user',
      'u',
      '--',
    ];
    const deny = await cli([...base, 'configure', 'terminal']);
    expect(deny.code).toBe(1);
    expect(deny.stdout).toContain('deny FAIL');
    expect(deny.stdout).toContain('server-msg: not for you');
    expect((await cli([...base, 'crash'])).code).toBe(2);
    const down = await cli([
      'authorize',
      '--host',
      '127.0.0.1',
      '--port',
      String(await closedPort()),
      '--key-file',
      keyFile,
      '--user',
      'u',
      '--',
      'show',
    ]);
    expect(down.code).toBe(2);
    expect(down.stdout).toContain('ERR_TACACS_CONNECTION');
  });

  it('takes the key from TACACS_KEY; a wrong key is an error, not a deny', T, async () => {
    const { port } = await policyServer();
    const args = [
      'authorize',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--user',
      'u',
      '--json',
      '--',
      'show',
    ];
    const ok = await cli(args, { TACACS_KEY: 'labsecret' });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      permitted: true,
      status: 'PASS_ADD',
      args: ['priv-lvl=1'],
    });
    const wrong = await cli(args, { TACACS_KEY: 'wrongsecret' });
    expect(wrong.code).toBe(2);
    expect(JSON.parse(wrong.stdout)).toMatchObject({
      permitted: false,
      errorCode: 'ERR_TACACS_MALFORMED_PACKET',
    });
  });

  it('refuses a key in argv, a readable key file, no key, and a command before --', T, async () => {
    const { port } = await policyServer();
    const host = ['--host', '127.0.0.1', '--port', String(port), '--user', 'u'];
    const inArgv = await cli(['authorize', ...host, '--key', 'labsecret', '--', 'show']);
    expect(inArgv.code).toBe(2);
    expect(inArgv.stderr).not.toContain('labsecret');
    const loose = join(dir, 'loose');
    writeFileSync(loose, 'labsecret\n');
    chmodSync(loose, 0o644);
    expect((await cli(['authorize', ...host, '--key-file', loose, '--', 'show'])).code).toBe(2);
    expect((await cli(['authorize', ...host, '--', 'show'])).code).toBe(2);
    expect((await cli(['authorize', ...host, '--key-file', keyFile, 'show'])).code).toBe(2);
  });

  it('speaks TLS 1.3 with --tls-ca/--tls-cert/--tls-key', T, async () => {
    const { port } = await policyServer(true);
    const files = Object.fromEntries(
      (['ca', 'clientCert', 'clientKey'] as const).map((k) => {
        const p = join(dir, k);
        writeFileSync(p, pki[k]);
        return [k, p];
      }),
    );
    const r = await cli([
      'authorize',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--tls-ca',
      files['ca']!,
      '--tls-cert',
      files['clientCert']!,
      '--tls-key',
      files['clientKey']!,
      '--user',
      'u',
      '--',
      'show',
      'version',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('permit PASS_ADD');
  });
});

describe('tacacs-plus account and authenticate', () => {
  it('account: exit 0 when recorded, the command words and task id reach the server', T, async () => {
    const seen: string[] = [];
    const { port } = await startServer(
      {
        key: 'labsecret',
        handlers: {
          account: (r) => {
            seen.push(`${r.type} ${r.taskId} ${r.cmd} ${r.args.join(' ')}`);
            return undefined;
          },
        },
      },
      cleanup,
    );
    const r = await cli([
      'account',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--key-file',
      keyFile,
      '--type',
      'stop',
      '--task-id',
      '42',
      '--user',
      'net-operator',
      '--',
      'ping',
      '10.0.0.1',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`recorded SUCCESS from 127.0.0.1:${port}\n`);
    expect(seen).toEqual(['stop 42 ping 10.0.0.1']);
  });

  it(
    'authenticate: password from TACACS_PASSWORD or a 0600 file, never argv; exit 0 pass, 1 fail',
    T,
    async () => {
      const { port } = await startServer(
        {
          key: 'labsecret',
          handlers: { authenticate: (r) => ({ status: r.password === 'labpass' ? 'PASS' : 'FAIL' }) },
        },
        cleanup,
      );
      const base = [
        'authenticate',
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--key-file',
        keyFile,
        '--user',
        'net-operator',
      ];
      expect((await cli(base, { TACACS_PASSWORD: 'labpass' })).code).toBe(0);
      expect((await cli([...base, '--type', 'ascii'], { TACACS_PASSWORD: 'nope' })).code).toBe(1);
      const pw = join(dir, 'pw');
      writeFileSync(pw, 'labpass\n');
      chmodSync(pw, 0o600);
      expect((await cli([...base, '--type', 'ascii', '--password-file', pw])).code).toBe(0);
      const inArgv = await cli([...base, '--password', 'labpass']);
      expect(inArgv.code).toBe(2);
      expect(inArgv.stderr).not.toContain('labpass');
    },
  );
});

describe('tacacs-plus serve', () => {
  it('answers with --deny-all / --permit-all and logs JSON lines', T, async () => {
    for (const [flag, code] of [
      ['--deny-all', 1],
      ['--permit-all', 0],
    ] as const) {
      const child: ChildProcess = spawn(
        process.execPath,
        [...NODE_ARGS, 'serve', '--port', '0', '--key-file', keyFile, flag],
        {
          cwd: PKG,
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      cleanup.push(async () => {
        if (child.exitCode === null) {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          await exited;
        }
      });
      const port = await new Promise<number>((resolve, reject) => {
        let buf = '';
        child.stdout!.on('data', (c) => {
          buf += String(c);
          const m = /"event":"tacacs.listening"[^\n]*"port":(\d+)/.exec(buf);
          if (m) resolve(Number(m[1]));
        });
        child.once('exit', () => reject(new Error(`serve exited early: ${buf}`)));
      });
      const r = await cli([
        'authorize',
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--key-file',
        keyFile,
        '--user',
        'u',
        '--',
        'show',
      ]);
      expect(r.code).toBe(code);
    }
  });
});
