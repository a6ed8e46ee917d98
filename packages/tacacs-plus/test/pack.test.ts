// The library as people get it: `pnpm pack`, installed into a fresh project outside the workspace,
// a TypeScript program compiled against its declarations (no netward-source condition, no workspace
// package), run against our server. The client entry must not carry the server.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTacacsServer, type TacacsServer } from '../src/index.ts';
import { memoryLogger } from './helpers.ts';

const PKG = fileURLToPath(new URL('..', import.meta.url));
const ROOT = join(PKG, '..', '..');
const KEY = 'pack-test-key';

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** dist/ as `pnpm build` leaves it; rebuilt here when a source is newer (scripts/test.sh builds first). */
function ensureBuilt(): void {
  let built = 0;
  try {
    built = statSync(join(PKG, 'dist', 'client.js')).mtimeMs;
  } catch {}
  const sources = Math.max(newest(join(PKG, 'src')), newest(join(ROOT, 'packages', 'audit-context', 'src')));
  if (built < sources) execFileSync('pnpm', ['-s', 'build'], { cwd: PKG, stdio: 'pipe' });
}

const version = (name: string) =>
  (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string })
    .version;

const CONSUMER = `import { TacacsClient, type AuthorizationResult } from '@netward/tacacs-plus/client';
import { AuthorStatus, decodeAuthorRequest, encodeAuthorRequest } from '@netward/tacacs-plus/protocol';

const client = new TacacsClient({
  servers: [{ host: '127.0.0.1', port: Number(process.env['TACACS_PORT']), key: process.env['TACACS_KEY'] ?? '' }],
});
const permit: AuthorizationResult = await client.authorize({ user: 'net-viewer', cmd: 'show', args: ['version'] });
const deny: AuthorizationResult = await client.authorize({ user: 'net-viewer', cmd: 'reboot' });
await client.close();
const body = encodeAuthorRequest({
  authenMethod: 6, privLvl: 1, authenType: 1, authenService: 1,
  user: 'u', port: 'ssh', remAddr: '', args: ['service=shell', 'cmd=show'],
});
const server = await import('@netward/tacacs-plus');
console.log(JSON.stringify({
  permit: permit.status,
  deny: deny.status,
  fail: AuthorStatus.FAIL,
  args: decodeAuthorRequest(body).args,
  serverExported: typeof server.createTacacsServer,
}));
`;

// A program that must not compile: the declarations are real types, not any.
const WRONG = `import { TacacsClient } from '@netward/tacacs-plus/client';
const n: number = new TacacsClient({ servers: [] }).authorize({ user: 1 });
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    outDir: 'out',
    types: ['node'],
  },
  files: ['consumer.ts', 'wrong.ts'],
};

describe('@netward/tacacs-plus packed and installed outside the workspace', () => {
  let dir: string;
  let tarball: string;
  let server: TacacsServer;
  let port: number;

  beforeAll(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'netward-pack-'));
    execFileSync('pnpm', ['pack', '--pack-destination', dir], { cwd: PKG, stdio: 'pipe' });
    tarball = join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz')) as string);
    server = createTacacsServer({
      key: KEY,
      logger: memoryLogger().logger,
      handlers: {
        authorize: (req) =>
          req.user === 'net-viewer' && /^show( |$)/.test(req.commandLine)
            ? { status: 'PASS_ADD' }
            : { status: 'FAIL' },
      },
    });
    ({ port } = await server.listen({ host: '127.0.0.1', port: 0 }));
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('holds the built files and declarations, not the sources or tests', () => {
    const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).trim().split('\n');
    for (const f of ['dist/index.js', 'dist/client.js', 'dist/protocol.js', 'dist/tacacs-plus.js']) {
      expect(files).toContain(`package/${f}`);
    }
    const manifest = JSON.parse(
      execFileSync('tar', ['xzf', tarball, '-O', 'package/package.json'], { encoding: 'utf8' }),
    );
    for (const entry of Object.values(manifest.exports) as { types: string; default: string }[]) {
      expect(files).toContain(`package/${entry.types.slice(2)}`);
      expect(files).toContain(`package/${entry.default.slice(2)}`);
    }
    expect(files.filter((f) => f.startsWith('package/src/') || f.startsWith('package/test/'))).toEqual([]);
    // Nothing a consumer cannot install: workspace packages are compiled in.
    expect(Object.keys(manifest.dependencies ?? {}).filter((d) => d.startsWith('@netward/'))).toEqual([]);
  });

  it('the client entry carries neither the server nor its logger', () => {
    const client = readFileSync(join(PKG, 'dist', 'client.js'), 'utf8');
    expect(client).toMatch(/export \{[^}]*\bTacacsClient\b/);
    expect(client).not.toContain('createServer');
    expect(client).not.toMatch(/from ['"]pino['"]/);
    const full = readFileSync(join(PKG, 'dist', 'index.js'), 'utf8');
    expect(full).toContain('createServer');
  });

  it('installs into a fresh project, compiles against the declarations and authorizes against our server', async () => {
    const project = join(dir, 'consumer');
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    execFileSync(
      'pnpm',
      [
        'add',
        tarball,
        `typescript@${version('typescript')}`,
        `@types/node@${version('@types/node')}`,
        '--prefer-offline',
      ],
      { cwd: project, stdio: 'pipe' },
    );
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(TSCONFIG));
    writeFileSync(join(project, 'consumer.ts'), CONSUMER);
    writeFileSync(join(project, 'wrong.ts'), WRONG);
    const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc');
    // One compiler run for both: wrong.ts must fail (the declarations are real types, not any), consumer.ts
    // must not, and it is emitted all the same.
    let diagnostics = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', '.'], { cwd: project, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      diagnostics = String((e as { stdout?: string }).stdout);
    }
    const errors = diagnostics.split('\n').filter((l) => l.includes('error TS'));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.filter((l) => !l.startsWith('wrong.ts('))).toEqual([]);
    expect(diagnostics).toMatch(/wrong\.ts\(2,7\): error TS2322/);
    // Asynchronously: our server runs in this process and must answer while the program runs.
    const { stdout: out } = await promisify(execFile)(process.execPath, ['out/consumer.js'], {
      cwd: project,
      encoding: 'utf8',
      env: { ...process.env, TACACS_PORT: String(port), TACACS_KEY: KEY, NODE_OPTIONS: '' },
    });
    expect(JSON.parse(out)).toEqual({
      permit: 'PASS_ADD',
      deny: 'FAIL',
      fail: 0x10,
      args: ['service=shell', 'cmd=show'],
      serverExported: 'function',
    });
  }, 180_000);
});
