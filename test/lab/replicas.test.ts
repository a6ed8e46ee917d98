/**
 * Replicas proven natively: `netward-lab up --replicas 2` (two TACACS+ servers, two CA brokers and two
 * MCP servers, the brokers and MCP servers behind HAProxy) in its own directory, prefix, management
 * network and ports, beside lab.test.ts's and stack.test.ts's labs. Agents call tools through HAProxy
 * while one MCP server, one broker and one TACACS+ server are killed and restarted in turn: no call
 * may fail and every call's audit trail must be complete. Then an MCP server is killed with a call in
 * flight: the agent gets an error, never an answer, and the call is not sent a second time. Its devices
 * run `--validators per-process`: a validator process per command, no resident validator.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Agent,
  type AuditEvent,
  agentFor,
  exchangeForBroker,
  isComplete,
  type LabLayout,
  labStatus,
  loginAs,
  readLabEvents,
  serviceChildPid,
  traceRequest,
} from '@netward/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downSuiteLab, suiteLabNames, tracedCall, upSuiteLab, validatorRecords } from './suite-lab.ts';

const ROOT = '/var/lib/netward-lab-replicas-e2e-';
const OPTIONS = {
  ...suiteLabNames(ROOT, 'r', 251),
  // Seven ports (IdP, HAProxy ×2, brokers, MCP servers), below the other suites' range (20000+).
  portBase: 12_000 + (process.pid % 1_000) * 7,
  replicas: 2 as const,
  // The other lab option this suite proves: a validator process per command, no resident validators
  // (lab.test.ts runs the default, resident ones).
  validators: 'per-process' as const,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

interface Call {
  readonly user: string;
  readonly device: string;
  readonly ok: boolean;
  readonly text: string;
}

/** Agents calling show_bgp_summary round the devices, one call at a time each, until stopped. */
function loadRun(layout: LabLayout, agents: readonly Agent[]) {
  const calls: Call[] = [];
  let stopping = false;
  const loops = agents.map(async (agent, k) => {
    for (let n = k; !stopping; n++) {
      const device = layout.devices[n % layout.devices.length]?.name as string;
      const r = await agent.call('show_bgp_summary', { device });
      calls.push({ user: agent.user, device, ok: r.ok, text: r.ok ? '' : r.text.slice(0, 300) });
    }
  });
  return {
    calls,
    async stop(): Promise<Call[]> {
      stopping = true;
      await Promise.all(loops);
      return calls;
    },
  };
}

/** Kills a service's process (not its supervisor) and waits for the supervisor's new one to answer. */
async function killAndAwaitRestart(
  layout: LabLayout,
  name: string,
  signal: NodeJS.Signals,
  answers: () => Promise<boolean>,
): Promise<void> {
  const pid = serviceChildPid(layout, name);
  expect(pid, `${name} runs`).toBeGreaterThan(1);
  process.kill(pid as number, signal);
  await until(`${name} restarted`, async () => {
    const now = serviceChildPid(layout, name);
    return now !== undefined && now !== pid && (await answers());
  });
}

async function httpAnswers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

function tcpAnswers(host: string, port: number): Promise<boolean> {
  return import('node:net').then(
    ({ connect }) =>
      new Promise((resolve) => {
        const s = connect({ host, port });
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      }),
  );
}

function mcpRecords(layout: LabLayout, event: string, since: string): AuditEvent[] {
  return readLabEvents(layout.paths.logs).filter(
    (e) => e.component === 'mcp-server' && e.event === event && e.time >= since,
  );
}

/** Which replica's log a record came from (`mcp-server-2.log:17` → mcp-server-2). */
function replicaOf(e: AuditEvent): string {
  return (e.source ?? '').replace(/\.log:\d+$/, '');
}

describe('native lab with replicas behind HAProxy', () => {
  let layout: LabLayout;
  let up = false;

  beforeAll(async () => {
    layout = await upSuiteLab(ROOT, OPTIONS);
    up = true;
  }, 600_000);

  afterAll(async () => {
    await downSuiteLab(OPTIONS.dir, up);
  }, 120_000);

  it('HAProxy retries only connections that failed to open, and checks each replica', () => {
    const cfg = readFileSync(join(layout.paths.config, 'haproxy.cfg'), 'utf8');
    expect(cfg).toMatch(/^\s*retry-on conn-failure$/m);
    expect(cfg).not.toMatch(/retry-on .*(empty-response|response-timeout|all-retryable-errors|50\d)/);
    expect(cfg.match(/ check$/gm)).toHaveLength(4);
    const fc = JSON.parse(readFileSync(join(layout.paths.devices, 'spine-a', 'forcecommand.json'), 'utf8'));
    expect(JSON.stringify(fc)).toContain(`"port":${layout.options.tacacsPort + 1}`);
  });

  it('per-process validators: the ForceCommand starts the validator itself, no resident validator runs, no record says resident', async () => {
    const status = await labStatus(OPTIONS.dir);
    expect(Object.keys(status.services).filter((n) => n.startsWith('resident-'))).toEqual([]);
    for (const d of layout.devices) {
      const sshd = readFileSync(join(d.dir, 'sshd_config'), 'utf8');
      const line = /^ForceCommand (.*)$/m.exec(sshd)?.[1] ?? '';
      expect(line).toMatch(/netward-env-guard .*\/node /);
      expect(line).not.toMatch(/netward-resident/);
    }
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    expect(ps.split('\n').filter((l) => l.includes(OPTIONS.dir) && / resident /.test(l))).toEqual([]);
    const { requestId } = await tracedCall(layout);
    const records = validatorRecords(layout, 'leaf-1', requestId);
    expect(records.length).toBeGreaterThan(0);
    for (const r of records) expect(r['served_by']).toBeUndefined();
  });

  it('agents through HAProxy while an MCP server, a broker and a TACACS+ server are killed in turn: no call fails, every call is traceable', async () => {
    const agents = await Promise.all(['alice', 'bob', 'carol', 'alice'].map((u) => agentFor(layout, u)));
    const since = new Date().toISOString();
    const load = loadRun(layout, agents);
    const progressed = async (n: number) => {
      const at = load.calls.length;
      await until(`${n} more calls`, () => load.calls.length >= at + n, 120_000);
    };
    try {
      await progressed(4);
      // SIGTERM, what `kill` and an orchestrator send: the MCP server and the broker stop taking
      // connections and finish the requests they hold; HAProxy sends new ones to the other replica.
      await killAndAwaitRestart(layout, 'mcp-server', 'SIGTERM', () =>
        httpAnswers(
          `http://127.0.0.1:${layout.options.portBase + 5}/.well-known/oauth-protected-resource/mcp`,
        ),
      );
      await progressed(4);
      await killAndAwaitRestart(layout, 'ca-broker-2', 'SIGTERM', () =>
        httpAnswers(`http://127.0.0.1:${layout.options.portBase + 4}/readyz`),
      );
      await progressed(4);
      // The devices' first TACACS+ server, killed outright: their agents fail over to the second.
      await killAndAwaitRestart(layout, 'tacacs', 'SIGKILL', () =>
        tcpAnswers(layout.hostMgmtAddress, layout.options.tacacsPort),
      );
      await progressed(4);
    } finally {
      await load.stop();
      await Promise.all(agents.map((a) => a.close()));
    }
    expect(load.calls.filter((c) => !c.ok)).toEqual([]);
    expect(load.calls.length).toBeGreaterThanOrEqual(16);

    // One start and one end record per call, across both MCP servers, and every chain complete.
    const ends = mcpRecords(layout, 'tool_call_end', since);
    expect(ends).toHaveLength(load.calls.length);
    expect(mcpRecords(layout, 'tool_call_start', since)).toHaveLength(load.calls.length);
    expect(new Set(ends.map(replicaOf))).toEqual(new Set(['mcp-server', 'mcp-server-2']));
    let events = readLabEvents(layout.paths.logs);
    const incomplete = () =>
      ends.map((e) => traceRequest(events, e.requestId as string)).filter((chain) => !isComplete(chain));
    // The syslog copies travel over UDP: the last calls' records may still be on their way.
    for (let i = 0; i < 50 && incomplete().length > 0; i++) {
      await sleep(100);
      events = readLabEvents(layout.paths.logs);
    }
    expect(incomplete().map((c) => [c.requestId, c.missing.map((m) => m.label), c.inconsistent])).toEqual([]);
    // Both brokers signed and both TACACS+ servers decided: the failover really happened.
    const components = (c: string) =>
      new Set(events.filter((e) => e.component === c && e.time >= since).map(replicaOf));
    expect(components('ca-broker')).toEqual(new Set(['ca-broker', 'ca-broker-2']));
    expect(components('tacacs-server')).toEqual(new Set(['tacacs', 'tacacs-2']));
    const perReplica = (c: string) => {
      const n: Record<string, number> = {};
      for (const e of events)
        if (e.component === c && e.time >= since && e.requestId !== undefined)
          n[replicaOf(e)] = (n[replicaOf(e)] ?? 0) + 1;
      return n;
    };
    console.info(
      `replicas load run: ${load.calls.length} calls, none failed; records per replica:`,
      perReplica('mcp-server'),
      perReplica('ca-broker'),
      perReplica('tacacs-server'),
    );
  }, 300_000);

  it('one exchanged token sent to both brokers at once yields one certificate: the replay cache is shared', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'replicas-key-'));
    try {
      const key = join(dir, 'id');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
      const publicKey = readFileSync(`${key}.pub`, 'utf8').trim();
      const login = await loginAs(layout, 'bob');
      for (let round = 0; round < 5; round++) {
        const token = await exchangeForBroker(layout, login.accessToken);
        const answers = await Promise.all(
          [3, 4].map(async (k) => {
            const res = await fetch(`http://127.0.0.1:${layout.options.portBase + k}/v1/ssh/sign`, {
              method: 'POST',
              headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
              body: JSON.stringify({
                public_key: publicKey,
                request_id: randomBytes(16).toString('base64url'),
                device: 'spine-a',
              }),
            });
            const body = (await res.json()) as { certificate?: string; error?: { code?: string } };
            return body.certificate !== undefined ? 'certificate' : body.error?.code;
          }),
        );
        expect(answers.sort()).toEqual(['ERR_CA_TOKEN_REPLAYED', 'certificate']);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an MCP server killed with a call in flight: the agent gets an error, the call is never sent twice', async () => {
    const bob = await agentFor(layout, 'bob');
    try {
      const since = new Date().toISOString();
      const leaf1 = layout.devices.find((d) => d.name === 'leaf-1');
      // Five echo requests a second apart: the call lasts about four seconds on the device.
      const pending = bob.call('ping', { device: 'spine-a', destination: leaf1?.loopback, count: 5 });
      let start: AuditEvent | undefined;
      await until('the call reaching an MCP server', () => {
        start = mcpRecords(layout, 'tool_call_start', since).find((e) => e.user === 'bob');
        return start !== undefined;
      });
      const replica = replicaOf(start as AuditEvent);
      const pid = serviceChildPid(layout, replica);
      await sleep(500);
      process.kill(pid as number, 'SIGKILL');
      const outcome = await pending;
      // Not an answer: HAProxy's 502, or the stream cut if the response had begun.
      expect(outcome.ok).toBe(false);
      expect(outcome.text).not.toMatch(/received/);
      // The ping would have ended by now; had HAProxy resent the request, the other replica would
      // have logged a second start, and the device a second command.
      await sleep(6_000);
      const starts = mcpRecords(layout, 'tool_call_start', since).filter((e) => e.user === 'bob');
      expect(starts.map((e) => e.requestId)).toEqual([start?.requestId]);
      const permits = readLabEvents(layout.paths.logs).filter(
        (e) =>
          e.component === 'forcecommand' &&
          e.requestId === start?.requestId &&
          e.summary.startsWith('PERMIT'),
      );
      expect(permits.length).toBeLessThanOrEqual(1);
      // Its trace says what happened instead of claiming a complete chain.
      const chain = traceRequest(readLabEvents(layout.paths.logs), start?.requestId as string);
      expect(chain.inconsistent).toContain(
        'the MCP server logged the start of the call but not its end (it stopped mid-call?)',
      );
      // The agent's next call is served by the other replica, on the same client: nothing to re-initialise.
      const next = await bob.call('show_bgp_summary', { device: 'spine-a' });
      expect(next.ok).toBe(true);
    } finally {
      await bob.close();
    }
    await until('the killed replica back', () => replicasUp(layout).then((n) => n === 2));
  }, 120_000);
});

async function replicasUp(layout: LabLayout): Promise<number> {
  const answers = await Promise.all(
    [5, 6].map((k) =>
      httpAnswers(`http://127.0.0.1:${layout.options.portBase + k}/.well-known/oauth-protected-resource/mcp`),
    ),
  );
  return answers.filter(Boolean).length;
}
