// Issue 12, item 4: the TACACS+ key out of the accounts' reach. The validator asks the device's
// authorization agent (root, the key 0600) over a per-account Unix socket; through a real sshd with
// ssh-keygen certificates, our TACACS+ server, and every secret read as every account.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { createLogger } from '@netward/audit-context';
import {
  createTacacsServer,
  type ServerAuthorizationRequest,
  TacacsClient,
  type TacacsServer,
} from '@netward/tacacs-plus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAgentRequest, type RunningAgent, startAgent } from '../src/agent.ts';
import { agentSocketPath } from '../src/agent-protocol.ts';
import { FC_ERRORS } from '../src/errors.ts';
import { buildBundle, type Harness, startSshd } from './sshd-harness.ts';

const ACCOUNTS = ['net-viewer', 'net-operator', 'net-admin'] as const;
const KEY = 'agent-only-secret-0123456789';
const SERIAL = 7340021;
const SID = 'agentsession0001';
const REQ = 'agentrequest00000001';
const silent = createLogger({ component: 'tacacs-server', destination: { write() {} } });

let h: Harness;
let server: TacacsServer;
let tacacsPort: number;
let agent: RunningAgent | undefined;
let socketDir: string;
let keyFile: string;
const seen: ServerAuthorizationRequest[] = [];
const agentLines: Record<string, unknown>[] = [];
let delayMs = 0;

async function runAgent(deadlineMs = 800): Promise<RunningAgent> {
  const client = new TacacsClient({
    servers: [{ host: '127.0.0.1', port: tacacsPort, key: Buffer.from(KEY) }],
    timeoutMs: deadlineMs,
    deadlineMs,
    singleConnection: true,
  });
  return startAgent({
    device: 'spine-a',
    socketDir,
    accounts: ACCOUNTS,
    client,
    accounting: false,
    logger: createLogger({
      component: 'forcecommand-agent',
      destination: { write: (l: string) => agentLines.push(JSON.parse(l)) },
    }),
  });
}

function useAgent(overrides: Record<string, unknown> = {}) {
  h.writeConfig({
    authorization: {
      mode: 'tacacs',
      servers: [{ host: '127.0.0.1', port: tacacsPort }],
      keyFile,
      timeoutMs: 800,
      deadlineMs: 1000,
      agent: { socketDir },
      ...overrides,
    },
  });
}

/** `runuser -u <account> -- <argv>`: what a program running as the account gets. */
function asAccount(account: string, argv: string[]) {
  const r = spawnSync('runuser', ['-u', account, '--', ...argv], { encoding: 'utf8', timeout: 10_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

beforeAll(async () => {
  buildBundle();
  h = await startSshd();
  h.sign({ keyId: `sid=${SID},user=frank,req=${REQ}`, principals: [...ACCOUNTS], serial: SERIAL });
  keyFile = join(h.dir, 'agent-tacacs.key');
  writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });
  socketDir = join(h.dir, 'agent');
  server = createTacacsServer({
    key: KEY,
    logger: silent,
    handlers: {
      async authorize(req) {
        seen.push(req);
        if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
        // ip for every role (so `ip -b FILE` runs and can try to read a secret); vtysh for admin only.
        return req.cmd === 'ip' || req.user === 'net-admin'
          ? { status: 'PASS_ADD' }
          : { status: 'FAIL', serverMsg: 'denied by profile' };
      },
    },
  });
  ({ port: tacacsPort } = await server.listen({ host: '127.0.0.1', port: 0 }));
  agent = await runAgent();
}, 60_000);

afterAll(async () => {
  await agent?.close();
  await server?.close();
  await h?.stop();
});

describe('the validator asks the agent; the agent asks TACACS+ with the role the socket proves', () => {
  it.each(ACCOUNTS)(
    '%s: permit and deny as the server says, with the four ids on both sides',
    async (account) => {
      useAgent();
      seen.length = 0;
      agentLines.length = 0;
      const ok = await h.ssh(account, 'ip addr show lo');
      expect(ok.stderr).toBe('');
      expect(ok.code).toBe(0);
      expect(seen.at(-1)).toMatchObject({
        user: account,
        remAddr: `frank/cert:${SERIAL}/sid:${SID}/req:${REQ}`,
        cmd: 'ip',
        args: ['addr', 'show', 'lo'],
      });
      expect(agentLines.at(-1)).toMatchObject({
        component: 'forcecommand-agent',
        event: 'authorization',
        role: account,
        user: 'frank',
        sid: SID,
        cert_serial: String(SERIAL),
        request_id: REQ,
        device: 'spine-a',
        status: 'PASS_ADD',
      });
      const decision = h
        .auditRecords()
        .filter((r) => r['event'] === 'decision')
        .at(-1);
      expect(decision).toMatchObject({ decision: 'permit', role: account });
      expect(
        ((decision?.['authz'] ?? {}) as { answers: Record<string, unknown>[] }).answers[0],
      ).toMatchObject({
        via: 'agent',
        status: 'PASS_ADD',
      });

      const refused = await h.ssh(account, 'ping -c 1 127.0.0.1');
      expect(refused.code).toBe(account === 'net-admin' ? 0 : FC_ERRORS.ERR_FC_NOT_AUTHORIZED.exit);
    },
  );

  it('one warm TACACS+ connection serves every command (single-connection mode)', async () => {
    useAgent();
    seen.length = 0;
    for (const account of ACCOUNTS) expect((await h.ssh(account, 'ip addr show lo')).code).toBe(0);
    expect(seen).toHaveLength(3);
    expect(new Set(seen.map((s) => s.peer)).size).toBe(1);
  });
});

describe('fail closed: agent down, slow, or answering garbage', () => {
  it('denies when the agent is down', async () => {
    await agent?.close();
    agent = undefined;
    try {
      useAgent();
      const r = await h.ssh('net-admin', 'ip addr show lo');
      expect(r.code).toBe(FC_ERRORS.ERR_FC_AUTHZ_UNAVAILABLE.exit);
      expect(r.stdout).toBe('');
      const d = h
        .auditRecords()
        .filter((x) => x['event'] === 'decision')
        .at(-1);
      expect(d).toMatchObject({ decision: 'deny', code: 'ERR_FC_AUTHZ_UNAVAILABLE' });
      expect(JSON.stringify(d)).toMatch(/agent unreachable \(E(NOENT|CONNREFUSED)\)/);
    } finally {
      agent = await runAgent();
    }
  });

  it('denies when TACACS+ behind the agent is slower than its deadline', async () => {
    useAgent();
    delayMs = 1500;
    try {
      const r = await h.ssh('net-viewer', 'ip addr show lo');
      expect(r.code).toBe(FC_ERRORS.ERR_FC_AUTHZ_UNAVAILABLE.exit);
      expect(r.stdout).toBe('');
    } finally {
      delayMs = 0;
    }
  });

  // A stand-in for a broken agent on the socket path: it accepts, then stalls or writes junk.
  async function brokenAgent(behaviour: (line: string) => string | undefined, run: () => Promise<void>) {
    await agent?.close();
    agent = undefined;
    const dir = join(h.dir, 'broken');
    mkdirSync(join(dir, 'net-operator'), { recursive: true, mode: 0o755 });
    const path = agentSocketPath(dir, 'net-operator');
    rmSync(path, { force: true });
    const fake: Server = createServer((c) => {
      c.on('data', (d) => {
        const out = behaviour(d.toString());
        if (out !== undefined) c.write(out);
      });
    });
    await new Promise<void>((resolve) => fake.listen(path, resolve));
    execFileSync('chmod', ['0666', path]);
    try {
      useAgent({ agent: { socketDir: dir } });
      await run();
    } finally {
      await new Promise<void>((resolve) => fake.close(() => resolve()));
      agent = await runAgent();
    }
  }

  it.each([
    ['garbage', () => 'this is not json\n'],
    ['a reply to another request', () => '{"id":99,"status":"PASS_ADD","permitted":true}\n'],
    [
      'a permit with an unknown status',
      (l: string) => `{"id":${JSON.parse(l).id},"status":"OK","permitted":true}\n`,
    ],
    ['silence', () => undefined],
  ] as const)('denies when the agent answers %s', async (_name, behaviour) => {
    await brokenAgent(behaviour, async () => {
      const r = await h.ssh('net-operator', 'ip addr show lo');
      expect(r.code).toBe(FC_ERRORS.ERR_FC_AUTHZ_UNAVAILABLE.exit);
      expect(r.stdout).toBe('');
    });
  });
});

describe('secrets out of every account’s reach', () => {
  it('an account cannot reach another account’s socket, only its own', () => {
    const probe = (path: string) =>
      `require('net').connect(${JSON.stringify(path)}).on('connect',()=>{console.log('CONNECTED');process.exit(0)}).on('error',e=>{console.log(e.code);process.exit(1)})`;
    for (const account of ACCOUNTS) {
      for (const other of ACCOUNTS) {
        // The system node, as the harness's ForceCommand runs: the test's own may sit in the checkout.
        const r = asAccount(account, ['/usr/bin/node', '-e', probe(agentSocketPath(socketDir, other))]);
        if (other === account) expect(r.out.trim()).toBe('CONNECTED');
        else expect(r.out.trim()).toBe('EACCES');
      }
    }
  });

  it.each(ACCOUNTS)(
    '%s: reads neither the TACACS+ key nor the CA key, directly or through ip -b',
    async (account) => {
      useAgent();
      const secrets = [keyFile, join(h.dir, 'ca'), join(h.dir, 'host')];
      for (const file of secrets) {
        const r = asAccount(account, ['cat', file]);
        expect(r.code).not.toBe(0);
        expect(r.out).toContain('Permission denied');
      }
      // Through sshd and the validator, with a policy that lets every role run `ip`: `ip -b FILE` reads
      // FILE as the account and echoes its first word in an error (docs/device-commands.md).
      const r = await h.ssh(account, `ip -b ${keyFile}`);
      expect(`${r.stdout}${r.stderr}`).not.toContain(KEY);
      expect(`${r.stdout}${r.stderr}`).toContain('Permission denied');
    },
  );

  it('the agent refuses to start when an account shares its primary group', () => {
    const passwd = 'net-viewer:x:2001:3000::/home/v:/bin/sh\nnet-admin:x:2002:3000::/home/a:/bin/sh\n';
    const group = 'shared:x:3000:\n';
    return expect(
      startAgent({
        device: 'spine-a',
        socketDir: join(h.dir, 'never'),
        accounts: ['net-viewer', 'net-admin'],
        client: {
          authorize: async () => ({}) as never,
          account: async () => ({}) as never,
          close: async () => {},
        },
        accounting: false,
        logger: silent,
        passwd,
        group,
      }),
    ).rejects.toMatchObject({ code: 'ERR_FC_CONFIG' });
  });
});

describe('the agent’s request parser', () => {
  const good = {
    id: 1,
    op: 'authorize',
    user: 'bob',
    sid: SID,
    cert_serial: '7',
    request_id: REQ,
    cmd: 'ip',
    args: ['addr'],
  };
  it('accepts a well-formed request and refuses every malformed variant', () => {
    expect(parseAgentRequest(JSON.stringify(good))).toEqual(good);
    for (const bad of [
      'x',
      '[]',
      'null',
      JSON.stringify({ ...good, id: 'a' }),
      JSON.stringify({ ...good, op: 'shell' }),
      JSON.stringify({ ...good, user: 'bob smith' }),
      JSON.stringify({ ...good, sid: '' }),
      JSON.stringify({ ...good, cert_serial: '-1' }),
      JSON.stringify({ ...good, args: [1] }),
      JSON.stringify({ ...good, cmd: '' }),
      JSON.stringify({ ...good, op: 'account', type: 'start', task_id: 'not hex' }),
    ]) {
      expect(parseAgentRequest(bad)).toBeUndefined();
    }
  });
});

// The agent's socket directory is root:<account's group> 0710: owned by root, so the account cannot
// chmod it open for another account.
it('socket directories are root-owned, group = the account, 0710', () => {
  for (const account of ACCOUNTS) {
    const out = execFileSync('stat', ['-c', '%U:%G %a', join(socketDir, account)])
      .toString()
      .trim();
    expect(out).toBe(`root:${account} 710`);
  }
});
