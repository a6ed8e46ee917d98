/**
 * The input schemas advertised in tools/list: JSON types, with the accepted values described in words.
 * The bounds themselves are enforced by the command builders (commands.ts), not by the SDK, so that
 * every refused argument produces the same coded tool error (ERR_MCP_INVALID_ARGUMENT) and the same
 * pair of audit lines as any other failed call. Only a wrong JSON type is refused by the SDK itself.
 */
import { z } from 'zod';
import { PING_COUNT, TRACEROUTE_HOPS } from './commands.ts';

const device = z.string().describe('Device name from list_devices, e.g. spine-a');

const address = z.string().describe('IPv4 or IPv6 address (no host names), e.g. 10.0.0.1 or 2001:db8::1');

export const toolInputShapes = {
  list_devices: {},
  show_bgp_summary: { device },
  show_ip_route: {
    device,
    prefix: z
      .string()
      .optional()
      .describe('Only routes for this IPv4 or IPv6 CIDR prefix, e.g. 10.0.0.0/24 or 2001:db8::/32'),
  },
  show_interfaces: { device },
  ping: {
    device,
    destination: address,
    count: z
      .number()
      .optional()
      .describe(
        `Echo requests to send: an integer from ${PING_COUNT.min} to ${PING_COUNT.max} (default ${PING_COUNT.default})`,
      ),
  },
  traceroute: {
    device,
    destination: address,
    maxHops: z
      .number()
      .optional()
      .describe(
        `Maximum hops: an integer from ${TRACEROUTE_HOPS.min} to ${TRACEROUTE_HOPS.max} (default ${TRACEROUTE_HOPS.default})`,
      ),
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
    command: z.string().describe('Raw CLI command, printable ASCII (unsafe demonstration tool)'),
  },
} as const;

type Shapes = typeof toolInputShapes;

/** The same shapes as zod objects, the form the SDK's `registerTool` takes (a raw shape is deprecated). */
export const toolInputSchemas = Object.fromEntries(
  Object.entries(toolInputShapes).map(([name, shape]) => [name, z.object(shape)]),
) as { readonly [K in keyof Shapes]: z.ZodObject<Shapes[K]> };
