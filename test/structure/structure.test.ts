// Structure rules the review relies on, checked over the whole tree:
// - a relative import never leaves its workspace package (packages cross only through `@netward/<name>`
//   and its `exports`), and nothing outside a package reaches into one by path;
// - no function in packages/*/src is longer than 80 lines unless the line above says `// long: <why>`;
// - the README's architecture section names every package and carries the current dependency graph;
// - every `exports` entry of a package is built from src/ with its declarations (no test sources);
// - nothing cites notes kept outside the repository.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { packageOf, ROOT, sourceFiles, workspaceDirs } from './workspace.ts';

const MAX_LINES = 80;
const PACKAGES = workspaceDirs();

/** Relative imports of `file` that land in another package, or in a package from outside all of them. */
function crossingImports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const own = packageOf(file, PACKAGES);
  const found: string[] = [];
  for (const ref of ts.preProcessFile(text, true, true).importedFiles) {
    if (!ref.fileName.startsWith('.')) continue;
    const target = resolve(ROOT, dirname(file), ref.fileName).slice(ROOT.length + 1);
    // The root's shared configuration (vitest.shared.ts) belongs to no package and to every one.
    if (!target.includes('/')) continue;
    if (packageOf(target, PACKAGES) !== own || (own === undefined && target.startsWith('packages/'))) {
      found.push(`${file} imports ${ref.fileName}`);
    }
  }
  return found;
}

const FUNCTION_KINDS = new Set([
  ts.SyntaxKind.FunctionDeclaration,
  ts.SyntaxKind.FunctionExpression,
  ts.SyntaxKind.ArrowFunction,
  ts.SyntaxKind.MethodDeclaration,
  ts.SyntaxKind.Constructor,
  ts.SyntaxKind.GetAccessor,
  ts.SyntaxKind.SetAccessor,
]);

/** Functions of `file` longer than MAX_LINES lines whose line above carries no `// long:` reason. */
export function longFunctions(file: string, text = readFileSync(join(ROOT, file), 'utf8')): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const lines = text.split('\n');
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (FUNCTION_KINDS.has(node.kind) && (node as ts.FunctionLikeDeclaration).body !== undefined) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const length = last - first + 1;
      if (length > MAX_LINES && !/^\s*\/\/ long: \S/.test(lines[first - 1] ?? '')) {
        found.push(`${file}:${first + 1} ${length} lines`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function architectureSection(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  return /^## Architecture\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1] ?? '';
}

describe('imports', () => {
  it('no relative import leaves its workspace package (packages/, test/, docker/)', () => {
    const files = ['packages', 'test', 'docker'].flatMap(sourceFiles);
    expect(files.length).toBeGreaterThan(100);
    expect(files.flatMap(crossingImports)).toEqual([]);
  });

  it('catches a relative import of another package’s src/', () => {
    expect(packageOf('packages/lab/src/x.ts', PACKAGES)).toBe('packages/lab');
    const target = resolve(ROOT, 'packages/lab/src', '../../policy/src/index.ts').slice(ROOT.length + 1);
    expect(packageOf(target, PACKAGES)).toBe('packages/policy');
  });
});

type ExportsMap = Record<string, Record<string, string> | string>;

/**
 * `exports` entries of a package that do not point at built code: each subpath is built by
 * scripts/bundle.mjs from a file under src/ into dist/, with its declarations beside it, so no package
 * hands out its test sources or a file only the `netward-source` condition can load.
 */
export function unbuiltExports(dir: string, exports: ExportsMap): string[] {
  const found: string[] = [];
  for (const [subpath, entry] of Object.entries(exports)) {
    const where = `${dir} "${subpath}"`;
    const source = typeof entry === 'string' ? entry : entry['netward-source'];
    if (typeof entry === 'string' || source === undefined || !source.startsWith('./src/')) {
      found.push(`${where}: its source is not under src/`);
      continue;
    }
    const types = `./dist/types/${dir.slice('packages/'.length)}/${source.slice(2).replace(/\.ts$/, '.d.ts')}`;
    if (!/^\.\/dist\/[a-z-]+\.js$/.test(entry['default'] ?? '')) found.push(`${where}: no built default`);
    if (entry['types'] !== types) found.push(`${where}: types is not ${types}`);
  }
  return found;
}

describe('exports', () => {
  it('every entry of every package is built from src/, with its declarations', () => {
    const packages = PACKAGES.filter((d) => d.startsWith('packages/'));
    const found = packages.flatMap((dir) => {
      const pkg = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as {
        exports?: ExportsMap;
      };
      return unbuiltExports(dir, pkg.exports ?? {});
    });
    expect(packages.length).toBeGreaterThan(10);
    expect(found).toEqual([]);
  });

  it('catches an entry that hands out test sources', () => {
    expect(
      unbuiltExports('packages/x', { './testing': { 'netward-source': './test/helpers/index.ts' } }),
    ).toEqual(['packages/x "./testing": its source is not under src/']);
    const built = { 'netward-source': './src/testing/index.ts', default: './dist/testing.js' };
    expect(unbuiltExports('packages/x', { './testing': built })).toEqual([
      'packages/x "./testing": types is not ./dist/types/x/src/testing/index.d.ts',
    ]);
  });
});

describe('functions', () => {
  it(`no function in packages/*/src is longer than ${MAX_LINES} lines without a \`// long:\` reason`, () => {
    const files = sourceFiles('packages').filter((f) => /^packages\/[^/]+\/src\//.test(f));
    expect(files.length).toBeGreaterThan(50);
    expect(files.flatMap((f) => longFunctions(f))).toEqual([]);
  });

  it('measures arrow functions and methods, and honours the reason on the line above', () => {
    const body = Array.from({ length: MAX_LINES }, (_, i) => `  x += ${i};`).join('\n');
    const arrow = `const f = (x: number) => {\n${body}\n  return x;\n};\n`;
    expect(longFunctions('a.ts', arrow)).toEqual([`a.ts:1 ${MAX_LINES + 3} lines`]);
    expect(longFunctions('a.ts', `class C {\n  m(x: number) {\n${body}\n  }\n}\n`)).toHaveLength(1);
    expect(longFunctions('a.ts', `// long: a table of cases\n${arrow}`)).toEqual([]);
    const short = `function g(x: number) {\n${body.split('\n').slice(2).join('\n')}\n}\n`;
    expect(longFunctions('a.ts', short)).toEqual([]);
  });
});

describe('README architecture section', () => {
  const section = architectureSection();

  it('exists', () => {
    expect(section.length).toBeGreaterThan(200);
  });

  it.each(readdirSync(join(ROOT, 'packages')))('names packages/%s', (dir) => {
    expect(section).toContain(`packages/${dir}`);
  });

  it('carries the dependency graph scripts/architecture.mjs prints from the package.json files', () => {
    const run = spawnSync(process.execPath, [join(ROOT, 'scripts/architecture.mjs')], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^```mermaid\n/);
    expect(section).toContain(run.stdout.trim());
  });
});

describe('citations', () => {
  it('nothing cites notes kept outside the repository', () => {
    const run = spawnSync(
      'git',
      [
        'grep',
        '-n',
        '-I',
        '-E',
        // Spelled in parts, so that this file does not match its own search.
        [
          ['LAB', 'NOTES'].join('-'),
          ['shared', 'tacacs-vectors'].join('/'),
          ['/work', 'shared'].join('/'),
        ].join('|'),
        '--',
        '.',
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(run.stdout.split('\n').filter(Boolean)).toEqual([]);
  });
});
