// tac_plus-ng configuration: a spawnd listener, one device (the validators' address), and the policy
// section (profiles, groups, users, ruleset) between BEGIN/END markers that `check` compares.
// Syntax follows packages/tacacs-plus/test/fixtures/tac_plus-ng/tac_plus-ng.cfg (a configuration known
// to load; docs/tacacs.md) and the event-driven-servers sources.
import { PolicyError } from '../errors.ts';
import { renderPcreLiteral } from '../regex.ts';
import type { Policy, Role } from '../types.ts';

export interface TacPlusNgOptions {
  /**
   * Shared TACACS+ key. When absent the file reads it from the environment at load time: tac_plus-ng
   * substitutes `${VAR}` inside double-quoted strings, so no secret is written to disk.
   */
  readonly key?: string;
  /** Default 127.0.0.1:4949, the port of the reference peer. */
  readonly listen?: { readonly address: string; readonly port: number };
  /** Default /var/log/tac_plus-ng. */
  readonly logDir?: string;
  /** NAS allowed to ask (the devices running the validator): name and address or CIDR. Default 127.0.0.1. */
  readonly device?: { readonly name: string; readonly address: string };
  /** Default /run/tac_plus-ng.pid. */
  readonly pidFile?: string;
}

/** Environment variable the rendered file takes the key from when no key is given. */
export const TACACS_KEY_ENV = 'NETWARD_TACACS_KEY';
export const POLICY_BEGIN = '# BEGIN netward-policy';
export const POLICY_END = '# END netward-policy';

const SAFE_WORD = /^[A-Za-z0-9_.:/-]+$/;

function quoted(value: string, what: string): string {
  // The lexer's C-style quoting: backslash and double quote are escaped. Control characters are refused,
  // and so is `${`, which tac_plus-ng would replace with an environment variable.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\x00-\x1f\x7f]/.test(value) || value.includes('${')) {
    throw new PolicyError('ERR_POLICY_TARGET', `${what} contains a control character or "\${"`);
  }
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function word(value: string, what: string): string {
  if (!SAFE_WORD.test(value)) {
    throw new PolicyError(
      'ERR_POLICY_TARGET',
      `${what} must match ${SAFE_WORD} (got ${JSON.stringify(value)})`,
    );
  }
  return value;
}

function renderProfile(role: Role): string[] {
  const out = [`\tprofile ${role.tacacs.profile} {`, '\t\tscript {', '\t\t\tif (service == shell) {'];
  for (const r of role.rules) {
    out.push(
      r.match === null
        ? `\t\t\t\t${r.action}`
        : `\t\t\t\tif (cmd =~ /${renderPcreLiteral(r.match)}/) ${r.action}`,
    );
  }
  // Default deny, unless an unconditional rule already ended the list.
  if (role.rules.at(-1)?.match !== null || role.rules.length === 0) out.push('\t\t\t\tdeny');
  out.push('\t\t\t}', '\t\t\tdeny', '\t\t}', '\t}');
  return out;
}

/** The policy-derived part of the configuration, without markers. */
export function renderTacPlusNgPolicySection(policy: Policy): string {
  const lines: string[] = [
    '\t# Match case-sensitively, as netward decides: tac_plus-ng defaults to PCRE2_CASELESS otherwise.',
    '\tregex-match-case = yes',
    '',
    '\t# ---- profiles: rules in policy order, first match decides, default deny ----',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: tac_plus-ng's own ${...} syntax
    "\t# ${cmd} is the cmd= value followed by ' ' + each non-empty cmd-arg= value.",
  ];
  for (const role of policy.roles) {
    lines.push(`\t# role ${role.name}`, ...renderProfile(role), '');
  }
  lines.push('\t# ---- roles ----');
  for (const role of policy.roles) lines.push(`\tgroup ${role.tacacs.group}`);
  lines.push('', '\t# ---- users: the device accounts (= certificate principals) ----');
  for (const role of policy.roles) {
    lines.push(`\tuser ${role.name} {`, `\t\tmember = ${role.tacacs.group}`, '\t}');
  }
  lines.push('', '\t# ---- role -> profile ----', '\truleset {', '\t\trule roles {', '\t\t\tscript {');
  for (const role of policy.roles) {
    lines.push(`\t\t\t\tif (member == ${role.tacacs.group}) { profile = ${role.tacacs.profile} permit }`);
  }
  lines.push('\t\t\t\tdeny', '\t\t\t}', '\t\t}', '\t}');
  return `${lines.join('\n')}\n`;
}

export function renderTacPlusNg(policy: Policy, opts: TacPlusNgOptions = {}): string {
  const listen = opts.listen ?? { address: '127.0.0.1', port: 4949 };
  if (!Number.isInteger(listen.port) || listen.port < 1 || listen.port > 65535) {
    throw new PolicyError('ERR_POLICY_TARGET', `listen port must be 1-65535 (got ${listen.port})`);
  }
  const logDir = opts.logDir ?? '/var/log/tac_plus-ng';
  const device = opts.device ?? { name: 'validators', address: '127.0.0.1' };
  const key = opts.key === undefined ? `"\${${TACACS_KEY_ENV}}"` : quoted(opts.key, 'key');
  const log = (f: string) => quoted(`>${logDir}/${f}`, 'logDir');
  const head = [
    `# tac_plus-ng configuration rendered by netward-policy from ${policy.source}.`,
    '# Edit the policy, not this file: `netward-policy check` reports any difference in the policy section.',
    '',
    'id = spawnd {',
    '\tbackground = no',
    `\tpidfile = ${quoted(opts.pidFile ?? '/run/tac_plus-ng.pid', 'pidFile')}`,
    `\tlisten { address = ${word(listen.address, 'listen address')} port = ${listen.port} }`,
    '\tspawn {',
    '\t\tinstances min = 1',
    '\t\tinstances max = 1',
    '\t}',
    '}',
    '',
    'id = tac_plus-ng {',
    '\tlog authzlog {',
    `\t\tdestination = ${log('authz.log')}`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: tac_plus-ng's own ${...} syntax
    '\t\tauthorization format = "${nas}${FS}${user}${FS}${port}${FS}${nac}${FS}${profile}${FS}${result}${FS}${service}${FS}${cmd}${FS}${msgid}${FS}args=${args,;}${FS}rargs=${rargs,;}${FS}session=${session.id}"',
    '\t}',
    '\tlog acctlog {',
    `\t\tdestination = ${log('acct.log')}`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: tac_plus-ng's own ${...} syntax
    '\t\taccounting format = "${nas}${FS}${user}${FS}${port}${FS}${nac}${FS}${accttype}${FS}${service}${FS}${cmd}${FS}${msgid}${FS}args=${args,;}${FS}session=${session.id}"',
    '\t}',
    `\tlog authclog { destination = ${log('authc.log')} }`,
    `\tlog connlog  { destination = ${log('conn.log')} }`,
    '\tauthorization log  = authzlog',
    '\taccounting log     = acctlog',
    '\tauthentication log = authclog',
    '\tconnection log     = connlog',
    '\tsyslog default = deny',
    '',
    `\tdevice ${word(device.name, 'device name')} {`,
    `\t\taddress = ${word(device.address, 'device address')}`,
    ...(opts.key === undefined
      ? [
          `\t\t# From the environment: tac_plus-ng keeps the text as written when ${TACACS_KEY_ENV} is unset,`,
          '\t\t# so start it with the variable set, or render with --key-file.',
        ]
      : []),
    `\t\tkey = ${key}`,
    '\t\tsingle-connection = yes',
    '\t}',
    '',
    `\t${POLICY_BEGIN}`,
  ];
  return `${head.join('\n')}\n${renderTacPlusNgPolicySection(policy)}\t${POLICY_END}\n}\n`;
}

/**
 * The policy section of a rendered configuration (between the markers) and the 1-based line it starts on,
 * or null when there is none.
 */
export function extractTacPlusNgPolicySection(text: string): { text: string; line: number } | null {
  const lines = text.split('\n');
  const b = lines.findIndex((l) => l.trim() === POLICY_BEGIN);
  const e = lines.findIndex((l, i) => i > b && l.trim() === POLICY_END);
  if (b === -1 || e === -1) return null;
  return { text: `${lines.slice(b + 1, e).join('\n')}\n`, line: b + 2 };
}
