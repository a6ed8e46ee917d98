import { LabError } from '../errors.ts';
import type { DeviceLayout, LabLayout } from '../layout.ts';
import { run, runIn, sleep } from '../system/exec.ts';

export async function namespaceExists(ns: string): Promise<boolean> {
  const { stdout } = await run('ip', ['netns', 'list'], { allowFailure: true });
  return stdout.split('\n').some((line) => line.split(' ')[0] === ns);
}

/** `ip args` on the host, or inside the namespace `ns`. */
function ip(ns: string | undefined, args: readonly string[], options: Parameters<typeof run>[2] = {}) {
  return ns === undefined ? run('ip', args, options) : runIn(ns, 'ip', args, options);
}

async function linkExists(name: string, ns?: string): Promise<boolean> {
  return (await ip(ns, ['link', 'show', 'dev', name], { allowFailure: true })).code === 0;
}

/** `address` on the link `dev` (kept if already there), and the link up. */
async function addressUp(ns: string | undefined, dev: string, address: string): Promise<void> {
  await ip(ns, ['addr', 'replace', address, 'dev', dev]);
  await ip(ns, ['link', 'set', dev, 'up']);
}

/** A veth pair, each end created directly in its namespace (`ns` undefined: the host), unless it exists. */
async function ensureVeth(name: string, ns: string | undefined, peer: string, peerNs: string): Promise<void> {
  if (await linkExists(name, ns)) return;
  const where = ns === undefined ? [] : ['netns', ns];
  await run('ip', ['link', 'add', name, ...where, 'type', 'veth', 'peer', 'name', peer, 'netns', peerNs]);
}

/**
 * Creates the namespaces, the data-plane veths (directly inside both namespaces, so no host-side
 * name can clash), the management bridge and one management veth per device. Idempotent: every
 * object that already exists is kept.
 */
export async function createNetwork(layout: LabLayout): Promise<void> {
  for (const d of layout.devices) {
    if (!(await namespaceExists(d.ns))) await run('ip', ['netns', 'add', d.ns]);
    // A new namespace does not forward (net.ipv4.ip_forward=0), and zebra does not change that: the
    // spine would answer its own pings but drop leaf-to-leaf traffic, traceroute's included.
    await runIn(d.ns, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    await addressUp(d.ns, 'lo', `${d.loopback}/32`);
  }

  // Data plane: one veth per spine–leaf link, created with each end already in its namespace.
  for (const d of layout.devices) {
    for (const l of d.links) {
      if (d.name > l.peer) continue; // each link once
      const peer = layout.devices.find((x) => x.name === l.peer);
      if (peer === undefined) throw new LabError('ERR_LAB_CONFIG', `link to unknown device ${l.peer}`);
      await ensureVeth(l.ifname, d.ns, l.peerIfname, peer.ns);
    }
  }
  for (const d of layout.devices) {
    for (const l of d.links) await addressUp(d.ns, l.ifname, l.address);
  }

  // Management: a bridge on the host with the services' address, one veth per device.
  if (!(await linkExists(layout.bridge))) await run('ip', ['link', 'add', layout.bridge, 'type', 'bridge']);
  await addressUp(undefined, layout.bridge, `${layout.hostMgmtAddress}/${layout.mgmtPrefixLength}`);
  for (const d of layout.devices) {
    await ensureVeth(d.hostVeth, undefined, 'mgmt0', d.ns);
    await run('ip', ['link', 'set', d.hostVeth, 'master', layout.bridge]);
    await run('ip', ['link', 'set', d.hostVeth, 'up']);
    await addressUp(d.ns, 'mgmt0', `${d.mgmtAddress}/${layout.mgmtPrefixLength}`);
  }
}

/** Process ids living in a namespace (FRR daemons, sshd, validators, pings). */
export async function namespacePids(ns: string): Promise<number[]> {
  const { stdout } = await run('ip', ['netns', 'pids', ns], { allowFailure: true });
  return stdout
    .split('\n')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/**
 * Kills every process left in the namespace, then deletes it: deleting only the name would leave
 * the namespace alive for as long as a process holds it. The veths inside die with it, and with them
 * their host-side peers.
 */
export async function destroyNamespace(d: DeviceLayout): Promise<void> {
  if (!(await namespaceExists(d.ns))) return;
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    const pids = await namespacePids(d.ns);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
    for (let i = 0; i < 20 && (await namespacePids(d.ns)).length > 0; i++) await sleep(100);
  }
  await run('ip', ['netns', 'del', d.ns], { allowFailure: true });
}

export async function destroyNetwork(layout: LabLayout): Promise<void> {
  await Promise.all(layout.devices.map((d) => destroyNamespace(d)));
  for (const d of layout.devices) {
    if (await linkExists(d.hostVeth)) await run('ip', ['link', 'del', d.hostVeth], { allowFailure: true });
  }
  if (await linkExists(layout.bridge))
    await run('ip', ['link', 'del', layout.bridge], { allowFailure: true });
}

export interface NetworkStatus {
  readonly namespaces: Record<string, boolean>;
  readonly bridge: boolean;
}

export async function networkStatus(layout: LabLayout): Promise<NetworkStatus> {
  const namespaces: Record<string, boolean> = {};
  for (const d of layout.devices) namespaces[d.name] = await namespaceExists(d.ns);
  return { namespaces, bridge: await linkExists(layout.bridge) };
}
