import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAuditLine } from '@netward/audit-context';
import { thrownCode } from '@netward/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditSink } from '../src/audit.ts';
import { readSharedKey, readTacacsAnswer } from '../src/authorize.ts';
import { checkFileSafety, parseConfigText, validateConfig } from '../src/config.ts';
import { hostileVariables, renderEnvGuard } from '../src/environment.ts';
import { clientMessage, FC_ERRORS, ForceCommandError } from '../src/errors.ts';
import { isGroupAddress } from '../src/grammar.ts';
import { readIdentity } from '../src/identity.ts';
import { keepParsedFiles, preparsed } from '../src/preparsed.ts';
import { formatSyslog } from '../src/syslog.ts';
import { warmUp } from '../src/warm-up.ts';
import { authInfo, certLine, REQ, runInProcess, SID } from './helpers.ts';

const codeOf = (fn: () => unknown) => thrownCode(fn, ForceCommandError);

describe('error catalogue', () => {
  it('gives every code a distinct exit status and a client message without detail', () => {
    const exits = Object.values(FC_ERRORS).map((e) => e.exit);
    expect(new Set(exits).size).toBe(exits.length);
    for (const code of Object.keys(FC_ERRORS) as (keyof typeof FC_ERRORS)[]) {
      expect(clientMessage(code)).toMatch(
        new RegExp(`^netward: denied at [a-z]+: [^\\n]+ \\(${code}\\)\\n$`),
      );
    }
  });

  it('documents every code in the README table', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    for (const [code, e] of Object.entries(FC_ERRORS)) {
      // The formatter pads table cells.
      expect(readme).toMatch(new RegExp(`\\| \`${code}\` +\\| ${e.exit} +\\|`));
    }
  });
});

describe('identity', () => {
  const env = (extra: Record<string, string> = {}) => ({ SSH_USER_AUTH: '/x', ...extra });
  const read = (text: string) => () => text;

  it('reads user, sid, request id and serial from the certificate', () => {
    const id = readIdentity({ account: 'net-operator', env: env(), readFile: read(authInfo()) });
    expect(id).toMatchObject({
      role: 'net-operator',
      user: 'bob',
      sid: SID,
      requestId: REQ,
      certSerial: '15800',
    });
  });

  it('takes the request id from MCP_REQUEST_ID only when the Key ID has none', () => {
    const line = certLine({ keyId: `sid=${SID},user=bob` });
    const id = readIdentity({
      account: 'net-viewer',
      env: env({ MCP_REQUEST_ID: REQ }),
      readFile: read(authInfo(line)),
    });
    expect(id).toMatchObject({ requestId: REQ, requestIdSource: 'client' });
    expect(
      codeOf(() => readIdentity({ account: 'net-viewer', env: env(), readFile: read(authInfo(line)) })),
    ).toBe('ERR_FC_IDENTITY');
  });

  it.each([
    ['no SSH_USER_AUTH', { account: 'net-viewer', env: {}, readFile: read(authInfo()) }],
    [
      'unreadable file',
      {
        account: 'net-viewer',
        env: env(),
        readFile: () => {
          throw new Error('EACCES');
        },
      },
    ],
    [
      'plain key, no certificate',
      {
        account: 'net-viewer',
        env: env(),
        readFile: read('publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB\n'),
      },
    ],
    ['two certificates', { account: 'net-viewer', env: env(), readFile: read(authInfo() + authInfo()) }],
    [
      'garbage certificate',
      {
        account: 'net-viewer',
        env: env(),
        readFile: read('publickey ssh-ed25519-cert-v01@openssh.com AAAA\n'),
      },
    ],
    [
      'host certificate',
      {
        account: 'net-viewer',
        env: env(),
        readFile: read(authInfo(certLine({ type: 'host', principals: ['net-viewer'] }))),
      },
    ],
    [
      'principal is another account',
      {
        account: 'net-admin',
        env: env(),
        readFile: read(authInfo(certLine({ principals: ['net-viewer'] }))),
      },
    ],
    [
      'Key ID not the netward layout',
      { account: 'net-viewer', env: env(), readFile: read(authInfo(certLine({ keyId: 'bob' }))) },
    ],
    [
      'MCP_USER differs',
      { account: 'net-viewer', env: env({ MCP_USER: 'alice' }), readFile: read(authInfo()) },
    ],
    [
      'MCP_SID differs',
      { account: 'net-viewer', env: env({ MCP_SID: 'other' }), readFile: read(authInfo()) },
    ],
    [
      'MCP_USER malformed',
      { account: 'net-viewer', env: env({ MCP_USER: 'bob/cert:1' }), readFile: read(authInfo()) },
    ],
    ['account not a role name', { account: 'Root!', env: env(), readFile: read(authInfo()) }],
  ])('denies: %s', (_name, input) => {
    expect(codeOf(() => readIdentity(input))).toBe('ERR_FC_IDENTITY');
  });

  it('denies an account that is not in the config, even with a matching certificate', async () => {
    const r = await runInProcess({
      command: 'show version',
      role: 'net-guest',
      authInfoText: authInfo(certLine({ principals: ['net-guest'] })),
    });
    expect(r.audit.records[0]?.fields['code']).toBe('ERR_FC_IDENTITY');
    expect(r.calls).toEqual([]);
  });

  it('records the seed prefix on a denied command, and denies when the audit record cannot be written', async () => {
    const r = await runInProcess({
      command: "vtysh -c 'configure terminal'",
      role: 'net-operator',
      policy: 'design',
    });
    expect(r.audit.records[0]?.msg).toBe(
      `[net-operator/bob/cert:15800/sid:${SID}/req:${REQ}] DENY (local rules): vtysh -c 'configure terminal'`,
    );
    // the default policy's grammar refuses it before the rules are asked, and says so
    const g = await runInProcess({ command: "vtysh -c 'configure terminal'", role: 'net-operator' });
    expect(g.audit.records[0]?.msg).toBe(
      `[net-operator/bob/cert:15800/sid:${SID}/req:${REQ}] DENY (grammar: ERR_FC_GRAMMAR): vtysh -c 'configure terminal'`,
    );
    expect(g.audit.records[0]?.fields['detail']).toEqual({
      request: 'configure terminal',
      reason: 'no grammar entry for the command "configure"',
    });
    expect(g.stderr).toBe(
      'netward: denied at grammar: command not permitted by the policy grammar (ERR_FC_GRAMMAR)\n',
    );
    const failing = await runInProcess({ command: 'show version', role: 'net-viewer', auditFails: true });
    expect(failing.status).toBe(FC_ERRORS.ERR_FC_AUDIT.exit);
    expect(failing.calls).toEqual([]);
  });
});

describe('config', () => {
  const minimal = {
    device: 'spine-a',
    executables: { ip: { path: '/usr/sbin/ip' } },
    authorization: { mode: 'local', rulesFile: '/etc/netward/rules.json' },
    audit: { file: '/var/log/fc.log' },
  };

  it('fills documented defaults and freezes the result', () => {
    const c = validateConfig(minimal);
    expect(c.limits).toEqual({
      maxCommandLength: 1024,
      maxCliCommands: 8,
      runTimeoutMs: 30_000,
      maxResidentRequests: 32,
    });
    expect(c.accountGroup).toBe('netward');
    expect(c.wrappers).toEqual(['vyatta-op-cmd-wrapper']);
    expect(Object.isFrozen(c.executables['ip'])).toBe(true);
  });

  it.each([
    ['unknown key', { ...minimal, shell: true }],
    ['relative executable path', { ...minimal, executables: { ip: { path: 'ip' } } }],
    ['unnormalised path', { ...minimal, executables: { ip: { path: '/usr/../bin/sh' } } }],
    ['name with a slash', { ...minimal, executables: { 'a/b': { path: '/bin/true' } } }],
    ['cli executable missing', { ...minimal, cli: { executable: 'vtysh' } }],
    ['unknown mode', { ...minimal, authorization: { mode: 'ldap' } }],
    ['tacacs without servers', { ...minimal, authorization: { mode: 'tacacs', servers: [], keyFile: '/k' } }],
    ['wrapper callable directly', { ...minimal, executables: { 'vyatta-op-cmd-wrapper': { path: '/w' } } }],
  ])('refuses %s with ERR_FC_CONFIG naming the file', (_n, value) => {
    try {
      validateConfig(value, '/etc/netward/fc.yaml');
      expect.unreachable();
    } catch (e) {
      expect((e as ForceCommandError).code).toBe('ERR_FC_CONFIG');
      expect((e as Error).message.startsWith('/etc/netward/fc.yaml: ')).toBe(true);
    }
  });

  it('parses YAML and JSON to the same config', async () => {
    const yaml = `device: spine-a\nexecutables:\n  ip: { path: /usr/sbin/ip }\nauthorization:\n  mode: local\n  rulesFile: /etc/netward/rules.json\naudit:\n  file: /var/log/fc.log\n`;
    expect(validateConfig(await parseConfigText(yaml, 'a.yaml'))).toEqual(
      validateConfig(await parseConfigText(JSON.stringify(minimal), 'a.json')),
    );
    await expect(parseConfigText('a: [', 'bad.yaml')).rejects.toMatchObject({ code: 'ERR_FC_CONFIG' });
    await expect(parseConfigText('a: 1\na: 2\n', 'dup.yaml')).rejects.toMatchObject({
      code: 'ERR_FC_CONFIG',
    });
  });
});

describe('files (root needed for ownership)', () => {
  let dir: string;
  beforeAll(() => {
    if (process.getuid?.() !== 0) throw new Error('run as root');
    dir = mkdtempSync('/run/netward-fc-units-');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts root-owned files and refuses writable or foreign-owned ones', () => {
    const f = join(dir, 'c.json');
    writeFileSync(f, '{}', { mode: 0o644 });
    chmodSync(f, 0o644);
    expect(codeOf(() => checkFileSafety(f))).toBeUndefined();
    chmodSync(f, 0o664);
    expect(codeOf(() => checkFileSafety(f))).toBe('ERR_FC_CONFIG');
    chmodSync(f, 0o644);
    chownSync(f, 1001, 0);
    expect(codeOf(() => checkFileSafety(f))).toBe('ERR_FC_CONFIG');
    expect(codeOf(() => checkFileSafety(join(dir, 'missing')))).toBe('ERR_FC_CONFIG');
    chownSync(f, 0, 0);
    chmodSync(dir, 0o777);
    expect(codeOf(() => checkFileSafety(f))).toBe('ERR_FC_CONFIG');
    chmodSync(dir, 0o700);
    expect(codeOf(() => checkFileSafety(f))).toBeUndefined();
  });

  it('reads a 0640 key only for the accounts group, strips one newline, never echoes it', () => {
    const k = join(dir, 'key');
    writeFileSync(k, 's3cret\n', { mode: 0o640 });
    chownSync(k, 0, 995);
    chmodSync(k, 0o640);
    expect(readSharedKey(k, 995).toString()).toBe('s3cret');
    try {
      readSharedKey(k, 4242);
      expect.unreachable();
    } catch (e) {
      expect((e as ForceCommandError).code).toBe('ERR_FC_CONFIG');
      expect(String((e as Error).message)).not.toContain('s3cret');
    }
    chmodSync(k, 0o604);
    expect(codeOf(() => readSharedKey(k, 995))).toBe('ERR_FC_CONFIG');
  });

  it('appends JSON audit records that parse as the shared audit record, and refuses a symlinked log', () => {
    const log = join(dir, 'audit.log');
    writeFileSync(log, '');
    const lines: string[] = [];
    const sink = createAuditSink({ file: log, tee: (l) => lines.push(l) });
    sink.record(
      { event: 'decision', user: 'bob', decision: 'deny', code: 'ERR_FC_EMPTY', token: 'abc' },
      'm',
      'warn',
    );
    const written = readFileSync(log, 'utf8').trim().split('\n');
    expect(written).toHaveLength(1);
    const rec = parseAuditLine(written[0] as string);
    expect(rec).toMatchObject({ component: 'forcecommand', user: 'bob', decision: 'deny', level: 'warn' });
    expect(written[0]).not.toContain('abc');
    symlinkSync(log, join(dir, 'link.log'));
    const viaLink = createAuditSink({ file: join(dir, 'link.log') });
    expect(codeOf(() => viaLink.record({ event: 'x' }, 'm'))).toBe('ERR_FC_AUDIT');
    const missing = createAuditSink({ file: join(dir, 'nope.log') });
    expect(codeOf(() => missing.record({ event: 'x' }, 'm'))).toBe('ERR_FC_AUDIT');
  });
});

describe('TACACS+ answers', () => {
  const req = { cmd: 'show', args: ['bgp', 'summary'] };
  const base = { args: [], serverMsg: '' };
  it.each([
    [{ ...base, permitted: true, status: 'PASS_ADD' }, true, undefined],
    [{ ...base, permitted: true, status: 'PASS_REPL', args: ['priv-lvl=1'] }, true, undefined],
    [{ ...base, permitted: true, status: 'PASS_REPL', args: ['cmd=reload'] }, false, 'ERR_FC_NOT_AUTHORIZED'],
    [{ ...base, permitted: false, status: 'FAIL' }, false, 'ERR_FC_NOT_AUTHORIZED'],
    [{ ...base, permitted: false, status: 'ERROR' }, false, 'ERR_FC_AUTHZ_UNAVAILABLE'],
    [{ ...base, permitted: false, status: 'FOLLOW' }, false, 'ERR_FC_AUTHZ_UNAVAILABLE'],
    [
      { ...base, permitted: false, status: 'NO_REPLY', errorCode: 'ERR_TACACS_TIMEOUT' },
      false,
      'ERR_FC_AUTHZ_UNAVAILABLE',
    ],
    // A client bug that says permitted with a non-pass status must still not pass.
    [{ ...base, permitted: true, status: 'ERROR' }, false, 'ERR_FC_AUTHZ_UNAVAILABLE'],
  ])('%o → permitted %s (%s)', (answer, permitted, code) => {
    const a = readTacacsAnswer(req, answer as never);
    expect(a.permitted).toBe(permitted);
    expect(a.code).toBe(code);
  });
});

describe('syslog', () => {
  it('formats RFC 5424 with PRI, structured data escaping and the JSON line as MSG', () => {
    const line = formatSyslog(
      'authpriv',
      {
        severity: 6,
        msgId: 'decision',
        params: { user: 'bob', odd: 'a"b]c\\d', none: undefined },
        msg: '{"a":1}\n',
        time: new Date('2026-02-07T12:34:56.000Z'),
      },
      'spine-a',
    );
    expect(line).toBe(
      `<86>1 2026-02-07T12:34:56.000Z spine-a netward-forcecommand ${process.pid} decision [netward@32473 user="bob" odd="a\\"b\\]c\\\\d"] {"a":1}`,
    );
  });
});

describe('source rules (the validator never reaches a shell)', () => {
  it('has no shell: true, exec/execSync, or a shell path anywhere in src/', () => {
    const root = join(import.meta.dirname, '..', 'src');
    const files = (readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const text = readFileSync(join(root, f), 'utf8');
      expect(text, f).not.toMatch(/shell:\s*true/);
      // child_process.exec/execSync run a shell (RegExp#exec is fine).
      expect(text, f).not.toMatch(/(?<!\.)\b(exec|execSync)\s*\(/);
      expect(text, f).not.toMatch(/import\s*\{[^}]*\b(exec|execSync)\b[^}]*\}\s*from\s*'node:child_process'/);
      // deploy.ts names /bin/sh as the accounts' login shell (useradd), which is not something it runs.
      if (f !== 'deploy.ts') expect(text, f).not.toMatch(/['"]\/bin\/(ba)?sh['"]/);
    }
  });
});

describe('snapshot warm-up', () => {
  it('runs a permit, a policy deny and a stage-1 deny in memory, and the TACACS+ codec, without throwing', async () => {
    // warmUp throws when a command ends otherwise than expected, which would fail the snapshot build.
    await expect(warmUp()).resolves.toBeUndefined();
  });
});

describe('per-stage timings (issue 12: where a command spends its time)', () => {
  it('records milliseconds per stage in the decision record, for a permit and a refusal', async () => {
    const permit = await runInProcess({ command: 'ip addr show lo', role: 'net-viewer' });
    expect(permit.status).toBe(0);
    const permitted = permit.audit.records.find((r) => r.fields['event'] === 'decision')?.fields;
    const timings = permitted?.['timings'] as Record<string, number>;
    expect(Object.keys(timings)).toEqual(['identity', 'normalize', 'grammar', 'authorizer', 'authorize']);
    for (const v of Object.values(timings)) expect(v).toBeGreaterThanOrEqual(0);
    const refusal = await runInProcess({ command: 'ip addr; id', role: 'net-viewer' });
    const refused = refusal.audit.records.find((r) => r.fields['event'] === 'decision')?.fields;
    // Refused at stage 1: only the stages that ran are timed.
    expect(Object.keys(refused?.['timings'] as object)).toEqual(['identity']);
  });
});

describe('files parsed into the snapshot (preparsed.ts)', () => {
  it('gives the parsed value back only for byte-identical text', () => {
    const cache = preparsed<{ n: number }>();
    const value = { n: 1 };
    expect(cache.get('{"version":1}')).toBeUndefined();
    cache.set('{"version":1}', value);
    expect(cache.get('{"version":1}')?.value).toBe(value);
    expect(cache.get('{"version":1}')?.from).toBe('snapshot');
    expect(cache.get('{"version":1}\n')).toBeUndefined();
    expect(cache.get('{"version":2}')).toBeUndefined();
  });
});

describe('group addresses (issue 12, second round: multicast is broadcast without -b)', () => {
  it.each([
    ['ff02::1', true],
    ['ff05::1:3', true],
    ['ff02:0:0:0:0:0:0:1', true],
    ['224.0.0.1', true],
    ['239.255.255.250', true],
    ['255.255.255.255', true],
    ['3758096385', true],
    ['0xe0.1', true],
    ['fe80::1', false],
    ['ff::1', false],
    ['2001:db8::1', false],
    ['::1', false],
    ['10.1.0.11', false],
    ['223.255.255.255', false],
    ['077.0.0.1', false],
    ['leaf-1', false],
  ])('%s: %s', (value, group) => {
    expect(isGroupAddress(value)).toBe(group);
  });
});

describe('the environment guard and perl (the resident shim is a perl script)', () => {
  const PERL = ['PERL5OPT', 'PERL5LIB', 'PERLLIB', 'PERL5DB', 'PERLIO', 'PERLIO_DEBUG', 'PERL_HASH_SEED'];

  it('counts every PERL* variable as hostile', () => {
    for (const name of PERL) expect(hostileVariables({ [name]: 'x', PATH: '/bin' }), name).toEqual([name]);
  });

  it('the rendered guard strips them and names them in NETWARD_HOSTILE_ENV (dash, as sshd runs it)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'guard-'));
    try {
      writeFileSync(join(dir, 'guard'), renderEnvGuard(), { mode: 0o755 });
      const env = Object.fromEntries(PERL.map((n) => [n, '-MPayload']));
      const out = execFileSync(join(dir, 'guard'), ['/usr/bin/env'], {
        env: { ...env, PATH: '/usr/bin:/bin', SSH_ORIGINAL_COMMAND: 'ip addr show lo' },
      }).toString();
      const seen = Object.fromEntries(
        out
          .trim()
          .split('\n')
          .map((l) => l.split(/=(.*)/s).slice(0, 2)),
      );
      expect(Object.keys(seen).sort()).toEqual(['NETWARD_HOSTILE_ENV', 'SSH_ORIGINAL_COMMAND']);
      expect(seen['NETWARD_HOSTILE_ENV']?.split(',').sort()).toEqual([...PERL].sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parsed files kept by a long-lived process', () => {
  it('keeps run-time parses only once asked to, the last four, and says where each came from', () => {
    const cache = preparsed<string>();
    cache.parsed('a', 'A');
    expect(cache.get('a')).toBeUndefined();
    cache.set('s', 'S');
    keepParsedFiles();
    for (const t of ['a', 'b', 'c', 'd']) cache.parsed(t, t.toUpperCase());
    // Five entries asked for, four kept: the oldest (the snapshot's) went first.
    expect(cache.get('s')).toBeUndefined();
    expect(cache.get('a')).toEqual({ value: 'A', from: 'kept' });
    expect(cache.get('d')).toEqual({ value: 'D', from: 'kept' });
    expect(cache.get('d ')).toBeUndefined();
  });
});
