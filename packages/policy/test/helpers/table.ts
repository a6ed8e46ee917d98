// The command x role table of test/explain-table.test.ts (hand-written expectations for the default
// policy, checked there against PCRE2 on the seed's tac_plus-ng profiles); test/hardened-policy.test.ts
// runs the hardened policy on the same rows.
export type D = 'permit' | 'deny';
// [role, cmd, args, expected]
export const TABLE: [string, string, string[], D][] = [
  // viewer: show, ip route, ip addr; configure and write denied first
  ['net-viewer', 'show', ['bgp', 'summary'], 'permit'],
  ['net-viewer', 'show', [], 'permit'],
  ['net-viewer', 'showrunning', [], 'deny'],
  ['net-viewer', 'shows', ['x'], 'deny'],
  ['net-viewer', 'xshow', ['bgp'], 'deny'],
  ['net-viewer', '/usr/bin/show', ['ip', 'route'], 'permit'],
  ['net-viewer', '/usr/local/sbin/show', ['version'], 'permit'],
  ['net-viewer', 'a/show', ['x'], 'permit'],
  ['net-viewer', 'ip', ['route'], 'permit'],
  ['net-viewer', 'ip', ['route', 'show', 'table', 'all'], 'permit'],
  ['net-viewer', 'ip', ['addr'], 'permit'],
  ['net-viewer', 'ip', ['address'], 'deny'],
  ['net-viewer', 'ip', ['link'], 'deny'],
  ['net-viewer', 'ip', [], 'deny'],
  ['net-viewer', 'ping', ['10.0.0.1'], 'deny'],
  ['net-viewer', 'traceroute', ['-n', '192.0.2.1'], 'deny'],
  ['net-viewer', 'configure', ['terminal'], 'deny'],
  ['net-viewer', 'show', ['running-config'], 'permit'],
  ['net-viewer', 'show', ['configuration'], 'permit'], // "configuration" does not contain "configure"
  ['net-viewer', 'show', ['configure'], 'deny'],
  ['net-viewer', 'write', ['memory'], 'deny'],
  ['net-viewer', 'show', ['rewrite-rules'], 'deny'], // contains "write"
  ['net-viewer', 'vtysh', ['-c', 'show bgp summary'], 'deny'], // show after a space, not at ^ or /
  ['net-viewer', 'sudo', ['show'], 'deny'],
  ['net-viewer', 'SHOW', ['bgp'], 'deny'], // case-sensitive
  ['net-viewer', 'Show', ['version'], 'deny'],
  ['net-viewer', 'show', ['', 'bgp'], 'permit'], // empty cmd-arg skipped
  ['net-viewer', 'show', ['interface', 'brief'], 'permit'],
  ['net-viewer', 'show', ['é'], 'permit'],
  ['net-viewer', 'reboot', [], 'deny'],
  ['net-viewer', '', [], 'deny'],
  // operator: plus ping, traceroute, ip (any ip subcommand)
  ['net-operator', 'ping', ['10.0.0.1'], 'permit'],
  ['net-operator', 'ping', [], 'permit'],
  ['net-operator', 'ping', ['-c', '3', '192.0.2.1'], 'permit'],
  ['net-operator', 'ping6', ['::1'], 'deny'],
  ['net-operator', '/bin/ping', ['-c', '3', '192.0.2.1'], 'permit'],
  ['net-operator', 'traceroute', ['-n', '192.0.2.1'], 'permit'],
  ['net-operator', 'tracepath', ['192.0.2.1'], 'deny'],
  ['net-operator', 'ip', ['link', 'set', 'eth0', 'down'], 'permit'],
  ['net-operator', 'ip', ['route', 'add', '10.0.0.0/8', 'via', '192.0.2.1'], 'permit'],
  ['net-operator', 'ip', ['addr'], 'permit'],
  ['net-operator', 'ip', [], 'permit'],
  ['net-operator', 'ipconfig', [], 'deny'],
  ['net-operator', 'show', ['bgp', 'summary'], 'permit'],
  ['net-operator', 'show', ['running-config'], 'permit'],
  ['net-operator', 'configure', ['terminal'], 'deny'],
  ['net-operator', 'vtysh', ['-c', 'configure terminal'], 'deny'],
  ['net-operator', 'vtysh', ['-c', "'configure terminal'"], 'deny'],
  ['net-operator', 'write', ['memory'], 'deny'],
  ['net-operator', 'show', ['bgp', 'neighbors', 'configured'], 'deny'], // contains "configure"
  ['net-operator', 'ping', ['-c', '3', 'write.example'], 'deny'], // contains "write"
  ['net-operator', 'copy', ['running-config', 'startup-config'], 'deny'],
  ['net-operator', 'reload', [], 'deny'],
  ['net-operator', 'Ping', ['192.0.2.1'], 'deny'],
  ['net-operator', 'vtysh', ['-c', 'show ip route'], 'deny'],
  // admin: every shell command
  ['net-admin', 'configure', ['terminal'], 'permit'],
  ['net-admin', 'write', ['memory'], 'permit'],
  ['net-admin', 'reload', [], 'permit'],
  ['net-admin', 'vtysh', ['-c', 'configure terminal'], 'permit'],
  ['net-admin', 'rm', ['-rf', '/'], 'permit'],
  ['net-admin', '', [], 'permit'],
  // unknown users: deny
  ['mallory', 'show', ['version'], 'deny'],
  ['root', 'show', [], 'deny'],
  ['NET-VIEWER', 'show', [], 'deny'],
];
