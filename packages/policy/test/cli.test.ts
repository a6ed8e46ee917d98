// The netward-policy command lines, run in-process through runCli, and once as an esbuild bundle (the
// default policy must be embedded: no file next to the bundle).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIo, runCli } from '../src/cli/main.ts';
import {
  defaultPolicy,
  renderBrokerRoles,
  renderIdp,
  renderKeycloakRealm,
  renderLocalRules,
  renderMcpTools,
  renderTacPlusNg,
} from '../src/index.ts';

const PKG = join(dirname(fileURLToPath(import.meta.url)), '..');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'netward-policy-cli-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function run(argv: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
    readFile: (f) => readFileSync(f, 'utf8'),
    writeFile: (f, t) => writeFileSync(f, t),
  };
  return { code: runCli(argv, io), out, err };
}

describe('explain', () => {
  it('prints the decision and the rule that made it (the issue example)', () => {
    const r = run(['explain', '--role', 'net-operator', '--', 'vtysh', '-c', 'configure terminal']);
    expect(r).toEqual({
      code: 1,
      out: 'role:     net-operator\ncommand:  vtysh -c configure terminal\ndecision: DENY\nbecause:  rule #0: deny /configure/\n',
      err: '',
    });
  });

  it('explains a permit, a default deny, an unconditional permit and an unknown role', () => {
    expect(run(['explain', '--role', 'net-viewer', '--command', 'show bgp summary']).out).toContain(
      'decision: PERMIT\nbecause:  rule #2: permit /(^|/)show($| )/\n',
    );
    expect(run(['explain', '--role', 'net-viewer', '--', 'ping', '192.0.2.1']).out).toContain(
      'because:  no rule matched: default deny',
    );
    expect(run(['explain', '--role', 'net-admin', '--', 'reload']).out).toContain(
      'rule #0: permit (every command)',
    );
    const u = run(['explain', '--role', 'mallory', '--', 'show']);
    expect(u.code).toBe(1);
    expect(u.out).toContain('unknown role "mallory" in policy/default.yaml: deny');
  });

  it('answers in JSON with --json', () => {
    const r = run(['explain', '--json', '--role', 'net-operator', '--', 'ping', '-c', '3', '192.0.2.1']);
    expect(JSON.parse(r.out)).toEqual({
      decision: 'permit',
      ruleIndex: 3,
      rule: { action: 'permit', match: '(^|/)ping($| )' },
      role: 'net-operator',
      command: 'ping -c 3 192.0.2.1',
      knownRole: true,
    });
    expect(r.code).toBe(0);
  });

  it('reads another policy with --policy and reports an invalid one with exit 2', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'version: 1\nroles: []\ntools: []\nextra: 1\n');
    const r = run(['explain', '--policy', bad, '--role', 'x', '--', 'show']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('ERR_POLICY_INVALID');
    expect(r.err).toContain(`${bad}:4:1: (document): unknown key "extra"`);
  });

  it.each([
    [['explain', '--', 'show']],
    [['explain', '--role', 'net-viewer']],
    [['explain', '--role', 'net-viewer', '--command', 'show', '--', 'show']],
    [['explain', '--role', 'net-viewer', '--bogus', '--', 'show']],
    [['frobnicate']],
    [[]],
  ])('exits 2 on bad usage: %j', (argv) => {
    const r = run(argv);
    expect(r.code).toBe(2);
    expect(r.err).toContain('usage:');
  });
});

describe('render', () => {
  const p = defaultPolicy();
  it.each([
    ['tac_plus-ng', renderTacPlusNg(p)],
    ['local-rules', renderLocalRules(p)],
    ['broker', renderBrokerRoles(p)],
    ['mcp', renderMcpTools(p)],
    ['idp', renderIdp(p)],
    ['keycloak-realm', renderKeycloakRealm(p)],
  ])('--target %s writes the artifact to stdout or --out', (target, expected) => {
    expect(run(['render', '--target', target])).toEqual({ code: 0, out: expected, err: '' });
    const out = join(dir, `${target}.out`);
    expect(run(['render', '--target', target, '--out', out]).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(expected);
  });

  it('renders a Keycloak realm with its name and roles client', () => {
    expect(run(['render', '--target', 'keycloak-realm', '--realm', 'lab', '--roles-client', 'nw']).out).toBe(
      renderKeycloakRealm(p, { realm: 'lab', rolesClientId: 'nw' }),
    );
  });

  it('takes the TACACS+ key from a file, never from argv', () => {
    const keyFile = join(dir, 'key');
    writeFileSync(keyFile, 's3cret\n', { mode: 0o600 });
    const r = run([
      'render',
      '--target',
      'tac_plus-ng',
      '--key-file',
      keyFile,
      '--listen',
      '10.1.2.3:49',
      '--log-dir',
      '/srv/tacacs',
      '--device',
      'fleet=10.0.0.0/8',
    ]);
    expect(r.out).toBe(
      renderTacPlusNg(p, {
        key: 's3cret',
        listen: { address: '10.1.2.3', port: 49 },
        logDir: '/srv/tacacs',
        device: { name: 'fleet', address: '10.0.0.0/8' },
      }),
    );
    expect(run(['render', '--target', 'tac_plus-ng', '--key', 's3cret']).code).toBe(2);
  });

  it.each([
    [['render']],
    [['render', '--target', 'keycloak']],
    [['render', '--target', 'idp', '--listen', '1.2.3.4:49']],
    [['render', '--target', 'tac_plus-ng', '--listen', 'nope']],
    [['render', '--target', 'idp', '--realm', 'x']],
    [['render', '--target', 'keycloak-realm', '--realm', 'a b']],
  ])('exits 2 on bad usage: %j', (argv) => {
    expect(run(argv).code).toBe(2);
  });
});

describe('check', () => {
  const p = defaultPolicy();

  it('passes with warnings on the default policy, fails with --strict', () => {
    const r = run(['check']);
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      'WARNING   denied-tool-permitted-command: net-viewer is denied show_running_config (lacks scope mcp:config:read) but its device rules permit "show running-config" by rule 2 (permit (^|/)show($| ))\n',
    );
    expect(r.out).toContain(
      'WARNING   unanchored-permit: net-viewer rule 2 (permit (^|/)show($| )) is not anchored at the start of the command (write ^ before each alternative), so it also permits commands that merely carry the permitted text in an argument, e.g. "ip link set dev eth0 down /show"\n',
    );
    expect(r.out).toContain('0 file(s) checked, 0 mismatch(es), 12 warning(s)\n');
    expect(run(['check', '--strict']).code).toBe(1);
  });

  it('finds no unanchored permit in the hardened policy', () => {
    const r = run(['check', '--policy', join(PKG, 'policy', 'hardened.yaml')]);
    expect(r.code).toBe(0);
    expect(r.out).not.toContain('unanchored-permit');
    expect(r.out).toContain('0 file(s) checked, 0 mismatch(es), 5 warning(s)\n');
    const strict = run(['check', '--strict', '--policy', join(PKG, 'policy', 'hardened.yaml')]);
    expect(strict.code).toBe(1); // the seed's tool/scope findings remain: the tools are the same
  });

  it('reports each deployed file and fails with a diff when one no longer matches', () => {
    const files = {
      'tac-plus-ng': [join(dir, 'tac.cfg'), renderTacPlusNg(p, { key: 'k' })],
      'local-rules': [join(dir, 'rules.json'), renderLocalRules(p)],
      broker: [join(dir, 'broker.json'), renderBrokerRoles(p)],
      mcp: [join(dir, 'mcp.json'), renderMcpTools(p)],
      idp: [join(dir, 'idp.json'), renderIdp(p)],
    };
    const argv = ['check'];
    for (const [flag, [file, text]] of Object.entries(files)) {
      writeFileSync(file as string, text as string);
      argv.push(`--${flag}`, file as string);
    }
    const ok = run(argv);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('5 file(s) checked, 0 mismatch(es)');

    writeFileSync(
      files.idp[0] as string,
      (files.idp[1] as string).replace('"mcp:diag:run"', '"mcp:config:write"'),
    );
    const bad = run(argv);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain(`MISMATCH  idp: ${files.idp[0]} no longer matches policy/default.yaml\n--- `);
    expect(bad.out).toContain('5 file(s) checked, 1 mismatch(es)');

    const json = JSON.parse(run([...argv, '--json']).out);
    expect(
      json.files.filter((f: { matches: boolean }) => !f.matches).map((f: { target: string }) => f.target),
    ).toEqual(['idp']);
    expect(json.warnings).toHaveLength(12);
  });

  it('exits 2 when a file cannot be read', () => {
    const r = run(['check', '--mcp', join(dir, 'missing.json')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('ERR_POLICY_READ');
  });
});

describe('the bundled program', () => {
  it('runs from a self-contained esbuild bundle with the default policy embedded', async () => {
    const out = join(dir, 'bundle', 'netward-policy.js');
    // same settings as scripts/bundle.mjs --self-contained
    await build({
      entryPoints: [join(PKG, 'src/cli/netward-policy.ts')],
      outfile: out,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      conditions: ['netward-source'],
      banner: {
        js: "import { createRequire as __netwardCreateRequire } from 'node:module';\nconst require = __netwardCreateRequire(import.meta.url);",
      },
      logLevel: 'warning',
    });
    const r = spawnSync(
      process.execPath,
      [out, 'explain', '--role', 'net-viewer', '--', 'show', 'ip', 'route'],
      {
        cwd: dir,
        encoding: 'utf8',
      },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('decision: PERMIT');
    const idp = spawnSync(process.execPath, [out, 'render', '--target', 'idp'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(idp.stdout).toBe(renderIdp(defaultPolicy()));
  });
});
