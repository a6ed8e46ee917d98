// What `netward-policy check` asks of the device layer beyond drift: does any role get a command it must
// never get (a hole), and do the grammar (what the validator parses) and the rules rendered from it (what
// tac_plus-ng and the local rules decide) answer alike on generated commands?
import { decide } from '../decide.ts';
import type { Policy } from '../types.ts';
import { type GrammarSet, matchGrammar } from './file.ts';
import type { Token } from './spec.ts';

/** The scope that lets a role change device state, and the one that lets it read the configuration. */
export const CONFIG_WRITE_SCOPE = 'mcp:config:write';
export const CONFIG_READ_SCOPE = 'mcp:config:read';

export interface HoleProbe {
  /** The request as the validator authorizes it (one vtysh `-c` line, or a program and its arguments). */
  readonly command: string;
  /** What it would do. */
  readonly what: string;
  /** The scope a role must hold to be allowed it; absent = no role may ever run it. */
  readonly scope?: string;
}

/**
 * Commands found to get through the design's rules when the landed lab was attacked, and their relatives.
 * No role may read or write a file, enter another namespace or VRF, or flood; only a role holding
 * CONFIG_WRITE_SCOPE may change state, and only one holding CONFIG_READ_SCOPE may read the configuration
 * (the device layer never allows more than the MCP tools of the same role).
 */
export const HOLE_PROBES: readonly HoleProbe[] = Object.freeze([
  { command: 'ip -b /etc/netward/tacacs.key', what: 'reads a file and prints its lines (ip -b)' },
  {
    command: 'ip -b /etc/netward/tacacs.key /show',
    what: 'reads a file (ip -b), carrying /show as the design rules allow',
  },
  { command: 'ip -batch /etc/netward/tacacs.key', what: 'reads a file (ip -batch)' },
  { command: 'ip -force -batch /etc/shadow', what: 'reads a file (ip -force -batch)' },
  { command: 'ip addr show -b /etc/shadow', what: 'reads a file (ip option after the object)' },
  { command: 'ip -n other link show', what: 'enters another network namespace (ip -n)' },
  { command: 'ip netns exec other sh', what: 'runs a program in another namespace (ip netns exec)' },
  { command: 'ip vrf exec red sh', what: 'runs a program in a VRF (ip vrf exec)' },
  { command: 'ping -f 192.0.2.1', what: 'floods (ping -f)' },
  { command: 'ping -c 5 -i 0 192.0.2.1', what: 'floods (ping -i 0)' },
  { command: 'ping -c 5 -l 65536 192.0.2.1', what: 'floods (ping -l preload)' },
  { command: 'ping -c 5 -b 192.0.2.255', what: 'pings a broadcast address (ping -b)' },
  { command: 'ping -c 5 -s 65507 192.0.2.1', what: 'sends maximum-size packets (ping -s)' },
  { command: 'ping -c 100000 192.0.2.1', what: 'sends 100000 echo requests (ping -c)' },
  { command: 'ping 192.0.2.1', what: 'pings without a count (runs until the time limit)' },
  { command: 'traceroute -n -q 1000 192.0.2.1', what: 'sends 1000 probes per hop (traceroute -q)' },
  { command: 'ip route add 10.99.0.0/16 dev lo', what: 'adds a route', scope: CONFIG_WRITE_SCOPE },
  { command: 'ip route flush all', what: 'flushes the routing table', scope: CONFIG_WRITE_SCOPE },
  { command: 'ip addr flush dev lo', what: 'removes addresses', scope: CONFIG_WRITE_SCOPE },
  { command: 'ip addr add 10.99.0.1/32 dev lo', what: 'adds an address', scope: CONFIG_WRITE_SCOPE },
  { command: 'ip link set dev eth0 down', what: 'takes an interface down', scope: CONFIG_WRITE_SCOPE },
  {
    command: 'ip link set dev eth0 down /show',
    what: 'takes an interface down (carrying /show, as the design rules allow)',
    scope: CONFIG_WRITE_SCOPE,
  },
  { command: 'configure terminal', what: 'enters configuration mode', scope: CONFIG_WRITE_SCOPE },
  { command: 'write memory', what: 'writes the startup configuration', scope: CONFIG_WRITE_SCOPE },
  {
    command: 'copy running-config startup-config',
    what: 'writes the startup configuration',
    scope: CONFIG_WRITE_SCOPE,
  },
  { command: 'clear ip bgp 10.1.0.1', what: 'resets a BGP session', scope: CONFIG_WRITE_SCOPE },
  { command: 'show running-config', what: 'shows the configuration', scope: CONFIG_READ_SCOPE },
  { command: 'write terminal', what: 'shows the configuration (vtysh)', scope: CONFIG_READ_SCOPE },
]);

export interface HoleWarning {
  readonly kind: 'hole';
  readonly role: string;
  readonly tool: null;
  readonly scope: string | null;
  readonly command: string;
  readonly ruleIndex: number | null;
  readonly message: string;
}

export interface GrammarDisagreement {
  readonly kind: 'grammar-disagreement';
  readonly role: string;
  readonly tool: null;
  readonly scope: null;
  readonly command: string;
  /** What the grammar said and what the rendered rules said. */
  readonly grammar: 'permit' | 'deny';
  readonly rules: 'permit' | 'deny';
  readonly ruleIndex: number | null;
  readonly message: string;
}

export interface NoGrammarWarning {
  readonly kind: 'no-grammar';
  readonly role: string;
  readonly tool: null;
  readonly scope: null;
  readonly command: null;
  readonly ruleIndex: null;
  readonly message: string;
}

/** The grammar sets of a role, in its order; null for a role of hand-written rules. */
export function roleGrammar(policy: Policy, roleName: string): readonly GrammarSet[] | null {
  const role = policy.roles.find((r) => r.name === roleName);
  if (role?.grammar === undefined) return null;
  const sets = policy.grammars ?? [];
  return role.grammar.map((n) => sets.find((s) => s.name === n) as GrammarSet);
}

/** Whether `role` may run `command` on a device: the grammar (when it has one) and then the rules. */
function deviceAllows(policy: Policy, roleName: string, command: string) {
  const d = decide(policy, roleName, command);
  const sets = roleGrammar(policy, roleName);
  const g = sets === null ? null : matchGrammar(sets, command.split(' '));
  return { d, permitted: d.decision === 'permit' && (g === null || g.matched) };
}

/** Every probe a role gets although it must not: the holes of the policy, in role then probe order. */
export function findHoles(policy: Policy): HoleWarning[] {
  const out: HoleWarning[] = [];
  for (const role of policy.roles) {
    for (const probe of HOLE_PROBES) {
      if (probe.scope !== undefined && role.scopes.includes(probe.scope)) continue;
      const { d, permitted } = deviceAllows(policy, role.name, probe.command);
      if (!permitted) continue;
      const by =
        d.ruleIndex === null
          ? 'default'
          : `rule ${d.ruleIndex} (${d.rule?.action} ${d.rule?.match ?? 'always'})`;
      out.push({
        kind: 'hole',
        role: role.name,
        tool: null,
        scope: probe.scope ?? null,
        command: probe.command,
        ruleIndex: d.ruleIndex,
        message:
          probe.scope === undefined
            ? `${role.name} may run "${probe.command}", which ${probe.what}: no role may (permitted by ${by})`
            : `${role.name} may run "${probe.command}", which ${probe.what}, without scope ${probe.scope} (permitted by ${by})`,
      });
    }
  }
  return out;
}

/** Roles without a grammar: their hand-written rules are all that stands between a command and a device. */
export function rolesWithoutGrammar(policy: Policy): NoGrammarWarning[] {
  return policy.roles
    .filter((r) => r.grammar === undefined)
    .map((r) => ({
      kind: 'no-grammar' as const,
      role: r.name,
      tool: null,
      scope: null,
      command: null,
      ruleIndex: null,
      message: `${r.name} has no command grammar: the validator passes its commands to the rules as they are, and the rules match only text`,
    }));
}

// --- generated commands --------------------------------------------------------------------------------

const SAMPLES: Record<string, readonly string[]> = {
  ipv4: ['192.0.2.1', '10.1.0.11', '0.0.0.0'],
  ipv6: ['2001:db8::1', '::1', 'fe80::1'],
  prefix4: ['10.0.0.0/8', '192.0.2.0/24'],
  prefix6: ['2001:db8::/32', '::/0'],
  hostname: ['leaf-1', 'spine-a.example'],
  interface: ['lo', 'eth0', 'swp1.100'],
  text: ['uplink', 'uplink to spine-a'],
};
// Values that must not fit a typed position: options, paths, the other family, out-of-alphabet.
// Non-canonical numbers too: octal-looking octets (inet_aton reads 010 as 8) and prefix lengths past the
// family's width.
const WRONG = [
  '-f',
  '-b',
  '/etc/shadow',
  'a/b',
  'ABC',
  '',
  '1.2.3',
  '10.0.0.0/8x',
  'eth0;id',
  '-1',
  '010.0.0.1',
  '192.168.001.1',
  '10.0.0.0/33',
  '10.0.0.0/08',
  '2001:db8::/129',
];

function samplesOf(t: Token): string[] {
  switch (t.kind) {
    case 'literal':
      return [t.text];
    case 'choice':
      return [...t.options];
    case 'value':
      if (t.type === 'int') return [String(t.min), String(t.max)];
      if (t.type === 'ip') return [...(SAMPLES['ipv4'] ?? []), ...(SAMPLES['ipv6'] ?? [])];
      if (t.type === 'prefix') return [...(SAMPLES['prefix4'] ?? []), ...(SAMPLES['prefix6'] ?? [])];
      if (t.type === 'host') return [...(SAMPLES['hostname'] ?? []), ...(SAMPLES['ipv6'] ?? [])];
      return [...(SAMPLES[t.type] ?? [])];
  }
}

function wrongOf(t: Token): string[] {
  const out = [...WRONG];
  if (t.kind === 'literal') out.push(t.text.toUpperCase(), `${t.text}x`, t.text.slice(1));
  if (t.kind === 'value' && t.type === 'int') out.push(String(t.min - 1), String(t.max + 1), `0${t.min}`);
  if (t.kind === 'value') out.push(...(SAMPLES['ipv6'] ?? []).slice(0, 1), 'leaf-1', '2001:db8::/32');
  return out;
}

/**
 * Commands generated from every variant of every entry: each word in turn takes each of its sample
 * values (the others their first), then each wrong value; then a word dropped, a word added (`-b FILE`,
 * `x`). Bounded: a few hundred per entry.
 */
export function generateCommands(sets: readonly GrammarSet[]): string[] {
  const out = new Set<string>();
  for (const set of sets) {
    for (const entry of set.entries) {
      for (const v of entry.variants) {
        const base = v.map((t) => samplesOf(t)[0] as string);
        out.add(base.join(' '));
        v.forEach((t, i) => {
          for (const s of [...samplesOf(t), ...wrongOf(t)]) {
            const c = [...base];
            c[i] = s;
            out.add(c.filter((w) => w !== '').join(' '));
          }
          out.add(base.filter((_, k) => k !== i).join(' '));
        });
        out.add(`${base.join(' ')} -b /etc/shadow`);
        out.add(`${base.join(' ')} x`);
        out.add(`${base.slice(0, 1).join(' ')} -n other ${base.slice(1).join(' ')}`.trimEnd());
      }
    }
  }
  return [...out].filter((c) => c !== '');
}

/**
 * Grammar against rendered rules, for every role with a grammar, on the commands generated from every
 * set in the policy (its own and the others') and the hole probes: each disagreement is named.
 */
export function grammarAgreement(policy: Policy): GrammarDisagreement[] {
  const commands = [...generateCommands(policy.grammars ?? []), ...HOLE_PROBES.map((p) => p.command)];
  const out: GrammarDisagreement[] = [];
  for (const role of policy.roles) {
    const sets = roleGrammar(policy, role.name);
    if (sets === null) continue;
    for (const command of commands) {
      const g = matchGrammar(sets, command.split(' ')).matched ? 'permit' : 'deny';
      const d = decide(policy, role.name, command);
      if (g === d.decision) continue;
      out.push({
        kind: 'grammar-disagreement',
        role: role.name,
        tool: null,
        scope: null,
        command,
        grammar: g,
        rules: d.decision,
        ruleIndex: d.ruleIndex,
        message: `${role.name}: the grammar says ${g} but the rendered rules say ${d.decision} for "${command}"`,
      });
    }
  }
  return out;
}
