// Static checks of compose.yaml: what can be verified without a Docker engine.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEVICES, MCP_PORT, SYSLOG_ADDRESS, TACACS_ADDRESS } from '@netward/lab/compose';
import { describe, expect, it } from 'vitest';
import {
  argDefaults,
  buildOf,
  contextCopies,
  dockerComposeVersion,
  loadCompose,
  parseYaml,
  REPO_ROOT,
} from './compose-files.ts';

const compose = loadCompose();
const services = Object.entries(compose.services);

function bindSources(): Array<{ service: string; source: string }> {
  const out: Array<{ service: string; source: string }> = [];
  for (const [name, s] of services) {
    for (const v of s.volumes ?? []) {
      const source = typeof v === 'string' ? v.split(':')[0] : v.type === 'bind' ? v.source : undefined;
      if (source !== undefined && (source.startsWith('./') || source.startsWith('/'))) {
        out.push({ service: name, source });
      }
    }
  }
  return out;
}

describe('compose.yaml validates', () => {
  const version = dockerComposeVersion();

  it('docker-compose (v1, client only) is installed to validate it', () => {
    // Debian's docker-compose package; scripts/setup.sh installs it. No engine is needed for `config`.
    expect(
      version,
      'docker-compose is not installed: run scripts/setup.sh (apt-get install docker-compose)',
    ).toBeDefined();
  });

  for (const profile of [[], ['--profile', 'vyos']]) {
    it(`docker-compose config -q accepts it ${profile.length === 0 ? '(default services)' : '(with the vyos profile)'}`, () => {
      if (version === undefined) throw new Error('docker-compose is not installed: run scripts/setup.sh');
      // docker-compose validates against the compose-spec JSON schema it ships
      // (compose/config/compose_spec.json) and resolves every build context and extension field.
      const out = execFileSync('docker-compose', ['-f', 'compose.yaml', ...profile, 'config', '-q'], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      expect(out).toBe('');
    });
  }

  it('has no top-level name (docker-compose v1 refuses it)', () => {
    expect(compose.name).toBeUndefined();
  });
});

describe('every file compose.yaml and the Dockerfiles reference exists', () => {
  it('bind-mounted files and folders from the repository exist', () => {
    const missing = bindSources()
      .filter(({ source }) => source.startsWith('./'))
      .filter(({ source }) => !existsSync(join(REPO_ROOT, source)))
      .map(({ service, source }) => `${service}: ${source}`);
    expect(missing).toEqual([]);
  });

  it('mounts nothing from the host but the Docker socket (Promtail) and kernel modules (VyOS)', () => {
    const host = bindSources()
      .filter(({ source }) => source.startsWith('/'))
      .map(({ service, source }) => `${service}:${source}`)
      .sort();
    expect(host).toEqual(['promtail:/var/run/docker.sock', 'vyos-1:/lib/modules']);
  });

  const builds = services.flatMap(([name, s]) => {
    const b = buildOf(s);
    return b === undefined ? [] : [{ name, ...b }];
  });

  it('builds five images', () => {
    expect([...new Set(builds.map((b) => b.dockerfile))].sort()).toEqual([
      'docker/ca-broker/Dockerfile',
      'docker/device-frr/Dockerfile',
      'docker/device-vyos/Dockerfile',
      'docker/mcp-server/Dockerfile',
      'docker/tac_plus-ng/Dockerfile',
    ]);
  });

  for (const b of builds) {
    it(`${b.name}: build context, Dockerfile and every COPY/ADD source exist`, () => {
      expect(statSync(join(REPO_ROOT, b.context)).isDirectory()).toBe(true);
      const text = readFileSync(join(REPO_ROOT, b.dockerfile), 'utf8');
      const copies = contextCopies(text);
      expect(copies.length).toBeGreaterThan(0);
      const missing = copies.flatMap((c) =>
        c.sources
          .filter((src) => !existsSync(join(REPO_ROOT, b.context, src)))
          .map((src) => `${b.dockerfile}:${c.line}: ${c.instruction} ${src}`),
      );
      expect(missing).toEqual([]);
    });
  }

  for (const [pkg, program] of [
    ['mcp-server', 'netward-mcp-server'],
    ['ca-broker', 'netward-ca-broker'],
  ] as const) {
    it(`${pkg}: the image bundles the entry point the package builds ${program} from`, () => {
      // The image bundles self-contained (no node_modules at run time), so it names the entry itself;
      // it must be the one the package's own build script uses for the same program.
      const entry = argDefaults(readFileSync(join(REPO_ROOT, `docker/${pkg}/Dockerfile`), 'utf8')).get(
        'ENTRY',
      );
      const pkgJson = JSON.parse(readFileSync(join(REPO_ROOT, 'packages', pkg, 'package.json'), 'utf8')) as {
        scripts?: Record<string, string>;
      };
      const built = new RegExp(`(\\S+)=${program}(\\s|$)`).exec(pkgJson.scripts?.['build'] ?? '')?.[1];
      expect(entry, `ARG ENTRY of docker/${pkg}/Dockerfile`).toBe(built);
      expect(existsSync(join(REPO_ROOT, 'packages', pkg, entry ?? '')), `packages/${pkg}/${entry}`).toBe(
        true,
      );
    });
  }

  it('the FRR and VyOS images bundle the validator with its package build script', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'packages/forcecommand/package.json'), 'utf8')) as {
      scripts?: Record<string, string>;
    };
    expect(pkg.scripts?.['build']).toContain('src/cli.ts=netward-forcecommand');
    expect(existsSync(join(REPO_ROOT, 'packages/forcecommand/src/cli.ts'))).toBe(true);
  });

  it('shell scripts parse (bash -n; the OpenBao image runs init.sh with a POSIX sh)', () => {
    const bash = [
      'docker/tac_plus-ng/entrypoint.sh',
      'docker/device-frr/entrypoint.sh',
      'docker/device-frr/device-health.sh',
      'docker/device-frr/device-lib.sh',
      'docker/device-vyos/device-start.sh',
      'docker/device-vyos/import-image.sh',
      'docker/demo.sh',
    ];
    for (const f of bash) execFileSync('bash', ['-n', join(REPO_ROOT, f)]);
    for (const f of ['docker/openbao-init/init.sh', 'docker/device-frr/netward-forcecommand']) {
      execFileSync('sh', ['-n', join(REPO_ROOT, f)]);
    }
  });

  it('shell scripts run in containers are executable', () => {
    for (const f of [
      'docker/openbao-init/init.sh',
      'docker/tac_plus-ng/entrypoint.sh',
      'docker/device-frr/entrypoint.sh',
      'docker/device-frr/device-health.sh',
      'docker/device-frr/netward-forcecommand',
      'docker/device-vyos/device-start.sh',
    ]) {
      expect(statSync(join(REPO_ROOT, f)).mode & 0o111, f).not.toBe(0);
    }
  });
});

describe('audit pipeline configuration', () => {
  const yamlFile = (f: string) =>
    parseYaml(readFileSync(join(REPO_ROOT, f), 'utf8')) as Record<string, unknown>;

  it('Promtail pushes to the Loki service and listens for syslog-ng on the port syslog-ng sends to', () => {
    const promtail = yamlFile('docker/promtail/promtail.yaml') as {
      clients: Array<{ url: string }>;
      scrape_configs: Array<{ job_name: string; syslog?: { listen_address: string } }>;
    };
    expect(promtail.clients.map((c) => c.url)).toEqual(['http://loki:3100/loki/api/v1/push']);
    const syslog = promtail.scrape_configs.find((c) => c.job_name === 'syslog');
    expect(syslog?.syslog?.listen_address).toBe('0.0.0.0:1514');
    const syslogNg = readFileSync(join(REPO_ROOT, 'docker/syslog-ng/netward.conf'), 'utf8');
    expect(syslogNg).toContain('syslog("promtail" transport("tcp") port(1514))');
    // The validators send to UDP 514 (docker/device-frr/validator/*.json) and sshd through logger.
    expect(syslogNg).toContain('network(transport("udp") port(514) flags(syslog-protocol))');
  });

  it('syslog-ng reads the log files the rendered tac_plus-ng configuration writes', () => {
    const cfg = readFileSync(join(REPO_ROOT, 'docker/tac_plus-ng/tac_plus-ng.cfg'), 'utf8');
    const syslogNg = readFileSync(join(REPO_ROOT, 'docker/syslog-ng/netward.conf'), 'utf8');
    for (const log of ['authz.log', 'acct.log', 'authc.log']) {
      expect(cfg).toContain(`">/var/log/tac_plus-ng/${log}"`);
      expect(syslogNg).toContain(`file("/var/log/tac_plus-ng/${log}"`);
    }
  });

  it('Grafana is provisioned with the Loki datasource the dashboard names', () => {
    const ds = yamlFile('docker/grafana/provisioning/datasources/loki.yaml') as {
      datasources: Array<{ uid: string; url: string; type: string }>;
    };
    expect(ds.datasources).toEqual([
      expect.objectContaining({ uid: 'netward-loki', type: 'loki', url: 'http://loki:3100' }),
    ]);
    const dashboard = readFileSync(join(REPO_ROOT, 'docker/grafana/dashboards/netward-audit.json'), 'utf8');
    expect(dashboard).toContain('"uid": "netward-loki"');
    const provider = yamlFile('docker/grafana/provisioning/dashboards/netward.yaml') as {
      providers: Array<{ options: { path: string } }>;
    };
    expect(provider.providers[0]?.options.path).toBe('/var/lib/grafana/dashboards');
    expect(compose.services['grafana']?.volumes).toContain(
      './docker/grafana/dashboards:/var/lib/grafana/dashboards:ro',
    );
  });

  it('Loki stores on the volume compose mounts', () => {
    const loki = yamlFile('docker/loki/loki.yaml') as { common: { path_prefix: string } };
    expect(loki.common.path_prefix).toBe('/loki');
    expect(compose.services['loki']?.volumes).toContain('loki-data:/loki');
  });
});

describe('start order and health', () => {
  it('every depends_on condition can be met by the service it names', () => {
    const problems: string[] = [];
    for (const [name, s] of services) {
      const deps = s.depends_on;
      if (deps === undefined || Array.isArray(deps)) continue;
      for (const [dep, { condition }] of Object.entries(deps)) {
        const target = compose.services[dep];
        if (target === undefined) problems.push(`${name} -> ${dep}: no such service`);
        else if (
          condition === 'service_healthy' &&
          (target.healthcheck?.test === undefined || target.healthcheck.disable)
        )
          problems.push(`${name} -> ${dep}: waits for health, but ${dep} has no healthcheck`);
        else if (condition === 'service_completed_successfully' && target.restart !== 'no')
          problems.push(`${name} -> ${dep}: waits for completion, but ${dep} restarts`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('every long-running service has a healthcheck, except Loki (probed by Promtail)', () => {
    const without = services
      .filter(([, s]) => s.restart !== 'no' && s.healthcheck?.test === undefined)
      .map(([n]) => n);
    expect(without).toEqual(['loki']);
    const promtail = JSON.stringify(compose.services['promtail']?.healthcheck?.test);
    expect(promtail).toContain('/dev/tcp/loki/3100');
  });

  it('the MCP server starts only after the CA broker, Keycloak and every FRR device are healthy', () => {
    const deps = compose.services['mcp-server']?.depends_on as Record<string, { condition: string }>;
    for (const d of [
      'keycloak',
      'ca-broker',
      ...DEVICES.filter((x) => x.vendor === 'frr').map((x) => x.name),
    ]) {
      expect(deps[d]?.condition, d).toBe('service_healthy');
    }
  });
});

describe('hardening of netward services', () => {
  for (const name of ['mcp-server', 'ca-broker']) {
    it(`${name}: non-root, read-only root filesystem, tmpfs, no capabilities`, () => {
      const s = compose.services[name];
      expect(s?.user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
      expect(s?.read_only).toBe(true);
      expect(s?.tmpfs?.some((t) => t.startsWith('/run/netward'))).toBe(true);
      expect(s?.cap_drop).toEqual(['ALL']);
    });
  }

  it('images of netward services run as the unprivileged node user', () => {
    for (const f of ['docker/mcp-server/Dockerfile', 'docker/ca-broker/Dockerfile']) {
      const text = readFileSync(join(REPO_ROOT, f), 'utf8');
      expect(text, f).toMatch(/^USER node$/m);
      // Multi-stage: sources and the package manager stay in the build stage.
      expect(text.match(/^FROM /gm)?.length, f).toBeGreaterThanOrEqual(2);
    }
  });

  it('publishes ports on the loopback interface only', () => {
    const text = readFileSync(join(REPO_ROOT, 'compose.yaml'), 'utf8');
    const published = [...text.matchAll(/^\s+- "([^"]+:\d+:\d+)"$/gm)].map((m) => m[1]);
    expect(published.length).toBeGreaterThan(0);
    for (const p of published) expect(p).toMatch(/^127\.0\.0\.1:/);
    expect(published).toContain(`127.0.0.1:${MCP_PORT}:${MCP_PORT}`);
  });
});

describe('compose.yaml agrees with the lab facts the configs are rendered from', () => {
  function address(service: string, network: string): string | undefined {
    const nets = compose.services[service]?.networks;
    if (nets === undefined || Array.isArray(nets)) return undefined;
    return nets[network]?.ipv4_address;
  }

  it('device names and management addresses', () => {
    for (const d of DEVICES) {
      expect(compose.services[d.name], d.name).toBeDefined();
      expect(address(d.name, 'mgmt'), d.name).toBe(d.address);
      expect(compose.services[d.name]?.environment?.['NETWARD_DEVICE']).toBe(d.name);
      if (d.profile !== undefined) expect(compose.services[d.name]?.profiles).toEqual([d.profile]);
    }
  });

  it('each device mounts its own validator configuration', () => {
    for (const d of DEVICES) {
      const folder = d.vendor === 'frr' ? 'device-frr' : 'device-vyos';
      expect(compose.services[d.name]?.volumes).toContain(
        `./docker/${folder}/validator/${d.name}.json:/etc/netward/rendered/forcecommand.json:ro`,
      );
    }
  });

  it('each device parses requests against the command grammars and asks through its root agent', () => {
    const lib = readFileSync(join(REPO_ROOT, 'docker/device-frr/device-lib.sh'), 'utf8');
    for (const d of DEVICES) {
      const folder = d.vendor === 'frr' ? 'device-frr' : 'device-vyos';
      expect(compose.services[d.name]?.volumes).toContain(
        './docker/device-frr/validator/grammar.json:/etc/netward/rendered/grammar.json:ro',
      );
      const config = JSON.parse(
        readFileSync(join(REPO_ROOT, `docker/${folder}/validator/${d.name}.json`), 'utf8'),
      ) as { grammarFile?: string; authorization: { keyFile?: string; agent?: { socketDir: string } } };
      expect(config.grammarFile, d.name).toBe('/etc/netward/grammar.json');
      expect(config.authorization.agent, d.name).toEqual({ socketDir: '/run/netward/agent' });
      const start = readFileSync(
        join(
          REPO_ROOT,
          d.vendor === 'frr' ? 'docker/device-frr/entrypoint.sh' : 'docker/device-vyos/device-start.sh',
        ),
        'utf8',
      );
      // The agent runs before sshd accepts a login.
      expect(start.indexOf('start_authorization_agent'), d.name).toBeGreaterThan(0);
      expect(start.indexOf('start_authorization_agent')).toBeLessThan(start.indexOf('exec_sshd'));
    }
    // The key is root's alone: no account, and so no command an account runs, can read it.
    expect(lib).toMatch(
      /chown root:root \/etc\/netward\/tacacs\.key\n\s*chmod 0600 \/etc\/netward\/tacacs\.key/,
    );
    expect(lib).not.toMatch(/root:netward \/etc\/netward\/tacacs\.key/);
  });

  it('each device binds its accounts to certificates for itself: `restrict <role>@<device>`', () => {
    // The function the entrypoints call, run by bash on a scratch copy of the principals folder.
    const dir = mkdtempSync(join(tmpdir(), 'netward-principals-'));
    try {
      const lib = readFileSync(join(REPO_ROOT, 'docker/device-frr/device-lib.sh'), 'utf8').replaceAll(
        '/etc/ssh/netward/principals',
        dir,
      );
      writeFileSync(join(dir, 'lib.sh'), lib);
      const run = spawnSync('bash', ['-c', `. ${join(dir, 'lib.sh')} && write_principals`], {
        env: { PATH: process.env['PATH'] ?? '', NETWARD_DEVICE: 'leaf-2' },
        encoding: 'utf8',
      });
      expect(run.status, run.stderr).toBe(0);
      for (const role of ['net-viewer', 'net-operator', 'net-admin']) {
        expect(readFileSync(join(dir, role), 'utf8')).toBe(`restrict ${role}@leaf-2\n`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (const d of DEVICES) {
      const start = readFileSync(
        join(
          REPO_ROOT,
          d.vendor === 'frr' ? 'docker/device-frr/entrypoint.sh' : 'docker/device-vyos/device-start.sh',
        ),
        'utf8',
      );
      expect(start.indexOf('write_principals'), d.name).toBeGreaterThan(0);
      expect(start.indexOf('write_principals')).toBeLessThan(start.indexOf('exec_sshd'));
    }
    // The images carry no principals file of their own that a failed start could leave behind.
    for (const f of ['docker/device-frr/Dockerfile', 'docker/device-vyos/Dockerfile']) {
      expect(readFileSync(join(REPO_ROOT, f), 'utf8'), f).not.toMatch(/principals\/\$a/);
    }
  });

  it('TACACS+ and syslog-ng sit at the addresses the validators are configured with', () => {
    expect(address('tac_plus-ng', 'mgmt')).toBe(TACACS_ADDRESS);
    expect(address('syslog-ng', 'mgmt')).toBe(SYSLOG_ADDRESS);
  });

  it('the spine-leaf links: spine-a on both fabrics, each leaf on its own', () => {
    expect(address('spine-a', 'fabric-a1')).toBe('10.0.1.2');
    expect(address('spine-a', 'fabric-a2')).toBe('10.0.2.2');
    expect(address('leaf-1', 'fabric-a1')).toBe('10.0.1.3');
    expect(address('leaf-2', 'fabric-a2')).toBe('10.0.2.3');
    const frr = (n: string) => readFileSync(join(REPO_ROOT, 'docker/device-frr/frr', `${n}.conf`), 'utf8');
    expect(frr('spine-a')).toContain('neighbor 10.0.1.3 remote-as 65001');
    expect(frr('spine-a')).toContain('neighbor 10.0.2.3 remote-as 65002');
    expect(frr('leaf-1')).toContain('neighbor 10.0.1.2 remote-as 65000');
    expect(frr('leaf-2')).toContain('neighbor 10.0.2.2 remote-as 65000');
  });
});

describe('the devices\u2019 sshd configuration', () => {
  for (const file of ['docker/device-frr/sshd_config', 'docker/device-vyos/sshd_config']) {
    it(`${file} passes the real sshd's own check (sshd -t)`, () => {
      const sshd = '/usr/sbin/sshd';
      expect(existsSync(sshd), 'openssh-server is not installed: run scripts/setup.sh').toBe(true);
      // sshd -t insists on its privilege separation directory, as every start of sshd does (docs/sshd.md).
      mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
      const dir = mkdtempSync(join(tmpdir(), 'netward-sshd-'));
      try {
        const keygen = (...args: string[]) => execFileSync('ssh-keygen', ['-q', ...args], { cwd: dir });
        keygen('-t', 'ed25519', '-N', '', '-f', join(dir, 'host'));
        keygen('-t', 'ed25519', '-N', '', '-f', join(dir, 'ca'));
        keygen('-s', join(dir, 'ca'), '-h', '-I', 'spine-a', '-n', 'spine-a', join(dir, 'host.pub'));
        // The paths the container provides at start, moved into the temporary directory.
        const text = readFileSync(join(REPO_ROOT, file), 'utf8')
          .replace('/etc/ssh/ssh_host_ed25519_key-cert.pub', join(dir, 'host-cert.pub'))
          .replace('/etc/ssh/ssh_host_ed25519_key', join(dir, 'host'))
          .replace('/etc/ssh/netward/user_ca.pub', join(dir, 'ca.pub'));
        writeFileSync(join(dir, 'sshd_config'), text);
        const run = spawnSync(sshd, ['-t', '-f', join(dir, 'sshd_config')], { encoding: 'utf8' });
        expect(run.stderr).toBe('');
        expect(run.status).toBe(0);
        // And the lines the design depends on are there.
        for (const line of [
          'TrustedUserCAKeys',
          'AuthorizedPrincipalsFile /etc/ssh/netward/principals/%u',
          'AuthorizedKeysFile none',
          'ExposeAuthInfo yes',
          'ForceCommand /usr/local/bin/netward-forcecommand',
          'AcceptEnv MCP_USER MCP_SID MCP_REQUEST_ID MCP_TOOL',
          'PasswordAuthentication no',
        ]) {
          expect(text).toContain(line);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
