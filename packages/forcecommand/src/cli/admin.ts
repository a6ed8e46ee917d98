// Operator commands (console allowed here). The validator's hot path never loads this file.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.ts';
import {
  DEFAULT_RESIDENT_SOCKET_DIR,
  type DeviceConfigOptions,
  forceCommandLine,
  type InstallOptions,
  installDevice,
  renderDeviceConfig,
  renderSshdConfig,
  residentSocketPath,
} from '../deploy.ts';
import { ForceCommandError } from '../errors.ts';

const USAGE = `usage:
  netward-forcecommand --config FILE
      the validator (what sshd's ForceCommand runs)
  netward-forcecommand check-config --config FILE
      validate a config file (and the files it names) and print why it is refused
  netward-forcecommand render-config --device NAME [device options]
  netward-forcecommand render-sshd --ca-pub FILE --principals-dir DIR --config FILE [--script FILE]
        [--resident [--resident-dir /run/netward/resident]]
  netward-forcecommand install --device NAME --ca-pub FILE [device options] [--etc-dir /etc/netward]
        [--audit-file /var/log/netward/forcecommand.log] [--sshd-drop-in FILE|none] [--script FILE]
        [--snapshot [--snapshot-blob /usr/local/lib/netward/forcecommand.blob]]
        [--resident [--resident-dir /run/netward/resident]]
      --snapshot: build a node start-up snapshot from netward-forcecommand-snapshot.cjs (next to this
      file) with this node, and start ForceCommand from it (faster start; rebuild after a node upgrade)
      --resident: ForceCommand through the shim netward-resident (next to this file) to each account's
      resident validator at <dir>/<account>/resident.sock (install makes the directories, account 0700)
  netward-forcecommand resident --config FILE --socket PATH
      the account's resident validator (run as the account, never root; SIGTERM stops it)

device options:
  --frr [--frr-pathspace NAME] [--frr-config-dir /etc/frr]  vtysh on the allowlist, bare 'show ...' routed to it
  --vyos                                                    bare CLI through vyatta-op-cmd-wrapper
  --rules FILE                                              local rules (netward-policy render --target local-rules)
  --tacacs HOST[:PORT] (repeatable) --tacacs-key-file FILE [--accounting]
  --syslog HOST[:PORT] [--syslog-tcp]
`;

function hostPort(value: string, defaultPort: number): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(value);
  if (!m) throw new TypeError(`not HOST[:PORT]: ${value}`);
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : defaultPort };
}

/** The guard and the shim the installer writes next to the bundle, and the accounts' socket form. */
function residentLine(v: ReturnType<typeof parse>) {
  const dir = dirname(selfScript(v));
  return {
    guard: join(dir, 'netward-env-guard'),
    resident: {
      shim: join(dir, 'netward-resident'),
      socket: residentSocketPath(v['resident-dir'] ?? DEFAULT_RESIDENT_SOCKET_DIR, '%u'),
    },
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      device: { type: 'string' },
      frr: { type: 'boolean' },
      'frr-pathspace': { type: 'string' },
      'frr-config-dir': { type: 'string' },
      vyos: { type: 'boolean' },
      rules: { type: 'string' },
      tacacs: { type: 'string', multiple: true },
      'tacacs-key-file': { type: 'string' },
      accounting: { type: 'boolean' },
      syslog: { type: 'string' },
      'syslog-tcp': { type: 'boolean' },
      'ca-pub': { type: 'string' },
      'principals-dir': { type: 'string' },
      'etc-dir': { type: 'string' },
      'audit-file': { type: 'string' },
      'sshd-drop-in': { type: 'string' },
      script: { type: 'string' },
      node: { type: 'string' },
      snapshot: { type: 'boolean' },
      'snapshot-blob': { type: 'string' },
      resident: { type: 'boolean' },
      'resident-dir': { type: 'string' },
    },
  }).values;
}

type Values = ReturnType<typeof parse>;

function authorization(v: Values): InstallOptions['authorization'] {
  if (v.rules && v.tacacs) throw new TypeError('give either --rules or --tacacs, not both');
  if (v.rules) return { mode: 'local', rulesFile: v.rules };
  if (v.tacacs && v.tacacs.length > 0) {
    if (!v['tacacs-key-file']) throw new TypeError('--tacacs needs --tacacs-key-file');
    return {
      mode: 'tacacs',
      servers: v.tacacs.map((s) => hostPort(s, 49)),
      keyFile: v['tacacs-key-file'],
      ...(v.accounting ? { accounting: true } : {}),
    };
  }
  throw new TypeError('give --rules FILE or --tacacs HOST[:PORT]');
}

function platform(v: Values): Pick<DeviceConfigOptions, 'frr' | 'vyos'> {
  if (v.frr && v.vyos) throw new TypeError('give either --frr or --vyos');
  if (v.frr) {
    return {
      frr: {
        ...(v['frr-pathspace'] ? { pathspace: v['frr-pathspace'] } : {}),
        ...(v['frr-config-dir'] ? { configDir: v['frr-config-dir'] } : {}),
      },
    };
  }
  return v.vyos ? { vyos: {} } : {};
}

function syslog(v: Values): Pick<DeviceConfigOptions, 'syslog'> {
  if (!v.syslog) return {};
  const { host, port } = hostPort(v.syslog, 514);
  return { syslog: { host, port, transport: v['syslog-tcp'] ? 'tcp' : 'udp' } };
}

/** The running bundle's own path: what ForceCommand should start. */
function selfScript(v: Values): string {
  return v.script ?? (process.argv[1] as string);
}

// long: one flat dispatch over the operator's commands, each a few lines of argument reading
export async function runAdmin(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'help' || command === '--help') {
    console.log(USAGE);
    return 0;
  }
  let v: Values;
  try {
    v = parse(rest);
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  try {
    switch (command) {
      case 'check-config': {
        if (!v.config) throw new TypeError('--config FILE is required');
        const config = await loadConfig(v.config);
        if (config.authorization.mode === 'local') {
          const { createLocalAuthorizer } = await import('../authorize.ts');
          await createLocalAuthorizer(config.authorization.rulesFile);
        } else {
          const { groupId } = await import('../config.ts');
          const { readSharedKey } = await import('../authorize.ts');
          readSharedKey(config.authorization.keyFile, groupId(config.accountGroup));
        }
        console.log(`${v.config}: ok (device ${config.device}, ${config.authorization.mode} authorization)`);
        return 0;
      }
      case 'render-config': {
        if (!v.device) throw new TypeError('--device NAME is required');
        process.stdout.write(
          renderDeviceConfig({
            device: v.device,
            auditFile: v['audit-file'] ?? '/var/log/netward/forcecommand.log',
            ...platform(v),
            authorization: authorization(v),
            ...syslog(v),
          }),
        );
        return 0;
      }
      case 'render-sshd': {
        if (!v['ca-pub'] || !v['principals-dir'] || !v.config) {
          throw new TypeError('--ca-pub, --principals-dir and --config are required');
        }
        process.stdout.write(
          renderSshdConfig({
            caKeysFile: v['ca-pub'],
            principalsDir: v['principals-dir'],
            forceCommand: forceCommandLine({
              script: selfScript(v),
              config: v.config,
              ...(v.node ? { node: v.node } : {}),
              ...(v.resident ? residentLine(v) : {}),
            }),
          }),
        );
        return 0;
      }
      case 'install': {
        if (!v.device || !v['ca-pub']) throw new TypeError('--device and --ca-pub are required');
        readFileSync(v['ca-pub']);
        const r = installDevice({
          device: v.device,
          caPubFile: v['ca-pub'],
          script: selfScript(v),
          ...(v.node ? { node: v.node } : {}),
          ...(v['etc-dir'] ? { etcDir: v['etc-dir'] } : {}),
          ...(v['audit-file'] ? { auditFile: v['audit-file'] } : {}),
          ...(v['sshd-drop-in']
            ? { sshdDropIn: v['sshd-drop-in'] === 'none' ? null : v['sshd-drop-in'] }
            : {}),
          ...platform(v),
          authorization: authorization(v),
          ...syslog(v),
          ...(v.snapshot
            ? {
                snapshot: {
                  script: join(dirname(selfScript(v)), 'netward-forcecommand-snapshot.cjs'),
                  ...(v['snapshot-blob'] ? { blob: v['snapshot-blob'] } : {}),
                },
              }
            : {}),
          ...(v.resident ? { resident: v['resident-dir'] ? { socketDir: v['resident-dir'] } : {} } : {}),
        });
        for (const f of r.files) console.log(`wrote ${f}`);
        console.log(`ForceCommand ${r.forceCommand}`);
        console.log('check with: sshd -t, then reload sshd');
        return 0;
      }
      default:
        console.error(USAGE);
        return 2;
    }
  } catch (e) {
    // The operator's own terminal: the detail is what they need (never a secret: errors name files).
    const detail = e instanceof ForceCommandError ? `${e.code}: ${e.message}` : (e as Error).message;
    const cause = e instanceof Error && e.cause instanceof Error ? ` (${e.cause.message})` : '';
    console.error(`${command}: ${detail}${cause}`);
    return 1;
  }
}
