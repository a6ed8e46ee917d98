/**
 * The input schemas advertised in tools/list. They tell the agent what is accepted; the command
 * builders in commands.ts check every value again, so the schemas are not the only line.
 */
import { FIELD_PATTERNS } from '@netward/audit-context';
import { z } from 'zod';
import { PING_COUNT, TRACEROUTE_HOPS } from './commands.ts';

const device = z
  .string()
  .regex(FIELD_PATTERNS.device)
  .describe('Device name from list_devices, e.g. spine-a');

const address = z.string().max(45).describe('IPv4 or IPv6 address, e.g. 10.0.0.1 or 2001:db8::1');

export const toolInputShapes = {
  list_devices: {},
  show_bgp_summary: { device },
  show_ip_route: {
    device,
    prefix: z
      .string()
      .max(49)
      .optional()
      .describe('Only routes for this CIDR prefix, e.g. 10.0.0.0/24 or 2001:db8::/32'),
  },
  show_interfaces: { device },
  ping: {
    device,
    destination: address,
    count: z
      .number()
      .int()
      .min(PING_COUNT.min)
      .max(PING_COUNT.max)
      .optional()
      .describe(`Echo requests to send (default ${PING_COUNT.default})`),
  },
  traceroute: {
    device,
    destination: address,
    maxHops: z
      .number()
      .int()
      .min(TRACEROUTE_HOPS.min)
      .max(TRACEROUTE_HOPS.max)
      .optional()
      .describe(`Maximum hops (default ${TRACEROUTE_HOPS.default})`),
  },
  show_running_config: { device },
  set_interface_description: {
    device,
    interface: z.string().max(32).describe('Interface name, e.g. eth1'),
    description: z
      .string()
      .max(80)
      .describe('Letters, digits, single spaces and _./:,=@- (no quotes), at most 80 characters'),
  },
  run_raw_command_on_device: {
    device,
    command: z.string().max(512).describe('Raw CLI command (unsafe demonstration tool)'),
  },
} as const;
