// decide() throughput on the default policy, against a baseline of the same patterns as plain native
// RegExps (no PCRE2 emulation, no rule walk bookkeeping), measured in the same process; then what the
// validator's grammar stage adds per SSH command: parsing the rendered grammar file and matching.
// Run: pnpm run bench (from packages/policy).

import { roleGrammar } from '../src/grammar/check.ts';
import { matchGrammar } from '../src/grammar/file.ts';
import { decide, defaultPolicy, parseGrammarFile, renderGrammar, roleByName } from '../src/index.ts';

const policy = defaultPolicy();
const commands = [
  ['net-viewer', 'show bgp summary'],
  ['net-viewer', 'configure terminal'],
  ['net-viewer', 'ping -c 3 192.0.2.1'],
  ['net-operator', 'ping -c 3 192.0.2.1'],
  ['net-operator', 'vtysh -c configure terminal'],
  ['net-operator', 'ip route add 10.0.0.0/8 via 192.0.2.1'],
  ['net-admin', 'write memory'],
  ['net-viewer', `show ${'x'.repeat(1000)}`],
] as const;

const native = new Map(
  policy.roles.map((r) => [
    r.name,
    r.rules.map((x) => ({ action: x.action, re: x.match === null ? null : new RegExp(x.match) })),
  ]),
);
function baseline(role: string, cmd: string): string {
  for (const r of native.get(role) ?? []) if (r.re === null || r.re.test(cmd)) return r.action;
  return 'deny';
}

function measure(name: string, fn: (role: string, cmd: string) => unknown): number {
  const rounds = 200_000;
  for (let i = 0; i < 20_000; i++)
    fn(commands[i % commands.length]?.[0] ?? '', commands[i % commands.length]?.[1] ?? '');
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) {
    const c = commands[i % commands.length];
    fn(c?.[0] ?? '', c?.[1] ?? '');
  }
  const ns = Number(process.hrtime.bigint() - t0);
  const perSecond = rounds / (ns / 1e9);
  console.log(
    `${name.padEnd(28)} ${(ns / rounds).toFixed(0).padStart(6)} ns/decision  ${Math.round(perSecond).toLocaleString('en')} decisions/s`,
  );
  return perSecond;
}

if (roleByName(policy, 'net-viewer') === undefined) throw new Error('default policy changed');
const base = measure('baseline (native RegExp)', baseline);
const ours = measure('decide()', (r, c) => decide(policy, r, c));
console.log(`ratio decide/baseline: ${(base / ours).toFixed(2)}x slower`);

// The grammar stage: the validator parses the file once per command (a new process each time) and
// matches each request; decide() on the same commands is the baseline.
const grammarText = renderGrammar(policy);
const sets = new Map(policy.roles.map((r) => [r.name, roleGrammar(policy, r.name) ?? []]));
const grammar = measure('matchGrammar()', (r, c) => matchGrammar(sets.get(r) ?? [], c.split(' ')));
console.log(`ratio matchGrammar/decide: ${(ours / grammar).toFixed(2)}x`);
{
  const rounds = 2_000;
  for (let i = 0; i < 200; i++) parseGrammarFile(grammarText, 'grammar.json');
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) parseGrammarFile(grammarText, 'grammar.json');
  const us = Number(process.hrtime.bigint() - t0) / rounds / 1e3;
  console.log(`parseGrammarFile() of the default policy (${grammarText.length} bytes): ${us.toFixed(1)} µs`);
}
