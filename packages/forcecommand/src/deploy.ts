import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ensureAccounts as ensureKitAccounts } from '@netward/kit/files';
import type { ConfigInput } from './config.ts';
import { groupId } from './config.ts';
import { renderEnvGuard } from './environment.ts';
import { MAX_SOCKET_PATH, renderResidentShim } from './shim.ts';

/**
 * Device setup, as functions (the native lab calls them for every namespace) and as the `install`
 * command. Everything here is idempotent: accounts and groups are created when missing and never
 * deleted, files are rewritten with the same content and modes.
 */

/** The seed's three service accounts; the account is the role is the certificate principal. */
export const DEFAULT_ACCOUNTS: readonly string[] = Object.freeze(['net-viewer', 'net-operator', 'net-admin']);
/** The accounts' common group: appends to the audit log (0620). It reads no secret. */
export const DEFAULT_ACCOUNT_GROUP = 'netward';
/** Where the authorization agent listens: /run is root-owned and emptied at boot, like the sockets. */
export const DEFAULT_AGENT_SOCKET_DIR = '/run/netward/agent';
/** Where the resident validators listen: `<dir>/<account>/resident.sock` (/run: emptied at boot). */
export const DEFAULT_RESIDENT_SOCKET_DIR = '/run/netward/resident';
/** FRR's group for vtysh's sockets (docs/frr.md: membership gives full control of FRR). */
export const FRR_GROUP = 'frrvty';

export type ForceCommandLineOptions = (
  | {
      /** Default /usr/bin/node. */
      readonly node?: string;
      /** The bundled validator (dist/netward-forcecommand.js, installed e.g. as /usr/local/lib/netward/...). */
      readonly script: string;
      readonly config: string;
    }
  | {
      readonly node?: string;
      /** A start-up snapshot built by buildSnapshot() with this very node binary. */
      readonly snapshotBlob: string;
      readonly config: string;
    }
) & {
  /**
   * The environment guard (renderEnvGuard(), installed root-owned 0755): run in front of node so that
   * NODE_OPTIONS, LD_* and the like never reach it. Recommended; without it the validator still refuses
   * them, but only after node has applied NODE_OPTIONS.
   */
  readonly guard?: string;
  /**
   * Serve commands from the account's resident validator: the shim (renderResidentShim(), root-owned
   * 0755) connects to `socket` and starts the per-process validator itself when it cannot. One
   * ForceCommand serves every account of the Match block and sshd expands no token in it, so the shim
   * replaces `%u` in the path with the name of the account it runs as (e.g.
   * /run/netward/resident/%u/resident.sock). Needs the guard: it also keeps PERL* from the shim.
   */
  readonly resident?: { readonly shim: string; readonly socket: string };
};

/** The ForceCommand value. sshd runs it through the account's shell (`/bin/sh -c`): paths must not need quoting. */
export function forceCommandLine(o: ForceCommandLineOptions): string {
  const node = o.node ?? '/usr/bin/node';
  const target = 'script' in o ? o.script : o.snapshotBlob;
  const resident = o.resident === undefined ? [] : [o.resident.shim, o.resident.socket];
  for (const p of [node, target, o.config, ...(o.guard === undefined ? [] : [o.guard]), ...resident]) {
    // `%u` only in the socket (the shim expands it); `%` means nothing to the login shell.
    const path = p === o.resident?.socket ? p.replaceAll('%u', 'u') : p;
    if (!/^\/[A-Za-z0-9._/-]+$/.test(path)) throw new TypeError(`path not usable in ForceCommand: ${p}`);
  }
  // From a snapshot, node takes no script; `--` ends node's own options.
  const perProcess =
    'script' in o
      ? `${node} ${o.script} --config ${o.config}`
      : `${node} --snapshot-blob ${target} -- --config ${o.config}`;
  if (o.resident === undefined) return o.guard === undefined ? perProcess : `${o.guard} ${perProcess}`;
  // The guard runs first: perl reads PERL5OPT and the like at its start, as node reads NODE_OPTIONS.
  if (o.guard === undefined) throw new TypeError('a resident ForceCommand needs the environment guard');
  // A 32-byte account name (config.ts ROLE) in place of each `%u`.
  if (o.resident.socket.replaceAll('%u', 'u'.repeat(32)).length > MAX_SOCKET_PATH)
    throw new TypeError(`socket path longer than ${MAX_SOCKET_PATH} bytes: ${o.resident.socket}`);
  return `${o.guard} ${o.resident.shim} ${o.resident.socket} ${perProcess}`;
}

/** The socket of `account`'s resident validator under `dir`; with account `%u`, the ForceCommand form. */
export function residentSocketPath(dir: string, account: string): string {
  return join(dir, account, 'resident.sock');
}

/** uid and primary gid of a local account (/etc/passwd: name:x:uid:gid:...). */
function accountIds(account: string, passwdFile = '/etc/passwd'): { uid: number; gid: number } {
  for (const line of readFileSync(passwdFile, 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === account && f.length >= 4) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  throw new Error(`account ${account} does not exist`);
}

/**
 * As root: `dir` root:root 0755 and, per account, `dir/<account>` owned by the account and its primary
 * group, mode 0700. A Unix socket is reached through its directory: only the account (and root) can
 * connect to the resident validator in it. Returns each account's socket path.
 */
export function prepareResidentSockets(dir: string, accounts: readonly string[]): Record<string, string> {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chownSync(dir, 0, 0);
  chmodSync(dir, 0o755);
  const sockets: Record<string, string> = {};
  for (const account of accounts) {
    const { uid, gid } = accountIds(account);
    const own = join(dir, account);
    mkdirSync(own, { recursive: true, mode: 0o700 });
    chownSync(own, uid, gid);
    chmodSync(own, 0o700);
    sockets[account] = residentSocketPath(dir, account);
  }
  return sockets;
}

/**
 * Builds the start-up snapshot from dist/netward-forcecommand-snapshot.cjs with `node` (it must be the
 * binary ForceCommand runs: a blob only loads into the node that made it). Written root:root 0644: it
 * is code, like the bundle.
 */
export function buildSnapshot(o: {
  readonly node?: string;
  readonly snapshotScript: string;
  readonly blob: string;
  /** The device's config: its local rules are parsed into the snapshot (rebuild when they change). */
  readonly config?: string;
}): void {
  mkdirSync(dirname(o.blob), { recursive: true });
  execFileSync(o.node ?? '/usr/bin/node', ['--snapshot-blob', o.blob, '--build-snapshot', o.snapshotScript], {
    stdio: 'pipe',
    cwd: dirname(o.blob),
    env: {
      PATH: '/usr/bin:/bin',
      ...(o.config === undefined ? {} : { NETWARD_FC_SNAPSHOT_CONFIG: o.config }),
    },
  });
  chownSync(o.blob, 0, 0);
  chmodSync(o.blob, 0o644);
}

export interface SshdConfigOptions {
  /** TrustedUserCAKeys: the CA broker's user CA public key. */
  readonly caKeysFile: string;
  /** AuthorizedPrincipalsFile <dir>/%u: one file per account naming the principal(s) it accepts. */
  readonly principalsDir: string;
  /** From forceCommandLine(). */
  readonly forceCommand: string;
  readonly accounts?: readonly string[];
  /**
   * MaxSessions: sessions (channels) one connection may have open at once. Default 8: the MCP server
   * opens one per tool call, and each starts a validator (~50 ms of CPU).
   */
  readonly maxSessions?: number;
  /**
   * A whole sshd_config for a dedicated sshd (the lab runs one per namespace). Without it the result is
   * a drop-in for /etc/ssh/sshd_config.d/ that leaves other users of the device's sshd alone.
   */
  readonly standalone?: {
    readonly listenAddress: string;
    readonly port: number;
    readonly hostKeys: readonly string[];
    readonly hostCertificate?: string;
    readonly pidFile: string;
  };
}

/** The per-account restrictions, shared by the drop-in (inside Match) and the standalone config. */
function accountBlock(o: SshdConfigOptions): string[] {
  return [
    'AcceptEnv MCP_USER MCP_SID MCP_REQUEST_ID MCP_TOOL',
    `TrustedUserCAKeys ${o.caKeysFile}`,
    `AuthorizedPrincipalsFile ${o.principalsDir}/%u`,
    'AuthorizedKeysFile none',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'HostbasedAuthentication no',
    `ForceCommand ${o.forceCommand}`,
    // The certificate sshd verified, for the validator (SSH_USER_AUTH): identity from proof, not claims.
    'ExposeAuthInfo yes',
    'PermitTTY no',
    'PermitUserRC no',
    'DisableForwarding yes',
    'PermitTunnel no',
    // The certificate is the only method and the MCP server offers exactly one key. 3, not 2: OpenSSH's
    // client offers the certificate and then its plain key, and with 2 a refused client would see "Too
    // many authentication failures" instead of "Permission denied".
    'MaxAuthTries 3',
    `MaxSessions ${o.maxSessions ?? 8}`,
    // OpenSSH 9.2 (the first with both): a session channel with no traffic for 60 s is closed, and a
    // connection with no channel open for 60 s is dropped. 60 s is the certificate's lifetime; after
    // it the validator refuses every new command on the connection anyway (ERR_FC_CERT_EXPIRED), and
    // a permitted command is killed after its run-time limit (30 s by default).
    'ChannelTimeout session=60s',
    'UnusedConnectionTimeout 60s',
  ];
}

/**
 * The sshd configuration of a device. The drop-in confines everything to `Match User <accounts>`
 * (OpenSSH 9.2 accepts AcceptEnv there, checked with `sshd -t`), so other users of the device's sshd
 * keep their settings. MCP_* are claims the validator checks against the certificate.
 */
export function renderSshdConfig(o: SshdConfigOptions): string {
  const accounts = o.accounts ?? DEFAULT_ACCOUNTS;
  const head =
    '# netward: MCP service accounts reach only the ForceCommand validator (packages/forcecommand)';
  if (o.standalone === undefined) {
    return [head, `Match User ${accounts.join(',')}`, ...accountBlock(o).map((l) => `    ${l}`), ''].join(
      '\n',
    );
  }
  const s = o.standalone;
  return [
    head,
    `ListenAddress ${s.listenAddress}:${s.port}`,
    `PidFile ${s.pidFile}`,
    ...s.hostKeys.map((k) => `HostKey ${k}`),
    ...(s.hostCertificate === undefined ? [] : [`HostCertificate ${s.hostCertificate}`]),
    'UsePAM no',
    'PermitRootLogin no',
    'StrictModes yes',
    'LogLevel INFO',
    `AllowUsers ${accounts.join(' ')}`,
    'PermitUserEnvironment no',
    ...accountBlock(o),
    '',
  ].join('\n');
}

/**
 * A principals file: the account accepts exactly one principal, with `restrict` (no forwarding, pty,
 * ~/.ssh/rc or X11, whatever the server config says; sshd(8) AUTHORIZED_KEYS FILE FORMAT, which
 * AuthorizedPrincipalsFile lines share). With `device`, the principal is `<account>@<device>`: a
 * certificate the broker issued for a call to another device does not open this one.
 */
export function renderPrincipals(account: string, device?: string): string {
  return `restrict ${device === undefined ? account : `${account}@${device}`}\n`;
}

export interface DeviceConfigOptions {
  readonly device: string;
  readonly auditFile: string;
  readonly accounts?: readonly string[];
  readonly accountGroup?: string;
  /**
   * FRR: vtysh with `--config_dir <dir> [-N <pathspace>]`; bare `show ...` routed to it. `vty: true`
   * sends the lines of FRR_VTY_COMMANDS straight to the daemon's socket under `/var/run/frr[/<pathspace>]`.
   */
  readonly frr?: {
    readonly vtysh?: string;
    readonly configDir?: string;
    readonly pathspace?: string;
    readonly vty?: boolean;
  };
  /** VyOS: bare CLI commands through the op-mode wrapper. */
  readonly vyos?: { readonly wrapper?: string };
  /** Diagnostics on the allowlist; default ping, traceroute, ip at their Debian paths. */
  readonly tools?: Readonly<Record<string, string>>;
  readonly cliCommands?: readonly string[];
  readonly authorization:
    | { readonly mode: 'local'; readonly rulesFile: string }
    | {
        readonly mode: 'tacacs';
        readonly servers: readonly { readonly host: string; readonly port?: number }[];
        readonly keyFile: string;
        readonly timeoutMs?: number;
        readonly deadlineMs?: number;
        readonly accounting?: boolean;
        /** Ask through the device's authorization agent (see config.ts); the key is then root-only. */
        readonly agent?: { readonly socketDir: string };
      };
  readonly syslog?: { readonly host: string; readonly port?: number; readonly transport?: 'udp' | 'tcp' };
}

export const DEBIAN_TOOLS: Readonly<Record<string, string>> = Object.freeze({
  ping: '/usr/bin/ping',
  traceroute: '/usr/sbin/traceroute',
  ip: '/usr/sbin/ip',
});

/**
 * Read-only lines one FRR 8.4 daemon answers alone, so vtysh only forwards them: their output through
 * the daemon's vty socket is the same bytes as through vtysh (docs/frr.md; test/frr.test.ts compares).
 */
export const FRR_VTY_COMMANDS: Readonly<Record<string, string>> = Object.freeze({
  'show bgp summary': 'bgpd',
  'show ip bgp summary': 'bgpd',
  'show ip route': 'zebra',
  'show ipv6 route': 'zebra',
  'show interface brief': 'zebra',
});

type ExecutableInput = NonNullable<ConfigInput['executables']>[string];

/** The validator's configuration object for one device (validate with validateConfig before use). */
export function deviceConfigObject(o: DeviceConfigOptions): ConfigInput {
  const executables: Record<string, ExecutableInput> = {};
  for (const [name, path] of Object.entries(o.tools ?? DEBIAN_TOOLS)) executables[name] = { path };
  let cli: { executable: string; commands: string[] } | undefined;
  if (o.frr !== undefined) {
    const args = ['--config_dir', o.frr.configDir ?? '/etc/frr'];
    if (o.frr.pathspace !== undefined) args.push('-N', o.frr.pathspace);
    executables['vtysh'] = {
      path: o.frr.vtysh ?? '/usr/bin/vtysh',
      args,
      style: 'vtysh',
      ...(o.frr.vty === true
        ? {
            vty: {
              socketDir: o.frr.pathspace === undefined ? '/var/run/frr' : `/var/run/frr/${o.frr.pathspace}`,
              commands: { ...FRR_VTY_COMMANDS },
            },
          }
        : {}),
    };
    cli = { executable: 'vtysh', commands: [...(o.cliCommands ?? ['show'])] };
  } else if (o.vyos !== undefined) {
    executables['vyatta-op-cmd-wrapper'] = {
      path: o.vyos.wrapper ?? '/opt/vyatta/bin/vyatta-op-cmd-wrapper',
    };
    cli = { executable: 'vyatta-op-cmd-wrapper', commands: [...(o.cliCommands ?? ['show'])] };
  }
  const a = o.authorization;
  return {
    device: o.device,
    accounts: [...(o.accounts ?? DEFAULT_ACCOUNTS)],
    accountGroup: o.accountGroup ?? DEFAULT_ACCOUNT_GROUP,
    executables,
    ...(cli === undefined ? {} : { cli }),
    authorization:
      a.mode === 'local'
        ? { mode: 'local', rulesFile: a.rulesFile }
        : {
            mode: 'tacacs',
            servers: a.servers.map((s) => ({ host: s.host, port: s.port ?? 49 })),
            keyFile: a.keyFile,
            ...(a.timeoutMs === undefined ? {} : { timeoutMs: a.timeoutMs }),
            ...(a.deadlineMs === undefined ? {} : { deadlineMs: a.deadlineMs }),
            ...(a.accounting === undefined ? {} : { accounting: a.accounting }),
            ...(a.agent === undefined ? {} : { agent: { socketDir: a.agent.socketDir } }),
          },
    audit: {
      file: o.auditFile,
      ...(o.syslog === undefined
        ? {}
        : {
            syslog: {
              host: o.syslog.host,
              port: o.syslog.port ?? 514,
              transport: o.syslog.transport ?? 'udp',
            },
          }),
    },
  };
}

/**
 * The config file text. JSON (which is YAML 1.2): the validator parses JSON without loading its YAML
 * parser, ~14 ms per command on this machine. Operators may rewrite it as YAML.
 */
export function renderDeviceConfig(o: DeviceConfigOptions): string {
  return `${JSON.stringify(deviceConfigObject(o), null, 2)}\n`;
}

export interface EnsureAccountsOptions {
  readonly accounts?: readonly string[];
  readonly group?: string;
  /** Add the accounts to frrvty (created if missing) so vtysh reaches FRR. */
  readonly frr?: boolean;
  /** Injected in tests; default execFileSync (argv, no shell). */
  readonly run?: (file: string, args: readonly string[]) => void;
}

/**
 * Creates the groups and accounts when missing, never deletes (the kit's ensureAccounts: shell /bin/sh,
 * password field `*`, see docs/sshd.md), supplementary groups netward (+ frrvty).
 */
export function ensureAccounts(o: EnsureAccountsOptions = {}): void {
  ensureKitAccounts({
    accounts: o.accounts ?? DEFAULT_ACCOUNTS,
    groups: [o.group ?? DEFAULT_ACCOUNT_GROUP, ...(o.frr ? [FRR_GROUP] : [])],
    ...(o.run === undefined ? {} : { run: o.run }),
  });
}

export interface InstallOptions {
  readonly device: string;
  /** The CA broker's user CA public key, copied to <etcDir>/user_ca.pub. */
  readonly caPubFile: string;
  /** Default /etc/netward. */
  readonly etcDir?: string;
  /** Default /var/log/netward/forcecommand.log. */
  readonly auditFile?: string;
  /** Where the bundled validator is (default: this very file when run from the bundle). */
  readonly script: string;
  readonly node?: string;
  /** Default /etc/ssh/sshd_config.d/netward.conf; `null` to skip. */
  readonly sshdDropIn?: string | null;
  readonly frr?: DeviceConfigOptions['frr'];
  readonly vyos?: DeviceConfigOptions['vyos'];
  /**
   * local: the rules file is copied to <etcDir>/local-rules.json. tacacs: the key file to
   * <etcDir>/tacacs.key, root:root 0600, read only by the authorization agent (`netward-forcecommand
   * agent`, sockets in agentSocketDir), which must then run as root (deploy/netward-forcecommand-agent.service).
   */
  readonly authorization:
    | Extract<DeviceConfigOptions['authorization'], { mode: 'local' }>
    | Pick<
        Extract<DeviceConfigOptions['authorization'], { mode: 'tacacs' }>,
        'mode' | 'servers' | 'keyFile' | 'accounting'
      >;
  readonly syslog?: DeviceConfigOptions['syslog'];
  readonly accounts?: readonly string[];
  readonly group?: string;
  readonly createAccounts?: boolean;
  /**
   * Principals `<account>@<device>` (default true): only a certificate the broker issued for a call
   * to this device opens it. false: the account name alone, any device of the CA.
   */
  readonly bindToDevice?: boolean;
  /** Where the agent puts the accounts' sockets. Default /run/netward/agent. */
  readonly agentSocketDir?: string;
  /**
   * Build a start-up snapshot from this CommonJS bundle (dist/netward-forcecommand-snapshot.cjs) into
   * <etcDir>/../ (default /usr/local/lib/netward/forcecommand.blob) and start ForceCommand from it.
   */
  readonly snapshot?: { readonly script: string; readonly blob?: string };
  /**
   * Serve commands from resident validators: the shim `netward-resident` is written next to the bundle
   * (root 0755), `<socketDir>/<account>/` made (account 0700, default /run/netward/resident), and the
   * ForceCommand goes through the shim. Starting `netward-forcecommand resident` per account (as the
   * account) is the service manager's job; until one listens, the shim runs the per-process validator.
   */
  readonly resident?: { readonly socketDir?: string };
}

export interface InstallResult {
  readonly configFile: string;
  readonly forceCommand: string;
  readonly sshdConfig: string;
  readonly files: readonly string[];
}

function writeOwned(file: string, content: string | Buffer, mode: number, gid = 0): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content, { mode });
  chownSync(file, 0, gid);
  chmodSync(file, mode);
}

/**
 * Sets up a Debian device (as root): accounts and groups, /etc/netward (root:root 0755) with the CA
 * key, principals (0644), config (0644), rules (0644) or TACACS+ key (root:root 0600, for the agent),
 * the environment guard next to the bundle, the audit
 * log (root:netward 0620 in a root:root 0755 directory: the accounts can append, not read or remove),
 * and the sshd drop-in. Returns what it wrote; does not reload sshd.
 */
// long: the installer's steps in the order a device needs them, each a call with its file modes
export function installDevice(o: InstallOptions): InstallResult {
  if (process.getuid?.() !== 0) throw new Error('install must run as root');
  const accounts = o.accounts ?? DEFAULT_ACCOUNTS;
  const group = o.group ?? DEFAULT_ACCOUNT_GROUP;
  if (o.createAccounts !== false) ensureAccounts({ accounts, group, frr: o.frr !== undefined });
  const gid = groupId(group);
  if (gid === undefined) throw new Error(`group ${group} does not exist`);
  const etc = o.etcDir ?? '/etc/netward';
  const files: string[] = [];
  mkdirSync(etc, { recursive: true, mode: 0o755 });
  chownSync(etc, 0, 0);
  chmodSync(etc, 0o755);

  const caKeys = join(etc, 'user_ca.pub');
  writeOwned(caKeys, readFileSync(o.caPubFile), 0o644);
  files.push(caKeys);
  const principalsDir = join(etc, 'principals');
  mkdirSync(principalsDir, { recursive: true, mode: 0o755 });
  for (const a of accounts) {
    const f = join(principalsDir, a);
    writeOwned(f, renderPrincipals(a, o.bindToDevice === false ? undefined : o.device), 0o644);
    files.push(f);
  }

  let authorization: DeviceConfigOptions['authorization'];
  if (o.authorization.mode === 'local') {
    const rules = join(etc, 'local-rules.json');
    writeOwned(rules, readFileSync(o.authorization.rulesFile), 0o644);
    files.push(rules);
    authorization = { mode: 'local', rulesFile: rules };
  } else {
    // Root only: the agent reads it; the accounts, and so nothing they run, cannot.
    const key = join(etc, 'tacacs.key');
    writeOwned(key, readFileSync(o.authorization.keyFile), 0o600, 0);
    files.push(key);
    authorization = {
      mode: 'tacacs',
      servers: o.authorization.servers,
      keyFile: key,
      ...(o.authorization.accounting === undefined ? {} : { accounting: o.authorization.accounting }),
      agent: { socketDir: o.agentSocketDir ?? DEFAULT_AGENT_SOCKET_DIR },
    };
  }

  const auditFile = o.auditFile ?? '/var/log/netward/forcecommand.log';
  mkdirSync(dirname(auditFile), { recursive: true, mode: 0o755 });
  if (!existsSync(auditFile)) writeFileSync(auditFile, '', { mode: 0o620 });
  chownSync(auditFile, 0, gid);
  chmodSync(auditFile, 0o620);
  files.push(auditFile);

  const configFile = join(etc, 'forcecommand.json');
  writeOwned(
    configFile,
    renderDeviceConfig({
      device: o.device,
      auditFile,
      accounts,
      accountGroup: group,
      ...(o.frr === undefined ? {} : { frr: o.frr }),
      ...(o.vyos === undefined ? {} : { vyos: o.vyos }),
      authorization,
      ...(o.syslog === undefined ? {} : { syslog: o.syslog }),
    }),
    0o644,
  );
  files.push(configFile);

  // The guard next to the bundle: code, root-owned like it.
  const guard = join(dirname(o.script), 'netward-env-guard');
  writeOwned(guard, renderEnvGuard(), 0o755);
  files.push(guard);
  let resident: { shim: string; socket: string } | undefined;
  if (o.resident !== undefined) {
    const shim = join(dirname(o.script), 'netward-resident');
    writeOwned(shim, renderResidentShim(), 0o755);
    files.push(shim);
    const socketDir = o.resident.socketDir ?? DEFAULT_RESIDENT_SOCKET_DIR;
    prepareResidentSockets(socketDir, accounts);
    resident = { shim, socket: residentSocketPath(socketDir, '%u') };
  }
  const node = {
    guard,
    ...(o.node ? { node: o.node } : {}),
    ...(resident === undefined ? {} : { resident }),
  };
  let forceCommand: string;
  if (o.snapshot !== undefined) {
    const blob = o.snapshot.blob ?? '/usr/local/lib/netward/forcecommand.blob';
    buildSnapshot({ snapshotScript: o.snapshot.script, blob, config: configFile, ...node });
    files.push(blob);
    forceCommand = forceCommandLine({ snapshotBlob: blob, config: configFile, ...node });
  } else {
    forceCommand = forceCommandLine({ script: o.script, config: configFile, ...node });
  }
  const sshdConfig = renderSshdConfig({ caKeysFile: caKeys, principalsDir, forceCommand, accounts });
  const dropIn = o.sshdDropIn === undefined ? '/etc/ssh/sshd_config.d/netward.conf' : o.sshdDropIn;
  if (dropIn !== null) {
    writeOwned(dropIn, sshdConfig, 0o644);
    files.push(dropIn);
  }
  return { configFile, forceCommand, sshdConfig, files };
}
