import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultPolicy, renderLocalRules } from '@netward/policy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, parseConfigText, validateConfig } from '../src/config.ts';
import {
  deviceConfigObject,
  forceCommandLine,
  installDevice,
  renderDeviceConfig,
  renderPrincipals,
  renderSshdConfig,
} from '../src/deploy.ts';
import { renderEnvGuard } from '../src/environment.ts';
import { renderResidentShim } from '../src/shim.ts';
import { BUNDLE, buildBundle, groupGid, requireRootAndSshd, SNAPSHOT_SCRIPT, SSHD } from './sshd-harness.ts';

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

  it('puts the guard, the shim and the socket in front of the unchanged per-process line', () => {
    const perProcess = '/usr/bin/node /opt/fc.js --config /etc/c.json';
    const resident = { shim: '/opt/netward-resident', socket: '/run/netward/resident/%u/resident.sock' };
    expect(forceCommandLine({ script: '/opt/fc.js', config: '/etc/c.json', guard: '/opt/g', resident })).toBe(
      `/opt/g /opt/netward-resident /run/netward/resident/%u/resident.sock ${perProcess}`,
    );
    expect(forceCommandLine({ script: '/opt/fc.js', config: '/etc/c.json', guard: '/opt/g' })).toBe(
      `/opt/g ${perProcess}`,
    );
    // perl reads PERL5OPT at its start: the shim is never run without the guard in front of it.
    expect(() => forceCommandLine({ script: '/opt/fc.js', config: '/etc/c.json', resident })).toThrow(
      /needs the environment guard/,
    );
    // `%u` is the shim's only token; a socket path that an account name could push past sun_path is refused.
    expect(() =>
      forceCommandLine({
        script: '/opt/fc.js',
        config: '/etc/c.json',
        guard: '/opt/g',
        resident: { ...resident, socket: '/run/%s/resident.sock' },
      }),
    ).toThrow(TypeError);
    expect(() =>
      forceCommandLine({
        script: '/opt/fc.js',
        config: '/etc/c.json',
        guard: '/opt/g',
        resident: { ...resident, socket: `/run/${'d'.repeat(60)}/%u/resident.sock` },
      }),
    ).toThrow(/longer than 107/);
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

describe('reference files in deploy/', () => {
  it('equal what the code renders', () => {
    const root = join(import.meta.dirname, '..', 'deploy');
    const fc = forceCommandLine({
      guard: '/usr/local/lib/netward/netward-env-guard',
      script: '/usr/local/lib/netward/netward-forcecommand.js',
      config: '/etc/netward/forcecommand.json',
    });
    expect(readFileSync(join(root, 'netward-env-guard'), 'utf8')).toBe(renderEnvGuard());
    expect(readFileSync(join(root, 'netward-resident'), 'utf8')).toBe(renderResidentShim());
    expect(readFileSync(join(root, 'sshd_config.d', 'netward.conf'), 'utf8')).toBe(
      renderSshdConfig({
        caKeysFile: '/etc/netward/user_ca.pub',
        principalsDir: '/etc/netward/principals',
        forceCommand: fc,
      }),
    );
    for (const a of ['net-viewer', 'net-operator', 'net-admin']) {
      expect(readFileSync(join(root, 'principals', a), 'utf8')).toBe(renderPrincipals(a, 'spine-a'));
    }
  });

  it('the example YAML config is valid', async () => {
    const file = join(import.meta.dirname, '..', 'deploy', 'forcecommand.example.yaml');
    const config = validateConfig(await parseConfigText(readFileSync(file, 'utf8'), file), file);
    expect(config.executables['vtysh']?.style).toBe('vtysh');
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
    // Root only: the agent reads the key, no account does.
    expect(mode(join(etc, 'tacacs.key'))).toBe(0o600);
    expect(statSync(join(etc, 'tacacs.key')).gid).toBe(0);
    expect(mode(join(dir, 'log', 'forcecommand.log'))).toBe(0o620);
    expect(statSync(join(dir, 'log', 'forcecommand.log')).gid).toBe(gid);
    expect(mode(r.configFile)).toBe(0o644);
    expect(mode(join(etc, 'principals', 'net-operator'))).toBe(0o644);
    const config = await loadConfig(r.configFile);
    expect(config.authorization).toMatchObject({
      mode: 'tacacs',
      agent: { socketDir: '/run/netward/agent' },
    });
    const guard = join(BUNDLE, '..', 'netward-env-guard');
    expect(r.forceCommand).toBe(`${guard} /usr/bin/node ${BUNDLE} --config ${r.configFile}`);
    expect(mode(guard)).toBe(0o755);
    expect(readFileSync(join(etc, 'principals', 'net-operator'), 'utf8')).toBe(
      'restrict net-operator@spine-a\n',
    );
    const passwd = execFileSync('getent', ['shadow', 'net-operator']).toString();
    expect(passwd.split(':')[1]).toBe('*');
    const groups = execFileSync('id', ['-nG', 'net-operator']).toString();
    expect(groups).toContain('netward');
    expect(groups).toContain('frrvty');
  });

  it('with resident: writes the shim, makes each account its own 0700 socket directory, and uses the shim', () => {
    const sockets = join(dir, 'resident');
    const r = installDevice({
      device: 'spine-a',
      caPubFile: join(dir, 'ca.pub'),
      etcDir: join(dir, 'etc-resident'),
      auditFile: join(dir, 'log', 'forcecommand.log'),
      script: BUNDLE,
      sshdDropIn: null,
      authorization: { mode: 'local', rulesFile: join(dir, 'rules.json') },
      resident: { socketDir: sockets },
    });
    const lib = join(BUNDLE, '..');
    expect(r.forceCommand).toBe(
      `${lib}/netward-env-guard ${lib}/netward-resident ${sockets}/%u/resident.sock /usr/bin/node ${BUNDLE} --config ${r.configFile}`,
    );
    expect(statSync(join(lib, 'netward-resident')).mode & 0o7777).toBe(0o755);
    expect(readFileSync(join(lib, 'netward-resident'), 'utf8')).toBe(renderResidentShim());
    expect(statSync(sockets).mode & 0o7777).toBe(0o755);
    for (const a of ['net-viewer', 'net-operator', 'net-admin']) {
      const st = statSync(join(sockets, a));
      expect(st.mode & 0o7777).toBe(0o700);
      expect(st.uid).toBe(Number(execFileSync('id', ['-u', a]).toString()));
      expect(st.gid).toBe(Number(execFileSync('id', ['-g', a]).toString()));
    }
  });

  // Bundles and builds a snapshot: over 10 s on two shared cores at load ~25.
  it('builds a start-up snapshot and points ForceCommand at it when asked', () => {
    buildBundle();
    const r = installDevice({
      device: 'spine-a',
      caPubFile: join(dir, 'ca.pub'),
      etcDir: join(dir, 'etc-snap'),
      auditFile: join(dir, 'log', 'forcecommand.log'),
      script: BUNDLE,
      sshdDropIn: null,
      authorization: { mode: 'local', rulesFile: join(dir, 'rules.json') },
      snapshot: { script: SNAPSHOT_SCRIPT, blob: join(dir, 'lib', 'forcecommand.blob') },
    });
    expect(r.forceCommand).toBe(
      `${join(BUNDLE, '..', 'netward-env-guard')} /usr/bin/node --snapshot-blob ${join(dir, 'lib', 'forcecommand.blob')} -- --config ${r.configFile}`,
    );
    expect(statSync(join(dir, 'lib', 'forcecommand.blob')).mode & 0o777).toBe(0o644);
    const out = execFileSync('/usr/bin/node', [
      '--snapshot-blob',
      join(dir, 'lib', 'forcecommand.blob'),
      '--',
      'check-config',
      '--config',
      r.configFile,
    ]).toString();
    expect(out).toContain('ok (device spine-a, local authorization)');
  }, 60_000);

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
  }, 60_000);
});
