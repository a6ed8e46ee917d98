/**
 * Device commands from untrusted arguments: properties over generated inputs, and golden examples
 * whose expected strings are written out by hand from the FRR/iputils command syntax.
 */

import { thrownCode } from '@netward/kit/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { McpServerError } from '../src/errors.ts';
import { deviceCommands, parseAddress, parsePrefix, vtysh } from '../src/tools/commands.ts';

/** What the device validator accepts inside a quoted argument, and the quoting shape. */
const DEVICE_ALLOWLIST = /^[a-zA-Z0-9 _./:,=@'-]+$/;
const VTYSH_SHAPE = /^vtysh( -c '[^']+')+$/;

const codeOf = (fn: () => unknown) => thrownCode(fn, McpServerError) ?? 'accepted';

describe('golden commands', () => {
  const cases: [keyof typeof deviceCommands, Record<string, unknown>, string][] = [
    ['show_bgp_summary', { device: 'spine-a' }, "vtysh -c 'show bgp summary'"],
    ['show_ip_route', { device: 'spine-a' }, "vtysh -c 'show ip route'"],
    ['show_ip_route', { prefix: '10.0.0.0/24' }, "vtysh -c 'show ip route 10.0.0.0/24'"],
    ['show_ip_route', { prefix: '2001:DB8::/32' }, "vtysh -c 'show ipv6 route 2001:db8::/32'"],
    ['show_interfaces', {}, "vtysh -c 'show interface brief'"],
    ['ping', { destination: '192.0.2.1' }, 'ping -c 3 192.0.2.1'],
    ['ping', { destination: '192.0.2.1', count: 5 }, 'ping -c 5 192.0.2.1'],
    ['traceroute', { destination: '2001:db8::1' }, 'traceroute -n -m 15 2001:db8::1'],
    ['traceroute', { destination: '10.1.1.1', maxHops: 30 }, 'traceroute -n -m 30 10.1.1.1'],
    ['show_running_config', {}, "vtysh -c 'show running-config'"],
    [
      'set_interface_description',
      { interface: 'eth1', description: 'uplink to leaf-1' },
      "vtysh -c 'configure terminal' -c 'interface eth1' -c 'description uplink to leaf-1'",
    ],
  ];
  for (const [tool, args, expected] of cases) {
    it(`${tool} ${JSON.stringify(args)}`, () => {
      expect(deviceCommands[tool](args)).toBe(expected);
    });
  }
});

describe('refusals', () => {
  const bad: [keyof typeof deviceCommands, Record<string, unknown>][] = [
    ['ping', { destination: '10.0.0.1; reboot' }],
    ['ping', { destination: '10.0.0.1', count: 6 }],
    ['ping', { destination: '10.0.0.1', count: 0 }],
    ['ping', { destination: '10.0.0.1', count: 2.5 }],
    ['ping', { destination: '10.0.0.1', count: '3' }],
    ['ping', { destination: 'fe80::1%eth0' }],
    ['ping', { destination: '010.0.0.1' }],
    ['ping', { destination: 'example.com' }],
    ['ping', {}],
    ['traceroute', { destination: '10.0.0.1', maxHops: 31 }],
    ['show_ip_route', { prefix: '10.0.0.0/33' }],
    ['show_ip_route', { prefix: '10.0.0.0' }],
    ['show_ip_route', { prefix: '2001:db8::/129' }],
    ['show_ip_route', { prefix: '10.0.0.0/08' }],
    ['set_interface_description', { interface: 'eth1', description: "it's" }],
    ['set_interface_description', { interface: 'eth1', description: 'a\nwrite memory' }],
    ['set_interface_description', { interface: 'eth1', description: ' leading' }],
    ['set_interface_description', { interface: 'eth1', description: 'two  spaces' }],
    ['set_interface_description', { interface: 'eth1', description: 'x'.repeat(81) }],
    ['set_interface_description', { interface: 'eth1 ; ls', description: 'x' }],
    ['set_interface_description', { interface: '1eth', description: 'x' }],
    ['run_raw_command_on_device', { command: 'show version\nconfigure terminal' }],
    ['run_raw_command_on_device', { command: '' }],
  ];
  for (const [tool, args] of bad) {
    it(`${tool} ${JSON.stringify(args)}`, () => {
      expect(codeOf(() => deviceCommands[tool](args))).toBe('ERR_MCP_INVALID_ARGUMENT');
    });
  }
});

const ipv4 = fc.ipV4();
const ipv6 = fc.ipV6();

describe('properties', () => {
  it('every accepted description yields one well-formed vtysh command inside the device allowlist', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), fc.string({ maxLength: 40 }), (description, iface) => {
        let cmd: string;
        try {
          cmd = deviceCommands.set_interface_description({ interface: iface, description });
        } catch (e) {
          expect((e as McpServerError).code).toBe('ERR_MCP_INVALID_ARGUMENT');
          return;
        }
        expect(cmd).toMatch(VTYSH_SHAPE);
        expect(cmd).toMatch(DEVICE_ALLOWLIST);
        expect(cmd.split("'").length).toBe(7);
      }),
    );
  });

  it('descriptions from the allowed alphabet are accepted unchanged', () => {
    const word = fc.stringMatching(/^[A-Za-z0-9_./:,=@-]{1,10}$/);
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 6 }), (words) => {
        const description = words.join(' ');
        fc.pre(description.length <= 80);
        expect(deviceCommands.set_interface_description({ interface: 'eth1', description })).toBe(
          `vtysh -c 'configure terminal' -c 'interface eth1' -c 'description ${description}'`,
        );
      }),
    );
  });

  it('generated IPv4/IPv6 addresses are accepted, and only they', () => {
    fc.assert(
      fc.property(fc.oneof(ipv4, ipv6), (a) => {
        const { address } = parseAddress(a);
        expect(deviceCommands.ping({ destination: a })).toBe(`ping -c 3 ${address}`);
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 50 }), (s) => {
        const code = codeOf(() => parseAddress(s));
        if (code === 'accepted') expect(s).toMatch(/^[0-9a-fA-F.:]+$/);
      }),
    );
  });

  it('generated prefixes round-trip with the right family and length bounds', () => {
    fc.assert(
      fc.property(ipv4, fc.integer({ min: 0, max: 40 }), (a, len) => {
        const code = codeOf(() => parsePrefix(`${a}/${len}`));
        expect(code).toBe(len <= 32 ? 'accepted' : 'ERR_MCP_INVALID_ARGUMENT');
      }),
    );
    fc.assert(
      fc.property(ipv6, fc.integer({ min: 0, max: 140 }), (a, len) => {
        const code = codeOf(() => parsePrefix(`${a}/${len}`));
        expect(code).toBe(len <= 128 ? 'accepted' : 'ERR_MCP_INVALID_ARGUMENT');
      }),
    );
  });

  it('vtysh refuses any line with a quote or control character', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (s) => {
        const code = codeOf(() => vtysh(`show ${s}`));
        if (/['\n\r\t\\]/.test(s) || /[^\x20-\x7e]/.test(s)) expect(code).toBe('ERR_MCP_INVALID_ARGUMENT');
      }),
    );
  });
});
