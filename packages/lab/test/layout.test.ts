import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decide } from '@netward/policy';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { labLayout } from '../src/layout.ts';
import { writePolicy } from '../src/services/configs.ts';

describe('lab layout', () => {
  it('derives the documented names and addresses for the default lab', () => {
    const l = labLayout();
    expect(l.paths.root).toBe('/var/lib/netward-lab');
    expect(l.devices.map((d) => [d.name, d.ns, d.asn, d.loopback, d.mgmtAddress, d.hostVeth])).toEqual([
      ['spine-a', 'spine-a', 65000, '10.1.0.1', '10.255.0.11', 'mg-spine-a'],
      ['leaf-1', 'leaf-1', 65001, '10.1.0.11', '10.255.0.12', 'mg-leaf-1'],
      ['leaf-2', 'leaf-2', 65002, '10.1.0.12', '10.255.0.13', 'mg-leaf-2'],
    ]);
    expect(l.hostMgmtAddress).toBe('10.255.0.1');
    expect(l.urls).toEqual({
      idp: 'http://127.0.0.1:9400',
      broker: 'http://127.0.0.1:9401',
      mcp: 'http://127.0.0.1:9402/mcp',
      mcpBase: 'http://127.0.0.1:9402',
    });
  });

  it('gives both ends of each /31 link consistent addresses (RFC 3021)', () => {
    const l = labLayout();
    for (const d of l.devices) {
      for (const link of d.links) {
        const peer = l.devices.find((x) => x.name === link.peer);
        const back = peer?.links.find((x) => x.peer === d.name);
        expect(back?.address).toBe(link.peerAddress);
        expect(back?.peerAddress).toBe(link.address);
        expect(back?.ifname).toBe(link.peerIfname);
      }
    }
    expect(l.devices.find((d) => d.name === 'spine-a')?.links.map((x) => x.address)).toEqual([
      '10.0.0.0/31',
      '10.0.0.2/31',
    ]);
  });

  it('keeps every host interface name within IFNAMSIZ (15 bytes) for any accepted prefix', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^([a-z][a-z0-9]{0,3}-)?$/), (prefix) => {
        const l = labLayout({ prefix });
        for (const name of [l.bridge, ...l.devices.map((d) => d.hostVeth)]) {
          expect(Buffer.byteLength(name)).toBeLessThanOrEqual(15);
        }
      }),
    );
  });

  it.each([
    [{ prefix: 'toolong-' }],
    [{ prefix: 'a b-' }],
    [{ mgmtNet: '10.255.0.0' }],
    [{ mgmtNet: '300.1.1' }],
    [{ dir: 'relative/dir' }],
    [{ portBase: 70000 }],
    [{ certTtl: 1 }],
    [{ policy: 'permissive' as 'default' }],
  ])('refuses %o with ERR_LAB_CONFIG', (bad) => {
    expect(() => labLayout(bad)).toThrow(expect.objectContaining({ code: 'ERR_LAB_CONFIG' }));
  });
});

describe('lab policy', () => {
  // The look-alike the policy lint reports for the design's viewer profile.
  const lookalike = 'ip link set dev eth0 down /show';

  it.each([
    ['default', 'deny'],
    ['design', 'permit'],
  ] as const)('writes the %s policy with the lab certificate lifetime', (name, verdict) => {
    const dir = mkdtempSync(join(tmpdir(), 'netward-lab-policy-'));
    try {
      const layout = labLayout({ dir, policy: name, certTtl: 8 });
      mkdirSync(layout.paths.config, { recursive: true });
      const policy = writePolicy(layout);
      expect(policy.roles.map((r) => r.certificate.ttlSeconds)).toEqual([8, 8, 8]);
      expect(decide(policy, 'net-viewer', 'show bgp summary').decision).toBe('permit');
      expect(decide(policy, 'net-viewer', lookalike).decision).toBe(verdict);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
