import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureAccounts, groupId, type KitError, lookupId, userId } from '../src/index.ts';
import { DEVICE_ACCOUNTS, ensureDeviceAccounts, tempDir } from '../src/testing/index.ts';

const dir = tempDir('kit-accounts');
afterAll(() => dir.remove());

describe('ensureAccounts (argv recorded, files of its own)', () => {
  it('creates missing groups and accounts, updates existing ones, sets the password field to *', () => {
    const passwd = dir.join('passwd');
    const group = dir.join('group');
    writeFileSync(
      passwd,
      'root:x:0:0::/root:/bin/bash\nnet-viewer:x:1001:1001::/home/net-viewer:/bin/bash\n',
    );
    writeFileSync(group, 'root:x:0:\nfrrvty:x:85:\n');
    const calls: string[] = [];
    ensureAccounts({
      accounts: ['net-viewer', 'net-admin'],
      groups: ['frrvty', 'netward'],
      passwdFile: passwd,
      groupFile: group,
      run: (file, args) => calls.push([file, ...args].join(' ')),
    });
    expect(calls).toEqual([
      'groupadd --system netward',
      'usermod --append --groups frrvty,netward --shell /bin/sh net-viewer',
      'usermod --password * net-viewer',
      'useradd --create-home --shell /bin/sh --groups frrvty,netward net-admin',
      'usermod --password * net-admin',
    ]);
  });

  it('treats a failure as none when the account now exists (a parallel creator), else retries then fails', () => {
    const passwd = dir.join('passwd2');
    writeFileSync(passwd, 'root:x:0:0::/root:/bin/bash\n');
    ensureAccounts({
      accounts: ['racer'],
      passwdFile: passwd,
      groupFile: dir.join('group'),
      run: (file) => {
        if (file === 'useradd') {
          writeFileSync(passwd, 'racer:x:1500:1500::/home/racer:/bin/sh\n', { flag: 'a' });
          throw new Error('useradd: user racer exists');
        }
      },
    });
    let attempts = 0;
    try {
      ensureAccounts({
        accounts: ['never'],
        passwdFile: passwd,
        run: () => {
          attempts++;
          throw new Error('passwd locked');
        },
      });
      expect.unreachable();
    } catch (e) {
      expect((e as KitError).code).toBe('ERR_KIT_ACCOUNT');
    }
    expect(attempts).toBe(5);
  });

  it('reads ids from passwd and group files', () => {
    expect(lookupId(dir.join('passwd'), 'net-viewer')).toBe(1001);
    expect(lookupId(dir.join('passwd'), 'nobody-here')).toBeUndefined();
    expect(lookupId(dir.join('absent'), 'root')).toBeUndefined();
    expect(groupId('root')).toBe(0);
    expect(userId('root')).toBe(0);
  });
});

describe('the device accounts (real useradd, shared with every lab: never deleted)', () => {
  it('exist afterwards with shell /bin/sh and password field *', () => {
    ensureDeviceAccounts();
    const shadow = readFileSync('/etc/shadow', 'utf8').split('\n');
    for (const a of DEVICE_ACCOUNTS) {
      expect(userId(a)).toBeGreaterThan(0);
      expect(execFileSync('getent', ['passwd', a], { encoding: 'utf8' }).trim().endsWith(':/bin/sh')).toBe(
        true,
      );
      expect(shadow.find((l) => l.startsWith(`${a}:`))?.split(':')[1]).toBe('*');
    }
  });
});
