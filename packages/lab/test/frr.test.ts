import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { labLayout } from '../src/layout.ts';
import { linkNetwork, renderDaemons, renderFrrConf, vtyshArgs } from '../src/topology/frr.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'frr');

describe('FRR instance files', () => {
  const layout = labLayout();

  // One golden file per device, written by hand from the topology in README.md.
  it.each(readdirSync(FIXTURES).map((f) => [f.replace(/\.conf$/, '')]))(
    'renders %s as its golden file',
    (name) => {
      const device = layout.devices.find((d) => d.name === name);
      expect(device).toBeDefined();
      if (device)
        expect(renderFrrConf(device, layout)).toBe(readFileSync(join(FIXTURES, `${name}.conf`), 'utf8'));
    },
  );

  it('starts only zebra, bgpd and staticd, with vty on the namespace loopback', () => {
    const text = renderDaemons();
    const enabled = text
      .split('\n')
      .filter((l) => /^[a-z0-9]+d=yes$/.test(l))
      .map((l) => l.split('=')[0]);
    expect(enabled).toEqual(['bgpd']);
    expect(text).toMatch(/^zebra_options=".*-A 127\.0\.0\.1/m);
  });

  it('reaches an instance by pathspace with its own vtysh.conf', () => {
    expect(vtyshArgs('e2e-spine-a')).toEqual(['--config_dir', '/etc/frr', '-N', 'e2e-spine-a']);
  });

  it.each([
    ['10.0.0.1/31', '10.0.0.0/31'],
    ['10.0.0.2/31', '10.0.0.2/31'],
    ['192.168.7.200/24', '192.168.7.0/24'],
    ['10.1.0.1/32', '10.1.0.1/32'],
    ['255.255.255.255/1', '128.0.0.0/1'],
  ])('linkNetwork(%s) = %s', (address, network) => {
    expect(linkNetwork(address)).toBe(network);
  });
});
