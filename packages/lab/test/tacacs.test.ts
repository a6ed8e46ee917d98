import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPolicy } from '@netward/policy';
import { TacacsClient, type TacacsServer } from '@netward/tacacs-plus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLabTacacs } from '../src/services/tacacs.ts';
import { captureLogger } from './helpers.ts';

const KEY = 'lab-tacacs-key-0123456789';

describe("the lab's TACACS+ server (policy rules through our RFC 8907 server)", () => {
  let dir: string;
  let server: TacacsServer;
  let client: TacacsClient;
  const { logger, lines } = captureLogger('tacacs-server');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'netward-tac-'));
    writeFileSync(join(dir, 'key'), KEY, { mode: 0o600 });
    const started = await startLabTacacs(
      { host: '127.0.0.1', port: 0, keyFile: join(dir, 'key'), policyFile: '' },
      { logger, policy: defaultPolicy() },
    );
    server = started.server;
    client = new TacacsClient({ servers: [{ host: '127.0.0.1', port: started.port, key: KEY }] });
  });
  afterAll(async () => {
    await client?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // The default policy: the anchored rules rendered from each role's grammar, default deny.
  it.each([
    ['net-viewer', 'show', ['bgp', 'summary'], true],
    ['net-viewer', 'ping', ['-c', '3', '10.1.0.11'], false],
    ['net-operator', 'ping', ['-c', '3', '10.1.0.11'], true],
    ['net-operator', 'configure', ['terminal'], false],
    ['net-operator', 'show', ['running-config'], false],
    ['net-operator', 'ping', ['-f', '10.1.0.11'], false],
    ['net-admin', 'show', ['running-config'], true],
    ['net-operator', 'write', ['memory'], false],
    ['net-admin', 'configure', ['terminal'], true],
    ['nobody', 'show', ['version'], false],
  ] as const)('%s %s %j → permitted %s', async (user, cmd, args, permitted) => {
    const r = await client.authorize({
      user,
      cmd,
      args: [...args],
      remAddr: 'bob/cert:42/sid:abcdef/req:AAAAAAAAAAAAAAAAAAAAAA',
    });
    expect(r.permitted).toBe(permitted);
    expect(r.status).toBe(permitted ? 'PASS_ADD' : 'FAIL');
  });

  it('refuses NUL in any argument (tac_plus-ng answers FAIL; the command is never decided as if cut)', async () => {
    const ask = (user: string, cmd: string, args: string[]) => client.authorize({ user, cmd, args });
    expect((await ask('net-viewer', 'show', ['bgp', 'summary'])).status).toBe('PASS_ADD');
    expect((await ask('net-viewer', 'show', ['bgp\0', 'summary'])).status).toBe('FAIL');
    expect((await ask('net-viewer', 'show\0', ['bgp', 'summary'])).status).toBe('FAIL');
    expect((await ask('net-operator', 'ping', ['-c', '3', '10.1.0.11'])).status).toBe('PASS_ADD');
    expect((await ask('net-operator', 'ping', ['-c', '3', '10.1.0.11\0'])).status).toBe('FAIL');
  });

  it('logs each decision with the audit context from rem_addr at the top level', () => {
    const line = lines.find((l) => l['event'] === 'tacacs.authorization' && l['decision'] === 'deny');
    expect(line).toMatchObject({
      user: 'bob',
      cert_serial: '42',
      sid: 'abcdef',
      request_id: 'AAAAAAAAAAAAAAAAAAAAAA',
    });
  });

  it('refuses anything but shell command authorization', async () => {
    const r = await client.authorize({ user: 'net-admin', service: 'ppp', cmd: 'show', args: ['version'] });
    expect(r.permitted).toBe(false);
  });
});
