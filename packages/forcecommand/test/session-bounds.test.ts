// Issue 12, items 5-7, through a real sshd with ssh-keygen certificates, as each of the three accounts:
// the certificate bounds a kept-open connection, certificates are bound to one device, a widened
// AcceptEnv cannot steer node, and a refusal reaches syslog when the audit file cannot be written.
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FC_ERRORS } from '../src/errors.ts';
import { buildBundle, type Harness, startSshd } from './sshd-harness.ts';

const ACCOUNTS = ['net-viewer', 'net-operator', 'net-admin'] as const;
const keyId = (n: number) => `sid=boundsession0${n},user=erin,req=boundrequest00000000${n}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function decisions(h: Harness, requestId: string) {
  return h.auditRecords().filter((r) => r['event'] === 'decision' && r['request_id'] === requestId);
}

beforeAll(() => {
  buildBundle();
}, 60_000);

describe('the certificate bounds the connection, not only the login', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSshd();
    h.writeConfig({});
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
  });

  // Concurrently: each waits for its own certificate to expire (~10 s).
  it.concurrent.each(ACCOUNTS.map((a, i) => [a, i] as const))(
    '%s: a new exec on a multiplexed connection is refused once the certificate expired',
    async (account, i) => {
      const key = h.sign({
        keyId: keyId(i),
        principals: [account],
        serial: 9100 + i,
        name: `expiring-${i}`,
        validity: '-1m:+8s',
      });
      const signedAt = Date.now();
      const control = join(h.dir, `ctl-${i}`);
      const mux = ['-o', `ControlPath=${control}`];
      // The master connection: authenticated once, while the certificate is valid, then kept open.
      const master = spawn(
        'ssh',
        [...h.sshArgs(key), ...mux, '-o', 'ControlMaster=yes', '-N', `${account}@127.0.0.1`],
        { stdio: 'ignore' },
      );
      try {
        for (let t = 0; t < 100; t++) {
          const check = await h.ssh(account, 'true', { cert: key, sshOptions: [...mux, '-O', 'check'] });
          if (check.code === 0) break;
          await sleep(50);
        }
        const before = await h.ssh(account, 'ip addr show lo', { cert: key, sshOptions: mux });
        expect(before.code).toBe(0);
        expect(before.stdout).toContain('127.0.0.1');

        await sleep(Math.max(0, signedAt + 9_500 - Date.now()));
        const after = await h.ssh(account, 'ip addr show lo', { cert: key, sshOptions: mux });
        expect(after.code).toBe(FC_ERRORS.ERR_FC_CERT_EXPIRED.exit);
        expect(after.stdout).toBe('');
        expect(after.stderr).toContain('ERR_FC_CERT_EXPIRED');
        const last = decisions(h, `boundrequest00000000${i}`).at(-1);
        expect(last).toMatchObject({
          decision: 'deny',
          code: 'ERR_FC_CERT_EXPIRED',
          user: 'erin',
          role: account,
          cert_serial: String(9100 + i),
        });
        expect(((last?.['detail'] ?? {}) as Record<string, unknown>)['reason']).toBe('certificate expired');
      } finally {
        master.kill('SIGTERM');
      }
    },
    30_000,
  );
});

describe('per-device certificates and source-address', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSshd({ principalDevice: 'spine-a' });
    h.writeConfig({ device: 'spine-a' });
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
  });

  it.each(ACCOUNTS.map((a, i) => [a, i] as const))(
    '%s: a certificate for another device, or without a device, does not log in',
    async (account, i) => {
      const mine = h.sign({
        keyId: keyId(i),
        principals: [`${account}@spine-a`],
        serial: 9200 + i,
        name: `dev-a-${i}`,
      });
      const ok = await h.ssh(account, 'ip addr show lo', { cert: mine });
      expect(ok.code).toBe(0);
      expect(decisions(h, `boundrequest00000000${i}`).at(-1)).toMatchObject({ decision: 'permit' });

      const other = h.sign({
        keyId: keyId(i),
        principals: [`${account}@leaf-2`],
        serial: 9210 + i,
        name: `dev-b-${i}`,
      });
      expect((await h.ssh(account, 'ip addr show lo', { cert: other })).code).toBe(255);
      const plain = h.sign({ keyId: keyId(i), principals: [account], serial: 9220 + i, name: `dev-c-${i}` });
      expect((await h.ssh(account, 'ip addr show lo', { cert: plain })).code).toBe(255);
    },
    30_000,
  );

  it('sshd enforces the source-address critical option the broker sets', async () => {
    const sign = (name: string, source: string) => {
      const key = h.sign({ keyId: keyId(7), principals: ['net-viewer@spine-a'], serial: 9230, name });
      // Re-sign the same key with the critical option (ssh-keygen -O source-address=...).
      const signed = spawnSync('ssh-keygen', [
        '-q',
        '-s',
        join(h.dir, 'ca'),
        '-I',
        keyId(7),
        '-n',
        'net-viewer@spine-a',
        '-V',
        '-1m:+5m',
        '-O',
        `source-address=${source}`,
        `${key}.pub`,
      ]);
      if (signed.status !== 0) throw new Error('ssh-keygen -O source-address failed');
      return key;
    };
    const elsewhere = sign('src-a', '192.0.2.10/32');
    expect((await h.ssh('net-viewer', 'ip addr show lo', { cert: elsewhere })).code).toBe(255);
    const here = sign('src-b', '127.0.0.1/32');
    expect((await h.ssh('net-viewer', 'ip addr show lo', { cert: here })).code).toBe(0);
  });
});

describe('a widened AcceptEnv cannot steer node or the loader', () => {
  // sshd accepts what the client sends for these names, as a misconfigured device would.
  const WIDE = 'MCP_* NODE_OPTIONS LD_PRELOAD GLIBC_TUNABLES';
  let guarded: Harness;
  let bare: Harness;
  let payload: string;
  beforeAll(async () => {
    [guarded, bare] = await Promise.all([
      startSshd({ acceptEnv: WIDE }),
      startSshd({ acceptEnv: WIDE, guard: false }),
    ]);
    for (const h of [guarded, bare]) h.writeConfig({});
    // Code the attacker would like node to run before the validator: readable by every account.
    payload = join(guarded.dir, 'payload.cjs');
    writeFileSync(payload, "process.stdout.write('PAYLOAD-RAN\\n');\n", { mode: 0o644 });
  }, 60_000);
  afterAll(async () => {
    await Promise.all([guarded?.stop(), bare?.stop()]);
  });

  it.each(ACCOUNTS.map((a, i) => [a, i] as const))(
    '%s: NODE_OPTIONS never reaches node behind the guard; the command is refused',
    async (account, i) => {
      const key = guarded.sign({
        keyId: keyId(i),
        principals: [account],
        serial: 9300 + i,
        name: `env-${i}`,
      });
      const r = await guarded.ssh(account, 'ip addr show lo', {
        cert: key,
        env: { NODE_OPTIONS: `--require ${payload}` },
        sendEnv: ['MCP_*', 'NODE_OPTIONS'],
      });
      expect(r.stdout).toBe('');
      expect(r.code).toBe(FC_ERRORS.ERR_FC_ENVIRONMENT.exit);
      expect(r.stderr).toContain('ERR_FC_ENVIRONMENT');
      const last = decisions(guarded, `boundrequest00000000${i}`).at(-1);
      expect(last).toMatchObject({
        decision: 'deny',
        code: 'ERR_FC_ENVIRONMENT',
        user: 'erin',
        role: account,
      });
      expect(last?.['detail']).toEqual({ variables: ['NETWARD_HOSTILE_ENV', 'NODE_OPTIONS'] });
    },
  );

  it.each(ACCOUNTS.map((a, i) => [a, i] as const))(
    '%s: LD_PRELOAD and GLIBC_TUNABLES are refused',
    async (account, i) => {
      const key = guarded.sign({ keyId: keyId(i), principals: [account], serial: 9310 + i, name: `ld-${i}` });
      const r = await guarded.ssh(account, 'ip addr show lo', {
        cert: key,
        env: { LD_PRELOAD: '/nonexistent/netward-test.so', GLIBC_TUNABLES: 'glibc.malloc.check=3' },
        sendEnv: ['MCP_*', 'LD_PRELOAD', 'GLIBC_TUNABLES'],
      });
      expect(r.code).toBe(FC_ERRORS.ERR_FC_ENVIRONMENT.exit);
      expect(r.stdout).toBe('');
      const last = decisions(guarded, `boundrequest00000000${i}`).at(-1);
      expect(((last?.['detail'] ?? {}) as { variables: string[] }).variables).toEqual(
        expect.arrayContaining(['GLIBC_TUNABLES', 'LD_PRELOAD']),
      );
    },
  );

  it('without the guard the validator still refuses, but node has already applied NODE_OPTIONS', async () => {
    const key = bare.sign({ keyId: keyId(5), principals: ['net-viewer'], serial: 9320, name: 'bare' });
    const r = await bare.ssh('net-viewer', 'ip addr show lo', {
      cert: key,
      env: { NODE_OPTIONS: `--require ${payload}` },
      sendEnv: ['MCP_*', 'NODE_OPTIONS'],
    });
    expect(r.code).toBe(FC_ERRORS.ERR_FC_ENVIRONMENT.exit);
    // Why the installer puts the guard in front of node: this line is the attacker's code running.
    expect(r.stdout).toBe('PAYLOAD-RAN\n');
  });

  it('an ordinary command behind the guard is untouched', async () => {
    const key = guarded.sign({ keyId: keyId(6), principals: ['net-viewer'], serial: 9330, name: 'plain' });
    const r = await guarded.ssh('net-viewer', 'ip addr show lo', { cert: key });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('127.0.0.1');
  });
});

describe('a refusal reaches syslog when the audit file cannot be written', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startSshd();
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
  });

  it.each([
    ['net-viewer', 'sleep 1', 'deny'],
    ['net-operator', 'ip addr show lo', 'permit'],
    ['net-admin', 'ip addr show lo', 'permit'],
  ] as const)('%s: %s is denied ERR_FC_AUDIT and syslog says so and why', async (account, command, was) => {
    const sock = createSocket('udp4');
    const got: string[] = [];
    sock.on('message', (m) => got.push(m.toString()));
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
    const i = ACCOUNTS.indexOf(account);
    const key = h.sign({ keyId: keyId(i), principals: [account], serial: 9400 + i, name: `sys-${i}` });
    h.writeConfig({ audit: { file: h.auditFile, syslog: { host: '127.0.0.1', port: sock.address().port } } });
    renameSync(h.auditFile, `${h.auditFile}.away`);
    try {
      const r = await h.ssh(account, command, { cert: key });
      expect(r.code).toBe(FC_ERRORS.ERR_FC_AUDIT.exit);
      expect(r.stdout).toBe('');
      for (let t = 0; t < 40 && got.length === 0; t++) await sleep(25);
      expect(got).toHaveLength(1);
      expect(got[0]).toContain('code="ERR_FC_AUDIT"');
      const json = JSON.parse((got[0] as string).slice((got[0] as string).indexOf('] {') + 2));
      expect(json).toMatchObject({
        event: 'decision',
        decision: 'deny',
        code: 'ERR_FC_AUDIT',
        user: 'erin',
        role: account,
        request_id: `boundrequest00000000${i}`,
        refused: { decision: was },
        audit_error: { file: h.auditFile, error: 'ENOENT' },
      });
      // A refusal keeps the code that refused it; a permit had none.
      if (was === 'deny') expect(json.refused.code).toMatch(/^ERR_FC_/);
      else expect(json.refused.code).toBeUndefined();
    } finally {
      renameSync(`${h.auditFile}.away`, h.auditFile);
      sock.close();
    }
  });
});

describe('what the rendered sshd refuses before the validator runs (held)', () => {
  let h: Harness;
  let key: string;
  beforeAll(async () => {
    h = await startSshd({ principalDevice: 'spine-a' });
    h.writeConfig({ device: 'spine-a' });
    key = h.sign({ keyId: keyId(7), principals: ['net-viewer@spine-a'], serial: 9700, name: 'held' });
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
  });

  /** The OpenSSH client as the viewer, with `args` between its options and the destination. */
  const ssh = (args: string[], after: string[] = [], env: Record<string, string> = {}) =>
    spawnSync('ssh', [...h.sshArgs(key), ...args, 'net-viewer@127.0.0.1', ...after], {
      encoding: 'utf8',
      input: '',
      timeout: 15_000,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
    });

  it.each([
    ['a stdio forward (-W)', ['-W', '127.0.0.1:22'], /stdio forwarding failed/],
    [
      'a remote forward (-R)',
      ['-o', 'ExitOnForwardFailure=yes', '-N', '-R', '127.0.0.1:0:127.0.0.1:22'],
      /remote port forwarding failed/,
    ],
    ['the sftp subsystem', ['-s'], /subsystem request failed/],
  ])('%s: refused by sshd, no validator record', (_name, args, message) => {
    const before = h.auditRecords().length;
    const r = ssh(args, args[0] === '-s' ? ['sftp'] : []);
    expect(r.status).toBe(255);
    expect(r.stderr).toMatch(message);
    expect(h.auditRecords().slice(before)).toEqual([]);
  });

  it('a pty request is refused (PermitTTY no, restrict)', () => {
    // The client then gives up at once with stdin closed; the validator may start after sshd has
    // cleaned the connection up and deny for want of SSH_USER_AUTH: nothing runs either way.
    const r = ssh(['-tt'], ['ip addr show lo']);
    expect(r.stderr).toMatch(/PTY allocation request failed/);
  });

  it('no command (a shell) is ERR_FC_EMPTY', () => {
    const r = ssh(['-T']);
    expect(r.status).toBe(FC_ERRORS.ERR_FC_EMPTY.exit);
  });

  it('LD_PRELOAD, NODE_OPTIONS and a forged SSH_USER_AUTH sent by the client are dropped by AcceptEnv', () => {
    const sent = { LD_PRELOAD: '/nonexistent.so', NODE_OPTIONS: '--inspect', SSH_USER_AUTH: '/etc/passwd' };
    const r = ssh(['-o', `SendEnv=${Object.keys(sent).join(' ')}`], ['ip addr show lo'], sent);
    expect(r.status).toBe(0);
    const last = h.auditRecords().at(-1);
    expect(last).toMatchObject({ event: 'completed', cert_serial: '9700', user: 'erin' });
  });
});
