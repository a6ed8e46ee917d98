// Independent TACACS+ clients against our server: the Python tacacs_plus client (PyPI 2.6) for
// authentication, authorization and accounting, and Debian's Perl Authen::TacacsPlus for logins (the
// module has no authorization or accounting calls). Both are installed by scripts/setup.sh; a missing
// one fails here rather than passing unseen.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerAuthorizationRequest } from '../src/index.ts';
import { startServer } from './helpers.ts';

const run = promisify(execFile);
const PEERS = fileURLToPath(new URL('./peers/', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const PYTHON = join(ROOT, '.cache', 'python-tacacs', 'bin', 'python');
const KEY = 'peer-test-key-7f3a';
const SETUP = 'run `bash scripts/setup.sh` (it installs both independent clients)';

// The design's viewer and operator rules as handler code (first match decides); admin: everything.
const RULES: Record<string, [RegExp, boolean][]> = {
  'net-viewer': [
    [/configure/, false],
    [/write/, false],
    [/(^|\/)show($| )/, true],
  ],
  'net-operator': [
    [/configure/, false],
    [/(^|\/)show($| )/, true],
    [/(^|\/)ping($| )/, true],
  ],
  'net-admin': [[/^/, true]],
};
function authorize(req: ServerAuthorizationRequest) {
  const hit = RULES[req.user]?.find(([re]) => re.test(req.commandLine));
  return req.service === 'shell' && hit?.[1] === true
    ? ({ status: 'PASS_ADD' } as const)
    : ({ status: 'FAIL' } as const);
}

let port: number;
let lines: Record<string, unknown>[];
const cleanup: (() => Promise<void>)[] = [];
beforeAll(async () => {
  ({ port, lines } = await startServer(
    {
      key: KEY,
      handlers: {
        authorize,
        authenticate: (r) => ({ status: r.user in RULES && r.password === 'labpass' ? 'PASS' : 'FAIL' }),
      },
    },
    cleanup,
  ));
});
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

const env = () => ({ ...process.env, TACACS_KEY: KEY });

describe('the Python tacacs_plus client (PyPI 2.6) against our server', () => {
  it('is installed', () => {
    expect(existsSync(PYTHON), `${PYTHON} missing: ${SETUP}`).toBe(true);
  });

  it('authenticates (ASCII, PAP), authorizes and accounts, one connection per request', async () => {
    const { stdout } = await run(PYTHON, [join(PEERS, 'python-client.py'), String(port)], { env: env() });
    const r = JSON.parse(stdout);
    expect(r).toEqual({
      ascii_good: true,
      ascii_bad: false,
      pap_good: true,
      pap_bad: false,
      viewer_show: { valid: true, status: 0x01 },
      viewer_configure: { valid: false, status: 0x10 },
      operator_ping: { valid: true, status: 0x01 },
      admin_reboot: { valid: true, status: 0x01 },
      acct_start: { valid: true, status: 0x01 },
      acct_stop: { valid: true, status: 0x01 },
    });
    // What the server understood, from its decision log.
    const authz = lines.filter((l) => l['event'] === 'tacacs.authorization');
    expect(authz.map((l) => (l['tacacs'] as { command: string }).command)).toEqual(
      expect.arrayContaining(['show bgp summary', 'configure terminal', 'ping -c 3 10.0.0.1', 'reboot']),
    );
    const acct = lines.filter((l) => l['event'] === 'tacacs.accounting');
    expect(acct.map((l) => [l['acct_type'], (l['tacacs'] as { task_id: string }).task_id])).toEqual([
      ['start', '42'],
      ['stop', '42'],
    ]);
    expect(JSON.stringify(lines)).not.toContain('labpass');
  });
});

describe("Debian's Perl Authen::TacacsPlus against our server", () => {
  it('is installed', async () => {
    const check = run('perl', ['-MAuthen::TacacsPlus', '-e', '1']).then(
      () => true,
      () => false,
    );
    expect(await check, `Authen::TacacsPlus missing: ${SETUP}`).toBe(true);
  });

  it('logs in with ASCII and PAP, is refused a wrong password, and CHAP (not served) fails closed', async () => {
    const { stdout } = await run('perl', [join(PEERS, 'perl-client.pl'), String(port)], { env: env() });
    expect(JSON.parse(stdout)).toEqual({
      ascii_good: true,
      ascii_bad: false,
      pap_good: true,
      pap_bad: false,
      chap: false,
    });
    const logins = lines.filter((l) => l['event'] === 'tacacs.authentication');
    expect(logins.map((l) => [l['authen_type'], l['status']])).toEqual(
      expect.arrayContaining([
        ['ascii', 'PASS'],
        ['ascii', 'FAIL'],
        ['pap', 'PASS'],
        ['pap', 'FAIL'],
      ]),
    );
  });
});
