import { join } from 'node:path';
import { LabError } from './errors.ts';

/**
 * Everything about one lab that can be derived from its options: names, addresses, ports, paths.
 * Pure data, so that `up`, `down`, `status`, `demo`, `trace` and the tests agree on every name.
 *
 * Network design (documented in README.md):
 *
 *   host (root namespace)                                    device namespaces
 *   ─────────────────────                                    ─────────────────
 *   127.0.0.1:<base>+0  lab IdP          ┐ only the host
 *   127.0.0.1:<base>+1  CA broker        │ talks to these
 *   127.0.0.1:<base>+2  MCP server       ┘
 *   bridge <p>nwmgmt 10.255.0.1/24 ── mg-spine-a ══ mgmt0 10.255.0.11  spine-a  sshd :22
 *     TACACS+  10.255.0.1:49        ── mg-leaf-1  ══ mgmt0 10.255.0.12  leaf-1   sshd :22
 *     syslog   10.255.0.1:514 udp+tcp─ mg-leaf-2  ══ mgmt0 10.255.0.13  leaf-2   sshd :22
 *
 *   data plane (inside the namespaces, eBGP over /31s, loopbacks announced):
 *     spine-a to-leaf-1 10.0.0.0/31 ══ leaf-1 to-spine-a 10.0.0.1/31
 *     spine-a to-leaf-2 10.0.0.2/31 ══ leaf-2 to-spine-a 10.0.0.3/31
 *     loopbacks: spine-a 10.1.0.1, leaf-1 10.1.0.11, leaf-2 10.1.0.12 (/32)
 *
 * The management network is a bridge on the host, as an out-of-band management LAN would be: the
 * devices reach TACACS+ and syslog on the host's bridge address, and the MCP server on the host
 * reaches each device's sshd on its management address. Nothing listens on 0.0.0.0.
 */

export interface LabOptions {
  /** The lab directory: configuration, state, keys, logs, pid files. Default /var/lib/netward-lab. */
  readonly dir: string;
  /** Prefix of namespace, FRR pathspace and host interface names, so two labs can coexist. Default ''. */
  readonly prefix: string;
  /** First three octets of the management /24. Default 10.255.0. */
  readonly mgmtNet: string;
  /** First of the three host ports (IdP, broker, MCP server) on 127.0.0.1. Default 9400. */
  readonly portBase: number;
  /** TACACS+ port on the management address. Default 49 (RFC 8907 section 4). */
  readonly tacacsPort: number;
  /** Syslog port (UDP and TCP) on the management address. Default 514. */
  readonly syslogPort: number;
  /** Which TACACS+ server runs: ours (default) or a tac_plus-ng binary found on PATH. */
  readonly tacacs: 'embedded' | 'tac_plus-ng';
  /** Certificate lifetime requested from the broker, seconds. Default 60 (the seed's). */
  readonly certTtl: number;
  /** MCP server reuses one certificate and connection per (session, role, device). Default off. */
  readonly sessionMode: boolean;
  /**
   * Which shipped policy every enforcement point gets: `default` (command grammars: the validator
   * parses every request, tac_plus-ng gets the anchored rules rendered from them) or `design` (the
   * design's tac_plus-ng profiles exactly, for comparison with tac_plus-ng; `netward-policy check`
   * names its holes).
   */
  readonly policy: 'default' | 'design';
  /**
   * Which IdP and SSH CA run. `embedded` (default): the lab IdP (oidc-provider) and the broker's local
   * CA. `keycloak`: the design's stack, Keycloak as the IdP and OpenBao as the CA behind the broker's
   * vault backend, both downloaded from their registries on first use (src/stack/).
   */
  readonly stack: 'embedded' | 'keycloak';
  /**
   * How many TACACS+ servers, CA brokers and MCP servers run: 1 (default), or 2 with the brokers and
   * MCP servers behind HAProxy on the lab's usual ports (src/services/replicas.ts).
   */
  readonly replicas: 1 | 2;
  /**
   * How a device's validator serves a per-call command: `resident` (default) through the shim to one
   * long-lived validator per (device, account) the lab supervises, falling back to a process of its
   * own when that one does not answer; `per-process`: a new node process per command, as before.
   */
  readonly validators: 'resident' | 'per-process';
}

export const DEFAULT_LAB_DIR = '/var/lib/netward-lab';

export const DEFAULT_OPTIONS: LabOptions = Object.freeze({
  dir: DEFAULT_LAB_DIR,
  prefix: '',
  mgmtNet: '10.255.0',
  portBase: 9400,
  tacacsPort: 49,
  syslogPort: 514,
  tacacs: 'embedded',
  certTtl: 60,
  sessionMode: false,
  policy: 'default',
  stack: 'embedded',
  replicas: 1,
  validators: 'resident',
});

export interface DeviceLink {
  /** Interface name inside this device's namespace. */
  readonly ifname: string;
  /** Address with prefix length, e.g. 10.0.0.0/31. */
  readonly address: string;
  readonly peer: string;
  readonly peerIfname: string;
  readonly peerAddress: string;
}

export interface DeviceLayout {
  /** Inventory name (what tools and the MCP server call it). */
  readonly name: string;
  /** Network namespace = FRR pathspace (`-N`). */
  readonly ns: string;
  readonly asn: number;
  readonly loopback: string;
  readonly site: string;
  readonly mgmtAddress: string;
  /** Host-side end of the management veth (attached to the bridge). */
  readonly hostVeth: string;
  readonly links: readonly DeviceLink[];
  /** <lab>/devices/<name> */
  readonly dir: string;
}

export interface LabLayout {
  readonly options: LabOptions;
  readonly devices: readonly DeviceLayout[];
  readonly bridge: string;
  readonly hostMgmtAddress: string;
  readonly mgmtPrefixLength: 24;
  readonly urls: {
    readonly idp: string;
    readonly broker: string;
    readonly mcp: string;
    readonly mcpBase: string;
  };
  readonly ports: { readonly idp: number; readonly broker: number; readonly mcp: number };
  readonly paths: LabPaths;
  readonly clients: { readonly agent: string; readonly mcpServer: string; readonly agentRedirect: string };
  readonly users: readonly { readonly name: string; readonly role: string }[];
}

export interface LabPaths {
  readonly root: string;
  readonly state: string;
  readonly logs: string;
  readonly run: string;
  readonly bin: string;
  readonly config: string;
  readonly ca: string;
  readonly idp: string;
  readonly devices: string;
  readonly labFile: string;
  readonly usersFile: string;
  readonly tacacsKey: string;
  readonly exchangeSecret: string;
  readonly userCaPub: string;
  readonly hostCaPub: string;
  readonly syslogOut: string;
  readonly forcecommand: string;
  /** The validator's V8 start-up snapshot, when it could be built. */
  readonly forcecommandBlob: string;
}

/** The three devices of the seed's topology: one spine, two leaves (eBGP, private ASNs, RFC 6996). */
const DEVICES = [
  { name: 'spine-a', asn: 65000, loopback: '10.1.0.1', site: 'lab-core', host: 11 },
  { name: 'leaf-1', asn: 65001, loopback: '10.1.0.11', site: 'lab-rack-1', host: 12 },
  { name: 'leaf-2', asn: 65002, loopback: '10.1.0.12', site: 'lab-rack-2', host: 13 },
] as const;

/** Spine–leaf /31 links (RFC 3021): [spine side, leaf side]. */
const LINKS = [
  { a: 'spine-a', b: 'leaf-1', net: '10.0.0.0' },
  { a: 'spine-a', b: 'leaf-2', net: '10.0.0.2' },
] as const;

export const USERS = Object.freeze([
  { name: 'alice', role: 'net-viewer' },
  { name: 'bob', role: 'net-operator' },
  { name: 'carol', role: 'net-admin' },
]);

export const ROLES = Object.freeze(['net-viewer', 'net-operator', 'net-admin'] as const);

function plusOne(address: string): string {
  const parts = address.split('.').map(Number);
  parts[3] = (parts[3] ?? 0) + 1;
  return parts.join('.');
}

export function validateOptions(options: LabOptions): LabOptions {
  // Linux interface names are at most 15 bytes (IFNAMSIZ - 1): "<prefix>mg-spine-a" must fit.
  if (!/^([a-z][a-z0-9]{0,3}-)?$/.test(options.prefix)) {
    throw new LabError(
      'ERR_LAB_CONFIG',
      'prefix must be empty or 1-4 lower-case letters/digits followed by "-"',
    );
  }
  const octets = options.mgmtNet.split('.');
  if (octets.length !== 3 || octets.some((o) => !/^\d{1,3}$/.test(o) || Number(o) > 255)) {
    throw new LabError('ERR_LAB_CONFIG', 'mgmtNet must be the first three octets of a /24, e.g. 10.255.0');
  }
  if (!options.dir.startsWith('/')) throw new LabError('ERR_LAB_CONFIG', 'lab dir must be an absolute path');
  for (const [k, v] of Object.entries({
    portBase: options.portBase,
    tacacsPort: options.tacacsPort,
    syslogPort: options.syslogPort,
  })) {
    if (!Number.isInteger(v) || v < 1 || v > 65533) throw new LabError('ERR_LAB_CONFIG', `${k} out of range`);
  }
  if (!Number.isInteger(options.certTtl) || options.certTtl < 5 || options.certTtl > 600) {
    throw new LabError('ERR_LAB_CONFIG', 'certTtl must be 5..600 seconds');
  }
  if (options.policy !== 'default' && options.policy !== 'design') {
    throw new LabError('ERR_LAB_CONFIG', 'policy must be default or design');
  }
  if (options.stack !== 'embedded' && options.stack !== 'keycloak') {
    throw new LabError('ERR_LAB_CONFIG', 'stack must be embedded or keycloak');
  }
  if (options.replicas !== 1 && options.replicas !== 2) {
    throw new LabError('ERR_LAB_CONFIG', 'replicas must be 1 or 2');
  }
  if (options.validators !== 'resident' && options.validators !== 'per-process') {
    throw new LabError('ERR_LAB_CONFIG', 'validators must be resident or per-process');
  }
  if (options.replicas === 2 && (options.stack !== 'embedded' || options.tacacs !== 'embedded')) {
    throw new LabError('ERR_LAB_CONFIG', 'replicas 2 runs with the embedded stack and TACACS+ server only');
  }
  if (options.replicas === 2 && (options.portBase > 65529 || options.tacacsPort > 65534)) {
    throw new LabError('ERR_LAB_CONFIG', 'replicas 2 needs portBase+6 and tacacsPort+1 below 65536');
  }
  return options;
}

export function labLayout(input: Partial<LabOptions> = {}): LabLayout {
  const options = validateOptions({ ...DEFAULT_OPTIONS, ...input });
  const root = options.dir;
  const paths: LabPaths = {
    root,
    state: join(root, 'state'),
    logs: join(root, 'logs'),
    run: join(root, 'run'),
    bin: join(root, 'bin'),
    config: join(root, 'config'),
    ca: join(root, 'state', 'ca'),
    idp: join(root, 'state', 'idp'),
    devices: join(root, 'devices'),
    labFile: join(root, 'lab.json'),
    usersFile: join(root, 'state', 'idp', 'users.json'),
    tacacsKey: join(root, 'state', 'tacacs.key'),
    exchangeSecret: join(root, 'state', 'idp', 'mcp-client.secret'),
    userCaPub: join(root, 'config', 'user_ca.pub'),
    hostCaPub: join(root, 'config', 'host_ca.pub'),
    syslogOut: join(root, 'logs', 'syslog.jsonl'),
    forcecommand: join(root, 'bin', 'netward-forcecommand.js'),
    forcecommandBlob: join(root, 'bin', 'netward-forcecommand.blob'),
  };
  const devices: DeviceLayout[] = DEVICES.map((d) => {
    const links: DeviceLink[] = [];
    for (const l of LINKS) {
      if (l.a === d.name) {
        links.push({
          ifname: `to-${l.b}`,
          address: `${l.net}/31`,
          peer: l.b,
          peerIfname: `to-${l.a}`,
          peerAddress: `${plusOne(l.net)}/31`,
        });
      } else if (l.b === d.name) {
        links.push({
          ifname: `to-${l.a}`,
          address: `${plusOne(l.net)}/31`,
          peer: l.a,
          peerIfname: `to-${l.b}`,
          peerAddress: `${l.net}/31`,
        });
      }
    }
    return {
      name: d.name,
      ns: `${options.prefix}${d.name}`,
      asn: d.asn,
      loopback: d.loopback,
      site: d.site,
      mgmtAddress: `${options.mgmtNet}.${d.host}`,
      hostVeth: `${options.prefix}mg-${d.name}`,
      links,
      dir: join(root, 'devices', d.name),
    };
  });
  const ports = { idp: options.portBase, broker: options.portBase + 1, mcp: options.portBase + 2 };
  const mcpBase = `http://127.0.0.1:${ports.mcp}`;
  return Object.freeze({
    options,
    devices,
    bridge: `${options.prefix}nwmgmt`,
    hostMgmtAddress: `${options.mgmtNet}.1`,
    mgmtPrefixLength: 24,
    ports,
    urls: {
      idp: `http://127.0.0.1:${ports.idp}`,
      broker: `http://127.0.0.1:${ports.broker}`,
      mcp: `${mcpBase}/mcp`,
      mcpBase,
    },
    paths,
    clients: {
      agent: 'mcp-agent',
      mcpServer: 'netward-mcp-server',
      agentRedirect: 'http://127.0.0.1:8976/callback',
    },
    users: USERS,
  });
}

export function deviceByName(layout: LabLayout, name: string): DeviceLayout {
  const d = layout.devices.find((x) => x.name === name);
  if (d === undefined) throw new LabError('ERR_LAB_CONFIG', `no device ${name} in the lab`);
  return d;
}
