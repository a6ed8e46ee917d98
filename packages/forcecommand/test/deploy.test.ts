import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultPolicy, renderLocalRules } from '@netward/policy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, validateConfig } from '../src/config.ts';
import {
  deviceConfigObject,
  forceCommandLine,
  installDevice,
  renderDeviceConfig,
  renderSshdConfig,
} from '../src/deploy.ts';
import { BUNDLE, buildBundle, groupGid, requireRootAndSshd, SSHD } from './sshd-harness.ts';

let dir: string;
beforeAll(() => {
  requireRootAndSshd();
  dir = mkdtempSync('/run/netward-fc-install-');
  chmodSync(dir, 0o755);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'ca')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host')]);
  writeFileSync(join(dir, 'rules.json'), renderLocalRules(defaultPolicy()));
  writeFileSync(join(dir, 'tacacs.key'), 'k3y\n', { mode: 0o600 });
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('rendering', () => {
  it('renders device configs the validator accepts, for FRR, VyOS, local and TACACS+', () => {
    for (const platform of [{ frr: { pathspace: 'spine-a' } }, { vyos: {} }, {}]) {
      for (const authorization of [
        { mode: 'local' as const, rulesFile: '/etc/netward/local-rules.json' },
        { mode: 'tacacs' as const, servers: [{ host: '10.0.0.5' }], keyFile: '/etc/netward/tacacs.key' },
      ]) {
        const text = renderDeviceConfig({
          device: 'spine-a',
          auditFile: '/var/log/x.log',
          ...platform,
          authorization,
        });
        const config = validateConfig(JSON.parse(text));
        expect(config.device).toBe('spine-a');
      }
    }
    const frr = deviceConfigObject({
      device: 'spine-a',
      auditFile: '/l',
      frr: { pathspace: 'spine-a' },
      authorization: { mode: 'local', rulesFile: '/r' },
    });
    expect(frr.executables['vtysh']).toEqual({
      path: '/usr/bin/vtysh',
      args: ['--config_dir', '/etc/frr', '-N', 'spine-a'],
      style: 'vtysh',
    });
  });

  it('refuses ForceCommand paths that would need shell quoting', () => {
    expect(() => forceCommandLine({ script: '/x y.js', config: '/c' })).toThrow(TypeError);
    expect(() => forceCommandLine({ script: '/x.js', config: '/c;id' })).toThrow(TypeError);
    expect(forceCommandLine({ script: '/opt/fc.js', config: '/etc/c.json' })).toBe(
      '/usr/bin/node /opt/fc.js --config /etc/c.json',
    );
  });

  it('renders a drop-in and a standalone config that sshd -t accepts', () => {
    const common = {
      caKeysFile: join(dir, 'ca.pub'),
      principalsDir: join(dir, 'principals'),
      forceCommand: forceCommandLine({ script: '/opt/fc.js', config: '/etc/c.json' }),
    };
    const dropIn = renderSshdConfig(common);
    expect(dropIn).toContain('Match User net-viewer,net-operator,net-admin');
    writeFileSync(join(dir, 'main_config'), `HostKey ${join(dir, 'host')}\nUsePAM no\n${dropIn}`);
    execFileSync(SSHD, ['-t', '-f', join(dir, 'main_config')]);
    const standalone = renderSshdConfig({
      ...common,
      standalone: {
        listenAddress: '127.0.0.1',
        port: 2222,
        hostKeys: [join(dir, 'host')],
        pidFile: '/run/x.pid',
      },
    });
    writeFileSync(join(dir, 'standalone_config'), standalone);
    execFileSync(SSHD, ['-t', '-f', join(dir, 'standalone_config')]);
    // The effective settings for a service account, as sshd itself resolves them.
    const effective = execFileSync(SSHD, [
      '-T',
      '-f',
      join(dir, 'main_config'),
      '-C',
      'user=net-operator,host=h,addr=127.0.0.1',
    ]).toString();
    expect(effective).toContain('exposeauthinfo yes');
    expect(effective).toContain('authorizedkeysfile none');
    expect(effective).toMatch(/forcecommand \/usr\/bin\/node \/opt\/fc.js --config \/etc\/c.json/);
    expect(effective).toContain('acceptenv MCP_USER');
  });
});

describe('install', () => {
  it('sets up files with the documented owners and modes, idempotently', async () => {
    const etc = join(dir, 'etc');
    const opts = {
      device: 'spine-a',
      caPubFile: join(dir, 'ca.pub'),
      etcDir: etc,
      auditFile: join(dir, 'log', 'forcecommand.log'),
      script: BUNDLE,
      sshdDropIn: join(dir, 'netward.conf'),
      frr: { pathspace: 'spine-a' },
      authorization: {
        mode: 'tacacs' as const,
        servers: [{ host: '127.0.0.1', port: 49 }],
        keyFile: join(dir, 'tacacs.key'),
      },
    };
    installDevice(opts);
    const r = installDevice(opts);
    const gid = groupGid('netward');
    const mode = (f: string) => statSync(f).mode & 0o7777;
    expect(mode(join(etc, 'tacacs.key'))).toBe(0o640);
    expect(statSync(join(etc, 'tacacs.key')).gid).toBe(gid);
    expect(mode(join(dir, 'log', 'forcecommand.log'))).toBe(0o620);
    expect(statSync(join(dir, 'log', 'forcecommand.log')).gid).toBe(gid);
    expect(mode(r.configFile)).toBe(0o644);
    expect(mode(join(etc, 'principals', 'net-operator'))).toBe(0o644);
    const config = await loadConfig(r.configFile);
    expect(config.authorization.mode).toBe('tacacs');
    expect(r.forceCommand).toBe(`/usr/bin/node ${BUNDLE} --config ${r.configFile}`);
    const passwd = execFileSync('getent', ['shadow', 'net-operator']).toString();
    expect(passwd.split(':')[1]).toBe('*');
    const groups = execFileSync('id', ['-nG', 'net-operator']).toString();
    expect(groups).toContain('netward');
    expect(groups).toContain('frrvty');
  });

  it('check-config in the bundle says ok for an installed config and refuses an unsafe one', () => {
    buildBundle();
    const cfg = join(dir, 'etc', 'forcecommand.json');
    const ok = execFileSync(process.execPath, [BUNDLE, 'check-config', '--config', cfg]).toString();
    expect(ok).toContain('ok');
    chmodSync(cfg, 0o664);
    let code = 0;
    try {
      execFileSync(process.execPath, [BUNDLE, 'check-config', '--config', cfg], { stdio: 'pipe' });
    } catch (e) {
      code = (e as { status: number }).status;
    }
    chmodSync(cfg, 0o644);
    expect(code).toBe(1);
  });
});
