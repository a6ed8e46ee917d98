/**
 * Certificate login with ssh2 (patched, patches/ssh2@1.17.0.patch) against a real OpenSSH sshd, and
 * the host key checks: host CA, pinned key, and refusals.
 */
import { rejectedCode } from '@netward/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpServerError } from '../src/errors.ts';
import { connectDevice, type ExecOptions } from '../src/ssh/connection.ts';
import type { HostKeyPolicy } from '../src/ssh/host-key.ts';
import { generateEphemeralKey, parseKeyLine } from '../src/ssh/keys.ts';
import { type SshdFixture, startSshd } from './helpers/sshd.ts';

let sshd: SshdFixture;
let caPolicy: HostKeyPolicy;

beforeAll(async () => {
  sshd = await startSshd();
  caPolicy = { kind: 'ca', caBlobs: [parseKeyLine(sshd.hostCaPub, 'ERR_MCP_CONFIG').blob] };
}, 20_000);

afterAll(async () => {
  await sshd?.stop();
});

const execOptions: ExecOptions = {
  env: {
    MCP_USER: 'bob',
    MCP_SID: 'fd9e4bdc77df2fa8',
    MCP_REQUEST_ID: 'a1b2c3d4e5f6a7b8c9d0e1',
    MCP_TOOL: 'x',
  },
  timeoutMs: 5000,
  maxOutputBytes: 65536,
};

function connectWith(opts: {
  certificate?: (pub: string) => string;
  policy?: HostKeyPolicy;
  hostNames?: string[];
  username?: string;
}) {
  const key = generateEphemeralKey();
  const certificate =
    opts.certificate?.(key.publicKeyLine) ??
    sshd.signUserKey(key.publicKeyLine, {
      principal: 'net-operator',
      keyId: 'sid=fd9e4bdc77df2fa8,user=bob',
    });
  return connectDevice({
    host: '127.0.0.1',
    port: sshd.port,
    username: opts.username ?? 'net-operator',
    hostNames: opts.hostNames ?? ['device-1', '127.0.0.1'],
    hostKeyPolicy: opts.policy ?? caPolicy,
    key,
    certificate,
    connectTimeoutMs: 5000,
  });
}

const codeOf = async (p: Promise<unknown>) => (await rejectedCode(p, McpServerError)) ?? 'resolved';

describe('certificate login against real sshd', () => {
  it('logs in with a user certificate, verifies the host certificate, and passes MCP_* env', async () => {
    const conn = await connectWith({});
    try {
      const r = await conn.exec("vtysh -c 'show bgp summary'", execOptions);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain("cmd=vtysh -c 'show bgp summary'");
      expect(r.stdout).toContain('user=bob sid=fd9e4bdc77df2fa8 req=a1b2c3d4e5f6a7b8c9d0e1 tool=x');
      expect(r.stdout).toContain('account=net-operator');
      // A second channel over the same connection (session mode relies on it).
      const r2 = await conn.exec('show version', execOptions);
      expect(r2.stdout).toContain('cmd=show version');
    } finally {
      conn.close();
    }
    expect(sshd.log()).toMatch(
      /Accepted publickey for net-operator .*ED25519-CERT .*ID sid=fd9e4bdc77df2fa8,user=bob/,
    );
  });

  it('accepts a pinned plain host key', async () => {
    const pinned: HostKeyPolicy = {
      kind: 'pinned',
      keyBlobs: [parseKeyLine(sshd.hostKeyPub, 'ERR_MCP_CONFIG').blob],
    };
    const conn = await connectWith({ policy: pinned });
    conn.close();
  });

  it('refuses a host key that is not the pinned one', async () => {
    const other = generateEphemeralKey();
    const pinned: HostKeyPolicy = {
      kind: 'pinned',
      keyBlobs: [parseKeyLine(other.publicKeyLine, 'ERR_MCP_CONFIG').blob],
    };
    expect(await codeOf(connectWith({ policy: pinned }))).toBe('ERR_MCP_HOST_KEY');
  });

  it('refuses a host certificate from another CA', async () => {
    const other = generateEphemeralKey();
    const policy: HostKeyPolicy = {
      kind: 'ca',
      caBlobs: [parseKeyLine(other.publicKeyLine, 'ERR_MCP_CONFIG').blob],
    };
    expect(await codeOf(connectWith({ policy }))).toBe('ERR_MCP_HOST_KEY');
  });

  it('refuses a host certificate that does not name the device', async () => {
    expect(await codeOf(connectWith({ hostNames: ['device-2', '10.0.0.2'] }))).toBe('ERR_MCP_HOST_KEY');
  });

  it('refuses an expired user certificate (sshd says no)', async () => {
    const code = await codeOf(
      connectWith({
        certificate: (pub) =>
          sshd.signUserKey(pub, {
            principal: 'net-operator',
            keyId: 'sid=s1,user=bob',
            validity: '20200101:20200102',
          }),
      }),
    );
    expect(code).toBe('ERR_MCP_SSH_AUTH');
  });

  it('refuses a certificate whose principal is another role', async () => {
    const code = await codeOf(
      connectWith({
        username: 'net-admin',
        certificate: (pub) => sshd.signUserKey(pub, { principal: 'net-viewer', keyId: 'sid=s1,user=bob' }),
      }),
    );
    expect(code).toBe('ERR_MCP_SSH_AUTH');
  });

  it('refuses a certificate for another key before connecting', async () => {
    const other = generateEphemeralKey();
    const code = await codeOf(
      connectWith({
        certificate: () =>
          sshd.signUserKey(other.publicKeyLine, { principal: 'net-operator', keyId: 'sid=s1,user=bob' }),
      }),
    );
    expect(code).toBe('ERR_MCP_BROKER_BAD_RESPONSE');
  });

  it('reports a device denial with its exit code and stderr', async () => {
    const conn = await connectWith({});
    try {
      const r = await conn.exec("deny vtysh -c 'configure terminal'", execOptions);
      expect(r.exitCode).toBe(13);
      expect(r.stderr).toContain('DENY');
    } finally {
      conn.close();
    }
  });

  it('caps output and times out', async () => {
    const conn = await connectWith({});
    try {
      const r = await conn.exec('flood', { ...execOptions, maxOutputBytes: 1000 });
      expect(r.truncated).toBe(true);
      expect(r.stdout.length).toBe(1000);
      expect(await codeOf(conn.exec('sleep', { ...execOptions, timeoutMs: 300 }))).toBe('ERR_MCP_TIMEOUT');
    } finally {
      conn.close();
    }
  });

  it('a connection lost while the command runs is "outcome unknown", not "not run"', async () => {
    const conn = await connectWith({});
    const pending = codeOf(conn.exec('sleep', { ...execOptions, timeoutMs: 5000 }));
    // The exec channel is open and the command started; then the connection goes.
    await new Promise((r) => setTimeout(r, 700));
    conn.close();
    expect(await pending).toBe('ERR_MCP_OUTCOME_UNKNOWN');
  });

  it('runs 25 concurrent execs on one connection within sshd MaxSessions (10)', async () => {
    const conn = await connectWith({});
    try {
      const results = await Promise.all(
        Array.from({ length: 25 }, (_, i) => conn.exec(`show run ${i}`, execOptions)),
      );
      results.forEach((r, i) => {
        expect(r.exitCode).toBe(0);
        expect(r.stdout).toContain(`cmd=show run ${i}`);
      });
    } finally {
      conn.close();
    }
  });

  it('reports a closed port as a connection failure', async () => {
    const key = generateEphemeralKey();
    const certificate = sshd.signUserKey(key.publicKeyLine, {
      principal: 'net-operator',
      keyId: 'sid=s1,user=bob',
    });
    const code = await codeOf(
      connectDevice({
        host: '127.0.0.1',
        port: 1,
        username: 'net-operator',
        hostNames: ['device-1'],
        hostKeyPolicy: caPolicy,
        key,
        certificate,
        connectTimeoutMs: 2000,
      }),
    );
    expect(code).toBe('ERR_MCP_SSH_CONNECT');
  });
});
