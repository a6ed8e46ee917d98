// `@netward/policy/local-rules`, the path the ForceCommand validator loads once per SSH command: it must
// bundle without full zod or yaml, stay small, work from the bundle alone, and refuse exactly what the
// full-zod parser it replaced refused, with the same issues.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { build } from 'esbuild';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import * as main from '../src/index.ts';
import * as lean from '../src/local-rules/index.ts';

const ROOT = resolve(import.meta.dirname, '..');
// The lean bundle measured 63.6 kB here (zod/mini's core and its English messages are most of it); the
// main entry bundles to 1.08 MB. The bound leaves room for growth but not for full zod (~0.8 MB).
const MAX_BUNDLE_BYTES = 100_000;

// As the validator is built: one self-contained ESM bundle (scripts/bundle.mjs --self-contained), entered
// through the package name so the "exports" map of package.json is what is tested.
async function bundle(contents: string) {
  const result = await build({
    stdin: { contents, resolveDir: ROOT, sourcefile: 'entry.ts', loader: 'ts' },
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['netward-source'],
    logLevel: 'silent',
  });
  // Modules that contribute bytes to the output (esbuild also lists modules it read and tree-shook away).
  const out = Object.values(result.metafile.outputs)[0];
  const inputs = Object.entries(out?.inputs ?? {})
    .filter(([, v]) => v.bytesInOutput > 0)
    .map(([f]) => relative(ROOT, resolve(process.cwd(), f)));
  return { inputs, text: result.outputFiles[0]?.text ?? '' };
}

describe('@netward/policy/local-rules bundle', () => {
  it('holds only the rule parser, the regex subset, the error shape and zod/mini: no full zod, no yaml', async () => {
    const { inputs, text } = await bundle(
      "export { commandString, decideLocal, parseLocalRules } from '@netward/policy/local-rules';",
    );
    const own = inputs.filter((f) => !f.includes('node_modules/') && f !== 'entry.ts').sort();
    // The shared error shape (@netward/errors: no dependencies) is compiled in.
    expect(own).toEqual([
      '../errors/src/index.ts',
      'src/decide.ts',
      'src/errors.ts',
      'src/json-file.ts',
      'src/local-rules/rules.ts',
      'src/names.ts',
      'src/regex.ts',
    ]);
    const deps = inputs.filter((f) => f.includes('node_modules/'));
    // zod's full API lives in v4/classic; zod/mini is v4/mini over the shared v4/core.
    expect(
      deps.filter((f) => !/node_modules\/zod\/v4\/(core|mini)\/|zod\/v4\/locales\/en\.js$/.test(f)),
    ).toEqual([]);
    expect(deps.some((f) => f.includes('zod/v4/mini/'))).toBe(true);
    expect(text).not.toMatch(/\$constructor\("ZodObject"/);
    expect(text).toMatch(/\$constructor\("ZodMiniObject"/);
    expect(text.length).toBeLessThan(MAX_BUNDLE_BYTES);
  });

  it('the main entry still bundles everything (the bound above means something)', async () => {
    const { text } = await bundle("export * from '@netward/policy';");
    expect(text).toMatch(/\$constructor\("ZodObject"/);
    expect(text.length).toBeGreaterThan(5 * MAX_BUNDLE_BYTES);
  });

  it('decides and words its refusals from the bundle alone, in a process without full zod', async () => {
    // A separate node process: zod keeps its configuration (and the English messages full zod installs
    // when it loads) on globalThis, so only a process that never loads full zod shows what the validator
    // would print.
    const { text } = await bundle(
      "export { commandString, decideLocal, parseLocalRules } from '@netward/policy/local-rules';",
    );
    const policy = main.defaultPolicy();
    const commands = [
      main.commandString('show', ['bgp', 'summary']),
      main.commandString('vtysh', ['-c', 'configure terminal']),
      'ip link set dev eth0 down /show',
      'ping -c 3 192.0.2.1',
      'ip addr',
      'reboot',
    ];
    const roles = ['net-viewer', 'net-operator', 'net-admin', 'nobody'];
    const bad = [
      { version: 1, roles: {}, x: 1 },
      { version: 2, roles: [] },
      { version: 1, roles: { 'Bad Name': { rules: [{ action: 'allow', match: '' }], default: 'permit' } } },
      { version: 1, roles: { r: { rules: [{ action: 'deny' }], default: 'deny' } } },
    ];
    const dir = mkdtempSync(join(tmpdir(), 'policy-lean-'));
    try {
      writeFileSync(join(dir, 'local-rules.mjs'), text);
      writeFileSync(
        join(dir, 'run.mjs'),
        `import { decideLocal, parseLocalRules } from './local-rules.mjs';
const input = JSON.parse(process.argv[2]);
const rules = parseLocalRules(input.rules, 'rules.json');
const decisions = input.roles.flatMap((r) => input.commands.map((c) => decideLocal(rules, r, c)));
const refusals = input.bad.map((d) => {
  try { parseLocalRules(JSON.stringify(d), 'bad.json'); return null; }
  catch (e) { return { code: e.code, issues: e.issues.map((i) => ({ path: i.path, message: i.message })) }; }
});
process.stdout.write(JSON.stringify({ decisions, refusals, zodLoaded: globalThis.__zod_globalConfig?.localeError !== undefined }));
`,
      );
      const input = { rules: main.renderLocalRules(policy), roles, commands, bad };
      const r = spawnSync(process.execPath, [join(dir, 'run.mjs'), JSON.stringify(input)], {
        env: { PATH: process.env['PATH'] ?? '' },
        encoding: 'utf8',
      });
      expect(r.stderr).toBe('');
      const out = JSON.parse(r.stdout) as {
        decisions: unknown[];
        refusals: { code: string; issues: unknown[] }[];
        zodLoaded: boolean;
      };
      expect(out.zodLoaded).toBe(false);
      expect(out.decisions).toEqual(
        roles.flatMap((role) => commands.map((c) => main.decide(policy, role, c))),
      );
      expect(out.refusals.map((x) => x.code)).toEqual(bad.map(() => 'ERR_POLICY_LOCAL_RULES_INVALID'));
      expect(out.refusals.map((x) => x.issues)).toEqual(bad.map((d) => oracleIssues(d)));
      expect(out.refusals[0]?.issues).toEqual([{ path: '', message: 'Unrecognized key: "x"' }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('one implementation', () => {
  it('the main entry re-exports the lean functions themselves', () => {
    expect(main.parseLocalRules).toBe(lean.parseLocalRules);
    expect(main.decideLocal).toBe(lean.decideLocal);
    expect(main.commandString).toBe(lean.commandString);
    expect(main.parseGrammarFile).toBe(lean.parseGrammarFile);
  });
});

// The schema parseLocalRules had with full zod before the lean path, kept here as the oracle: the zod/mini
// schema must accept and refuse the same documents with the same issues (path and message).
const ORACLE = z.strictObject({
  version: z.literal(1),
  roles: z.record(
    z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'expected an account name'),
    z.strictObject({
      rules: z.array(
        z.strictObject({ action: z.enum(['permit', 'deny']), match: z.string().min(1).max(256).nullable() }),
      ),
      default: z.literal('deny'),
    }),
  ),
});

function oracleIssues(data: unknown): { path: string; message: string }[] | null {
  const r = ORACLE.safeParse(JSON.parse(JSON.stringify(data)));
  if (r.success) return null;
  return r.error.issues.map((i) => ({
    path: i.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, ''),
    message: i.message,
  }));
}

function leanIssues(data: unknown): { path: string; message: string }[] | null {
  try {
    lean.parseLocalRules(JSON.stringify(data), 'x.json');
    return null;
  } catch (err) {
    const e = err as main.PolicyError;
    expect(e.code).toBe('ERR_POLICY_LOCAL_RULES_INVALID');
    // refused patterns are checked after the schema, by the regex subset, in both versions
    if (e.issues.every((i) => i.code !== 'schema')) return null;
    return e.issues.map((i) => ({ path: i.path, message: i.message }));
  }
}

describe('zod/mini schema equals the full-zod schema it replaced', () => {
  it.each([
    ['valid', { version: 1, roles: { r: { rules: [{ action: 'permit', match: null }], default: 'deny' } } }],
    ['wrong version', { version: 2, roles: {} }],
    ['version as string', { version: '1', roles: {} }],
    ['unknown keys', { version: 1, roles: {}, extra: 1, more: 2 }],
    ['default permit', { version: 1, roles: { r: { rules: [], default: 'permit' } } }],
    ['bad role name', { version: 1, roles: { 'Bad Name': { rules: [], default: 'deny' } } }],
    ['missing match', { version: 1, roles: { r: { rules: [{ action: 'deny' }], default: 'deny' } } }],
    [
      'empty match',
      { version: 1, roles: { r: { rules: [{ action: 'deny', match: '' }], default: 'deny' } } },
    ],
    [
      'long match',
      { version: 1, roles: { r: { rules: [{ action: 'deny', match: 'a'.repeat(257) }], default: 'deny' } } },
    ],
    [
      'bad action',
      { version: 1, roles: { r: { rules: [{ action: 'allow', match: 'x' }], default: 'deny' } } },
    ],
    ['rules not an array', { version: 1, roles: { r: { rules: {}, default: 'deny' } } }],
    ['roles an array', { version: 1, roles: [] }],
    ['null', null],
    ['array', []],
    ['number', 3],
  ])('%s', (_name, data) => {
    expect(leanIssues(data)).toEqual(oracleIssues(data));
  });

  it('on generated near-miss documents', () => {
    const name = fc.oneof(
      fc.constantFrom('net-viewer', '_x', 'r', '__proto__', 'Bad', '', 'a b'),
      fc.string(),
    );
    const value = fc.oneof(
      fc.constant(null),
      fc.boolean(),
      fc.integer({ min: -1, max: 3 }),
      fc.constantFrom('permit', 'deny', 'show', '', 'a'.repeat(257)),
    );
    const rule = fc.dictionary(
      fc.constantFrom('action', 'match', 'extra'),
      fc.oneof(value, fc.constantFrom('permit', 'deny', 'show', '(^|/)ip($| )')),
    );
    const role = fc.dictionary(
      fc.constantFrom('rules', 'default', 'extra'),
      fc.oneof(value, fc.array(fc.oneof(rule, value), { maxLength: 3 }), fc.constant('deny')),
    );
    const doc = fc.oneof(
      fc.record({ version: fc.constantFrom(1, 2, '1'), roles: fc.dictionary(name, fc.oneof(role, value)) }),
      fc.dictionary(
        fc.constantFrom('version', 'roles', 'x'),
        fc.oneof(value, fc.dictionary(name, role), fc.constant(1)),
      ),
    );
    fc.assert(
      fc.property(doc, (d) => {
        expect(leanIssues(d)).toEqual(oracleIssues(d));
      }),
      { numRuns: 500 },
    );
  });
});
