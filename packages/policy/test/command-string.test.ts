// commandString joins as tac_plus-ng does, and decide() agrees with PCRE2 on the reference profiles for
// many generated commands (not only the hand-written table).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { commandString, decide } from '../src/index.ts';
import { designPolicy } from './helpers/design.ts';
import { pcre2Decide, readReference } from './helpers/reference.ts';
import { tacPlusNgCmdline } from './helpers/tacacs.ts';

const noNul = fc.string({ maxLength: 12 }).filter((s) => !s.includes('\0'));

describe('commandString', () => {
  it('equals tac_plus-ng’s construction from cmd= and cmd-arg= pairs', () => {
    fc.assert(
      fc.property(noNul, fc.array(noNul, { maxLength: 6 }), (cmd, args) => {
        const avs = [`service=shell`, `cmd=${cmd}`, ...args.map((a) => `cmd-arg=${a}`)];
        expect(commandString(cmd, args)).toBe(tacPlusNgCmdline(avs));
      }),
    );
  });

  it('skips empty arguments and keeps NUL, so that the decision can refuse it', () => {
    expect(commandString('show', ['', 'bgp', ''])).toBe('show bgp');
    expect(commandString('show', [])).toBe('show');
    expect(commandString('', ['x'])).toBe(' x');
    expect(commandString('sh\0ow', ['a\0b', '\0c'])).toBe('sh\0ow a\0b \0c');
  });
});

describe('decide equals PCRE2 on the reference profiles for generated commands', () => {
  const words = [
    'show',
    'ip',
    'route',
    'addr',
    'address',
    'ping',
    'traceroute',
    'configure',
    'write',
    'terminal',
    '/usr/bin/show',
    '/bin/ping',
    'vtysh',
    '-c',
    'SHOW',
    'Ping',
    'x/ip',
    'ipx',
    'showx',
    'rewrite',
    'reconfigured',
    '10.0.0.1',
    '',
    ' ',
    '/',
    'é',
  ];
  const commandArb = fc
    .array(fc.constantFrom(...words), { minLength: 1, maxLength: 5 })
    .map(([cmd, ...args]) => commandString(cmd ?? '', args));
  const commands = fc.sample(commandArb, { numRuns: 400, seed: 4242 });
  const { profiles, users } = readReference();

  for (const [user, profile] of users) {
    it(`${user} (${profile}) on ${commands.length} commands`, () => {
      const expected = pcre2Decide(profiles.get(profile) ?? [], commands);
      const actual = commands.map((c) => decide(designPolicy(), user, c).decision);
      const diff = commands.filter((_, i) => expected[i] !== actual[i]);
      expect(diff).toEqual([]);
    });
  }
});
