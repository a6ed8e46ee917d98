// What the lab derives for its resident validators, without a lab: service names, socket paths, the
// devices' ForceCommand in both modes, and the argv a resident validator starts by. The lab end to end
// (test/lab/lab.test.ts) runs them.
import { describe, expect, it } from 'vitest';
import { labLayout } from '../src/layout.ts';
import {
  deviceForceCommand,
  residentServiceNames,
  residentSocket,
  residentSpec,
} from '../src/topology/resident.ts';

describe('lab resident validators', () => {
  it('are on by default: one per device and account; none with --validators per-process', () => {
    const l = labLayout({ dir: '/var/lib/nw-res' });
    expect(l.options.validators).toBe('resident');
    expect(residentServiceNames(l)).toEqual(
      ['spine-a', 'leaf-1', 'leaf-2'].flatMap((d) =>
        ['net-viewer', 'net-operator', 'net-admin'].map((a) => `resident-${d}-${a}`),
      ),
    );
    expect(residentServiceNames(labLayout({ validators: 'per-process' }))).toEqual([]);
    expect(() => labLayout({ validators: 'threads' as 'resident' })).toThrow(
      /validators must be resident or per-process/,
    );
  });

  it("ForceCommand: guard, shim, the account's socket as %u, then the per-process line as the fallback", () => {
    const l = labLayout({ dir: '/var/lib/nw-res' });
    const spine = l.devices[0] as (typeof l.devices)[number];
    const perProcess = deviceForceCommand(spine, l, 'per-process');
    expect(perProcess).toBe(
      '/var/lib/nw-res/bin/netward-env-guard /var/lib/nw-res/bin/node /var/lib/nw-res/bin/netward-forcecommand.js --config /var/lib/nw-res/devices/spine-a/forcecommand.json',
    );
    expect(deviceForceCommand(spine, l)).toBe(
      `/var/lib/nw-res/bin/netward-env-guard /var/lib/nw-res/bin/netward-resident /var/lib/nw-res/run/resident-spine-a/%u/resident.sock ${perProcess.replace(/^\S+ /, '')}`,
    );
    expect(residentSocket(spine, l, 'net-admin')).toBe(
      '/var/lib/nw-res/run/resident-spine-a/net-admin/resident.sock',
    );
  });

  it('starts in the namespace as root, then as the account with its groups and its own environment', () => {
    const l = labLayout({ dir: '/var/lib/nw-res', prefix: 'x1-' });
    const leaf = l.devices[1] as (typeof l.devices)[number];
    const spec = residentSpec(leaf, l, 'net-viewer');
    const argv = [spec.command, ...spec.args];
    expect(argv.slice(0, 4)).toEqual(['ip', 'netns', 'exec', 'x1-leaf-1']);
    const setpriv = argv.indexOf('setpriv');
    expect(argv.indexOf('unshare')).toBeLessThan(setpriv);
    expect(argv.slice(setpriv + 1, setpriv + 9)).toEqual([
      '--reuid',
      expect.stringMatching(/^\d+$/),
      '--regid',
      expect.stringMatching(/^\d+$/),
      '--init-groups',
      '--reset-env',
      '--',
      '/var/lib/nw-res/bin/node',
    ]);
    expect(argv.slice(setpriv + 9)).toEqual([
      '/var/lib/nw-res/bin/netward-forcecommand.js',
      'resident',
      '--config',
      '/var/lib/nw-res/devices/leaf-1/forcecommand.json',
      '--socket',
      '/var/lib/nw-res/run/resident-leaf-1/net-viewer/resident.sock',
    ]);
    expect(spec.log).toBe('/var/lib/nw-res/logs/resident-leaf-1-net-viewer.log');
  });
});
