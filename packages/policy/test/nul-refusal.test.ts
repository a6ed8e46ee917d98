// A NUL anywhere in a command is a deny, by the policy and by the local rules the validator reads: the
// command is never decided as if cut at the NUL (`show\0` as `show`).
import { describe, expect, it } from 'vitest';
import { commandString, decide, renderLocalRules } from '../src/index.ts';
import { decideLocal, parseLocalRules } from '../src/local-rules/index.ts';
import { designPolicy } from './helpers/design.ts';

// The design's rules: broad permits (`show` alone, `ip ... /show`), so that a NUL is the only thing
// that can turn each case into a deny.
const policy = designPolicy();
const local = parseLocalRules(renderLocalRules(policy), 'local-rules');

// Each is permitted without the NUL, so a deny can only come from the NUL.
const CASES: [role: string, words: string[]][] = [
  ['net-viewer', ['show']],
  ['net-viewer', ['show', 'bgp', 'summary']],
  ['net-operator', ['ip', 'link', 'set', 'lo', 'down', '/show']],
  ['net-admin', ['reboot']],
];

describe('NUL in a command', () => {
  for (const [role, words] of CASES) {
    const [cmd, ...args] = words as [string, ...string[]];
    const plain = commandString(cmd, args);

    it(`${role}: "${plain}" is permitted without NUL`, () => {
      expect(decide(policy, role, plain).decision).toBe('permit');
      expect(decideLocal(local, role, plain).decision).toBe('permit');
    });

    it(`${role}: "${plain}" with NUL at every position of every word is denied`, () => {
      let checked = 0;
      for (let w = 0; w < words.length; w++) {
        const word = words[w] as string;
        for (let at = 0; at <= word.length; at++) {
          const withNul = [...words];
          withNul[w] = `${word.slice(0, at)}\0${word.slice(at)}`;
          const [c, ...a] = withNul as [string, ...string[]];
          const command = commandString(c, a);
          expect(command.includes('\0'), JSON.stringify(command)).toBe(true);
          expect(decide(policy, role, command)).toMatchObject({ decision: 'deny', ruleIndex: null });
          expect(decideLocal(local, role, command)).toMatchObject({ decision: 'deny', ruleIndex: null });
          expect(decide(policy, role, Buffer.from(command, 'latin1')).decision).toBe('deny');
          checked++;
        }
      }
      expect(checked).toBe(words.reduce((n, w) => n + w.length + 1, 0));
    });
  }

  it('bytes are matched as they are, not as UTF-8 text', () => {
    // 0xc3 alone is not UTF-8; the rule sees it as one byte before "/show", as tac_plus-ng's PCRE2 does.
    const bytes = Buffer.from([...Buffer.from('reboot '), 0xc3, ...Buffer.from('/show')]);
    expect(decide(policy, 'net-viewer', bytes).decision).toBe('permit');
    expect(decide(policy, 'net-viewer', Buffer.from('reboot')).decision).toBe('deny');
  });
});
