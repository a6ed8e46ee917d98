// Reading a policy file: YAML -> zod -> cross-field checks -> regex subset -> one frozen Policy.
import { readFileSync } from 'node:fs';
import {
  formatPath,
  KitError,
  type ParsedText,
  type PathPart,
  parseConfigText,
  toIssues,
} from '@netward/kit';
import { compileRoles } from './decide.ts';
import { DEFAULT_POLICY_FILE, DEFAULT_POLICY_YAML } from './default-policy.ts';
import { formatIssues, PolicyError, type PolicyIssue } from './errors.ts';
import type { GrammarSet } from './grammar/file.ts';
import { type GrammarEntry, GrammarSpecError, parseEntry, variantPattern } from './grammar/spec.ts';
import { patternProblem } from './regex.ts';
import { type PolicyFile, policyFileSchema } from './schema.ts';
import type { DeviceAttributes, DeviceInfo, Policy, Role, Rule, Tool } from './types.ts';

/**
 * Parses and validates a policy. Throws PolicyError ERR_POLICY_INVALID listing every issue found, each with
 * the path in the file, its line when known, and what was expected.
 */
export function parsePolicy(yamlText: string, fileName: string): Policy {
  const { file, locate, fail } = readPolicyFile(yamlText, fileName);
  const issues: PolicyIssue[] = [];
  const add: AddIssue = (code, path, message) =>
    issues.push({ code, path: formatPath(path), ...locate(path), message });
  const unique = uniqueNames(add);
  const sets = checkGrammarSets(file, add, unique);
  file.roles.forEach((r, i) => {
    checkRole(file, sets, r, i, add, unique);
  });
  file.tools.forEach((t, i) => {
    unique('tool name', t.name, ['tools', i, 'name']);
  });
  if (issues.length > 0) fail(issues);
  const policy = buildPolicy(file, sets, fileName);
  compileRoles(policy);
  return policy;
}

type Located = { line?: number; column?: number };
type AddIssue = (code: PolicyIssue['code'], path: PathPart[], message: string) => void;
type Unique = (kind: string, value: string, path: PathPart[]) => void;

/**
 * The policy file read as YAML and checked against the schema, with what finds a path's line in it
 * and what throws the issues found. Syntax and schema problems end here.
 */
function readPolicyFile(
  yamlText: string,
  fileName: string,
): {
  file: PolicyFile;
  locate: (path: readonly PathPart[]) => Located;
  fail: (issues: PolicyIssue[]) => never;
} {
  const fail = (unsorted: PolicyIssue[]): never => {
    // In file order, so the message reads top to bottom.
    const issues = [...unsorted].sort(
      (a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0),
    );
    throw new PolicyError(
      'ERR_POLICY_INVALID',
      `invalid policy file ${fileName}:\n${formatIssues(fileName, issues)}`,
      { file: fileName, issues },
    );
  };

  // The kit's one YAML option set: no duplicate keys, tags, merge keys or aliases (the billion-laughs
  // vector; a policy has no use for them).
  let text: ParsedText;
  try {
    text = parseConfigText(yamlText, fileName);
  } catch (err) {
    if (!(err instanceof KitError)) throw err;
    return fail(err.issues.map((i) => ({ code: 'syntax' as const, ...i })));
  }
  const { value: data, locate } = text;
  const parsed = policyFileSchema.safeParse(data);
  if (!parsed.success) {
    fail(toIssues(parsed.error.issues, locate).map((i) => ({ code: 'schema' as const, ...i })));
  }
  return { file: (parsed as { data: PolicyFile }).data, locate, fail };
}

/** Records each name of a kind once; a second use is a `duplicate` issue naming the first. */
function uniqueNames(add: AddIssue): Unique {
  const seen = new Map<string, string>();
  return (kind: string, value: string, path: PathPart[]) => {
    const key = `${kind}\0${value}`;
    const first = seen.get(key);
    if (first !== undefined) add('duplicate', path, `duplicate ${kind} "${value}" (first at ${first})`);
    else seen.set(key, formatPath(path));
  };
}

/** Grammar sets: every entry in the language, and each of its variants one rule tac_plus-ng can run. */
function checkGrammarSets(file: PolicyFile, add: AddIssue, unique: Unique): Map<string, GrammarSet> {
  const sets = new Map<string, GrammarSet>();
  (file.grammars ?? []).forEach((g, i) => {
    unique('grammar set', g.name, ['grammars', i, 'name']);
    const entries: GrammarEntry[] = [];
    g.commands.forEach((spec, k) => {
      let entry: GrammarEntry;
      try {
        entry = parseEntry(spec);
      } catch (e) {
        if (!(e instanceof GrammarSpecError)) throw e;
        add('grammar', ['grammars', i, 'commands', k], e.message);
        return;
      }
      for (const v of entry.variants) {
        const problem = patternProblem(variantPattern(v));
        if (problem !== null) {
          add(
            'grammar',
            ['grammars', i, 'commands', k],
            `too complex for one tac_plus-ng rule (${problem.message}): split it into several entries`,
          );
          return;
        }
      }
      entries.push(entry);
    });
    sets.set(
      g.name,
      Object.freeze({ name: g.name, scope: g.scope, class: g.class, entries: Object.freeze(entries) }),
    );
  });

  return sets;
}

/** One role: its names unique, exactly one of rules and grammar, grammar sets within its scopes, patterns. */
function checkRole(
  file: PolicyFile,
  sets: ReadonlyMap<string, GrammarSet>,
  r: PolicyFile['roles'][number],
  i: number,
  add: AddIssue,
  unique: Unique,
): void {
  unique('role name', r.name, ['roles', i, 'name']);
  if ((r.rules === undefined) === (r.grammar === undefined)) {
    add(
      'inconsistent',
      ['roles', i],
      'expected exactly one of rules (hand-written patterns) and grammar (names of grammar sets)',
    );
  }
  r.grammar?.forEach((name, k) => {
    const set = sets.get(name);
    if (set === undefined) {
      const s = file.grammars?.find((g) => g.name === name);
      if (s === undefined) add('grammar', ['roles', i, 'grammar', k], `unknown grammar set "${name}"`);
    } else if (!r.scopes.includes(set.scope)) {
      add(
        'inconsistent',
        ['roles', i, 'grammar', k],
        `grammar set "${name}" needs scope ${set.scope}, which the role does not grant (the device layer must not allow more than the MCP layer)`,
      );
    }
  });
  unique('idpRole', r.idpRole ?? r.name, ['roles', i, r.idpRole === undefined ? 'name' : 'idpRole']);
  unique('tacacs group', r.tacacs?.group ?? r.name, ['roles', i, 'tacacs', 'group']);
  unique('tacacs profile', r.tacacs?.profile ?? `${r.name}-profile`, ['roles', i, 'tacacs', 'profile']);
  if (r.certificate.ttlSeconds > r.certificate.maxTtlSeconds) {
    add('inconsistent', ['roles', i, 'certificate', 'ttlSeconds'], 'expected ttlSeconds <= maxTtlSeconds');
  }
  const ext = new Set<string>();
  r.certificate.extensions.forEach((e, k) => {
    if (ext.has(e))
      add('duplicate', ['roles', i, 'certificate', 'extensions', k], `duplicate extension "${e}"`);
    ext.add(e);
  });
  const scopes = new Set<string>();
  r.scopes.forEach((s, k) => {
    if (scopes.has(s)) add('duplicate', ['roles', i, 'scopes', k], `duplicate scope "${s}"`);
    scopes.add(s);
  });
  const rules = r.rules ?? [];
  rules.forEach((rule, k) => {
    if (rule.match === undefined) {
      if (k < rules.length - 1) {
        add(
          'inconsistent',
          ['roles', i, 'rules', k],
          'a rule without match applies to every command, so the rules after it can never apply (expected it last)',
        );
      }
      return;
    }
    const problem = patternProblem(rule.match);
    if (problem !== null) add(problem.issue, ['roles', i, 'rules', k, 'match'], problem.message);
  });
}

/** The frozen Policy of a checked file: defaults filled in, grammar roles' rules rendered from their sets. */
function buildPolicy(file: PolicyFile, sets: ReadonlyMap<string, GrammarSet>, fileName: string): Policy {
  const roles: Role[] = file.roles.map((r) => {
    const role: Role = {
      name: r.name,
      idpRole: r.idpRole ?? r.name,
      scopes: Object.freeze([...r.scopes]),
      certificate: Object.freeze({
        ttlSeconds: r.certificate.ttlSeconds,
        maxTtlSeconds: r.certificate.maxTtlSeconds,
        extensions: Object.freeze([...r.certificate.extensions]),
      }),
      rules: Object.freeze(
        r.grammar === undefined
          ? (r.rules ?? []).map((x): Rule => Object.freeze({ action: x.action, match: x.match ?? null }))
          : grammarRules(r.grammar.map((n) => sets.get(n) as GrammarSet)),
      ),
      ...(r.grammar === undefined ? {} : { grammar: Object.freeze([...r.grammar]) }),
      tacacs: Object.freeze({
        group: r.tacacs?.group ?? r.name,
        profile: r.tacacs?.profile ?? `${r.name}-profile`,
      }),
      ...(r.devices === undefined ? {} : { devices: freezeDevices(r.devices) }),
    };
    return Object.freeze(role);
  });
  const tools: Tool[] = file.tools.map((t) =>
    Object.freeze({
      name: t.name,
      scope: t.scope,
      description: t.description,
      ...(t.command === undefined ? {} : { command: t.command }),
      ...(t.unsafe === undefined ? {} : { unsafe: t.unsafe }),
    }),
  );
  return Object.freeze({
    grammars: Object.freeze([...sets.values()]),
    roles: Object.freeze(roles),
    tools: Object.freeze(tools),
    source: fileName,
  });
}

/**
 * The rules a grammar role is rendered to: one anchored permit per variant of each entry (an optional
 * group present or absent), in grammar order; no match denies. `variantPattern` builds each pattern from
 * the same value patterns the validator's matcher uses, and `netward-policy check` compares the two on
 * generated commands.
 */
export function grammarRules(sets: readonly GrammarSet[]): Rule[] {
  const out: Rule[] = [];
  const seen = new Set<string>();
  for (const set of sets) {
    for (const entry of set.entries) {
      for (const v of entry.variants) {
        const match = variantPattern(v);
        if (seen.has(match)) continue;
        seen.add(match);
        out.push(Object.freeze({ action: 'permit', match }));
      }
    }
  }
  return out;
}

function freezeDevices(d: {
  site?: string[] | undefined;
  tenant?: string[] | undefined;
  vendor?: string[] | undefined;
}): DeviceAttributes {
  const out: { site?: readonly string[]; tenant?: readonly string[]; vendor?: readonly string[] } = {};
  if (d.site) out.site = Object.freeze([...d.site]);
  if (d.tenant) out.tenant = Object.freeze([...d.tenant]);
  if (d.vendor) out.vendor = Object.freeze([...d.vendor]);
  return Object.freeze(out);
}

/** Reads and parses a policy file; errors name the file as given. */
export function loadPolicy(file: string): Policy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new PolicyError('ERR_POLICY_READ', `cannot read policy file ${file}`, { file, cause: err });
  }
  return parsePolicy(text, file);
}

let defaultCache: Policy | undefined;

/** The policy shipped with the package (policy/default.yaml, embedded at build time). Parsed once. */
export function defaultPolicy(): Policy {
  defaultCache ??= parsePolicy(DEFAULT_POLICY_YAML, DEFAULT_POLICY_FILE);
  return defaultCache;
}

export function roleByName(policy: Policy, name: string): Role | undefined {
  return policy.roles.find((r) => r.name === name);
}

export function roleByIdpRole(policy: Policy, idpRole: string): Role | undefined {
  return policy.roles.find((r) => r.idpRole === idpRole);
}

/** Tools whose scope is among `scopes`, in policy order. */
export function toolsForScopes(policy: Policy, scopes: readonly string[]): Tool[] {
  const set = new Set(scopes);
  return policy.tools.filter((t) => set.has(t.scope));
}

/**
 * Whether `role` may reach `device`. For each attribute the role is limited on, the device must have that
 * attribute and its value must be listed; a device whose attribute is unknown is refused (fail closed).
 */
export function deviceAllowed(role: Role, device: DeviceInfo): boolean {
  const limits = role.devices;
  if (limits === undefined) return true;
  for (const key of ['site', 'tenant', 'vendor'] as const) {
    const allowed = limits[key];
    if (allowed === undefined) continue;
    const value = device[key];
    if (value === undefined || !allowed.includes(value)) return false;
  }
  return true;
}
