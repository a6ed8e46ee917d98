// End to end through a real sshd: certificate login, ExposeAuthInfo, ForceCommand = the built bundle,
// local rules and our TACACS+ server, the audit file written as the service account.
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { chmodSync, copyFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { createLogger } from '@netward/audit-context';
import {
  createTacacsServer,
  type ServerAccountingRequest,
  type ServerAuthorizationRequest,
  type TacacsServer,
} from '@netward/tacacs-plus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSnapshot } from '../src/deploy.ts';
import { FC_ERRORS } from '../src/errors.ts';
import { buildBundle, type Harness, SNAPSHOT_SCRIPT, startSshd } from './sshd-harness.ts';

const SNAPSHOT_KEY_ID = 'sid=snapsession01,user=dave,req=snaprequest000000001';

const SID = 'fd9e4bdc77df2fa8';
const REQ = 'a1b2c3d4e5f6a7b8c9d0e1';
const SERIAL = 15800123;
const KEY_ID = `sid=${SID},user=bob,req=${REQ}`;
const silent = createLogger({ component: 'tacacs-server', destination: { write() {} } });

let h: Harness;

beforeAll(async () => {
  buildBundle();
  h = await startSshd();
  h.sign({ keyId: KEY_ID, principals: ['net-viewer', 'net-operator', 'net-admin'], serial: SERIAL });
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

function lastDecision(records: Record<string, unknown>[]) {
  return records.filter((r) => r['event'] === 'decision').at(-1);
}

describe('through sshd with local rules', () => {
  it('permits a viewer command, runs it as the account, and records both decision and exit status', async () => {
    h.writeConfig({});
    const r = await h.ssh('net-viewer', 'ip addr show lo');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('127.0.0.1');
    const records = h.auditRecords().slice(-2);
    expect(records.map((x) => x['event'])).toEqual(['decision', 'completed']);
    const [decision, completed] = records;
    expect(decision).toMatchObject({
      component: 'forcecommand',
      decision: 'permit',
      user: 'bob',
      sid: SID,
      role: 'net-viewer',
      cert_serial: String(SERIAL),
      request_id: REQ,
      device: 'spine-a',
    });
    expect(decision?.['msg']).toBe(
      `[net-viewer/bob/cert:${SERIAL}/sid:${SID}/req:${REQ}] PERMIT (local rules): ip addr show lo`,
    );
    expect(completed).toMatchObject({ decision: 'permit', exit_status: 0 });
  });

  it('passes the exit status of a failing permitted command through', async () => {
    h.writeConfig({});
    const r = await h.ssh('net-viewer', 'ip addr show dev nosuchdevice0');
    expect(r.code).not.toBe(0);
    expect(r.code).toBeLessThan(100);
    expect(lastDecision(h.auditRecords())?.['decision']).toBe('permit');
    expect(h.auditRecords().at(-1)?.['exit_status']).toBe(r.code);
  });

  it('denies a command the role may not run, with the stage and code, and runs nothing', async () => {
    h.writeConfig({});
    const r = await h.ssh('net-viewer', 'ping -c 1 127.0.0.1');
    expect(r.code).toBe(FC_ERRORS.ERR_FC_NOT_AUTHORIZED.exit);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('ERR_FC_NOT_AUTHORIZED');
    expect(r.stderr).not.toContain('ping');
    const d = lastDecision(h.auditRecords());
    expect(d).toMatchObject({ decision: 'deny', stage: 'authorize', code: 'ERR_FC_NOT_AUTHORIZED' });
    expect(h.auditRecords().at(-1)?.['event']).toBe('decision');
  });

  it('denies shell metacharacters before anything else', async () => {
    h.writeConfig({});
    const r = await h.ssh('net-admin', 'echo hi; id');
    expect(r.code).toBe(FC_ERRORS.ERR_FC_METACHARACTER.exit);
    expect(r.stdout).toBe('');
  });

  it('denies an interactive shell', async () => {
    h.writeConfig({});
    const r = await h.ssh('net-admin', '');
    expect(r.code).toBe(FC_ERRORS.ERR_FC_EMPTY.exit);
  });

  it('denies when MCP_USER disagrees with the certificate Key ID', async () => {
    h.writeConfig({});
    const r = await h.ssh('net-viewer', 'ip addr show lo', { env: { MCP_USER: 'mallory' } });
    expect(r.code).toBe(FC_ERRORS.ERR_FC_IDENTITY.exit);
    expect(r.stdout).toBe('');
    const d = lastDecision(h.auditRecords());
    expect(d).toMatchObject({ decision: 'deny', code: 'ERR_FC_IDENTITY', user: 'bob' });
  });

  it('denies when MCP_REQUEST_ID disagrees with the Key ID, and logs matching claims', async () => {
    h.writeConfig({});
    const bad = await h.ssh('net-viewer', 'ip addr show lo', {
      env: { MCP_REQUEST_ID: 'zzzzzzzzzzzzzzzzzzzzzz' },
    });
    expect(bad.code).toBe(FC_ERRORS.ERR_FC_IDENTITY.exit);
    const good = await h.ssh('net-viewer', 'ip addr show lo', {
      env: { MCP_USER: 'bob', MCP_SID: SID, MCP_REQUEST_ID: REQ, MCP_TOOL: 'show_interfaces' },
    });
    expect(good.code).toBe(0);
    expect(lastDecision(h.auditRecords())).toMatchObject({
      tool: 'show_interfaces',
      claimed: { user: 'bob', sid: SID, requestId: REQ, tool: 'show_interfaces' },
    });
  });

  it('denies a certificate whose Key ID is not the netward layout', async () => {
    h.writeConfig({});
    const key = h.sign({ keyId: 'bob@laptop', principals: ['net-viewer'], serial: 7, name: 'odd' });
    const r = await h.ssh('net-viewer', 'ip addr show lo', { cert: key });
    expect(r.code).toBe(FC_ERRORS.ERR_FC_IDENTITY.exit);
  });

  it('denies before running when the audit file cannot be written', async () => {
    h.writeConfig({});
    renameSync(h.auditFile, `${h.auditFile}.away`);
    try {
      const r = await h.ssh('net-admin', 'echo must-not-run');
      expect(r.code).toBe(FC_ERRORS.ERR_FC_AUDIT.exit);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('ERR_FC_AUDIT');
    } finally {
      renameSync(`${h.auditFile}.away`, h.auditFile);
    }
  });

  it('refuses a config file the accounts could have written', async () => {
    h.writeConfig({});
    chmodSync(h.configFile, 0o666);
    const r = await h.ssh('net-admin', 'echo must-not-run');
    expect(r.code).toBe(FC_ERRORS.ERR_FC_CONFIG.exit);
    expect(r.stdout).toBe('');
  });

  it('refuses to run an allowlisted program that is not root-owned and closed', async () => {
    const copy = join(h.dir, 'echo-copy');
    copyFileSync('/usr/bin/echo', copy);
    chmodSync(copy, 0o777);
    h.writeConfig({ executables: { echo: { path: copy } } });
    const r = await h.ssh('net-admin', 'echo must-not-run');
    expect(r.code).toBe(FC_ERRORS.ERR_FC_CONFIG.exit);
    expect(r.stdout).toBe('');
    chmodSync(copy, 0o755);
    const ok = await h.ssh('net-admin', 'echo may-run');
    expect(ok.stdout).toBe('may-run\n');
  });

  it('kills a command that runs past the limit', async () => {
    h.writeConfig({});
    // Admin's rules permit everything; sleep is on this test's allowlist.
    h.writeConfig({ limits: { runTimeoutMs: 300, maxCommandLength: 1024, maxCliCommands: 8 } });
    const started = Date.now();
    const r = await h.ssh('net-admin', 'sleep 30');
    expect(r.code).toBe(FC_ERRORS.ERR_FC_TIMEOUT.exit);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(h.auditRecords().at(-1)).toMatchObject({
      event: 'completed',
      code: 'ERR_FC_TIMEOUT',
      exit_status: 124,
    });
  });

  it('sends each record to syslog as RFC 5424 over UDP', async () => {
    const sock = createSocket('udp4');
    const got: string[] = [];
    sock.on('message', (m) => got.push(m.toString()));
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
    try {
      h.writeConfig({
        audit: { file: h.auditFile, syslog: { host: '127.0.0.1', port: sock.address().port } },
      });
      const r = await h.ssh('net-operator', `vtysh -c 'configure terminal'`);
      // vtysh is not on this test's allowlist: refused in stage 2, still a record.
      expect(r.code).toBe(FC_ERRORS.ERR_FC_NOT_EXECUTABLE.exit);
      for (let i = 0; i < 40 && got.length === 0; i++) await new Promise((res) => setTimeout(res, 25));
      expect(got).toHaveLength(1);
      // authpriv (10) * 8 + warning (4) = 84
      expect(got[0]).toMatch(
        /^<84>1 \d{4}-\d\d-\d\dT[0-9:.]+Z \S+ netward-forcecommand \d+ decision \[netward@32473 /,
      );
      expect(got[0]).toContain(`cert_serial="${SERIAL}"`);
      const json = JSON.parse((got[0] as string).slice((got[0] as string).indexOf('] {') + 2));
      expect(json).toMatchObject({ decision: 'deny', code: 'ERR_FC_NOT_EXECUTABLE', request_id: REQ });
    } finally {
      sock.close();
    }
  });

  it('does not deny when the syslog collector is unreachable (TCP refused), and notes it locally', async () => {
    h.writeConfig({ audit: { file: h.auditFile, syslog: { host: '127.0.0.1', port: 1, transport: 'tcp' } } });
    const r = await h.ssh('net-viewer', 'ip addr show lo');
    expect(r.code).toBe(0);
    const events = h.auditRecords().map((x) => x['event']);
    expect(events).toContain('syslog_error');
  });
});

describe('through sshd with TACACS+', () => {
  let server: TacacsServer;
  let port: number;
  const seen: ServerAuthorizationRequest[] = [];
  const accounted: ServerAccountingRequest[] = [];
  let delayMs = 0;

  beforeAll(async () => {
    server = createTacacsServer({
      key: 'lab-shared-secret',
      logger: silent,
      handlers: {
        async authorize(req) {
          seen.push(req);
          if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
          return req.cmd === 'ip' && req.user === 'net-viewer'
            ? { status: 'PASS_ADD' }
            : { status: 'FAIL', serverMsg: 'denied by profile' };
        },
        account(req) {
          accounted.push(req);
          return undefined;
        },
      },
    });
    ({ port } = await server.listen({ host: '127.0.0.1', port: 0 }));
  });

  afterAll(async () => {
    await server?.close();
  });

  const tacacs = (p: number, keyFile?: string) => ({
    authorization: {
      mode: 'tacacs' as const,
      servers: [{ host: '127.0.0.1', port: p }],
      keyFile: keyFile ?? h.keyFile,
      timeoutMs: 500,
      deadlineMs: 800,
    },
  });

  it('permits what the server permits, asking with the account, command and audit rem_addr', async () => {
    h.writeConfig(tacacs(port));
    seen.length = 0;
    const r = await h.ssh('net-viewer', 'ip addr show lo');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      user: 'net-viewer',
      port: 'ssh',
      remAddr: `bob/cert:${SERIAL}/sid:${SID}/req:${REQ}`,
      service: 'shell',
      cmd: 'ip',
      args: ['addr', 'show', 'lo'],
    });
    expect(lastDecision(h.auditRecords())?.['msg']).toContain('PERMIT (TACACS+)');
  });

  it('sends accounting start and stop around a permitted command when configured', async () => {
    const t = tacacs(port);
    h.writeConfig({ authorization: { ...t.authorization, accounting: true } });
    accounted.length = 0;
    const r = await h.ssh('net-viewer', 'ip addr show dev nosuchdevice0');
    expect(r.code).not.toBe(0);
    expect(accounted.map((a) => a.type)).toEqual(['start', 'stop']);
    const [start, stop] = accounted;
    expect(start).toMatchObject({
      user: 'net-viewer',
      cmd: 'ip',
      args: ['addr', 'show', 'dev', 'nosuchdevice0'],
    });
    expect(start?.remAddr).toBe(`bob/cert:${SERIAL}/sid:${SID}/req:${REQ}`);
    const taskId = (a?: ServerAccountingRequest) => a?.avPairs.find((p) => p.startsWith('task_id='));
    expect(taskId(start)).toBeDefined();
    expect(taskId(stop)).toBe(taskId(start));
    expect(stop?.avPairs).toContain(`err_msg=exit status ${r.code}`);
  });

  it('denies what the server refuses (FAIL)', async () => {
    h.writeConfig(tacacs(port));
    const r = await h.ssh('net-operator', 'ip addr show lo');
    expect(r.code).toBe(FC_ERRORS.ERR_FC_NOT_AUTHORIZED.exit);
    expect(r.stdout).toBe('');
    const d = lastDecision(h.auditRecords());
    expect(d?.['msg']).toContain('DENY (TACACS+)');
    expect(d).toMatchObject({
      authz: { mode: 'tacacs', answers: [{ status: 'FAIL', server_msg: 'denied by profile' }] },
    });
  });

  it('fails closed when the server is down', async () => {
    const dead = createTacacsServer({ key: 'x', logger: silent, handlers: {} });
    const { port: deadPort } = await dead.listen({ host: '127.0.0.1', port: 0 });
    await dead.close();
    h.writeConfig(tacacs(deadPort));
    const r = await h.ssh('net-viewer', 'ip addr show lo');
    expect(r.code).toBe(FC_ERRORS.ERR_FC_AUTHZ_UNAVAILABLE.exit);
    expect(r.stdout).toBe('');
  });

  it('fails closed when the server is slower than the deadline', async () => {
    h.writeConfig(tacacs(port));
    delayMs = 2000;
    try {
      const r = await h.ssh('net-viewer', 'ip addr show lo');
      expect(r.code).toBe(FC_ERRORS.ERR_FC_AUTHZ_UNAVAILABLE.exit);
      expect(r.stdout).toBe('');
    } finally {
      delayMs = 0;
    }
  });

  it('fails closed when the server uses another key', async () => {
    const other = createTacacsServer({
      key: 'a-different-secret',
      logger: silent,
      handlers: { authorize: () => ({ status: 'PASS_ADD' }) },
    });
    const { port: otherPort } = await other.listen({ host: '127.0.0.1', port: 0 });
    try {
      h.writeConfig(tacacs(otherPort));
      const r = await h.ssh('net-viewer', 'ip addr show lo');
      expect(r.code).toBe(FC_ERRORS.ERR_FC_AUTHZ_UNAVAILABLE.exit);
      expect(r.stdout).toBe('');
    } finally {
      await other.close();
    }
  });

  it('fails closed when the server answers garbage', async () => {
    const garbage = createServer((sock) => {
      sock.on('data', () => sock.write(randomBytes(64)));
      sock.on('error', () => {});
    });
    await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));
    try {
      h.writeConfig(tacacs((garbage.address() as AddressInfo).port));
      const r = await h.ssh('net-viewer', 'ip addr show lo');
      expect(r.code).toBe(FC_ERRORS.ERR_FC_AUTHZ_UNAVAILABLE.exit);
      expect(r.stdout).toBe('');
    } finally {
      garbage.close();
    }
  });

  it('refuses a world-readable TACACS+ key file', async () => {
    h.writeConfig(tacacs(port));
    chmodSync(h.keyFile, 0o644);
    try {
      const r = await h.ssh('net-viewer', 'ip addr show lo');
      expect(r.code).toBe(FC_ERRORS.ERR_FC_CONFIG.exit);
    } finally {
      chmodSync(h.keyFile, 0o640);
    }
  });
});

describe('through sshd, ForceCommand started from a node start-up snapshot', () => {
  let s: Harness;
  beforeAll(async () => {
    s = await startSshd({ snapshot: true });
    s.sign({ keyId: SNAPSHOT_KEY_ID, principals: ['net-viewer', 'net-operator'], serial: 99 });
  }, 60_000);
  afterAll(async () => {
    await s?.stop();
  });

  it('permits, denies and records exactly as the plain bundle does', async () => {
    s.writeConfig({});
    const ok = await s.ssh('net-viewer', 'ip addr show lo', { env: { MCP_USER: 'dave' } });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('127.0.0.1');
    const denied = await s.ssh('net-viewer', "vtysh -c 'configure terminal'");
    expect(denied.code).toBe(FC_ERRORS.ERR_FC_NOT_EXECUTABLE.exit);
    const mismatch = await s.ssh('net-operator', 'ping -c 1 127.0.0.1', { env: { MCP_USER: 'mallory' } });
    expect(mismatch.code).toBe(FC_ERRORS.ERR_FC_IDENTITY.exit);
    const records = s.auditRecords();
    expect(records.map((r) => [r['event'], r['decision'], r['code']])).toEqual([
      ['decision', 'permit', undefined],
      ['completed', 'permit', undefined],
      ['decision', 'deny', 'ERR_FC_NOT_EXECUTABLE'],
      ['decision', 'deny', 'ERR_FC_IDENTITY'],
    ]);
    expect(records[0]?.['msg']).toBe(
      '[net-viewer/dave/cert:99/sid:snapsession01/req:snaprequest000000001] PERMIT (local rules): ip addr show lo',
    );
  });
  it('reads a YAML config, whose parser the snapshot holds unevaluated', async () => {
    s.writeConfig({});
    // A comment first: a config that starts with `{` is read as JSON.
    writeFileSync(s.configFile, `# the same config as YAML\n${readFileSync(s.configFile, 'utf8')}`);
    try {
      const r = await s.ssh('net-viewer', 'ip addr show lo');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('127.0.0.1');
    } finally {
      s.writeConfig({});
    }
  });
  it('skips parsing local rules the snapshot was built with, only while the file has that exact text', async () => {
    s.writeConfig({});
    const answer = (r: Record<string, unknown> | undefined) =>
      (r?.['authz'] as { answers: Record<string, unknown>[] } | undefined)?.answers[0]?.['rules_parsed'];
    const run = async () => {
      const before = s.auditRecords().length;
      const r = await s.ssh('net-viewer', 'ip addr show lo');
      expect(r.code).toBe(0);
      return answer(s.auditRecords()[before]);
    };
    // Built without a config (startSshd): parsed from the file.
    expect(await run()).toBe('file');
    buildSnapshot({
      node: '/usr/bin/node',
      snapshotScript: SNAPSHOT_SCRIPT,
      blob: join(s.dir, 'forcecommand.blob'),
      config: s.configFile,
    });
    expect(await run()).toBe('snapshot');
    // Any change to the rules file's text: parsed from the file again, the change in force.
    const text = readFileSync(s.rulesFile, 'utf8');
    writeFileSync(s.rulesFile, `${text}\n`);
    try {
      expect(await run()).toBe('file');
    } finally {
      writeFileSync(s.rulesFile, text);
    }
  }, 60_000);

  it('asks TACACS+ from the snapshot: permit, deny, wrong key, a fresh session id per command', async () => {
    const seen: ServerAuthorizationRequest[] = [];
    const server = createTacacsServer({
      key: 'lab-shared-secret',
      logger: silent,
      handlers: {
        authorize(req) {
          seen.push(req);
          return req.cmd === 'ip' && req.user === 'net-viewer'
            ? { status: 'PASS_ADD' }
            : { status: 'FAIL', serverMsg: 'denied by profile' };
        },
      },
    });
    const other = createTacacsServer({ key: 'not-the-key', logger: silent, handlers: {} });
    try {
      const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
      const { port: otherPort } = await other.listen({ host: '127.0.0.1', port: 0 });
      const tacacs = (p: number) => ({
        authorization: {
          mode: 'tacacs' as const,
          servers: [{ host: '127.0.0.1', port: p }],
          keyFile: s.keyFile,
          timeoutMs: 2000,
          deadlineMs: 4000,
        },
      });
      s.writeConfig(tacacs(port));
      const first = await s.ssh('net-viewer', 'ip addr show lo');
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      expect(first.stdout).toContain('127.0.0.1');
      const second = await s.ssh('net-viewer', 'ip route show');
      expect(second.code).toBe(0);
      const refused = await s.ssh('net-operator', 'ip addr show lo');
      expect(refused.code).toBe(FC_ERRORS.ERR_FC_NOT_AUTHORIZED.exit);
      expect(seen.map((r) => [r.user, r.cmd, r.args])).toEqual([
        ['net-viewer', 'ip', ['addr', 'show', 'lo']],
        ['net-viewer', 'ip', ['route', 'show']],
        ['net-operator', 'ip', ['addr', 'show', 'lo']],
      ]);
      expect(seen[0]?.remAddr).toBe('dave/cert:99/sid:snapsession01/req:snaprequest000000001');
      // The session id is what the MD5 pad is made from (RFC 8907 section 4.5): one carried over in the
      // snapshot's heap would repeat the pad in every command.
      expect(new Set(seen.map((r) => r.sessionId)).size).toBe(3);
      s.writeConfig(tacacs(otherPort));
      const wrongKey = await s.ssh('net-viewer', 'ip addr show lo');
      expect(wrongKey.code).toBe(FC_ERRORS.ERR_FC_AUTHZ_UNAVAILABLE.exit);
      expect(wrongKey.stdout).toBe('');
      const decisions = s.auditRecords().filter((r) => r['event'] === 'decision');
      expect(decisions.slice(-4).map((r) => r['msg'])).toEqual([
        expect.stringContaining('PERMIT (TACACS+): ip addr show lo'),
        expect.stringContaining('PERMIT (TACACS+): ip route show'),
        expect.stringContaining('DENY (TACACS+)'),
        expect.stringContaining('DENY (TACACS+)'),
      ]);
      expect(decisions.at(-1)?.['code']).toBe('ERR_FC_AUTHZ_UNAVAILABLE');
    } finally {
      await server.close();
      await other.close();
    }
  });
});
