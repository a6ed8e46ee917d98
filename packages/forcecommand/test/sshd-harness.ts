// A real OpenSSH sshd on loopback whose ForceCommand is the built validator, for the end-to-end tests.
// Needs root (sshd, accounts) and openssh-server: without them the tests fail with a clear message.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { groupId } from '@netward/kit/files';
import { requireRoot, SSHD, sshClientArgs, startSshd as startKitSshd } from '@netward/kit/testing';
import { defaultPolicy, loadPolicy, renderGrammar, renderLocalRules } from '@netward/policy';
import type { ConfigInput } from '../src/config.ts';
import {
  buildSnapshot,
  ensureAccounts,
  forceCommandLine,
  prepareResidentSockets,
  renderPrincipals,
  renderSshdConfig,
  residentSocketPath,
} from '../src/deploy.ts';
import { renderEnvGuard } from '../src/environment.ts';
import { renderResidentShim } from '../src/shim.ts';

export const PKG = join(import.meta.dirname, '..');
export const BUNDLE = join(PKG, 'dist', 'netward-forcecommand.js');
export { SSHD };

export function requireRootAndSshd(): void {
  requireRoot('the validator behind a real sshd', [SSHD]);
}

export const SNAPSHOT_SCRIPT = join(PKG, 'dist', 'netward-forcecommand-snapshot.cjs');

/** What `pnpm build` does: the ES module bundle and the CommonJS bundle for the snapshot. */
export function buildBundle(): void {
  execFileSync(
    process.execPath,
    ['../../scripts/bundle.mjs', '--self-contained', 'src/cli.ts=netward-forcecommand'],
    { cwd: PKG, stdio: 'pipe' },
  );
  execFileSync(process.execPath, ['scripts/bundle-snapshot.mjs'], { cwd: PKG, stdio: 'pipe' });
}

export function groupGid(name: string): number {
  const gid = groupId(name);
  if (gid === undefined) throw new Error(`group ${name} missing`);
  return gid;
}

export interface SshResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Harness {
  dir: string;
  port: number;
  configFile: string;
  auditFile: string;
  /** Local rules of the design policy (the seed's profiles): what writeConfig({}) uses. */
  rulesFile: string;
  /** Local rules and grammar file of the shipped default policy. */
  defaultRulesFile: string;
  grammarFile: string;
  keyFile: string;
  /** Signs a user certificate with ssh-keygen (an independent implementation). */
  sign(o: {
    keyId: string;
    principals: string[];
    serial: number;
    name?: string;
    /** ssh-keygen -V; default -1m:+5m. */
    validity?: string;
  }): string;
  writeConfig(overrides: Partial<ConfigInput>): void;
  ssh(
    account: string,
    command: string,
    o?: { cert?: string; env?: Record<string, string>; sendEnv?: string[]; sshOptions?: string[] },
  ): Promise<SshResult>;
  /** ssh's client arguments up to (not including) the destination, for ControlMaster tests. */
  sshArgs(key?: string): string[];
  auditRecords(): Record<string, unknown>[];
  /** With `resident`: the account's socket, and its resident validator started as the account. */
  residentSocket(account: string): string;
  startResident(account: string): Promise<Resident>;
  stop(): Promise<void>;
}

export interface Resident {
  readonly child: ChildProcess;
  /** What it logged on stdout and stderr. */
  output(): string;
  /** SIGTERM; resolves with its exit status. */
  stop(): Promise<number | null>;
}

export const BASE_EXECUTABLES = {
  ip: { path: '/usr/sbin/ip' },
  ping: { path: '/usr/bin/ping' },
  echo: { path: '/usr/bin/echo' },
  sleep: { path: '/usr/bin/sleep' },
} as const;

export interface StartOptions {
  snapshot?: boolean;
  /** Replaces the rendered AcceptEnv line (tests of a deliberately widened sshd). */
  acceptEnv?: string;
  /** Put the environment guard in front of node (as the installer does). Default true. */
  guard?: boolean;
  /** Principals files name `<account>@<device>` (per-device certificates). */
  principalDevice?: string;
  /** ForceCommand through the shim to each account's resident validator (startResident). */
  resident?: boolean;
}

const ACCOUNTS = ['net-viewer', 'net-operator', 'net-admin'];

/** Resolves once `path` accepts a connection (the resident validator's readiness), or rejects. */
export async function waitForSocket(path: string, child: ChildProcess, output: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`resident exited ${child.exitCode}: ${output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(path, () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`resident not listening on ${path}: ${output()}`);
}

/**
 * Starts `node <bundle> resident` as `account` with its supplementary groups (setpriv --init-groups:
 * node's spawn({ uid }) would drop them, and vtysh needs frrvty), as an installer's service would.
 */
export async function spawnResident(o: {
  node?: string;
  bundle: string;
  config: string;
  socket: string;
  account: string;
}): Promise<Resident> {
  const child = spawn(
    'setpriv',
    [
      `--reuid=${o.account}`,
      `--regid=${execFileSync('id', ['-g', o.account], { encoding: 'utf8' }).trim()}`,
      '--init-groups',
      o.node ?? '/usr/bin/node',
      o.bundle,
      'resident',
      '--config',
      o.config,
      '--socket',
      o.socket,
    ],
    { env: { PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' },
  );
  let text = '';
  child.stdout?.on('data', (d) => {
    text += d;
  });
  child.stderr?.on('data', (d) => {
    text += d;
  });
  const output = () => text;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitForSocket(o.socket, child, output);
  return {
    child,
    output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export async function startSshd(o: StartOptions = {}): Promise<Harness> {
  requireRootAndSshd();
  ensureAccounts({ frr: true });
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  // Not under /tmp: sshd's StrictModes refuses a principals file below a world-writable directory.
  const dir = mkdtempSync('/run/netward-fc-');
  // The validator runs as the service accounts: they must traverse to the config, rules, key, log.
  chmodSync(dir, 0o755);
  const gid = groupGid('netward');
  const p = (n: string) => join(dir, n);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', p('ca')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', p('host')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', p('user')]);
  mkdirSync(p('principals'), { mode: 0o755 });
  for (const a of ACCOUNTS) {
    writeFileSync(join(p('principals'), a), renderPrincipals(a, o.principalDevice), { mode: 0o644 });
  }
  // The existing tests exercise execution (echo, sleep as net-admin) under the design's rules; the
  // grammar tests switch to the default policy with writeConfig({ grammarFile, authorization }).
  const design = loadPolicy(join(PKG, '..', 'policy', 'policy', 'design.yaml'));
  writeFileSync(p('local-rules.json'), renderLocalRules(design), { mode: 0o644 });
  writeFileSync(p('default-rules.json'), renderLocalRules(defaultPolicy()), { mode: 0o644 });
  writeFileSync(p('grammar.json'), renderGrammar(defaultPolicy()), { mode: 0o644 });
  writeFileSync(p('tacacs.key'), 'lab-shared-secret\n', { mode: 0o640 });
  chownSync(p('tacacs.key'), 0, gid);
  chmodSync(p('tacacs.key'), 0o640);
  writeFileSync(p('audit.log'), '', { mode: 0o620 });
  chownSync(p('audit.log'), 0, gid);
  chmodSync(p('audit.log'), 0o620);

  const configFile = p('forcecommand.json');
  // The accounts run the validator, so it must not stay in the checkout: a checkout below a 0700
  // `mktemp -d` folder or a 0750 home is not theirs to traverse. A copy beside the config is.
  copyFileSync(BUNDLE, p('netward-forcecommand.js'));
  chmodSync(p('netward-forcecommand.js'), 0o644);
  const guard = o.guard === false ? {} : { guard: p('netward-env-guard') };
  if (o.guard !== false) writeFileSync(p('netward-env-guard'), renderEnvGuard(), { mode: 0o755 });
  let resident = {};
  if (o.resident) {
    writeFileSync(p('netward-resident'), renderResidentShim(), { mode: 0o755 });
    prepareResidentSockets(p('resident'), ACCOUNTS);
    resident = { resident: { shim: p('netward-resident'), socket: residentSocketPath(p('resident'), '%u') } };
  }
  const residents: Resident[] = [];
  let forceCommand = forceCommandLine({
    script: p('netward-forcecommand.js'),
    config: configFile,
    ...guard,
    ...resident,
  });
  if (o.snapshot) {
    buildSnapshot({ node: '/usr/bin/node', snapshotScript: SNAPSHOT_SCRIPT, blob: p('forcecommand.blob') });
    forceCommand = forceCommandLine({
      snapshotBlob: p('forcecommand.blob'),
      config: configFile,
      ...guard,
      ...resident,
    });
  }
  const sshd = await startKitSshd({
    dir,
    check: true,
    render: (port) => {
      const config = renderSshdConfig({
        caKeysFile: p('ca.pub'),
        principalsDir: p('principals'),
        forceCommand,
        standalone: { listenAddress: '127.0.0.1', port, hostKeys: [p('host')], pidFile: p('sshd.pid') },
      });
      return o.acceptEnv === undefined
        ? config
        : config.replace(/^AcceptEnv .*$/m, `AcceptEnv ${o.acceptEnv}`);
    },
  });
  const port = sshd.port;

  const base: ConfigInput = {
    device: 'spine-a',
    executables: { ...BASE_EXECUTABLES },
    authorization: { mode: 'local', rulesFile: p('local-rules.json') },
    audit: { file: p('audit.log') },
  };

  const harness: Harness = {
    dir,
    port,
    configFile,
    auditFile: p('audit.log'),
    rulesFile: p('local-rules.json'),
    defaultRulesFile: p('default-rules.json'),
    grammarFile: p('grammar.json'),
    keyFile: p('tacacs.key'),
    sign({ keyId, principals, serial, name = 'user', validity = '-1m:+5m' }) {
      if (name !== 'user') execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', p(name)]);
      execFileSync('ssh-keygen', [
        '-q',
        '-s',
        p('ca'),
        '-I',
        keyId,
        '-n',
        principals.join(','),
        '-V',
        validity,
        '-z',
        String(serial),
        `${p(name)}.pub`,
      ]);
      return p(name);
    },
    writeConfig(overrides) {
      writeFileSync(configFile, JSON.stringify({ ...base, ...overrides }, null, 2), { mode: 0o644 });
      chmodSync(configFile, 0o644);
    },
    sshArgs(key = p('user')) {
      return sshClientArgs({
        port,
        identity: key,
        certificate: `${key}-cert.pub`,
        options: ['KexAlgorithms=curve25519-sha256'],
      });
    },
    ssh(account, command, o = {}) {
      const key = o.cert ?? p('user');
      const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...(o.env ?? {}) };
      const args = [
        ...harness.sshArgs(key),
        '-o',
        `SendEnv=${(o.sendEnv ?? ['MCP_*']).join(' ')}`,
        ...(o.sshOptions ?? []),
        `${account}@127.0.0.1`,
        command,
      ];
      return new Promise((resolve) => {
        execFile('ssh', args, { env, timeout: 20_000 }, (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 255) : 0;
          resolve({ code, stdout, stderr });
        });
      });
    },
    auditRecords() {
      return readFileSync(p('audit.log'), 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    residentSocket(account) {
      return residentSocketPath(p('resident'), account);
    },
    async startResident(account) {
      const r = await spawnResident({
        bundle: p('netward-forcecommand.js'),
        config: configFile,
        socket: residentSocketPath(p('resident'), account),
        account,
      });
      residents.push(r);
      return r;
    },
    async stop() {
      await Promise.all(residents.map((r) => r.stop()));
      await sshd.stop();
      if (!process.env['KEEP_FC_TMP']) rmSync(dir, { recursive: true, force: true });
    },
  };
  harness.writeConfig({});
  return harness;
}
