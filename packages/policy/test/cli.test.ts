// The netward-policy command lines, run in-process through runCli, and once as an esbuild bundle (the
// default policy must be embedded: no file next to the bundle).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleProgram } from '@netward/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIo, runCli } from '../src/cli/main.ts';
import {
  defaultPolicy,
  renderBrokerRoles,
  renderGrammar,
  renderIdp,
  renderLocalRules,
  renderMcpTools,
  renderTacPlusNg,
} from '../src/index.ts';
import { renderKeycloakRealm } from '../src/render/services.ts';

const PKG = join(dirname(fileURLToPath(import.meta.url)), '..');
const DESIGN = join(PKG, 'policy', 'design.yaml');
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
    const r = run([
      'explain',
      '--policy',
      DESIGN,
      '--role',
      'net-operator',
      '--',
      'vtysh',
      '-c',
      'configure terminal',
    ]);
    expect(r).toEqual({
      code: 1,
      out: 'role:     net-operator\ncommand:  vtysh -c configure terminal\ndecision: DENY\nbecause:  rule #0: deny /configure/\n',
      err: '',
    });
  });

  it('explains a permit, a default deny, an unconditional permit and an unknown role', () => {
    expect(
      run(['explain', '--policy', DESIGN, '--role', 'net-viewer', '--command', 'show bgp summary']).out,
    ).toContain('decision: PERMIT\nbecause:  rule #2: permit /(^|/)show($| )/\n');
    expect(
      run(['explain', '--policy', DESIGN, '--role', 'net-viewer', '--', 'ping', '192.0.2.1']).out,
    ).toContain('because:  no rule matched: default deny');
    expect(run(['explain', '--policy', DESIGN, '--role', 'net-admin', '--', 'reload']).out).toContain(
      'rule #0: permit (every command)',
    );
    const u = run(['explain', '--role', 'mallory', '--', 'show']);
    expect(u.code).toBe(1);
    expect(u.out).toContain('unknown role "mallory" in policy/default.yaml: deny');
  });

  it('answers in JSON with --json', () => {
    const r = run([
      'explain',
      '--json',
      '--policy',
      DESIGN,
      '--role',
      'net-operator',
      '--',
      'ping',
      '-c',
      '3',
      '192.0.2.1',
    ]);
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

  it('names the grammar entry that admits a command of the default policy, or why none does', () => {
    const ok = run(['explain', '--role', 'net-operator', '--', 'ping', '-c', '3', '192.0.2.1']);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('decision: PERMIT\n');
    expect(ok.out).toContain(
      'grammar:  diagnostics: "ping -c <int:1-5> [-W <int:1-5>] [-I <interface>] <ip>"\n',
    );
    const flood = run(['explain', '--role', 'net-operator', '--', 'ping', '-f', '192.0.2.1']);
    expect(flood.code).toBe(1);
    expect(flood.out).toContain('decision: DENY\nbecause:  no rule matched: default deny\n');
    expect(flood.out).toContain(
      'grammar:  closest entry "ping -c <int:1-5> [-W <int:1-5>] [-I <interface>] <ip>" (diagnostics) does not admit word 1 ("-f")\n',
    );
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
    expect(run(['render', '--target', 'keycloak-realm', '--realm', 'lab']).out).toBe(
      renderKeycloakRealm(p, { realm: 'lab' }),
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

  it('finds no hole and no disagreement in the default policy; only the unsafe demonstration tool warns', () => {
    const r = run(['check']);
    expect(r.code).toBe(0);
    expect(r.out).not.toContain('HOLE');
    expect(r.out).not.toContain('DISAGREE');
    expect(r.out).toContain(
      'WARNING   unsafe-tool-granted: net-viewer can call run_raw_command_on_device, which is marked unsafe (scope mcp:ctrl-plane:read)\n',
    );
    expect(r.out).toContain(
      '0 file(s) checked, 0 mismatch(es), 0 hole(s), 0 disagreement(s), 3 warning(s)\n',
    );
    expect(run(['check', '--strict']).code).toBe(1);
  });

  it('names every hole of the design policy and fails', () => {
    const r = run(['check', '--policy', DESIGN]);
    expect(r.code).toBe(1);
    // the findings of issue 12: a viewer reads a file and changes state, an operator floods and enters
    // namespaces, a viewer reads the configuration its scopes refuse
    for (const line of [
      'HOLE      net-viewer may run "ip -b /etc/netward/tacacs.key /show", which reads a file (ip -b), carrying /show as the design rules allow: no role may (permitted by rule 2 (permit (^|/)show($| )))\n',
      'HOLE      net-viewer may run "ip route add 10.99.0.0/16 dev lo", which adds a route, without scope mcp:config:write (permitted by rule 3 (permit (^|/)ip route($| )))\n',
      'HOLE      net-viewer may run "ip addr flush dev lo", which removes addresses, without scope mcp:config:write (permitted by rule 4 (permit (^|/)ip addr($| )))\n',
      'HOLE      net-viewer may run "show running-config", which shows the configuration, without scope mcp:config:read (permitted by rule 2 (permit (^|/)show($| )))\n',
      'HOLE      net-operator may run "ip -batch /etc/netward/tacacs.key", which reads a file (ip -batch): no role may (permitted by rule 5 (permit (^|/)ip($| )))\n',
      'HOLE      net-operator may run "ip link set dev eth0 down", which takes an interface down, without scope mcp:config:write (permitted by rule 5 (permit (^|/)ip($| )))\n',
      'HOLE      net-operator may run "ip netns exec other sh", which runs a program in another namespace (ip netns exec): no role may (permitted by rule 5 (permit (^|/)ip($| )))\n',
      'HOLE      net-operator may run "ping -f 192.0.2.1", which floods (ping -f): no role may (permitted by rule 3 (permit (^|/)ping($| )))\n',
      'HOLE      net-admin may run "ip -b /etc/netward/tacacs.key", which reads a file and prints its lines (ip -b): no role may (permitted by rule 0 (permit always))\n',
      'WARNING   no-grammar: net-viewer has no command grammar: the validator passes its commands to the rules as they are, and the rules match only text\n',
    ]) {
      expect(r.out).toContain(line);
    }
    const json = JSON.parse(run(['check', '--json', '--policy', DESIGN]).out);
    expect(json.holes.length).toBeGreaterThanOrEqual(40);
    expect(json.disagreements).toEqual([]);
  });

  it('reports each deployed file and fails with a diff when one no longer matches', () => {
    const files = {
      'tac-plus-ng': [join(dir, 'tac.cfg'), renderTacPlusNg(p, { key: 'k' })],
      'local-rules': [join(dir, 'rules.json'), renderLocalRules(p)],
      grammar: [join(dir, 'grammar.json'), renderGrammar(p)],
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
    expect(ok.out).toContain('6 file(s) checked, 0 mismatch(es)');

    writeFileSync(
      files.idp[0] as string,
      (files.idp[1] as string).replace('"mcp:diag:run"', '"mcp:config:write"'),
    );
    const bad = run(argv);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain(`MISMATCH  idp: ${files.idp[0]} no longer matches policy/default.yaml\n--- `);
    expect(bad.out).toContain('6 file(s) checked, 1 mismatch(es)');

    // a grammar file whose operator set gained ping -f no longer matches
    writeFileSync(
      files.grammar[0] as string,
      (files.grammar[1] as string).replace('"ping -c <int:1-5>', '"ping -f -c <int:1-5>'),
    );
    expect(run(argv).out).toContain(`MISMATCH  grammar: ${files.grammar[0]} no longer matches`);
    writeFileSync(files.grammar[0] as string, files.grammar[1] as string);

    const json = JSON.parse(run([...argv, '--json']).out);
    expect(
      json.files.filter((f: { matches: boolean }) => !f.matches).map((f: { target: string }) => f.target),
    ).toEqual(['idp']);
    expect(json.warnings).toHaveLength(3);
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
    await bundleProgram(join(PKG, 'src/cli/netward-policy.ts'), out);
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
