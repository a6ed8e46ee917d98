// The vty exchange's framing and the routing of lines to it. The daemon's answers against real FRR are
// in frr.test.ts; here a unix socket plays the daemon so the answer can be cut at every offset, which
// a running FRR never does on demand (the re-split idea of pg-protocol's parser tests).
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../src/config.ts';
import { deviceConfigObject, FRR_VTY_COMMANDS } from '../src/deploy.ts';
import { type NormalizeOptions, normalize } from '../src/normalize.ts';
import { runVty } from '../src/vty.ts';

const dir = mkdtempSync(join(tmpdir(), 'fc-vty-'));
const socket = join(dir, 'bgpd.vty');
const OUTPUT = Buffer.from('BGP router identifier 10.1.0.1, local AS number 65000\n% warning line\n');
/** What the daemon answers next, as the pieces it writes them in. */
let answer: (line: string) => Buffer[] = () => [];
const received: string[] = [];
let server: Server;

beforeAll(async () => {
  server = createServer((c) => {
    let buffered = '';
    c.on('data', async (d) => {
      buffered += d.toString('utf8');
      if (!buffered.endsWith('\0')) return;
      received.push(buffered.slice(0, -1));
      for (const piece of answer(buffered.slice(0, -1))) {
        c.write(piece);
        await new Promise((r) => setTimeout(r, 1));
      }
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
});

afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function ask(line = 'show bgp summary') {
  const chunks: Buffer[] = [];
  const result = await runVty(
    { daemon: 'bgpd', socket, line },
    { timeoutMs: 2000, stdout: (c) => chunks.push(Buffer.from(c)) },
  );
  return { result, stdout: Buffer.concat(chunks) };
}

const trailer = (status: number) => Buffer.from([0, 0, 0, status]);

describe('the vty exchange', () => {
  it('sends the line with its NUL and passes the output on without the trailer, cut at every offset', async () => {
    const whole = Buffer.concat([OUTPUT, trailer(0)]);
    for (let cut = 1; cut < whole.length; cut++) {
      answer = () => [whole.subarray(0, cut), whole.subarray(cut)];
      const { result, stdout } = await ask();
      expect({ cut, stdout: stdout.toString() }).toEqual({ cut, stdout: OUTPUT.toString() });
      expect(result).toEqual({ exitStatus: 0, timedOut: false });
    }
    expect(received.at(-1)).toBe('show bgp summary');
  });

  it('exits as vtysh does: 0 for CMD_SUCCESS and CMD_WARNING, 1 for any other status', async () => {
    for (const [status, exit] of [
      [0, 0],
      [1, 0],
      [2, 1],
      [13, 1],
    ] as const) {
      answer = () => [Buffer.concat([OUTPUT, trailer(status)])];
      expect((await ask()).result.exitStatus).toBe(exit);
    }
  });

  it('fails closed when the daemon closes before its status, or does not listen', async () => {
    answer = () => [OUTPUT.subarray(0, 10), Buffer.alloc(0)];
    server.once('connection', (c) => setTimeout(() => c.destroy(), 20));
    expect((await ask()).result).toMatchObject({ exitStatus: 126, spawnError: 'EPIPE' });
    const missing = await runVty(
      { daemon: 'ospfd', socket: join(dir, 'ospfd.vty'), line: 'show ip ospf' },
      { timeoutMs: 2000, stdout: () => {} },
    );
    expect(missing).toMatchObject({ exitStatus: 126, spawnError: 'ENOENT' });
  });

  it('ends at the time limit as a timed-out command', async () => {
    answer = () => [OUTPUT];
    const chunks: Buffer[] = [];
    const r = await runVty(
      { daemon: 'bgpd', socket, line: 'show bgp summary' },
      { timeoutMs: 200, stdout: (c) => chunks.push(c) },
    );
    expect(r).toEqual({ exitStatus: 124, timedOut: true });
  });
});

describe('routing a vtysh plan to the vty socket', () => {
  const config = validateConfig(
    deviceConfigObject({
      device: 'spine-a',
      auditFile: '/var/log/netward/audit.log',
      frr: { pathspace: 'spine-a', vty: true },
      cliCommands: ['show'],
      authorization: { mode: 'local', rulesFile: '/etc/netward/rules.json' },
    }),
    'test',
  );
  const options: NormalizeOptions = {
    executables: config.executables,
    cli: config.cli,
    wrappers: [],
    maxCliCommands: 8,
  };

  it('routes exactly the listed lines, bare or through vtysh -c, to the listed daemon', () => {
    for (const [line, daemon] of Object.entries(FRR_VTY_COMMANDS)) {
      for (const command of [line, `vtysh -c '${line}'`, `vtysh -c '${line.replaceAll(' ', '  ')}'`]) {
        expect(normalize(command, options).vty).toEqual({
          daemon,
          socket: `/var/run/frr/spine-a/${daemon}.vty`,
          line,
        });
      }
    }
  });

  it('leaves vtysh to anything else: an unlisted line, a longer one, several -c', () => {
    for (const command of [
      'show running-config',
      'show ip route 10.1.0.1',
      'show bgp summary json',
      "vtysh -c 'show bgp summary' -c 'show ip route'",
      'show constructor',
    ]) {
      const plan = normalize(command, options);
      expect({ command, vty: plan.vty }).toEqual({ command, vty: undefined });
      expect(plan.file).toBe('/usr/bin/vtysh');
    }
  });

  it('is off unless the device config asks for it, and refused on a program that is not vtysh', () => {
    const plain = validateConfig(
      deviceConfigObject({
        device: 'spine-a',
        auditFile: '/var/log/netward/audit.log',
        frr: { pathspace: 'spine-a' },
        authorization: { mode: 'local', rulesFile: '/etc/netward/rules.json' },
      }),
      'test',
    );
    expect(normalize('show bgp summary', { ...options, executables: plain.executables }).vty).toBeUndefined();
    expect(() =>
      validateConfig(
        {
          device: 'spine-a',
          executables: { ip: { path: '/usr/sbin/ip', vty: { socketDir: '/run/frr', commands: {} } } },
          authorization: { mode: 'local', rulesFile: '/etc/netward/rules.json' },
          audit: { file: '/var/log/netward/audit.log' },
        },
        'test',
      ),
    ).toThrow(/vty needs style vtysh/);
  });
});
