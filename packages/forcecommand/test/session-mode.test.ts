// Session mode (issue 16) through a real sshd with ssh-keygen certificates: one validator per channel
// answering framed requests, each through every stage with its own request id in the audit record and
// in TACACS+ rem_addr; bad and oversized frames end the channel with nothing run; the certificate's end
// ends the channel.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { createLogger } from '@netward/audit-context';
import { decideLocal } from '@netward/policy/local-rules';
import {
  encodeFrame,
  encodeRequest,
  FRAME_EXIT,
  FRAME_READY,
  FRAME_STDERR,
  FRAME_STDOUT,
  FrameDecoder,
  MAX_OUTPUT_FRAME,
  parseExit,
  SESSION_VERB,
} from '@netward/session-protocol';
import { createTacacsServer, type ServerAuthorizationRequest, type TacacsServer } from '@netward/tacacs-plus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRulesAuthorizer } from '../src/authorize.ts';
import { checkFileSafety, validateConfig } from '../src/config.ts';
import { FC_ERRORS } from '../src/errors.ts';
import { runSession, type SessionDeps } from '../src/session.ts';
import {
  authInfo,
  certLine,
  DESIGN_CONFIGS,
  DESIGN_RULES,
  memoryAudit,
  recordingSpawn,
  runInProcess,
} from './helpers.ts';
import { buildBundle, type Harness, startSshd } from './sshd-harness.ts';

const SID = 'sessionmode00001';
const CERT_REQ = 'sessioncertreq0000001';
const KEY_ID = `sid=${SID},user=frank,req=${CERT_REQ}`;
const silent = createLogger({ component: 'tacacs-server', destination: { write() {} } });

interface Answer {
  exit: number;
  stdout: string;
  stderr: string;
}

/** A session channel through the OpenSSH client: frames in on its stdin, frames out of its stdout. */
class Channel {
  readonly #ssh: ChildProcess;
  readonly #decoder = new FrameDecoder(MAX_OUTPUT_FRAME, [
    FRAME_READY,
    FRAME_STDOUT,
    FRAME_STDERR,
    FRAME_EXIT,
  ]);
  readonly frames: { type: number; text: string }[] = [];
  readonly closed: Promise<number>;
  #waiting: (() => void)[] = [];

  constructor(h: Harness, account: string, key?: string) {
    this.#ssh = spawn('ssh', [...h.sshArgs(key), `${account}@127.0.0.1`, SESSION_VERB], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#ssh.stdout?.on('data', (chunk: Buffer) => {
      for (const f of this.#decoder.push(chunk))
        this.frames.push({ type: f.type, text: f.payload.toString() });
      for (const w of this.#waiting.splice(0)) w();
    });
    this.closed = new Promise((resolve) => this.#ssh.once('exit', (code) => resolve(code ?? -1)));
  }

  write(bytes: Buffer): void {
    this.#ssh.stdin?.write(bytes);
  }

  end(): void {
    this.#ssh.stdin?.end();
  }

  /** The client goes away without a word (its process killed): sshd closes the channel. */
  kill(): void {
    this.#ssh.kill('SIGKILL');
  }

  /** Waits for the first frame of `type` from index `from` on. */
  async frame(type: number, from = 0): Promise<string> {
    for (;;) {
      const f = this.frames.find((x, i) => i >= from && x.type === type);
      if (f !== undefined) return f.text;
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
  }

  /** Sends one request and collects its output up to its EXIT frame. */
  async request(id: string, command: string): Promise<Answer> {
    const from = this.frames.length;
    this.write(encodeRequest({ id, command }));
    for (;;) {
      const exitAt = this.frames.findIndex((f, i) => i >= from && f.type === FRAME_EXIT);
      if (exitAt >= 0) {
        const own = this.frames.slice(from, exitAt);
        const exit = parseExit(Buffer.from((this.frames[exitAt] as { text: string }).text));
        expect(exit.id).toBe(id);
        const text = (type: number) =>
          own
            .filter((f) => f.type === type)
            .map((f) => f.text)
            .join('');
        return { exit: exit.exit, stdout: text(FRAME_STDOUT), stderr: text(FRAME_STDERR) };
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
  }

  stderrFrames(): string {
    return this.frames
      .filter((f) => f.type === FRAME_STDERR)
      .map((f) => f.text)
      .join('');
  }
}

const requestId = (n: number) => `sessionrequest${String(n).padStart(8, '0')}`;

/** An in-process session as net-viewer on the design's rules; `o` replaces any of it. */
function sessionDeps(o: Partial<SessionDeps> & Pick<SessionDeps, 'stdin' | 'write'>): SessionDeps {
  return {
    config: DESIGN_CONFIGS.frr,
    account: 'net-viewer',
    env: { SSH_USER_AUTH: '/run/sshd-auth-info', SSH_ORIGINAL_COMMAND: SESSION_VERB },
    authorizer: async () =>
      createRulesAuthorizer((role, command) => decideLocal(DESIGN_RULES, role, command)),
    audit: memoryAudit(),
    spawn: recordingSpawn().spawn,
    readAuthInfo: () => authInfo(certLine({ validForSeconds: 60 })),
    checkExecutable: () => {},
    ...o,
  };
}

let h: Harness;

beforeAll(async () => {
  buildBundle();
  h = await startSshd();
  h.sign({ keyId: KEY_ID, principals: ['net-viewer', 'net-operator', 'net-admin'], serial: 4242 });
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

function records(id: string) {
  return h.auditRecords().filter((r) => r['request_id'] === id);
}

describe('session mode with local rules', () => {
  it('answers many requests on one channel, each recorded under its own request id', async () => {
    const ch = new Channel(h, 'net-viewer');
    const ids = [1, 2, 3, 4, 5].map(requestId);
    for (const id of ids) {
      const a = await ch.request(id, 'ip addr show lo');
      expect(a).toMatchObject({ exit: 0, stderr: '' });
      expect(a.stdout).toContain('127.0.0.1');
    }
    ch.end();
    expect(await ch.closed).toBe(0);
    expect(ch.frames[0]?.type).toBe(FRAME_READY);
    const channels = new Set<unknown>();
    for (const id of ids) {
      const own = records(id);
      expect(own.map((r) => r['event'])).toEqual(['decision', 'completed']);
      for (const r of own) {
        expect(r).toMatchObject({
          user: 'frank',
          sid: SID,
          role: 'net-viewer',
          cert_serial: '4242',
          request_id_source: 'session',
          cert_request_id: CERT_REQ,
          key_id: KEY_ID,
          command: 'ip addr show lo',
        });
        channels.add(r['channel']);
      }
    }
    // One validator answered all five: the point of the session.
    expect(channels.size).toBe(1);
    expect([...channels][0]).toMatch(/^[0-9a-f]{12}$/);
  });

  it('answers a refused request, then runs an allowed one on the same channel', async () => {
    const ch = new Channel(h, 'net-viewer');
    const refused = await ch.request(requestId(11), 'ip link set dev lo down');
    expect(refused.exit).toBe(FC_ERRORS.ERR_FC_NOT_AUTHORIZED.exit);
    expect(refused.stderr).toContain('(ERR_FC_NOT_AUTHORIZED)');
    const meta = await ch.request(requestId(12), 'ip addr; id');
    expect(meta.exit).toBe(FC_ERRORS.ERR_FC_METACHARACTER.exit);
    const allowed = await ch.request(requestId(13), 'ip addr show lo');
    expect(allowed.exit).toBe(0);
    expect(allowed.stdout).toContain('127.0.0.1');
    ch.end();
    expect(await ch.closed).toBe(0);
    expect(records(requestId(11))).toEqual([
      expect.objectContaining({
        decision: 'deny',
        code: 'ERR_FC_NOT_AUTHORIZED',
        request_id_source: 'session',
      }),
    ]);
    expect(records(requestId(12))).toEqual([
      expect.objectContaining({ decision: 'deny', code: 'ERR_FC_METACHARACTER' }),
    ]);
    expect(records(requestId(13)).map((r) => r['event'])).toEqual(['decision', 'completed']);
  });

  it('refuses an invalid request id in a frame, as an identity failure that ends the channel', async () => {
    const ch = new Channel(h, 'net-viewer');
    const a = await ch.request('bad id!', 'ip addr show lo');
    expect(a.exit).toBe(FC_ERRORS.ERR_FC_IDENTITY.exit);
    expect(a.stdout).toBe('');
    expect(await ch.closed).toBe(FC_ERRORS.ERR_FC_IDENTITY.exit);
  });

  const badFrames: [string, Buffer][] = [
    ['an unknown frame type', encodeFrame(9, '{}')],
    ['a request that is not JSON', encodeFrame(1, 'ip addr show lo')],
    [
      'a request with an unknown key',
      encodeFrame(1, JSON.stringify({ id: requestId(21), command: 'ip addr show lo', x: 1 })),
    ],
    ['a request without an id', encodeFrame(1, JSON.stringify({ command: 'ip addr show lo' }))],
    ['a frame of length zero', Buffer.alloc(4)],
    // Refused from its 4-byte header: the body is never sent, let alone buffered.
    ['an oversized frame (1 MiB announced)', Buffer.from([0x00, 0x10, 0x00, 0x00, 0x01])],
  ];
  it.each(badFrames)('ends the channel on %s: ERR_FC_FRAME, nothing run', async (_name, bytes) => {
    const before = h.auditRecords().length;
    const ch = new Channel(h, 'net-operator');
    // A valid request in the same write after the bad bytes: never answered, never run.
    ch.write(Buffer.concat([bytes, encodeRequest({ id: requestId(22), command: 'ip addr show lo' })]));
    expect(await ch.closed).toBe(FC_ERRORS.ERR_FC_FRAME.exit);
    expect(ch.stderrFrames()).toBe('netward: denied at session: malformed session frame (ERR_FC_FRAME)\n');
    expect(ch.frames.filter((f) => f.type === FRAME_EXIT || f.type === FRAME_STDOUT)).toEqual([]);
    const added = h.auditRecords().slice(before);
    expect(added).toEqual([
      expect.objectContaining({
        decision: 'deny',
        code: 'ERR_FC_FRAME',
        stage: 'session',
        role: 'net-operator',
        user: 'frank',
        cert_serial: '4242',
      }),
    ]);
  });

  it('ends the channel on a stream cut inside a frame', async () => {
    const ch = new Channel(h, 'net-operator');
    ch.write(encodeRequest({ id: requestId(31), command: 'ip addr show lo' }).subarray(0, 12));
    ch.end();
    expect(await ch.closed).toBe(FC_ERRORS.ERR_FC_FRAME.exit);
    expect(records(requestId(31))).toEqual([]);
  });

  it('closes the channel when the certificate expires, and refuses nothing it admitted in time', async () => {
    const key = h.sign({
      keyId: KEY_ID,
      principals: ['net-admin'],
      serial: 4343,
      name: 'short',
      validity: '-1m:+6s',
    });
    const signedAt = Date.now();
    const ch = new Channel(h, 'net-admin', key);
    const before = await ch.request(requestId(41), 'ip addr show lo');
    expect(before.exit).toBe(0);
    // Idle at expiry: the validator ends the channel itself, with the expiry's status.
    expect(await ch.closed).toBe(FC_ERRORS.ERR_FC_CERT_EXPIRED.exit);
    expect(Date.now() - signedAt).toBeGreaterThanOrEqual(5_000);
  }, 20_000);
});

describe('session mode when the client goes away', () => {
  it('kills the running command and records its end (it was left running, unrecorded)', async () => {
    const id = requestId(71);
    // 20 echo requests 0.5 s apart: ~10 s if nothing stops it.
    const command = 'ping -c 20 -i 0.5 127.0.0.1';
    const ch = new Channel(h, 'net-operator');
    ch.write(encodeRequest({ id, command }));
    expect(await ch.frame(FRAME_STDOUT)).toContain('PING 127.0.0.1');
    ch.kill();
    let completed: Record<string, unknown> | undefined;
    for (let t = 0; t < 80 && completed === undefined; t++) {
      await new Promise((r) => setTimeout(r, 100));
      completed = records(id).find((r) => r['event'] === 'completed');
    }
    expect(completed).toMatchObject({ decision: 'permit', signal: 'SIGKILL', exit_status: 137 });
    const left = spawnSync('pgrep', ['-u', 'net-operator', '-f', command], { encoding: 'utf8' });
    expect(left.stdout).toBe('');
  }, 20_000);
});

describe('session mode with our TACACS+ server', () => {
  let server: TacacsServer;
  const seen: ServerAuthorizationRequest[] = [];

  beforeAll(async () => {
    server = createTacacsServer({
      key: 'lab-shared-secret',
      logger: silent,
      handlers: {
        authorize(req) {
          seen.push(req);
          return req.cmd === 'ip' && req.args[0] === 'addr' ? { status: 'PASS_ADD' } : { status: 'FAIL' };
        },
      },
    });
    const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
    h.writeConfig({
      authorization: {
        mode: 'tacacs',
        servers: [{ host: '127.0.0.1', port }],
        keyFile: h.keyFile,
        timeoutMs: 500,
        deadlineMs: 800,
      },
    });
  });

  afterAll(async () => {
    h.writeConfig({});
    await server?.close();
  });

  it('asks TACACS+ once per request, each with its own request id in rem_addr', async () => {
    const ch = new Channel(h, 'net-operator');
    const ids = [51, 52, 53].map(requestId);
    expect((await ch.request(ids[0] as string, 'ip addr show lo')).exit).toBe(0);
    expect((await ch.request(ids[1] as string, 'ip link show lo')).exit).toBe(
      FC_ERRORS.ERR_FC_NOT_AUTHORIZED.exit,
    );
    expect((await ch.request(ids[2] as string, 'ip addr show lo')).exit).toBe(0);
    ch.end();
    expect(await ch.closed).toBe(0);
    expect(seen.map((r) => r.remAddr)).toEqual(ids.map((id) => `frank/cert:4242/sid:${SID}/req:${id}`));
    expect(seen.every((r) => r.user === 'net-operator')).toBe(true);
    expect(records(ids[1] as string)).toEqual([
      expect.objectContaining({
        decision: 'deny',
        code: 'ERR_FC_NOT_AUTHORIZED',
        authz: expect.objectContaining({ mode: 'tacacs' }),
      }),
    ]);
  });
});

/**
 * A session channel run in this process with the recording spawn: what the client writes goes to
 * `stdin`, what the validator writes collects in `out`; `decode(types)` decodes it so far.
 */
function recordedSession(extra: Partial<SessionDeps> = {}) {
  const { spawn, calls } = recordingSpawn();
  const audit = memoryAudit();
  const stdin = new PassThrough();
  const out: Buffer[] = [];
  const done = runSession(
    sessionDeps({
      audit,
      spawn,
      stdin,
      write: async (bytes) => {
        out.push(bytes);
      },
      ...extra,
    }),
  );
  const decode = (types: readonly number[]) =>
    new FrameDecoder(MAX_OUTPUT_FRAME, types).push(Buffer.concat(out));
  return { calls, audit, stdin, out, done, decode };
}

describe('session mode in process (a clock that moves)', () => {
  it('refuses the next request once the certificate expired (ERR_FC_CERT_EXPIRED) and ends the channel', async () => {
    let skew = 0;
    const { calls, audit, stdin, done, decode } = recordedSession({ clock: () => Date.now() + skew });
    stdin.write(encodeRequest({ id: requestId(61), command: 'ip addr show lo' }));
    await new Promise((r) => setTimeout(r, 50));
    // The device's clock passes valid_before before the channel's timer fires.
    skew = 61_000;
    stdin.write(encodeRequest({ id: requestId(62), command: 'ip addr show lo' }));
    stdin.write(encodeRequest({ id: requestId(63), command: 'ip addr show lo' }));
    expect(await done).toBe(FC_ERRORS.ERR_FC_CERT_EXPIRED.exit);
    const frames = decode([FRAME_READY, FRAME_STDERR, FRAME_EXIT]);
    const exits = frames.filter((f) => f.type === FRAME_EXIT).map((f) => parseExit(f.payload));
    // 63 is never answered: the channel ended with 62.
    expect(exits).toEqual([
      { id: requestId(61), exit: 0 },
      { id: requestId(62), exit: FC_ERRORS.ERR_FC_CERT_EXPIRED.exit },
    ]);
    expect(calls).toHaveLength(1);
    expect(audit.records.map((r) => [r.fields['request_id'], r.fields['event'], r.fields['code']])).toEqual([
      [requestId(61), 'decision', undefined],
      [requestId(61), 'completed', undefined],
      [requestId(62), 'decision', 'ERR_FC_CERT_EXPIRED'],
    ]);
  });
});

describe('session mode in process (a client that stops reading)', () => {
  it('stops reading the command while the channel is behind, and loses nothing once it reads again', async () => {
    // seq writes ~15 MB at once; a stalled client must not make the validator read it all into memory.
    const expected = execFileSync('/usr/bin/seq', ['1', '2000000'], { maxBuffer: 64 * 1024 * 1024 }).length;
    let child: ChildProcess | undefined;
    const stdin = new PassThrough();
    const out: Buffer[] = [];
    let stalled = true;
    const waiters: (() => void)[] = [];
    const done = runSession(
      sessionDeps({
        config: validateConfig({
          device: 'spine-a',
          executables: { seq: { path: '/usr/bin/seq' } },
          authorization: { mode: 'local', rulesFile: '/etc/netward/local-rules.json' },
          audit: { file: '/var/log/netward/forcecommand.log' },
        }),
        account: 'net-admin',
        spawn: (file, args, options) => {
          child = spawn(file, [...args], options);
          return child;
        },
        // The real file check: /usr/bin/seq is root's.
        checkExecutable: checkFileSafety,
        stdin,
        write: (bytes) => {
          out.push(bytes);
          return stalled ? new Promise<void>((resolve) => waiters.push(resolve)) : Promise.resolve();
        },
      }),
    );
    stdin.write(encodeRequest({ id: requestId(81), command: 'seq 1 2000000' }));
    let paused = false;
    for (let t = 0; t < 200 && !paused && (child === undefined || child.exitCode === null); t++) {
      await new Promise((r) => setTimeout(r, 25));
      paused = child?.stdout?.isPaused() ?? false;
    }
    // Held back: the child is blocked on its pipe, not finished with everything read into memory.
    expect(paused).toBe(true);
    expect(child?.exitCode).toBeNull();
    stalled = false;
    for (const w of waiters.splice(0)) w();
    stdin.end();
    expect(await done).toBe(0);
    const frames = new FrameDecoder(MAX_OUTPUT_FRAME, [FRAME_READY, FRAME_STDOUT, FRAME_EXIT]).push(
      Buffer.concat(out),
    );
    const stdout = frames.filter((f) => f.type === FRAME_STDOUT).reduce((n, f) => n + f.payload.length, 0);
    expect(stdout).toBe(expected);
    expect(frames.filter((f) => f.type === FRAME_EXIT).map((f) => parseExit(f.payload))).toEqual([
      { id: requestId(81), exit: 0 },
    ]);
  }, 20_000);
});

describe('session mode in process: frames that parse but should not get anything run (held)', () => {
  it('refuses NUL, non-UTF-8 and a nested session verb per request, and a __proto__ key as a frame error', async () => {
    const { calls, audit, stdin, done, decode } = recordedSession();
    // Raw bytes 0xff 0xfe inside the JSON string: not UTF-8, decoded as U+FFFD, refused at stage 1.
    const nonUtf8 = Buffer.concat([
      Buffer.from(`{"id":"${requestId(92)}","command":"ip addr show lo`),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}'),
    ]);
    stdin.write(
      Buffer.concat([
        encodeRequest({ id: requestId(91), command: 'ip addr show lo\u0000; id' }),
        encodeFrame(1, nonUtf8),
        encodeRequest({ id: requestId(93), command: SESSION_VERB }),
        encodeRequest({ id: requestId(94), command: 'ip addr show lo' }),
      ]),
    );
    // After the four are answered (a frame error drops whatever is still queued).
    const exitsSoFar = () =>
      decode([FRAME_READY, FRAME_STDERR, FRAME_EXIT]).filter((f) => f.type === FRAME_EXIT).length;
    for (let t = 0; t < 200 && exitsSoFar() < 4; t++) await new Promise((r) => setTimeout(r, 10));
    stdin.write(
      encodeFrame(1, `{"id":"${requestId(95)}","command":"ip addr show lo","__proto__":{"tool":"x"}}`),
    );
    expect(await done).toBe(FC_ERRORS.ERR_FC_FRAME.exit);
    const frames = decode([FRAME_READY, FRAME_STDERR, FRAME_EXIT]);
    expect(frames.filter((f) => f.type === FRAME_EXIT).map((f) => parseExit(f.payload))).toEqual([
      { id: requestId(91), exit: FC_ERRORS.ERR_FC_METACHARACTER.exit },
      { id: requestId(92), exit: FC_ERRORS.ERR_FC_METACHARACTER.exit },
      { id: requestId(93), exit: FC_ERRORS.ERR_FC_NOT_EXECUTABLE.exit },
      { id: requestId(94), exit: 0 },
    ]);
    expect(calls.map((c) => [c.file, ...c.args])).toEqual([['/usr/sbin/ip', 'addr', 'show', 'lo']]);
    expect(audit.records.at(-1)?.fields).toMatchObject({ code: 'ERR_FC_FRAME', stage: 'session' });
  });
});

describe('session mode in process: one request id, one request (held)', () => {
  it('ends the channel when a request id comes again, after the first was answered', async () => {
    const { calls, audit, stdin, done, decode } = recordedSession();
    stdin.write(encodeRequest({ id: requestId(71), command: 'ip addr show lo' }));
    stdin.write(encodeRequest({ id: requestId(72), command: 'ip link show' }));
    stdin.write(encodeRequest({ id: requestId(71), command: 'ip route show' }));
    expect(await done).toBe(FC_ERRORS.ERR_FC_FRAME.exit);
    const frames = decode([FRAME_READY, FRAME_STDERR, FRAME_EXIT]);
    // The duplicate is refused as it arrives: whatever was still queued is dropped with it.
    expect(calls.map((c) => c.args.join(' '))).not.toContain('route show');
    expect(frames.filter((f) => f.type === FRAME_EXIT).length).toBeLessThanOrEqual(2);
    expect(audit.records.at(-1)?.fields).toMatchObject({
      code: 'ERR_FC_FRAME',
      detail: { reason: 'request id used twice on this channel' },
    });
  });
});

describe('the session verb is exact (held)', () => {
  it.each(['netward-session extra words', "'netward-session'", '/usr/local/bin/netward-session'])(
    '%s is an ordinary command: not on the allowlist, nothing run',
    async (command) => {
      const r = await runInProcess({ command, role: 'net-viewer', policy: 'design' });
      expect(r.status).toBe(FC_ERRORS.ERR_FC_NOT_EXECUTABLE.exit);
      expect(r.calls).toEqual([]);
    },
  );
});
