// Type declarations for a package's library entries, written under its dist/types/ (used by bundle.mjs).
//
// One TypeScript program from the entry sources, with the workspace's compiler options and the
// netward-source condition, so workspace dependencies are read from their sources and need no build
// first. Declarations keep the layout under packages/ (dist/types/<package dir>/src/...), the package's
// own and those of the workspace packages it uses, and their import specifiers are rewritten so the
// result stands alone: `./x.ts` becomes `./x.js` (which TypeScript resolves to `./x.d.ts`), and
// `@netward/<name>[/<subpath>]` becomes the relative path of that entry's declaration.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const root = resolve(import.meta.dirname, '..');
const packagesDir = join(root, 'packages');

/** '@netward/x' and '@netward/x/sub' → the source file of that export. */
function workspaceEntries() {
  const map = new Map();
  for (const dir of readdirSync(packagesDir)) {
    let pkg;
    try {
      pkg = JSON.parse(readFileSync(join(packagesDir, dir, 'package.json'), 'utf8'));
    } catch {
      continue;
    }
    for (const [sub, e] of Object.entries(pkg.exports ?? {})) {
      const source = typeof e === 'object' ? e['netward-source'] : undefined;
      if (typeof source === 'string') {
        map.set(sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`, join(packagesDir, dir, source));
      }
    }
  }
  return map;
}

export function emitDeclarations(pkgDir, sources) {
  const outDir = join(pkgDir, 'dist', 'types');
  const base = ts.readConfigFile(join(root, 'tsconfig.base.json'), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(base.config, ts.sys, root);
  const options = {
    ...parsed.options,
    noEmit: false,
    declaration: true,
    emitDeclarationOnly: true,
    outDir,
    rootDir: packagesDir,
  };
  const roots = sources.map((s) => join(pkgDir, s));
  const first = ts.createProgram(roots, options);
  // Workspace sources reached through node_modules/@netward/* count as an external library, whose
  // declarations TypeScript does not write; as root files they are written like the package's own.
  const workspace = first
    .getSourceFiles()
    .filter((f) => !f.isDeclarationFile && first.isSourceFileFromExternalLibrary(f))
    .map((f) => f.fileName)
    .filter(
      (f) => resolve(f).startsWith(packagesDir + sep) && !resolve(f).includes(`${sep}node_modules${sep}`),
    );
  const program =
    workspace.length > 0 ? ts.createProgram([...roots, ...workspace], options, undefined, first) : first;
  const entries = workspaceEntries();
  const written = [];
  const result = program.emit(undefined, (fileName, text) => {
    const outFile = resolve(fileName);
    const rewritten = text.replace(
      /((?:from|import)\s*\(?\s*)(['"])([^'"]+)\2/g,
      (whole, lead, quote, spec) => {
        if (spec.startsWith('.') && spec.endsWith('.ts'))
          return `${lead}${quote}${spec.slice(0, -3)}.js${quote}`;
        if (entries.has(spec)) {
          const source = entries.get(spec);
          const target = join(outDir, relative(packagesDir, source)).replace(/\.ts$/, '.js');
          let rel = relative(dirname(outFile), target).split(sep).join('/');
          if (!rel.startsWith('.')) rel = `./${rel}`;
          return `${lead}${quote}${rel}${quote}`;
        }
        if (spec.startsWith('@netward/')) {
          throw new Error(`${fileName}: no exports entry for ${spec}`);
        }
        return whole;
      },
    );
    mkdirSync(dirname(outFile), { recursive: true });
    writeFileSync(outFile, rewritten);
    written.push(outFile);
  });
  const errors = result.diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length > 0 || result.emitSkipped) {
    const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
    console.error(ts.formatDiagnostics(errors, host));
    throw new Error(`declarations for ${pkgDir}: ${errors.length} errors`);
  }
  return written;
}
