// vtysh through the validator against a real FRR instance: one pathspace (-N) in its own network
// namespace, created here and removed afterwards (docs/frr.md: frrvty group, /var/run/frr/<name> as
// frr:frrvty 0750 before FRR starts, --config_dir /etc/frr so vtysh reads the instance's vtysh.conf).
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { decideLocal } from '@netward/policy/local-rules';
import {
  encodeRequest,
  FRAME_EXIT,
  FRAME_READY,
  FRAME_STDOUT,
  FrameDecoder,
  MAX_OUTPUT_FRAME,
  parseExit,
  SESSION_VERB,
} from '@netward/session-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRulesAuthorizer } from '../src/authorize.ts';
import { validateConfig } from '../src/config.ts';
import { FRR_VTY_COMMANDS } from '../src/deploy.ts';
import { FC_ERRORS } from '../src/errors.ts';
import { runSession } from '../src/session.ts';
import { authInfo, certLine, DESIGN_CONFIGS, DESIGN_RULES, memoryAudit, recordingSpawn } from './helpers.ts';
import { BASE_EXECUTABLES, buildBundle, groupGid, type Harness, startSshd } from './sshd-harness.ts';

const FRR_INIT = '/usr/lib/frr/frrinit.sh';
const NAME = `fct${process.pid % 100000}`;
const ETC = join('/etc/frr', NAME);
const RUN = join('/var/run/frr', NAME);
const KEY_ID = 'sid=frrsession01,user=carol,req=frrrequest0000000001';

let h: Harness;

function uid(name: string): number {
  return Number(execFileSync('id', ['-u', name]).toString().trim());
}

function vtyshDirect(cli: string): string {
  return execFileSync('/usr/bin/vtysh', ['--config_dir', '/etc/frr', '-N', NAME, '-c', cli]).toString();
}

async function waitForFrr(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if (vtyshDirect('show running-config').includes('bgp router-id')) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`FRR instance ${NAME} did not come up`);
}

beforeAll(async () => {
  if (!existsSync(FRR_INIT) || !existsSync('/usr/bin/vtysh')) {
    throw new Error(`FRR missing (${FRR_INIT}, /usr/bin/vtysh): apt-get install frr`);
  }
  buildBundle();
  h = await startSshd();
  h.sign({ keyId: KEY_ID, principals: ['net-viewer', 'net-operator', 'net-admin'], serial: 4242 });

  const frrUid = uid('frr');
  const frrGid = groupGid('frr');
  const vtyGid = groupGid('frrvty');
  mkdirSync(ETC, { recursive: true });
  chownSync(ETC, frrUid, vtyGid);
  chmodSync(ETC, 0o750);
  // Debian ships /etc/frr 0750 frr:frr: the accounts' vtysh must traverse it to read <name>/vtysh.conf.
  const st = statSync('/etc/frr');
  if ((st.mode & 0o001) === 0) chmodSync('/etc/frr', (st.mode & 0o777) | 0o001);
  const files: [string, string, number][] = [
    [
      'daemons',
      'bgpd=yes\nvtysh_enable=yes\nzebra_options="  -A 127.0.0.1 -s 90000000"\nbgpd_options="   -A 127.0.0.1"\nstaticd_options="-A 127.0.0.1"\n',
      frrGid,
    ],
    [
      'frr.conf',
      'frr defaults datacenter\nhostname fc-test\nservice integrated-vtysh-config\n!\nrouter bgp 65000\n bgp router-id 10.255.0.1\nexit\n!\n',
      frrGid,
    ],
    ['vtysh.conf', 'service integrated-vtysh-config\n', vtyGid],
  ];
  for (const [name, text, gid] of files) {
    writeFileSync(join(ETC, name), text, { mode: 0o640 });
    chownSync(join(ETC, name), frrUid, gid);
    chmodSync(join(ETC, name), 0o640);
  }
  mkdirSync(RUN, { recursive: true });
  chownSync(RUN, frrUid, vtyGid);
  chmodSync(RUN, 0o750);
  execFileSync('ip', ['netns', 'add', NAME]);
  execFileSync('ip', [
    'netns',
    'exec',
    NAME,
    'unshare',
    '--uts',
    'sh',
    '-c',
    'hostname "$1" && exec "$2" start "$3"',
    'sh',
    NAME,
    FRR_INIT,
    NAME,
  ]);
  await waitForFrr();
  h.writeConfig({
    executables: {
      ...BASE_EXECUTABLES,
      vtysh: { path: '/usr/bin/vtysh', args: ['--config_dir', '/etc/frr', '-N', NAME], style: 'vtysh' },
    },
    cli: { executable: 'vtysh', commands: ['show'] },
  });
}, 120_000);

afterAll(async () => {
  try {
    execFileSync(FRR_INIT, ['stop', NAME], { stdio: 'ignore' });
  } catch {}
  try {
    execFileSync('ip', ['netns', 'del', NAME], { stdio: 'ignore' });
  } catch {}
  rmSync(ETC, { recursive: true, force: true });
  rmSync(RUN, { recursive: true, force: true });
  await h?.stop();
}, 60_000);

describe('vtysh through the validator against FRR', () => {
  it('lets a viewer read BGP state through vtysh -c', async () => {
    const r = await h.ssh('net-viewer', "vtysh -c 'show bgp summary'");
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // No neighbours configured: FRR answers from the running bgpd.
    expect(r.stdout).toContain('No BGP neighbors found');
  });

  it('routes a bare show command to the instance', async () => {
    const r = await h.ssh('net-viewer', 'show running-config');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('router bgp 65000');
    expect(r.stdout).toContain('bgp router-id 10.255.0.1');
  });

  it('refuses an operator configuration change and leaves FRR unchanged', async () => {
    const r = await h.ssh(
      'net-operator',
      "vtysh -c 'configure terminal' -c 'router bgp 65000' -c 'bgp router-id 10.9.9.9'",
    );
    expect(r.code).toBe(FC_ERRORS.ERR_FC_NOT_AUTHORIZED.exit);
    expect(vtyshDirect('show running-config')).toContain('bgp router-id 10.255.0.1');
  });

  it('refuses a newline-smuggled second command', async () => {
    const r = await h.ssh('net-admin', "vtysh -c 'show version\nconfigure terminal'");
    expect(r.code).toBe(FC_ERRORS.ERR_FC_METACHARACTER.exit);
  });

  it('lets an admin change the configuration with several -c, each authorized', async () => {
    const r = await h.ssh(
      'net-admin',
      "vtysh -c 'configure terminal' -c 'router bgp 65000' -c 'bgp router-id 10.9.9.9'",
    );
    expect(r.code).toBe(0);
    expect(vtyshDirect('show running-config')).toContain('bgp router-id 10.9.9.9');
    const answers = h
      .auditRecords()
      .filter((x) => x['event'] === 'decision')
      .at(-1)?.['authz'] as {
      answers: { command: string }[];
    };
    expect(answers.answers.map((a) => a.command)).toEqual([
      'configure terminal',
      'router bgp 65000',
      'bgp router-id 10.9.9.9',
    ]);
  });

  it('refuses vtysh options that would reach another instance or file', async () => {
    const r = await h.ssh('net-admin', "vtysh -N other -c 'show version'");
    expect(r.code).toBe(FC_ERRORS.ERR_FC_VTYSH_OPTION.exit);
  });
});

describe('single-daemon lines straight to the daemon vty socket (no vtysh start)', () => {
  const vtysh = (vty: Record<string, string>) => ({
    path: '/usr/bin/vtysh',
    args: ['--config_dir', '/etc/frr', '-N', NAME],
    style: 'vtysh' as const,
    vty: { socketDir: RUN, commands: vty },
  });
  const lastRecord = (event: string) =>
    h
      .auditRecords()
      .filter((x) => x['event'] === event)
      .at(-1);

  beforeAll(() => {
    h.writeConfig({
      executables: { ...BASE_EXECUTABLES, vtysh: vtysh({ ...FRR_VTY_COMMANDS }) },
      cli: { executable: 'vtysh', commands: ['show'] },
    });
  });

  it('answers every listed line with exactly the bytes vtysh prints, and records the daemon', async () => {
    for (const [line, daemon] of Object.entries(FRR_VTY_COMMANDS)) {
      for (const command of [`vtysh -c '${line}'`, line]) {
        const r = await h.ssh('net-viewer', command);
        expect({ command, code: r.code, stderr: r.stderr }).toEqual({ command, code: 0, stderr: '' });
        expect(r.stdout).toBe(vtyshDirect(line));
        const normalized = lastRecord('completed')?.['normalized'] as { vty?: { daemon: string } };
        expect(normalized.vty?.daemon).toBe(daemon);
      }
    }
    // Not vacuous: the instance answers with its own state.
    expect((await h.ssh('net-viewer', 'show interface brief')).stdout).toContain('lo ');
  }, 120_000);

  it('still starts vtysh for a line that is not listed, or for several -c', async () => {
    const r = await h.ssh('net-admin', 'show running-config');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('router bgp 65000');
    expect(lastRecord('completed')?.['normalized']).not.toHaveProperty('vty');
    const two = await h.ssh('net-viewer', "vtysh -c 'show bgp summary' -c 'show interface brief'");
    expect(two.code).toBe(0);
    expect(two.stdout).toBe(vtyshDirect('show bgp summary') + vtyshDirect('show interface brief'));
    expect(lastRecord('completed')?.['normalized']).not.toHaveProperty('vty');
  });

  it('answers session-mode requests from the daemon in STDOUT frames, no process started', async () => {
    const { spawn, calls } = recordingSpawn();
    const stdin = new PassThrough();
    const out: Buffer[] = [];
    const done = runSession({
      config: validateConfig({
        ...DESIGN_CONFIGS.frr,
        executables: { ...DESIGN_CONFIGS.frr.executables, vtysh: vtysh({ ...FRR_VTY_COMMANDS }) },
      }),
      account: 'net-viewer',
      env: { SSH_USER_AUTH: '/run/sshd-auth-info', SSH_ORIGINAL_COMMAND: SESSION_VERB },
      authorizer: async () =>
        createRulesAuthorizer((role, command) => decideLocal(DESIGN_RULES, role, command)),
      audit: memoryAudit(),
      spawn,
      readAuthInfo: () => authInfo(certLine({ validForSeconds: 60 })),
      checkExecutable: () => {},
      stdin,
      write: async (bytes) => {
        out.push(bytes);
      },
    });
    const lines = ['show bgp summary', 'show interface brief', 'show bgp summary'];
    lines.forEach((command, i) => {
      stdin.write(encodeRequest({ id: `frrsessionrequest0000${i}`, command }));
    });
    stdin.end();
    expect(await done).toBe(0);
    const frames = new FrameDecoder(MAX_OUTPUT_FRAME, [FRAME_READY, FRAME_STDOUT, FRAME_EXIT]).push(
      Buffer.concat(out),
    );
    const answers: string[] = [];
    let text = '';
    for (const f of frames) {
      if (f.type === FRAME_STDOUT) text += f.payload.toString();
      if (f.type !== FRAME_EXIT) continue;
      expect(parseExit(f.payload)).toEqual({ id: `frrsessionrequest0000${answers.length}`, exit: 0 });
      answers.push(text);
      text = '';
    }
    expect(answers).toEqual(lines.map(vtyshDirect));
    expect(calls).toEqual([]);
  });

  it('fails closed when the daemon does not run: ERR_FC_EXEC, no output', async () => {
    h.writeConfig({
      executables: { ...BASE_EXECUTABLES, vtysh: vtysh({ 'show bgp summary': 'ospfd' }) },
      cli: { executable: 'vtysh', commands: ['show'] },
    });
    const r = await h.ssh('net-viewer', 'show bgp summary');
    expect(r.code).toBe(FC_ERRORS.ERR_FC_EXEC.exit);
    expect(r.stdout).toBe('');
    expect(lastRecord('completed')).toMatchObject({ code: 'ERR_FC_EXEC', spawn_error: 'ENOENT' });
  });
});
