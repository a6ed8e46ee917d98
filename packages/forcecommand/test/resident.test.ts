// The resident validator behind a real sshd: ForceCommand = guard + shim + socket + the per-process
// command line, each account's resident process started as the account (setpriv, as a service would).
// "The same as the per-process validator" is measured, not assumed: every case runs first with no
// resident process (the shim's fallback: today's validator), then through the resident processes.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import {
  encodeCall,
  encodeFrame,
  encodeRequest,
  FRAME_CALL,
  FRAME_EXIT,
  FRAME_READY,
  FRAME_STDERR,
  FRAME_STDOUT,
  type Frame,
  FrameDecoder,
  MAX_CALL_FRAME,
  parseExit,
  SESSION_VERB,
} from '@netward/session-protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRulesAuthorizer } from '../src/authorize.ts';
import { validateConfig } from '../src/config.ts';
import { clientMessage, FC_ERRORS } from '../src/errors.ts';
import { type RunningResident, startResident } from '../src/resident.ts';
import { authInfo, certLine, memoryAudit, recordingSpawn, type SpawnCall } from './helpers.ts';
import { buildBundle, type Harness, type Resident, type SshResult, startSshd } from './sshd-harness.ts';

const ACCOUNTS = ['net-viewer', 'net-operator', 'net-admin'] as const;
const SID = 'fd9e4bdc77df2fa8';
const REQ = 'a1b2c3d4e5f6a7b8c9d0e1';
const SERIAL = 15800124;
const KEY_ID = `sid=${SID},user=bob,req=${REQ}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let h: Harness;
const residents: Partial<Record<string, Resident>> = {};
/** An ExposeAuthInfo file of the test's certificate, for requests sent straight to a socket. */
let authFile: string;

async function startResidents(): Promise<void> {
  for (const a of ACCOUNTS) residents[a] ??= await h.startResident(a);
}

async function stopResident(account: string): Promise<number | null> {
  const r = residents[account];
  delete residents[account];
  return (await r?.stop()) ?? null;
}

beforeAll(async () => {
  buildBundle();
  // Widened on purpose: the PERL* test needs sshd to pass what a misconfigured device would.
  h = await startSshd({ resident: true, acceptEnv: 'MCP_* PERL5OPT PERL5LIB' });
  const key = h.sign({ keyId: KEY_ID, principals: [...ACCOUNTS], serial: SERIAL });
  const [type, b64] = readFileSync(`${key}-cert.pub`, 'utf8').trim().split(' ');
  authFile = join(h.dir, 'auth-info');
  writeFileSync(authFile, `publickey ${type} ${b64}\n`, { mode: 0o644 });
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

/** A record without what differs between any two runs (time, measured durations) or between paths. */
function comparable(r: Record<string, unknown>): Record<string, unknown> {
  const { time: _t, timings: _s, duration_ms: _d, served_by: _b, ...rest } = r;
  const authz = rest['authz'] as { answers?: Record<string, unknown>[] } | undefined;
  if (authz?.answers === undefined) return rest;
  // Where the local rules were parsed is the one field the paths differ in by design (rulesParsed).
  const answers = authz.answers.map(({ rules_parsed: _p, ...a }) => a);
  return { ...rest, authz: { ...authz, answers } };
}

/** `rules_parsed` of every local-rules answer in `records`. */
const rulesParsed = (records: readonly Record<string, unknown>[]) =>
  records
    .flatMap((r) => (r['authz'] as { answers?: Record<string, unknown>[] } | undefined)?.answers ?? [])
    .map((a) => a['rules_parsed']);

/** Resolves once a permit is on record after the first `before` records: the command is running. */
async function permitted(before: number): Promise<void> {
  if ((await recordAfter(before, (r) => r['decision'] === 'permit')) === undefined)
    throw new Error('no permit on record in 10 s');
}

/** The first record after the first `before` that `test` accepts, waited for up to 10 s. */
async function recordAfter(
  before: number,
  test: (r: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown> | undefined> {
  for (let i = 0; i < 400; i++) {
    const found = h.auditRecords().slice(before).find(test);
    if (found !== undefined) return found;
    await sleep(25);
  }
  return undefined;
}

async function sshRecorded(account: string, command: string, env?: Record<string, string>) {
  const before = h.auditRecords().length;
  const result: SshResult = await h.ssh(account, command, env === undefined ? {} : { env });
  return { result, records: h.auditRecords().slice(before) };
}

/** Sends `bytes` to a socket (then half-closes if asked); resolves with the frames received. */
function exchange(socket: string, bytes: Buffer, o: { end?: boolean } = {}): Promise<Frame[]> {
  return new Promise((resolve, reject) => {
    const decoder = new FrameDecoder(64 * 1024, [FRAME_STDOUT, FRAME_STDERR, FRAME_EXIT]);
    const frames: Frame[] = [];
    const c = connect(socket, () => {
      if (o.end) c.end(bytes);
      else c.write(bytes);
    });
    c.on('data', (chunk: Buffer) => frames.push(...decoder.push(chunk)));
    c.on('error', () => {});
    c.on('close', () => resolve(frames));
    setTimeout(() => {
      c.destroy();
      reject(new Error('no answer in 15 s'));
    }, 15_000);
  });
}

const callEnv = (command: string) => ({ SSH_ORIGINAL_COMMAND: command, SSH_USER_AUTH: authFile });

const CASES: readonly { account: string; command: string; env?: Record<string, string> }[] = [
  { account: 'net-viewer', command: 'ip addr show lo' },
  { account: 'net-viewer', command: 'ip addr show dev nosuchdevice0' },
  { account: 'net-viewer', command: 'ping -c 1 127.0.0.1' },
  { account: 'net-viewer', command: 'ip addr show lo', env: { MCP_USER: 'mallory' } },
  {
    account: 'net-viewer',
    command: 'ip addr show lo',
    env: { MCP_USER: 'bob', MCP_TOOL: 'show_interfaces' },
  },
  { account: 'net-operator', command: 'ip addr show lo' },
  { account: 'net-operator', command: "vtysh -c 'configure terminal'" },
  { account: 'net-operator', command: 'echo hi' },
  { account: 'net-admin', command: 'echo hi' },
  { account: 'net-admin', command: 'echo hi; id' },
  { account: 'net-admin', command: '' },
  { account: 'net-admin', command: `echo ${'x'.repeat(5000)}` },
];

describe('the same answers through the resident validator as through the per-process one', () => {
  it('as viewer, operator and admin: exit status, output, stderr line and audit records', async () => {
    h.writeConfig({});
    for (const a of ACCOUNTS) await stopResident(a);
    const perProcess = [];
    for (const c of CASES) perProcess.push(await sshRecorded(c.account, c.command, c.env));
    await startResidents();
    const resident = [];
    for (const c of CASES) resident.push(await sshRecorded(c.account, c.command, c.env));

    const outcomes = new Set<string>();
    for (const [i, c] of CASES.entries()) {
      const label = `${c.account}: ${c.command.slice(0, 40)}`;
      const [p, r] = [perProcess[i], resident[i]] as [(typeof resident)[0], (typeof resident)[0]];
      expect(r.result, label).toEqual(p.result);
      expect(r.records.map(comparable), label).toEqual(p.records.map(comparable));
      expect(p.records.length, label).toBeGreaterThan(0);
      for (const rec of p.records) expect(rec['served_by'], label).toBeUndefined();
      for (const rec of r.records) {
        expect(rec['served_by'], label).toBe('resident');
        // Time since the frame arrived, where a per-process validator records node's start.
        const timings = rec['timings'] as Record<string, number>;
        expect(timings['frame'], label).toBeGreaterThanOrEqual(0);
        expect(timings['process'], label).toBeUndefined();
      }
      outcomes.add(String(r.result.code));
    }
    // Per process the rules are parsed at every command; a resident validator parses a text once and
    // answers later requests from that parse (the file is still read and checked each time).
    const parsedBy = (runs: readonly { records: Record<string, unknown>[] }[]) =>
      new Set(rulesParsed(runs.flatMap((x) => x.records)));
    expect([...parsedBy(perProcess)]).toEqual(['file']);
    expect([...parsedBy(resident)].sort()).toEqual(['file', 'kept']);
    // The cases cover permits, a failing permitted command and refusals at several stages.
    for (const code of ['0', '100', '101', '103', '107', '108', '109'])
      expect(outcomes, `exit ${code} covered`).toContain(code);
    // Every record carries the four correlation ids where the certificate was read.
    const permit = resident[0]?.records[0];
    expect(permit).toMatchObject({ user: 'bob', sid: SID, cert_serial: String(SERIAL), request_id: REQ });
  }, 120_000);
});

describe('who can reach a resident validator', () => {
  /** errno of a connect() as `account` (0: connected), with perl as the shim itself connects. */
  function connectAs(account: string, socket: string): number {
    const script =
      'socket(my $s, 1, 1, 0) or die; connect($s, pack("S Z108", 1, $ARGV[0])) and exit 0; exit($! + 0)';
    try {
      execFileSync('setpriv', [
        `--reuid=${account}`,
        '--regid=nogroup',
        '--init-groups',
        'perl',
        '-e',
        script,
        socket,
      ]);
      return 0;
    } catch (e) {
      return (e as { status: number }).status;
    }
  }

  it("a viewer's process cannot connect to the operator's or the admin's socket, only to its own", async () => {
    await startResidents();
    expect(connectAs('net-viewer', h.residentSocket('net-viewer'))).toBe(0);
    // EACCES (13): the directory `<account>:<account> 0700` is closed to every other account.
    expect(connectAs('net-viewer', h.residentSocket('net-operator'))).toBe(13);
    expect(connectAs('net-viewer', h.residentSocket('net-admin'))).toBe(13);
    expect(connectAs('net-operator', h.residentSocket('net-admin'))).toBe(13);
  });

  it('refuses to start as root, and in a socket directory that is not its own 0700', () => {
    const run = (args: string[], account?: string) => {
      const prefix =
        account === undefined ? [] : ['setpriv', `--reuid=${account}`, '--regid=nogroup', '--clear-groups'];
      const argv = [...prefix, '/usr/bin/node', join(h.dir, 'netward-forcecommand.js'), 'resident', ...args];
      try {
        execFileSync(argv[0] as string, argv.slice(1), { stdio: 'pipe', env: { PATH: '/usr/bin:/bin' } });
        return { status: 0, out: '' };
      } catch (e) {
        const x = e as { status: number; stdout: Buffer };
        return { status: x.status, out: x.stdout.toString() };
      }
    };
    const root = run(['--config', h.configFile, '--socket', join(h.dir, 'root.sock')]);
    expect(root.status).toBe(FC_ERRORS.ERR_FC_RESIDENT_ROOT.exit);
    expect(root.out).toContain('ERR_FC_RESIDENT_ROOT');
    expect(root.out).toContain('start it as the account it serves');
    // A directory others can enter: the socket's only protection would be gone.
    const open = join(h.dir, 'open');
    mkdirSync(open, { mode: 0o777 });
    execFileSync('chmod', ['0777', open]);
    const shared = run(['--config', h.configFile, '--socket', join(open, 's.sock')], 'net-viewer');
    expect(shared.status).toBe(FC_ERRORS.ERR_FC_CONFIG.exit);
    expect(shared.out).toContain('mode 0700');
  });
});

describe('fail closed around the resident validator', () => {
  it('PERL5OPT and PERL5LIB never reach the shim: the guard refuses them, recorded by the resident', async () => {
    await startResidents();
    // Code the attacker would like perl to load before the shim's first line: readable by every account.
    const lib = join(h.dir, 'perl-payload');
    mkdirSync(lib, { recursive: true, mode: 0o755 });
    writeFileSync(join(lib, 'Payload.pm'), 'print "PAYLOAD-RAN\\n"; 1;\n', { mode: 0o644 });
    const before = h.auditRecords().length;
    const r = await h.ssh('net-viewer', 'ip addr show lo', {
      env: { PERL5OPT: '-MPayload', PERL5LIB: lib },
      sendEnv: ['MCP_*', 'PERL5OPT', 'PERL5LIB'],
    });
    expect(r.stdout).toBe('');
    expect(r.code).toBe(FC_ERRORS.ERR_FC_ENVIRONMENT.exit);
    expect(r.stderr).toBe(clientMessage('ERR_FC_ENVIRONMENT'));
    const [record] = h.auditRecords().slice(before);
    expect(record).toMatchObject({ code: 'ERR_FC_ENVIRONMENT', user: 'bob', served_by: 'resident' });
    expect(record?.['detail']).toEqual({ variables: ['NETWARD_HOSTILE_ENV', 'PERL5LIB', 'PERL5OPT'] });
  });

  it('a resident process killed (stale socket) or stopped: the shim falls back, which still validates', async () => {
    await startResidents();
    const viewer = residents['net-viewer'];
    delete residents['net-viewer'];
    viewer?.child.kill('SIGKILL');
    await new Promise((r) => viewer?.child.once('exit', r));
    // The socket file stays behind: connect() is refused and the shim execs the per-process validator.
    const permitted = await sshRecorded('net-viewer', 'ip addr show lo');
    expect(permitted.result.code).toBe(0);
    expect(permitted.records.map((x) => x['served_by'])).toEqual([undefined, undefined]);
    const denied = await sshRecorded('net-viewer', 'ping -c 1 127.0.0.1');
    expect(denied.result).toMatchObject({ code: FC_ERRORS.ERR_FC_NOT_AUTHORIZED.exit, stdout: '' });
    expect(denied.records).toHaveLength(1);
    expect(denied.records[0]).toMatchObject({ decision: 'deny', code: 'ERR_FC_NOT_AUTHORIZED' });
    // A new resident process replaces the stale socket; SIGTERM ends it with 0.
    residents['net-viewer'] = await h.startResident('net-viewer');
    expect((await sshRecorded('net-viewer', 'ip addr show lo')).records[0]?.['served_by']).toBe('resident');
    expect(await stopResident('net-viewer')).toBe(0);
    expect((await sshRecorded('net-viewer', 'ip addr show lo')).records[0]?.['served_by']).toBeUndefined();
  }, 60_000);

  it('SIGTERM: a running command finishes and is recorded, the process exits 0, the next one falls back', async () => {
    await startResidents();
    const before = h.auditRecords().length;
    const running = h.ssh('net-admin', 'sleep 1');
    await permitted(before);
    const stopped = stopResident('net-admin');
    expect((await running).code).toBe(0);
    expect(await stopped).toBe(0);
    expect(h.auditRecords().slice(before).at(-1)).toMatchObject({
      event: 'completed',
      command: 'sleep 1',
      exit_status: 0,
      served_by: 'resident',
    });
    const next = await sshRecorded('net-admin', 'echo after');
    expect(next.result.stdout).toBe('after\n');
    expect(next.records[0]?.['served_by']).toBeUndefined();
  }, 30_000);

  it('a client that goes away mid-command: the command is stopped and the record says so', async () => {
    await startResidents();
    const before = h.auditRecords().length;
    const started = Date.now();
    const c = connect(h.residentSocket('net-admin'), () => c.write(encodeCall(callEnv('sleep 30'))));
    c.on('error', () => {});
    // Gone once the permit is on record, i.e. while sleep runs.
    await permitted(before);
    c.destroy();
    const completed = await recordAfter(before, (r) => r['event'] === 'completed');
    expect(completed).toMatchObject({
      command: 'sleep 30',
      signal: 'SIGKILL',
      exit_status: 137,
      client_gone: true,
      served_by: 'resident',
      user: 'bob',
    });
    expect(Date.now() - started).toBeLessThan(25_000);
  }, 40_000);

  it('the ssh client killed mid-command: the shim fails writing to the closed channel, the command is stopped', async () => {
    await startResidents();
    // 21 echo requests 0.5 s apart: ~10 s if nothing stops it.
    const command = 'ping -c 21 -i 0.5 127.0.0.1';
    const before = h.auditRecords().length;
    const ssh = spawn('ssh', [...h.sshArgs(), 'net-operator@127.0.0.1', command], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    await new Promise<void>((resolve) => ssh.stdout.once('data', () => resolve()));
    ssh.kill('SIGKILL');
    const completed = await recordAfter(before, (r) => r['event'] === 'completed');
    expect(completed).toMatchObject({ command, signal: 'SIGKILL', client_gone: true, served_by: 'resident' });
    expect(spawnSync('pgrep', ['-u', 'net-operator', '-f', command], { encoding: 'utf8' }).stdout).toBe('');
  }, 30_000);

  it('beyond limits.maxResidentRequests: ERR_FC_BUSY, recorded, nothing run', async () => {
    h.writeConfig({ limits: { maxResidentRequests: 1 } });
    // The config is read once, at start.
    await stopResident('net-admin');
    residents['net-admin'] = await h.startResident('net-admin');
    try {
      const before = h.auditRecords().length;
      const long = h.ssh('net-admin', 'sleep 2');
      await permitted(before);
      const busy = await sshRecorded('net-admin', 'echo must-not-run');
      expect(busy.result).toEqual({
        code: FC_ERRORS.ERR_FC_BUSY.exit,
        stdout: '',
        stderr: clientMessage('ERR_FC_BUSY'),
      });
      expect(busy.records).toHaveLength(1);
      expect(busy.records[0]).toMatchObject({
        decision: 'deny',
        code: 'ERR_FC_BUSY',
        detail: { limit: 1 },
        user: 'bob',
        request_id: REQ,
        served_by: 'resident',
      });
      expect((await long).code).toBe(0);
      // The slot is free again.
      expect((await h.ssh('net-admin', 'echo again')).stdout).toBe('again\n');
    } finally {
      h.writeConfig({});
      await stopResident('net-admin');
    }
  }, 60_000);

  it('a certificate expired on a kept-open connection is refused through the resident path too', async () => {
    h.writeConfig({});
    await startResidents();
    const key = h.sign({
      keyId: KEY_ID,
      principals: ['net-viewer'],
      serial: 9200,
      name: 'expiring',
      validity: '-1m:+4s',
    });
    const signedAt = Date.now();
    const control = join(h.dir, 'ctl-resident');
    const mux = ['-o', `ControlPath=${control}`];
    const master = spawn(
      'ssh',
      [...h.sshArgs(key), ...mux, '-o', 'ControlMaster=yes', '-N', 'net-viewer@127.0.0.1'],
      {
        stdio: 'ignore',
      },
    );
    try {
      for (let t = 0; t < 100; t++) {
        if (
          (await h.ssh('net-viewer', 'true', { cert: key, sshOptions: [...mux, '-O', 'check'] })).code === 0
        )
          break;
        await sleep(50);
      }
      const ok = await h.ssh('net-viewer', 'ip addr show lo', { cert: key, sshOptions: mux });
      expect(ok.code).toBe(0);
      await sleep(Math.max(0, signedAt + 5_500 - Date.now()));
      const before = h.auditRecords().length;
      const after = await h.ssh('net-viewer', 'ip addr show lo', { cert: key, sshOptions: mux });
      expect(after).toEqual({
        code: FC_ERRORS.ERR_FC_CERT_EXPIRED.exit,
        stdout: '',
        stderr: clientMessage('ERR_FC_CERT_EXPIRED'),
      });
      expect(h.auditRecords().slice(before)).toEqual([
        expect.objectContaining({ code: 'ERR_FC_CERT_EXPIRED', cert_serial: '9200', served_by: 'resident' }),
      ]);
    } finally {
      master.kill('SIGTERM');
    }
  }, 40_000);

  it('the session verb goes through the shim to a per-channel validator, as before', async () => {
    await startResidents();
    const ssh = spawn('ssh', [...h.sshArgs(), 'net-viewer@127.0.0.1', SESSION_VERB], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const decoder = new FrameDecoder(64 * 1024, [FRAME_READY, FRAME_STDOUT, FRAME_STDERR, FRAME_EXIT]);
    const frames: Frame[] = [];
    const exited = new Promise<number | null>((resolve) => ssh.once('exit', resolve));
    ssh.stdout.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) {
        frames.push(f);
        if (f.type === FRAME_EXIT) ssh.stdin.end();
      }
    });
    ssh.stdin.write(encodeRequest({ id: 'sessionreq00000000001', command: 'ip addr show lo' }));
    expect(await exited).toBe(0);
    expect(frames[0]?.type).toBe(FRAME_READY);
    const exit = frames.find((f) => f.type === FRAME_EXIT);
    expect(parseExit(exit?.payload ?? Buffer.alloc(0))).toEqual({ id: 'sessionreq00000000001', exit: 0 });
    const record = h
      .auditRecords()
      .filter((r) => r['request_id'] === 'sessionreq00000000001')
      .at(-1);
    expect(record).toMatchObject({ event: 'completed', exit_status: 0 });
    expect(record?.['channel']).toMatch(/^[0-9a-f]{12}$/);
    expect(record?.['served_by']).toBeUndefined();
  }, 30_000);
});

/**
 * A resident validator in this process (as root, account `root`: the CLI refuses root, the library does
 * not), every request permitted, its records in memory; `run` gets its socket.
 */
async function inProcess(
  o: { frameTimeoutMs?: number; executables?: Record<string, { path: string }> },
  run: (r: {
    socket: string;
    audit: ReturnType<typeof memoryAudit>;
    calls: SpawnCall[];
    auth: string;
    children: ChildProcess[];
    resident: RunningResident;
  }) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync('/run/netward-fc-resident-');
  chmodSync(dir, 0o700);
  const auth = join(dir, 'auth');
  writeFileSync(auth, authInfo(certLine({ principals: ['root'], validForSeconds: 600 })));
  const audit = memoryAudit();
  const recording = recordingSpawn();
  const children: ChildProcess[] = [];
  const resident = await startResident({
    config: validateConfig({
      device: 'spine-a',
      accounts: ['root'],
      executables: o.executables ?? { echo: { path: '/usr/bin/echo' } },
      authorization: { mode: 'local', rulesFile: '/nonexistent' },
      audit: { file: '/nonexistent' },
    }),
    account: 'root',
    socket: join(dir, 'r.sock'),
    // With executables given, real programs run; otherwise the recording spawn says what would have.
    spawn:
      o.executables === undefined
        ? recording.spawn
        : (file, args, options) => {
            const child = spawn(file, [...args], options);
            children.push(child);
            return child;
          },
    audit: () => audit,
    authorizer: async () => createRulesAuthorizer(() => ({ decision: 'permit', ruleIndex: 0, rule: 'test' })),
    ...(o.frameTimeoutMs === undefined ? {} : { frameTimeoutMs: o.frameTimeoutMs }),
  });
  try {
    await run({ socket: join(dir, 'r.sock'), audit, calls: recording.calls, auth, children, resident });
  } finally {
    await resident.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('output to a client that stops reading (in process)', () => {
  it('holds the command back instead of buffering its output, and loses nothing once it reads again', async () => {
    // seq writes ~15 MB at once; a stalled shim must not make the resident process hold it all.
    const expected = execFileSync('/usr/bin/seq', ['1', '2000000'], { maxBuffer: 64 * 1024 * 1024 }).length;
    await inProcess(
      { executables: { seq: { path: '/usr/bin/seq' } } },
      async ({ socket, auth, children }) => {
        const decoder = new FrameDecoder(64 * 1024, [FRAME_STDOUT, FRAME_STDERR, FRAME_EXIT]);
        const frames: Frame[] = [];
        const c = connect(socket, () =>
          c.write(encodeCall({ SSH_ORIGINAL_COMMAND: 'seq 1 2000000', SSH_USER_AUTH: auth })),
        );
        c.pause();
        let paused = false;
        for (let t = 0; t < 200 && !paused; t++) {
          await sleep(25);
          const child = children[0];
          if (child !== undefined && child.exitCode !== null) break;
          paused = child?.stdout?.isPaused() ?? false;
        }
        // Held back: seq blocks on its pipe, not finished with its output in the resident's memory.
        expect(paused).toBe(true);
        expect(children[0]?.exitCode).toBeNull();
        const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
        c.on('data', (chunk: Buffer) => frames.push(...decoder.push(chunk)));
        c.resume();
        await closed;
        const stdout = frames
          .filter((f) => f.type === FRAME_STDOUT)
          .reduce((n, f) => n + f.payload.length, 0);
        expect(stdout).toBe(expected);
        expect(frames.filter((f) => f.type === FRAME_EXIT).map((f) => parseExit(f.payload))).toEqual([
          { id: '', exit: 0 },
        ]);
      },
    );
  }, 30_000);
});

describe('the resident process going down on an error (in process)', () => {
  it('abort() stops every running command and records its end before it resolves', async () => {
    await inProcess(
      { executables: { sleep: { path: '/usr/bin/sleep' } } },
      async ({ socket, auth, children, audit, resident }) => {
        const clients = [0, 1].map(() => {
          const c = connect(socket, () =>
            c.write(encodeCall({ SSH_ORIGINAL_COMMAND: 'sleep 30', SSH_USER_AUTH: auth })),
          );
          c.on('error', () => {});
          return c;
        });
        for (let t = 0; t < 200 && children.length < 2; t++) await sleep(25);
        expect(children.length).toBe(2);
        const started = Date.now();
        await resident.abort();
        expect(Date.now() - started).toBeLessThan(5_000);
        expect(children.map((c) => c.signalCode)).toEqual(['SIGKILL', 'SIGKILL']);
        const completed = audit.records.map((r) => r.fields).filter((f) => f['event'] === 'completed');
        expect(completed).toEqual([
          expect.objectContaining({ command: 'sleep 30', client_gone: true, signal: 'SIGKILL' }),
          expect.objectContaining({ command: 'sleep 30', client_gone: true, signal: 'SIGKILL' }),
        ]);
        for (const c of clients) c.destroy();
      },
    );
  }, 20_000);
});

describe('CALL frames that are not one well-formed request', () => {
  const refused = (frames: Frame[]) => {
    expect(frames.some((f) => f.type === FRAME_STDOUT)).toBe(false);
    expect(frames.map((f) => f.type)).toEqual([FRAME_STDERR, FRAME_EXIT]);
    expect(frames[0]?.payload.toString()).toBe(clientMessage('ERR_FC_CALL_FRAME'));
    expect(parseExit(frames[1]?.payload ?? Buffer.alloc(0)).exit).toBe(FC_ERRORS.ERR_FC_CALL_FRAME.exit);
  };
  const valid = encodeCall(callEnv('echo must-not-run'));
  const header = (length: number, type: number) => {
    const b = Buffer.alloc(5);
    b.writeUInt32BE(length, 0);
    b.writeUInt8(type, 4);
    return b;
  };

  it('are refused with ERR_FC_CALL_FRAME and a deny record, and nothing runs', async () => {
    h.writeConfig({});
    await startResidents();
    const socket = h.residentSocket('net-admin');
    const cases: Record<string, Buffer> = {
      'zero length': Buffer.from([0, 0, 0, 0, FRAME_CALL]),
      'oversized (header alone)': header(MAX_CALL_FRAME + 2, FRAME_CALL),
      'a REQUEST frame': encodeRequest({ id: REQ, command: 'echo must-not-run' }),
      'a name outside the list': encodeFrame(FRAME_CALL, `PATH=/tmp\0SSH_ORIGINAL_COMMAND=echo must-not-run`),
      'a name twice': encodeFrame(FRAME_CALL, `SSH_ORIGINAL_COMMAND=echo a\0SSH_ORIGINAL_COMMAND=echo b`),
      'two frames': Buffer.concat([valid, valid]),
    };
    const before = h.auditRecords().length;
    for (const [name, bytes] of Object.entries(cases)) {
      const frames = await exchange(socket, bytes);
      expect(frames.length, name).toBeGreaterThan(0);
      refused(frames);
    }
    // Cut inside the frame: the client is gone, so no answer, but the refusal is on record.
    await exchange(socket, valid.subarray(0, valid.length - 3), { end: true });
    await sleep(200);
    const records = h.auditRecords().slice(before);
    expect(records).toHaveLength(Object.keys(cases).length + 1);
    for (const r of records) {
      expect(r).toMatchObject({
        decision: 'deny',
        code: 'ERR_FC_CALL_FRAME',
        served_by: 'resident',
        role: 'net-admin',
      });
    }
    expect(records.at(-1)?.['detail']).toEqual({ reason: 'stream cut' });
  }, 60_000);

  it('random bytes never run anything (property)', async () => {
    await startResidents();
    const socket = h.residentSocket('net-admin');
    const before = h.auditRecords().length;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), async (bytes) => {
        const frames = await exchange(socket, Buffer.from(bytes), { end: true });
        expect(frames.some((f) => f.type === FRAME_STDOUT)).toBe(false);
      }),
      { numRuns: 25 },
    );
    await sleep(200);
    const records = h.auditRecords().slice(before);
    expect(records.filter((r) => r['decision'] === 'permit')).toEqual([]);
    expect(records.length).toBeGreaterThan(0);
  }, 60_000);

  it('a frame that does not arrive in time is refused (in process, with a short limit)', async () => {
    await inProcess({ frameTimeoutMs: 100 }, async ({ socket, audit, calls }) => {
      expect(statSync(socket).mode & 0o777).toBe(0o600);
      refused(await exchange(socket, valid.subarray(0, 10)));
      expect(audit.records.map((r) => r.fields)).toEqual([
        expect.objectContaining({ code: 'ERR_FC_CALL_FRAME', detail: { reason: 'no frame in time' } }),
      ]);
      expect(calls).toEqual([]);
    });
  });

  it('a connection closed before its first byte (a readiness probe) is not recorded', async () => {
    await startResidents();
    const before = h.auditRecords().length;
    await exchange(h.residentSocket('net-admin'), Buffer.alloc(0), { end: true });
    await sleep(200);
    expect(h.auditRecords().slice(before)).toEqual([]);
  });
});

describe('a command over 64 KiB, which sshd delivers (up to its 256 KiB packet limit)', () => {
  // The shim sends whatever sshd gave it; a CALL body over MAX_CALL_FRAME is refused from its header,
  // before the certificate is read, so the record names no one. The per-process validator refuses the
  // same command at stage 1 (ERR_FC_TOO_LONG) under the certificate's user, session, serial and request.
  it('is refused as the per-process validator refuses it, and the record stays attributable', async () => {
    h.writeConfig({});
    const command = `echo ${'x'.repeat(70_000)}`;
    await stopResident('net-viewer');
    const perProcess = await sshRecorded('net-viewer', command);
    await startResidents();
    const resident = await sshRecorded('net-viewer', command);
    const who = { user: 'bob', sid: SID, cert_serial: String(SERIAL), request_id: REQ };
    expect(perProcess.records).toEqual([expect.objectContaining({ code: 'ERR_FC_TOO_LONG', ...who })]);
    expect(resident.records).toEqual([expect.objectContaining({ decision: 'deny', ...who })]);
    expect(resident.result).toEqual(perProcess.result);
    expect(resident.records.map(comparable)).toEqual(perProcess.records.map(comparable));
  }, 60_000);
});

describe('bytes a client can put in a command, through sshd, the resident path answers as the per-process one', () => {
  it('invalid UTF-8, a newline, a carriage return, no command at all: same status, line and record', async () => {
    h.writeConfig({});
    // The command is built by printf in sh, so that its bytes reach ssh unchanged (node's argv is UTF-8).
    const raw = (account: string, command: string) => {
      const before = h.auditRecords().length;
      const args = [...h.sshArgs(), '-o', 'SendEnv=MCP_*', `${account}@127.0.0.1`];
      const r = spawnSync('sh', ['-c', `exec ssh "$@" ${command}`, 'sh', ...args], {
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', MCP_USER: 'bob' },
        timeout: 20_000,
      });
      const records = h.auditRecords().slice(before).map(comparable);
      return {
        code: r.status,
        stdout: r.stdout.toString('latin1'),
        stderr: r.stderr.toString('latin1'),
        records,
      };
    };
    const cases: readonly (readonly [string, string])[] = [
      ['net-viewer', `"$(printf 'ip addr show \\377\\376')"`],
      ['net-viewer', `"$(printf 'ip addr show lo\\nid')"`],
      ['net-viewer', `"$(printf 'ip addr show lo\\r')"`],
      ['net-viewer', ''],
      ['net-admin', `"$(printf 'echo \\303\\251\\377')"`],
    ];
    await stopResident('net-viewer');
    await stopResident('net-admin');
    const perProcess = cases.map(([a, c]) => raw(a, c));
    await startResidents();
    const resident = cases.map(([a, c]) => raw(a, c));
    for (const [i, [account, command]] of cases.entries()) {
      const p = perProcess[i];
      expect(p?.records, command).toEqual([
        expect.objectContaining({ decision: 'deny', user: 'bob', role: account }),
      ]);
      expect(resident[i], command).toEqual(p);
    }
  }, 120_000);
});
