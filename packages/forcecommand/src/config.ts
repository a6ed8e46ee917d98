import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, normalize as normalizePath } from 'node:path';
import { formatIssue, KitError, validateConfig as validateWithSchema } from '@netward/kit/validate';
// zod/mini, not zod: the same validator with a tree-shakeable API. Measured here in a self-contained
// bundle: `zod` adds ~33 ms to every start of the validator, `zod/mini` ~1 ms.
import * as z from 'zod/mini';
import { ForceCommandError } from './errors.ts';
import { DEFAULT_MAX_COMMAND_LENGTH } from './input.ts';
import { DEFAULT_WRAPPERS } from './normalize.ts';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ROLE = /^[a-z][a-z0-9-]{0,31}$/;

const absolutePath = z
  .string()
  .check(
    z.refine(
      (p) => isAbsolute(p) && normalizePath(p) === p && !p.includes('\0'),
      'must be an absolute, normalised path',
    ),
  );

const executableSchema = z
  .strictObject({
    /** Absolute path of the program; the client's own path, if any, is never used. */
    path: absolutePath,
    /** Fixed leading arguments (e.g. vtysh `--config_dir /etc/frr -N spine-a`). Default none. */
    args: z._default(z.array(z.string().check(z.refine((a) => !a.includes('\0'), 'no NUL'))), []),
    /** `argv` (default): client words become arguments. `vtysh`: only `-c '<cli>'` pairs, each authorized. */
    style: z._default(z.enum(['argv', 'vtysh']), 'argv'),
    /**
     * vtysh only, optional: CLI lines one FRR daemon answers alone, exactly as authorized (`show bgp
     * summary` → `bgpd`), sent to `<socketDir>/<daemon>.vty` instead of starting vtysh (src/vty.ts;
     * docs/frr.md: same output, ~40 ms of CPU less per command). Lines not listed run through vtysh.
     */
    vty: z.optional(
      z.strictObject({
        /** The instance's socket directory, `/var/run/frr/<pathspace>` (frr:frrvty 0750). */
        socketDir: absolutePath,
        commands: z.record(
          z.string().check(z.regex(/^[a-z][a-z0-9 .:/-]{0,254}$/)),
          z.string().check(z.regex(/^[a-z][a-z0-9]{1,31}$/)),
        ),
      }),
    ),
  })
  .check(z.refine((e) => e.vty === undefined || e.style === 'vtysh', 'vty needs style vtysh'));

const localAuthorization = z.strictObject({
  mode: z.literal('local'),
  /** Local rules file rendered by @netward/policy (`netward-policy render --target local-rules`). */
  rulesFile: absolutePath,
});

const tacacsAuthorization = z.strictObject({
  mode: z.literal('tacacs'),
  /** Tried in order; the first that answers decides. */
  servers: z
    .array(
      z.strictObject({
        host: z.string().check(z.minLength(1)),
        /** RFC 8907 section 4: TCP port 49. */
        port: z._default(z.number().check(z.int(), z.gte(1), z.lte(65535)), 49),
      }),
    )
    .check(z.minLength(1)),
  /**
   * Shared secret file. With `agent`: read only by the agent, root:root 0600. Without (the validator
   * asks TACACS+ itself, which puts the key within the accounts' reach): root-owned, 0640 at most,
   * group = accountGroup. Never logged.
   */
  keyFile: absolutePath,
  /**
   * Ask through the device's authorization agent (`netward-forcecommand agent --config <this file>`,
   * root) instead of holding the key: the validator connects to `<socketDir>/<account>/agent.sock`,
   * and the agent, which alone reads keyFile, asks TACACS+ on one warm connection. Recommended.
   */
  agent: z.optional(
    z.strictObject({
      /** Root-owned; the agent creates `<account>/` in it, root:<account's group> 0710. */
      socketDir: absolutePath.check(z.maxLength(64)),
    }),
  ),
  /** Per-server timeout. Default 1500 ms. */
  timeoutMs: z._default(z.number().check(z.int(), z.gte(50), z.lte(30_000)), 1500),
  /** Overall deadline for all servers; past it the answer is a deny. Default 3000 ms. */
  deadlineMs: z._default(z.number().check(z.int(), z.gte(50), z.lte(60_000)), 3000),
  /** Send TACACS+ accounting start/stop records around permitted commands. Default off. */
  accounting: z._default(z.boolean(), false),
});

const syslogSchema = z.strictObject({
  host: z.string().check(z.minLength(1)),
  /** Default 514 (RFC 5426 for UDP, RFC 6587 for TCP). */
  port: z._default(z.number().check(z.int(), z.gte(1), z.lte(65535)), 514),
  /** Default udp. TCP uses octet-counting framing (RFC 6587 section 3.4.1). */
  transport: z._default(z.enum(['udp', 'tcp']), 'udp'),
  /** RFC 5424 section 6.2.1 facility name. Default authpriv (10), where sshd's own records go. */
  facility: z._default(
    z.enum([
      'auth',
      'authpriv',
      'daemon',
      'user',
      'local0',
      'local1',
      'local2',
      'local3',
      'local4',
      'local5',
      'local6',
      'local7',
    ]),
    'authpriv',
  ),
  /** How long the validator waits, at exit, for records to leave. Default 500 ms. */
  timeoutMs: z._default(z.number().check(z.int(), z.gte(10), z.lte(10_000)), 500),
});

export const configSchema = z.strictObject({
  /** Inventory name of this device; logged as `device` on every record. */
  device: z.string().check(z.regex(/^[a-z0-9][a-z0-9.-]{0,62}$/)),
  /** Accounts allowed to run the validator; the account is the role. */
  accounts: z._default(z.array(z.string().check(z.regex(ROLE))), ['net-viewer', 'net-operator', 'net-admin']),
  /**
   * Group of those accounts: may append to the audit log (and, without an agent, read the TACACS+ key).
   * Default `netward`.
   */
  accountGroup: z._default(z.string().check(z.regex(/^[a-z_][a-z0-9_-]{0,31}$/)), 'netward'),
  limits: z._default(
    z.strictObject({
      /** Stage 1 bound on SSH_ORIGINAL_COMMAND. */
      maxCommandLength: z._default(
        z.number().check(z.int(), z.gte(16), z.lte(4096)),
        DEFAULT_MAX_COMMAND_LENGTH,
      ),
      /** Most `-c` commands in one vtysh call. */
      maxCliCommands: z._default(z.number().check(z.int(), z.gte(1), z.lte(64)), 8),
      /** Run-time limit of a permitted command; then SIGKILL to its process group. Default 30 s. */
      runTimeoutMs: z._default(z.number().check(z.int(), z.gte(100), z.lte(3_600_000)), 30_000),
      /**
       * Requests one resident validator (one account) runs at once; one more is refused with
       * ERR_FC_BUSY (and nothing of it runs). Default 32.
       */
      maxResidentRequests: z._default(z.number().check(z.int(), z.gte(1), z.lte(1024)), 32),
    }),
    {
      maxCommandLength: DEFAULT_MAX_COMMAND_LENGTH,
      maxCliCommands: 8,
      runTimeoutMs: 30_000,
      maxResidentRequests: 32,
    },
  ),
  /** The allowlist: name the client uses → program the validator runs. Nothing else ever runs. */
  executables: z.record(z.string().check(z.regex(NAME)), executableSchema),
  /** Bare CLI commands (`show bgp summary`) go to this executable. Optional. */
  cli: z.optional(
    z.strictObject({
      executable: z.string().check(z.regex(NAME)),
      /** First words routed to the CLI. Default `show` only. */
      commands: z._default(z.array(z.string().check(z.regex(NAME))), ['show']),
    }),
  ),
  /** Vendor wrappers stripped in stage 2. Default VyOS's `vyatta-op-cmd-wrapper`. */
  wrappers: z._default(z.array(z.string().check(z.regex(NAME))), [...DEFAULT_WRAPPERS]),
  authorization: z.discriminatedUnion('mode', [localAuthorization, tacacsAuthorization]),
  /**
   * Command grammars rendered by @netward/policy (`netward-policy render --target grammar`): every
   * request is parsed against the role's grammar before the authorization above is asked. Without it
   * (a policy of hand-written rules only) the rules alone decide; `netward-policy check` warns.
   */
  grammarFile: z.optional(absolutePath),
  audit: z.strictObject({
    /** Must-succeed sink: a record that cannot be appended here means deny. Must already exist. */
    file: absolutePath,
    /** Best-effort copy to a collector (RFC 5424). A failure is noted in the file, never a deny. */
    syslog: z.optional(syslogSchema),
  }),
});

export type ForceCommandConfig = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

function configError(file: string, message: string, cause?: unknown): ForceCommandError {
  return new ForceCommandError('ERR_FC_CONFIG', `${file}: ${message}`, {
    detail: { file, problem: message },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Validates a parsed config object into a deeply frozen one; messages name the file and the key. */
export function validateConfig(value: unknown, file = '<config>'): ForceCommandConfig {
  let config: ForceCommandConfig;
  try {
    config = validateWithSchema(configSchema, value, { source: file });
  } catch (e) {
    if (!(e instanceof KitError)) throw e;
    // The first five issues on one line: the message also goes to the client's stderr, one line.
    const issues = e.issues.slice(0, 5).map(formatIssue).join('; ');
    throw configError(file, issues, e);
  }
  if (config.cli !== undefined && !Object.hasOwn(config.executables, config.cli.executable)) {
    throw configError(file, `cli.executable: "${config.cli.executable}" is not in executables`);
  }
  for (const w of config.wrappers) {
    if (Object.hasOwn(config.executables, w) && config.cli?.executable !== w) {
      throw configError(file, `wrappers: "${w}" is also a directly callable executable`);
    }
  }
  return config;
}

/**
 * Parses config text: JSON when it starts with `{` (JSON is YAML 1.2, and parses ~14 ms faster), else
 * YAML with the kit's one option set, loaded only then (the YAML parser is not in every start).
 */
export async function parseConfigText(text: string, file: string): Promise<unknown> {
  try {
    if (text.trimStart().startsWith('{')) return JSON.parse(text);
  } catch (e) {
    throw configError(file, 'not valid YAML/JSON', e);
  }
  const kit = await import('@netward/kit');
  try {
    return kit.parseConfigText(text, file).value;
  } catch (e) {
    const issues = e instanceof kit.KitError ? `: ${e.issues.slice(0, 5).map(formatIssue).join('; ')}` : '';
    throw configError(file, `not valid YAML/JSON${issues}`, e);
  }
}

/**
 * Refuses a file an account could have written: it must be a regular file owned by root and not
 * group- or world-writable. (Secrets, which must also not be readable, are read with the kit's private
 * file check: readSharedKey.)
 */
export function checkFileSafety(file: string): void {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(file);
  } catch (e) {
    throw configError(file, 'cannot stat', e);
  }
  if (!st.isFile()) throw configError(file, 'not a regular file');
  if (st.uid !== 0) throw configError(file, 'not owned by root');
  if ((st.mode & 0o022) !== 0) throw configError(file, 'group- or world-writable');
  // As sshd's StrictModes: a directory on the way that someone else can write lets them swap the file.
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const d = statSync(dir);
    if (d.uid !== 0 || (d.mode & 0o022) !== 0)
      throw configError(file, `directory ${dir} is not root-owned and closed`);
    if (dir === dirname(dir)) break;
  }
}

/** gid of a group from /etc/group (no NSS module: devices use local groups). */
export { groupId } from '@netward/kit/files';

/** Reads, checks ownership of, parses and validates the config file. */
export async function loadConfig(file: string): Promise<ForceCommandConfig> {
  checkFileSafety(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw configError(file, 'cannot read', e);
  }
  return validateConfig(await parseConfigText(text, file), file);
}
