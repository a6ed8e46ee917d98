/**
 * Device commands, built only from validated values. Nothing an agent sends reaches a device as free
 * text (except through the unsafe demonstration tool): device names come from the inventory,
 * addresses and prefixes are parsed, counts are bounded, names and descriptions are drawn from closed
 * character sets that need no escaping inside single quotes.
 *
 * FRR takes each CLI line as one `-c` argument of vtysh (`vtysh -c A -c B` runs both; a newline inside
 * an argument would be a second command, docs/frr.md), so every line is checked for the characters the
 * device validator accepts, `[a-zA-Z0-9 _./:,=@'-]`, minus the quote itself.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { McpServerError } from '../errors.ts';

/** One vtysh CLI line: the device allowlist without `'` (which would end the quoting). */
const CLI_LINE = /^[A-Za-z0-9_./:,=@-](?:[A-Za-z0-9 _./:,=@-]{0,198}[A-Za-z0-9_./:,=@-])?$/;

/** `message` is always a fixed text naming the argument: the agent sees it, so it never echoes a value. */
function invalid(message: string): never {
  throw new McpServerError('ERR_MCP_INVALID_ARGUMENT', message, { publicDetail: message });
}

/** `vtysh -c '<line>' [-c '<line>' ...]` */
export function vtysh(...lines: string[]): string {
  if (lines.length === 0) throw new TypeError('vtysh needs at least one line');
  for (const l of lines) {
    if (!CLI_LINE.test(l)) invalid('CLI line has characters outside the device allowlist');
  }
  return ['vtysh', ...lines.map((l) => `-c '${l}'`)].join(' ');
}

/** An IPv4 or IPv6 address, without zone id. Returned unchanged (only [0-9a-fA-F.:] survive). */
export function parseAddress(value: unknown): { address: string; family: 4 | 6 } {
  if (typeof value !== 'string' || value.length > 45 || !/^[0-9A-Fa-f.:]+$/.test(value)) {
    invalid('destination must be an IPv4 or IPv6 address');
  }
  if (isIPv4(value)) return { address: value, family: 4 };
  if (isIPv6(value)) return { address: value.toLowerCase(), family: 6 };
  return invalid('destination must be an IPv4 or IPv6 address');
}

/** `a.b.c.d/len` or `x::y/len`, prefix length in range for the family. */
export function parsePrefix(value: unknown): { prefix: string; family: 4 | 6 } {
  if (typeof value !== 'string' || value.length > 49) invalid('prefix must be an IPv4 or IPv6 CIDR prefix');
  const m = /^([0-9A-Fa-f.:]+)\/(0|[1-9][0-9]{0,2})$/.exec(value);
  if (!m) return invalid('prefix must be an IPv4 or IPv6 CIDR prefix');
  const { address, family } = parseAddress(m[1]);
  const len = Number(m[2]);
  if (len > (family === 4 ? 32 : 128)) invalid('prefix length out of range');
  return { prefix: `${address}/${len}`, family };
}

export function parseBoundedInt(
  value: unknown,
  name: string,
  min: number,
  max: number,
  dflt: number,
): number {
  if (value === undefined) return dflt;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(`${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** FRR/Linux interface names: `eth1`, `swp1s0`, `Ethernet1/1`, `lo`, `vlan10.20`, `bond-0`. */
const INTERFACE = /^[A-Za-z][A-Za-z0-9._/:-]{0,31}$/;

export function parseInterfaceName(value: unknown): string {
  if (typeof value !== 'string' || !INTERFACE.test(value)) {
    invalid('interface must be a name of letters, digits and ._/:- (at most 32, starting with a letter)');
  }
  return value;
}

/** Words of letters, digits and `_./:,=@-`, single spaces between them, 1-80 characters. */
const DESCRIPTION = /^[A-Za-z0-9_./:,=@-]+(?: [A-Za-z0-9_./:,=@-]+)*$/;

export function parseDescription(value: unknown): string {
  if (typeof value !== 'string' || value.length > 80 || !DESCRIPTION.test(value)) {
    invalid('description must be 1-80 characters of letters, digits, single spaces and _./:,=@-');
  }
  return value;
}

/** The unsafe passthrough still refuses control characters: the device decides the rest. */
export function parseRawCommand(value: unknown): string {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > 512 ||
    !/^[\x20-\x7e]+$/.test(value)
  ) {
    invalid('command must be 1-512 printable ASCII characters');
  }
  return value;
}

export const PING_COUNT = { min: 1, max: 5, default: 3 } as const;
export const TRACEROUTE_HOPS = { min: 1, max: 30, default: 15 } as const;

// The commands, one per device tool. `args` are untrusted: every builder parses what it uses.
export type Args = Readonly<Record<string, unknown>>;

export const deviceCommands = {
  show_bgp_summary: () => vtysh('show bgp summary'),
  show_ip_route: (args: Args) => {
    if (args['prefix'] === undefined) return vtysh('show ip route');
    const { prefix, family } = parsePrefix(args['prefix']);
    return vtysh(family === 4 ? `show ip route ${prefix}` : `show ipv6 route ${prefix}`);
  },
  show_interfaces: () => vtysh('show interface brief'),
  ping: (args: Args) => {
    const { address } = parseAddress(args['destination']);
    const count = parseBoundedInt(args['count'], 'count', PING_COUNT.min, PING_COUNT.max, PING_COUNT.default);
    return `ping -c ${count} ${address}`;
  },
  traceroute: (args: Args) => {
    const { address } = parseAddress(args['destination']);
    const hops = parseBoundedInt(
      args['maxHops'],
      'maxHops',
      TRACEROUTE_HOPS.min,
      TRACEROUTE_HOPS.max,
      TRACEROUTE_HOPS.default,
    );
    return `traceroute -n -m ${hops} ${address}`;
  },
  show_running_config: () => vtysh('show running-config'),
  set_interface_description: (args: Args) => {
    const iface = parseInterfaceName(args['interface']);
    const description = parseDescription(args['description']);
    return vtysh('configure terminal', `interface ${iface}`, `description ${description}`);
  },
  run_raw_command_on_device: (args: Args) => parseRawCommand(args['command']),
} as const satisfies Record<string, (args: Args) => string>;

export type DeviceToolName = keyof typeof deviceCommands;

export function isDeviceTool(name: string): name is DeviceToolName {
  return Object.hasOwn(deviceCommands, name);
}
