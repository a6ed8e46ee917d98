import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEVICE_ACCOUNTS,
  ensureDeviceAccounts,
  freePort,
  SSH,
  sshClientArgs,
  sshKeygen,
  startSshd,
  tempDir,
} from '../src/testing/index.ts';

// Under /run (root-owned 0755): the principals files must pass sshd's StrictModes path checks.
const dir = tempDir('kit-sshd', { under: '/run', mode: 0o755 });
afterAll(() => dir.remove());

describe('freePort', () => {
  it('returns a port a server can listen on', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    await new Promise((resolve) => server.close(resolve));
  });
});

describe('startSshd', () => {
  it('runs a real sshd that accepts a certificate login for a device account and stops', async () => {
    ensureDeviceAccounts();
    const p = dir.join;
    sshKeygen(['-t', 'ed25519', '-N', '', '-f', p('ca')]);
    sshKeygen(['-t', 'ed25519', '-N', '', '-f', p('host')]);
    sshKeygen(['-t', 'ed25519', '-N', '', '-f', p('user')]);
    sshKeygen(['-s', p('ca'), '-I', 'kit-test', '-n', 'net-viewer', '-V', '-1m:+5m', p('user.pub')]);
    mkdirSync(p('principals'), { mode: 0o755 });
    for (const a of DEVICE_ACCOUNTS) writeFileSync(p(`principals/${a}`), `${a}\n`, { mode: 0o644 });
    const sshd = await startSshd({
      dir: dir.path,
      check: true,
      directives: [
        `HostKey ${p('host')}`,
        `TrustedUserCAKeys ${p('ca.pub')}`,
        `AuthorizedPrincipalsFile ${p('principals')}/%u`,
        'AuthorizedKeysFile none',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'ForceCommand /usr/bin/id -un',
        'LogLevel VERBOSE',
      ],
    });
    try {
      const login = (user: string) =>
        spawnSync(
          SSH,
          [...sshClientArgs({ port: sshd.port, identity: p('user') }), `${user}@127.0.0.1`, 'ignored'],
          { encoding: 'utf8', timeout: 20_000 },
        );
      const ok = login('net-viewer');
      expect([ok.status, ok.stdout.trim()]).toEqual([0, 'net-viewer']);
      // The certificate names net-viewer only: net-admin is refused by the real sshd.
      expect(login(DEVICE_ACCOUNTS[2]).status).toBe(255);
      expect(sshd.log()).toContain('Accepted publickey for net-viewer');
      expect(readFileSync(sshd.configFile, 'utf8')).toContain(`Port ${sshd.port}`);
    } finally {
      await sshd.stop();
    }
    // Stopped: nothing listens on the port any more.
    const refused = spawnSync(
      SSH,
      ['-F', '/dev/null', '-p', String(sshd.port), '-o', 'BatchMode=yes', '127.0.0.1'],
      {
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    expect(refused.stderr).toContain('Connection refused');
  });
});
