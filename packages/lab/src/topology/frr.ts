import { chmodSync, chownSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../errors.ts';
import type { DeviceLayout, LabLayout } from '../layout.ts';
import { groupId, userId } from '../system/accounts.ts';
import { inNamespaceNamed, run, waitFor } from '../system/exec.ts';

export const FRR_INIT = '/usr/lib/frr/frrinit.sh';
export const FRR_ETC = '/etc/frr';
export const FRR_RUN = '/var/run/frr';
export const VTYSH = '/usr/bin/vtysh';

/** The fixed vtysh arguments that reach one instance and read its own vtysh.conf (docs/frr.md). */
export function vtyshArgs(ns: string): string[] {
  return ['--config_dir', FRR_ETC, '-N', ns];
}

/** /etc/frr/<ns>/daemons: zebra (always started), bgpd and staticd; vty only on the namespace's lo. */
export function renderDaemons(): string {
  return [
    '# written by netward-lab: one FRR instance per device namespace (pathspace -N)',
    'bgpd=yes',
    'ospfd=no',
    'ospf6d=no',
    'ripd=no',
    'ripngd=no',
    'isisd=no',
    'pimd=no',
    'ldpd=no',
    'nhrpd=no',
    'eigrpd=no',
    'babeld=no',
    'sharpd=no',
    'pbrd=no',
    'bfdd=no',
    'fabricd=no',
    'vrrpd=no',
    'pathd=no',
    'vtysh_enable=yes',
    'zebra_options="  -A 127.0.0.1 -s 90000000"',
    'bgpd_options="   -A 127.0.0.1"',
    'staticd_options="-A 127.0.0.1"',
    '',
  ].join('\n');
}

/**
 * eBGP spine–leaf as measured in docs/frr.md: `frr defaults datacenter` (fast timers), no policy
 * required on eBGP sessions (RFC 8212 default off for the lab), the loopback announced.
 */
export function renderFrrConf(device: DeviceLayout, layout: LabLayout): string {
  const lines = [
    'frr version 8.4',
    'frr defaults datacenter',
    `hostname ${device.name}`,
    'service integrated-vtysh-config',
    '!',
    'interface lo',
    ` ip address ${device.loopback}/32`,
    'exit',
    '!',
  ];
  for (const l of device.links) {
    lines.push(
      `interface ${l.ifname}`,
      ` description link to ${l.peer}`,
      ` ip address ${l.address}`,
      'exit',
      '!',
    );
  }
  lines.push(`router bgp ${device.asn}`, ` bgp router-id ${device.loopback}`, ' no bgp ebgp-requires-policy');
  for (const l of device.links) {
    const peer = layout.devices.find((d) => d.name === l.peer);
    if (peer === undefined) continue;
    const peerIp = l.peerAddress.split('/')[0];
    lines.push(` neighbor ${peerIp} remote-as ${peer.asn}`, ` neighbor ${peerIp} description ${peer.name}`);
  }
  // Loopbacks, and the link /31s too: without them a leaf has no route back to the other leaf's
  // link address, and leaf-to-leaf pings and traceroutes (sourced from the uplink) go unanswered.
  lines.push(' !', ' address-family ipv4 unicast', `  network ${device.loopback}/32`);
  for (const l of device.links) lines.push(`  network ${linkNetwork(l.address)}`);
  lines.push(' exit-address-family', 'exit', '!', '');
  return lines.join('\n');
}

/** The network of an interface address: 10.0.0.1/31 → 10.0.0.0/31. */
export function linkNetwork(address: string): string {
  const [ip, len] = address.split('/');
  const octets = (ip ?? '').split('.').map(Number);
  const bits = Number(len);
  const value =
    ((octets[0] ?? 0) << 24) | ((octets[1] ?? 0) << 16) | ((octets[2] ?? 0) << 8) | (octets[3] ?? 0);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  const net = (value & mask) >>> 0;
  return `${[net >>> 24, (net >>> 16) & 255, (net >>> 8) & 255, net & 255].join('.')}/${bits}`;
}

export function renderVtyshConf(): string {
  return 'service integrated-vtysh-config\n';
}

/**
 * Writes /etc/frr/<ns>/{daemons,frr.conf,vtysh.conf} and creates /var/run/frr/<ns> as frr:frrvty 0750
 * before FRR does (frrinit would create it frr:frr, locking the frrvty accounts out of vtysh).
 * /etc/frr itself gets o+x (traverse, not list) so the accounts' vtysh can read its instance's
 * vtysh.conf (Debian ships /etc/frr 0750 frr:frr).
 */
export function writeFrrConfig(device: DeviceLayout, layout: LabLayout): void {
  if (!existsSync(FRR_INIT)) throw new LabError('ERR_LAB_MISSING_PEER', `${FRR_INIT} not found: install frr`);
  const frrUid = userId('frr');
  const frrGid = groupId('frr');
  const vtyGid = groupId('frrvty');
  const etc = join(FRR_ETC, device.ns);
  mkdirSync(etc, { recursive: true });
  chownSync(etc, frrUid, vtyGid);
  chmodSync(etc, 0o750);
  const st = statSync(FRR_ETC);
  if ((st.mode & 0o001) === 0) chmodSync(FRR_ETC, (st.mode & 0o777) | 0o001);
  const files: [string, string][] = [
    ['daemons', renderDaemons()],
    ['frr.conf', renderFrrConf(device, layout)],
    ['vtysh.conf', renderVtyshConf()],
  ];
  for (const [name, text] of files) {
    const file = join(etc, name);
    writeFileSync(file, text, { mode: 0o640 });
    chmodSync(file, 0o640);
    chownSync(file, frrUid, name === 'vtysh.conf' ? vtyGid : frrGid);
  }
  const runDir = join(FRR_RUN, device.ns);
  mkdirSync(runDir, { recursive: true });
  chownSync(runDir, frrUid, vtyGid);
  chmodSync(runDir, 0o750);
}

export async function frrRunning(device: DeviceLayout): Promise<boolean> {
  const r = await run(VTYSH, [...vtyshArgs(device.ns), '-c', 'show version'], {
    allowFailure: true,
    timeoutMs: 5_000,
  });
  return r.code === 0;
}

/** Starts the instance inside its namespace with its own UTS namespace (hostname = device name). */
export async function startFrr(device: DeviceLayout): Promise<void> {
  if (await frrRunning(device)) return;
  const [ip, ...args] = inNamespaceNamed(device.ns, device.name, FRR_INIT, ['start', device.ns]);
  await run(ip, args, { timeoutMs: 60_000 });
}

export async function stopFrr(device: DeviceLayout): Promise<void> {
  if (!existsSync(join(FRR_RUN, device.ns))) return;
  await run(FRR_INIT, ['stop', device.ns], { allowFailure: true, timeoutMs: 30_000 });
}

/** Removes the instance's files (after stop). */
export function removeFrrConfig(device: DeviceLayout): void {
  rmSync(join(FRR_ETC, device.ns), { recursive: true, force: true });
  rmSync(join(FRR_RUN, device.ns), { recursive: true, force: true });
}

interface RouteEntry {
  protocol?: string;
  selected?: boolean;
  installed?: boolean;
}

/** The prefixes this device has installed from BGP (`B>*`). */
export async function installedBgpRoutes(device: DeviceLayout): Promise<string[]> {
  const r = await run(VTYSH, [...vtyshArgs(device.ns), '-c', 'show ip route bgp json'], {
    allowFailure: true,
    timeoutMs: 5_000,
  });
  if (r.code !== 0 || !r.stdout.trim().startsWith('{')) return [];
  const table = JSON.parse(r.stdout) as Record<string, RouteEntry[]>;
  return Object.entries(table)
    .filter(([, entries]) => entries.some((e) => e.protocol === 'bgp' && e.selected && e.installed))
    .map(([prefix]) => prefix);
}

/**
 * Waits until every device has installed a BGP route to every other device's loopback: Established
 * comes ~1.8 s after start and the routes ~1.1 s later (docs/frr.md), so waiting on sessions alone races.
 */
export async function waitForRoutes(
  layout: LabLayout,
  timeoutMs = 60_000,
): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  await Promise.all(
    layout.devices.map(async (d) => {
      const want = layout.devices.filter((x) => x !== d).map((x) => `${x.loopback}/32`);
      out[d.name] = await waitFor(
        `BGP routes on ${d.name}`,
        async () => {
          const have = await installedBgpRoutes(d);
          return want.every((p) => have.includes(p)) ? have : undefined;
        },
        { timeoutMs, intervalMs: 250 },
      );
    }),
  );
  return out;
}
