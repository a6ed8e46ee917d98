/**
 * Configuration: validated once, frozen, secure defaults, precise refusals. And the CLI starting from
 * a YAML file and serving the metadata document.
 */
import { type StdioOptions, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { thrownCode } from '@netward/kit/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../src/config.ts';
import { McpServerError } from '../src/errors.ts';
import { generateEphemeralKey } from '../src/ssh/keys.ts';
import { freePort } from './helpers/harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'netward-mcp-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hostCa = generateEphemeralKey().publicKeyLine;
writeFileSync(join(dir, 'host_ca.pub'), `${hostCa}\n`);
writeFileSync(join(dir, 'secret'), 's3cret\n', { mode: 0o600 });
writeFileSync(join(dir, 'shared-secret'), 's3cret\n', { mode: 0o640 });

const minimal = {
  publicUrl: 'http://127.0.0.1:8080/mcp',
  issuer: 'http://127.0.0.1:9000',
  tokenExchange: {
    tokenEndpoint: 'http://127.0.0.1:9000/token',
    clientId: 'netward-mcp-server',
    clientSecretFile: 'secret',
    audience: 'netward-ca-broker',
  },
  broker: { url: 'http://127.0.0.1:8200' },
  hostCa: { publicKeyFile: 'host_ca.pub' },
  inventory: [{ name: 'spine-a', address: '10.0.0.1' }],
};

const codeOf = (fn: () => unknown) => thrownCode(fn, McpServerError) ?? 'accepted';

describe('parseConfig', () => {
  it('applies the secure defaults and freezes the result', () => {
    const c = parseConfig(minimal, join(dir, 'c.yaml'));
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(c.unsafeRawCommandTool).toBe(false);
    expect(c.sessionMode).toBe(false);
    expect(c.algorithms).not.toContain('HS256');
    expect(c.inventory[0]).toMatchObject({ port: 22, vendor: 'frr' });
    expect(c.tokenExchange.clientSecret).toBe('s3cret');
    expect(c.hostCaKeys).toHaveLength(1);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.limits)).toBe(true);
    expect(Object.isFrozen(c.inventory[0])).toBe(true);
  });

  const refused: [string, Record<string, unknown>][] = [
    ['an unknown key', { ...minimal, listne: {} }],
    ['an unknown nested key', { ...minimal, broker: { url: 'http://x', token: 'y' } }],
    ['HS256 in the allowlist', { ...minimal, algorithms: ['HS256'] }],
    ['alg none', { ...minimal, algorithms: ['none'] }],
    ['a device without host verification', { ...minimal, hostCa: undefined }],
    ['a duplicate device', { ...minimal, inventory: [minimal.inventory[0], minimal.inventory[0]] }],
    ['a device name with a comma', { ...minimal, inventory: [{ name: 'a,b', address: '10.0.0.1' }] }],
    [
      'an unsupported vendor',
      { ...minimal, inventory: [{ name: 'a', address: '10.0.0.1', vendor: 'junos' }] },
    ],
    ['a bad pinned key', { ...minimal, inventory: [{ name: 'a', address: '10.0.0.1', hostKeys: ['nope'] }] }],
    [
      'a missing secret file',
      { ...minimal, tokenExchange: { ...minimal.tokenExchange, clientSecretFile: 'nope' } },
    ],
    [
      'a client secret file others may read',
      { ...minimal, tokenExchange: { ...minimal.tokenExchange, clientSecretFile: 'shared-secret' } },
    ],
    ['publicUrl with a query', { ...minimal, publicUrl: 'http://127.0.0.1:8080/mcp?x=1' }],
    ['a zero timeout', { ...minimal, limits: { execTimeoutMs: 0 } }],
  ];
  for (const [name, input] of refused) {
    it(`refuses ${name}`, () => {
      expect(codeOf(() => parseConfig(input, join(dir, 'c.yaml')))).toBe('ERR_MCP_CONFIG');
    });
  }

  it('accepts pinned keys without a host CA', () => {
    const c = parseConfig(
      {
        ...minimal,
        hostCa: undefined,
        inventory: [{ name: 'a', address: '10.0.0.1', hostKeys: [generateEphemeralKey().publicKeyLine] }],
      },
      join(dir, 'c.yaml'),
    );
    expect(c.hostCaKeys).toEqual([]);
  });

  it('names the file and the key in the message', () => {
    try {
      parseConfig({ ...minimal, limits: { execTimeoutMs: -1 } }, join(dir, 'named.yaml'));
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toContain('named.yaml');
      expect((e as Error).message).toContain('limits.execTimeoutMs');
    }
  });
});

/** The program from source: node's arguments before the program's own. */
const CLI = ['--conditions=netward-source', '--import', 'tsx', 'src/cli/netward-mcp-server.ts'];
const PKG = join(import.meta.dirname, '..');

/** `netward-mcp-server serve --config <file>`, as a child process. */
function serve(file: string, stdio: StdioOptions) {
  return spawn(process.execPath, [...CLI, 'serve', '--config', file], { cwd: PKG, stdio });
}

describe('CLI', () => {
  it('serve --config FILE listens and serves the protected resource metadata', async () => {
    const port = await freePort();
    const file = join(dir, 'cli.yaml');
    writeFileSync(
      file,
      [
        `listen: { host: 127.0.0.1, port: ${port} }`,
        `publicUrl: http://127.0.0.1:${port}/mcp`,
        'issuer: http://127.0.0.1:9',
        'jwksUri: http://127.0.0.1:9/jwks',
        'tokenExchange:',
        '  tokenEndpoint: http://127.0.0.1:9/token',
        '  clientId: netward-mcp-server',
        '  clientSecretFile: secret',
        '  audience: netward-ca-broker',
        'broker: { url: "http://127.0.0.1:9" }',
        'hostCa: { publicKeyFile: host_ca.pub }',
        'inventory:',
        '  - { name: spine-a, address: 10.0.0.1 }',
        '',
      ].join('\n'),
    );
    expect(loadConfig(file).listen.port).toBe(port);
    const child = serve(file, ['ignore', 'pipe', 'pipe']);
    try {
      let out = '';
      child.stdout?.on('data', (d) => {
        out += d;
      });
      const deadline = Date.now() + 15_000;
      while (!out.includes('"event":"listening"') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      expect(out).toContain('"event":"listening"');
      const res = await fetch(`http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { resource: string }).resource).toBe(`http://127.0.0.1:${port}/mcp`);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    expect(child.exitCode).toBe(0);
  }, 20_000);

  it('exits 2 on a bad configuration', async () => {
    writeFileSync(join(dir, 'bad.yaml'), 'publicUrl: 3\n');
    const child = serve(join(dir, 'bad.yaml'), 'ignore');
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(2);
  }, 20_000);

  it('--help exits 0; a usage error exits 2 with its reason on one line', async () => {
    const { spawnSync } = await import('node:child_process');
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [...CLI, ...args], { cwd: PKG, encoding: 'utf8' });
    const help = cli('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('usage: netward-mcp-server serve --config FILE');
    for (const [args, reason] of [
      [['bogus'], 'unknown command "bogus"'],
      [[], 'no command given'],
      [['serve'], 'serve needs --config FILE'],
    ] as const) {
      const r = cli(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim()).toBe(`netward-mcp-server: ${reason} (netward-mcp-server --help for usage)`);
    }
  }, 30_000);
});
