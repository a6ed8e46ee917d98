// netward-policy: explain a decision, check deployed artifacts and cross-layer drift, render one artifact.
// The I/O is injected so tests run the real command lines in-process.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { commandString, decide } from '../decide.ts';
import { checkDeployed, checkDrift, TARGETS, type Target } from '../drift.ts';
import { PolicyError } from '../errors.ts';
import { findHoles, grammarAgreement, roleGrammar, rolesWithoutGrammar } from '../grammar/check.ts';
import { matchGrammar } from '../grammar/file.ts';
import { defaultPolicy, loadPolicy, roleByName } from '../load.ts';
import { renderGrammar } from '../render/grammar.ts';
import { renderLocalRules } from '../render/local-rules.ts';
import { renderBrokerRoles, renderIdp, renderKeycloakRealm, renderMcpTools } from '../render/services.ts';
import { renderTacPlusNg, type TacPlusNgOptions } from '../render/tac-plus-ng.ts';
import type { Policy } from '../types.ts';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly readFile: (file: string) => string;
  readonly writeFile: (file: string, text: string) => void;
}

export const processIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  readFile: (f) => readFileSync(f, 'utf8'),
  writeFile: (f, t) => writeFileSync(f, t, { mode: 0o644 }),
};

/** Exit codes: documented in the README and relied on by scripts. */
export const EXIT = {
  ok: 0,
  /** explain: the command is denied; check: a deployed file differs, a hole or a disagreement between
   *  grammar and rules (or warnings with --strict). */
  denyOrMismatch: 1,
  /** Bad usage, unreadable or invalid policy. */
  usage: 2,
} as const;

const USAGE = `usage:
  netward-policy explain [--policy FILE] --role ROLE [--json] (--command 'CMD ARGS' | -- CMD [ARG...])
  netward-policy check   [--policy FILE] [--strict] [--json]
                         [--tac-plus-ng FILE] [--local-rules FILE] [--grammar FILE] [--broker FILE] [--mcp FILE]
                         [--idp FILE] [--keycloak-realm FILE]
  netward-policy render  [--policy FILE] --target ${TARGETS.join('|')} [--out FILE]
                         [--key-file FILE] [--listen ADDR:PORT] [--log-dir DIR] [--device NAME=ADDR]   (tac_plus-ng)
                         [--realm NAME]                                                                 (keycloak-realm)
Without --policy the shipped default policy is used.
`;

class UsageError extends Error {}

function policyFrom(file: string | undefined): Policy {
  return file === undefined ? defaultPolicy() : loadPolicy(file);
}

function explain(argv: string[], io: CliIo): number {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      policy: { type: 'string' },
      role: { type: 'string' },
      command: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.role === undefined) throw new UsageError('explain needs --role');
  let command: string;
  if (values.command !== undefined) {
    if (positionals.length > 0)
      throw new UsageError('give the command either with --command or after --, not both');
    command = values.command;
  } else {
    const [cmd, ...args] = positionals;
    if (cmd === undefined)
      throw new UsageError('explain needs a command: --command STRING or -- CMD [ARG...]');
    command = commandString(cmd, args);
  }
  const policy = policyFrom(values.policy);
  const d = decide(policy, values.role, command);
  const known = roleByName(policy, values.role) !== undefined;
  // The validator parses the request against the role's grammar before the rules are asked.
  const sets = roleGrammar(policy, values.role);
  const g = sets === null ? null : matchGrammar(sets, command.split(' '));
  if (values.json) {
    io.stdout(
      `${JSON.stringify({ ...d, command, knownRole: known, ...(g === null ? {} : { grammar: g }) })}\n`,
    );
  } else {
    const why =
      d.rule === null
        ? known
          ? 'no rule matched: default deny'
          : `unknown role "${values.role}" in ${policy.source}: deny`
        : `rule #${d.ruleIndex}: ${d.rule.action} ${d.rule.match === null ? '(every command)' : `/${d.rule.match}/`}`;
    io.stdout(
      `role:     ${values.role}\ncommand:  ${command}\ndecision: ${d.decision.toUpperCase()}\nbecause:  ${why}\n`,
    );
    if (g !== null) io.stdout(`grammar:  ${g.matched ? `${g.set}: "${g.entry}"` : g.reason}\n`);
  }
  return d.decision === 'permit' ? EXIT.ok : EXIT.denyOrMismatch;
}

const CHECK_FILES: Record<string, Target> = {
  'tac-plus-ng': 'tac_plus-ng',
  'local-rules': 'local-rules',
  grammar: 'grammar',
  broker: 'broker',
  mcp: 'mcp',
  idp: 'idp',
  'keycloak-realm': 'keycloak-realm',
};

function check(argv: string[], io: CliIo): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      policy: { type: 'string' },
      strict: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'tac-plus-ng': { type: 'string', multiple: true },
      'local-rules': { type: 'string', multiple: true },
      grammar: { type: 'string', multiple: true },
      broker: { type: 'string', multiple: true },
      mcp: { type: 'string', multiple: true },
      idp: { type: 'string', multiple: true },
      'keycloak-realm': { type: 'string', multiple: true },
    },
    allowPositionals: false,
    strict: true,
  });
  const policy = policyFrom(values.policy);
  const results = [];
  for (const [flag, target] of Object.entries(CHECK_FILES)) {
    const files = (values as Record<string, unknown>)[flag] as string[] | undefined;
    for (const file of files ?? []) {
      let text: string;
      try {
        text = io.readFile(file);
      } catch (err) {
        throw new PolicyError('ERR_POLICY_READ', `cannot read ${file}`, { file, cause: err });
      }
      results.push(checkDeployed(policy, target, text, file));
    }
  }
  const warnings = [...rolesWithoutGrammar(policy), ...checkDrift(policy)];
  const holes = findHoles(policy);
  const disagreements = grammarAgreement(policy);
  const mismatched = results.filter((r) => !r.matches);
  if (values.json) {
    io.stdout(
      `${JSON.stringify({ policy: policy.source, files: results, holes, disagreements, warnings })}\n`,
    );
  } else {
    for (const r of results) {
      if (r.matches) io.stdout(`ok        ${r.target}: ${r.file} matches ${policy.source}\n`);
      else io.stdout(`MISMATCH  ${r.target}: ${r.file} no longer matches ${policy.source}\n${r.diff}`);
    }
    for (const h of holes) io.stdout(`HOLE      ${h.message}\n`);
    for (const d of disagreements) io.stdout(`DISAGREE  ${d.message}\n`);
    for (const w of warnings) io.stdout(`WARNING   ${w.kind}: ${w.message}\n`);
    io.stdout(
      `${results.length} file(s) checked, ${mismatched.length} mismatch(es), ${holes.length} hole(s), ${disagreements.length} disagreement(s), ${warnings.length} warning(s)\n`,
    );
  }
  if (mismatched.length > 0 || holes.length > 0 || disagreements.length > 0) return EXIT.denyOrMismatch;
  if (values.strict && warnings.length > 0) return EXIT.denyOrMismatch;
  return EXIT.ok;
}

function render(argv: string[], io: CliIo): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      policy: { type: 'string' },
      target: { type: 'string' },
      out: { type: 'string' },
      'key-file': { type: 'string' },
      listen: { type: 'string' },
      'log-dir': { type: 'string' },
      device: { type: 'string' },
      realm: { type: 'string' },
    },
    allowPositionals: false,
    strict: true,
  });
  const target = values.target;
  if (target === undefined || !(TARGETS as readonly string[]).includes(target)) {
    throw new UsageError(`render needs --target ${TARGETS.join('|')}`);
  }
  const tacOnly = ['key-file', 'listen', 'log-dir', 'device'].filter(
    (k) => (values as Record<string, unknown>)[k] !== undefined,
  );
  if (target !== 'tac_plus-ng' && tacOnly.length > 0) {
    throw new UsageError(`--${tacOnly.join(', --')} only apply to --target tac_plus-ng`);
  }
  if (target !== 'keycloak-realm' && values.realm !== undefined) {
    throw new UsageError('--realm only applies to --target keycloak-realm');
  }
  const policy = policyFrom(values.policy);
  let text: string;
  switch (target as Target) {
    case 'tac_plus-ng': {
      const opts: { -readonly [K in keyof TacPlusNgOptions]: TacPlusNgOptions[K] } = {};
      // The key is read from a file, never taken from argv (visible in ps and shell history).
      if (values['key-file'] !== undefined) opts.key = io.readFile(values['key-file']).replace(/\r?\n$/, '');
      if (values.listen !== undefined) {
        const m = /^(.+):(\d{1,5})$/.exec(values.listen);
        if (!m) throw new UsageError('--listen expects ADDRESS:PORT');
        opts.listen = { address: m[1] as string, port: Number(m[2]) };
      }
      if (values['log-dir'] !== undefined) opts.logDir = values['log-dir'];
      if (values.device !== undefined) {
        const m = /^([^=]+)=(.+)$/.exec(values.device);
        if (!m) throw new UsageError('--device expects NAME=ADDRESS');
        opts.device = { name: m[1] as string, address: m[2] as string };
      }
      text = renderTacPlusNg(policy, opts);
      break;
    }
    case 'grammar':
      text = renderGrammar(policy);
      break;
    case 'local-rules':
      text = renderLocalRules(policy);
      break;
    case 'broker':
      text = renderBrokerRoles(policy);
      break;
    case 'mcp':
      text = renderMcpTools(policy);
      break;
    case 'idp':
      text = renderIdp(policy);
      break;
    case 'keycloak-realm':
      text = renderKeycloakRealm(policy, values.realm === undefined ? {} : { realm: values.realm });
      break;
  }
  if (values.out === undefined) io.stdout(text);
  else io.writeFile(values.out, text);
  return EXIT.ok;
}

/** Runs one command line (without the program name) and returns the exit code. */
export function runCli(argv: readonly string[], io: CliIo = processIo): number {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case 'explain':
        return explain(rest, io);
      case 'check':
        return check(rest, io);
      case 'render':
        return render(rest, io);
      case 'help':
      case '--help':
      case '-h':
        io.stdout(USAGE);
        return EXIT.ok;
      default:
        throw new UsageError(sub === undefined ? 'missing subcommand' : `unknown subcommand "${sub}"`);
    }
  } catch (err) {
    if (err instanceof PolicyError) {
      io.stderr(`netward-policy: ${err.code}: ${err.message}\n`);
      return err.exitStatus;
    }
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`netward-policy: ${(err as Error).message}\n${USAGE}`);
      return EXIT.usage;
    }
    throw err;
  }
}
