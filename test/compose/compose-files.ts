// Shared by the compose lab's static checks: the repository root, compose.yaml parsed, and the
// Dockerfiles it builds. No Docker engine is involved anywhere.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

// The `yaml` parser the policy package already depends on (this test package does not list it).
const requireFromPolicy = createRequire(join(REPO_ROOT, 'packages/policy/package.json'));
const YAML = requireFromPolicy('yaml') as { parse(text: string, options?: object): unknown };

export function parseYaml(text: string): unknown {
  return YAML.parse(text, { merge: true, uniqueKeys: true });
}

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string; args?: Record<string, string> } | string;
  volumes?: Array<string | { type: string; source?: string; target: string }>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  depends_on?: Record<string, { condition: string }> | string[];
  restart?: string;
  user?: string;
  read_only?: boolean;
  tmpfs?: string[];
  cap_drop?: string[];
  profiles?: string[];
  networks?: Record<string, { ipv4_address?: string } | null> | string[];
  environment?: Record<string, string>;
}

export interface ComposeFile {
  name?: unknown;
  services: Record<string, ComposeService>;
  networks?: Record<string, unknown>;
  volumes?: Record<string, unknown>;
}

export function loadCompose(): ComposeFile {
  return parseYaml(readFileSync(join(REPO_ROOT, 'compose.yaml'), 'utf8')) as ComposeFile;
}

/** Build context and Dockerfile of a service, both relative to the repository root. */
export function buildOf(service: ComposeService): { context: string; dockerfile: string } | undefined {
  if (service.build === undefined) return undefined;
  const b = typeof service.build === 'string' ? { context: service.build } : service.build;
  const context = b.context.replace(/^\.\/?/, '') || '.';
  const dockerfile = b.dockerfile ?? join(context, 'Dockerfile');
  return { context, dockerfile };
}

export interface CopyInstruction {
  readonly line: number;
  readonly instruction: 'COPY' | 'ADD';
  readonly sources: readonly string[];
}

/** Logical lines of a Dockerfile (continuations joined, comments dropped), with their first line number. */
export function dockerfileLines(text: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  let current: { line: number; text: string } | undefined;
  text.split('\n').forEach((raw, i) => {
    const trimmed = raw.trim();
    if (current === undefined && (trimmed === '' || trimmed.startsWith('#'))) return;
    if (current !== undefined && trimmed.startsWith('#')) return;
    const continues = trimmed.endsWith('\\');
    const part = continues ? trimmed.slice(0, -1) : trimmed;
    if (current === undefined) current = { line: i + 1, text: part };
    else current.text += ` ${part}`;
    if (!continues) {
      out.push(current);
      current = undefined;
    }
  });
  if (current !== undefined) out.push(current);
  return out;
}

/** COPY/ADD instructions that read from the build context (not `--from=` another stage or image). */
export function contextCopies(text: string): CopyInstruction[] {
  const out: CopyInstruction[] = [];
  for (const { line, text: l } of dockerfileLines(text)) {
    const m = /^(COPY|ADD)\s+(.*)$/i.exec(l);
    if (m === null) continue;
    const instruction = m[1]?.toUpperCase() as 'COPY' | 'ADD';
    let rest = m[2] ?? '';
    let fromStage = false;
    for (;;) {
      const flag = /^--([a-z-]+)(=\S+)?\s+/.exec(rest);
      if (flag === null) break;
      if (flag[1] === 'from') fromStage = true;
      rest = rest.slice(flag[0].length);
    }
    if (fromStage) continue;
    const words = rest.trim().startsWith('[') ? (JSON.parse(rest) as string[]) : rest.trim().split(/\s+/);
    out.push({ line, instruction, sources: words.slice(0, -1) });
  }
  return out;
}

/** `ARG NAME=default` values of a Dockerfile. */
export function argDefaults(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const { text: l } of dockerfileLines(text)) {
    const m = /^ARG\s+([A-Za-z_][A-Za-z0-9_]*)=(\S+)$/.exec(l);
    if (m?.[1] !== undefined && m[2] !== undefined) out.set(m[1], m[2]);
  }
  return out;
}

/** The docker-compose v1 client, or undefined when it is not installed. */
export function dockerComposeVersion(): string | undefined {
  try {
    return execFileSync('docker-compose', ['version', '--short'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}
