// At least 50 command x role cases. Three independent answers must agree for each:
//   1. the expectation written by hand in the table;
//   2. the reference tac_plus-ng.cfg profiles (the seed's), evaluated with PCRE2 itself (grep -P): the
//      library tac_plus-ng compiles `cmd =~ /.../` with, byte-wise and case-sensitive as our rendered
//      configuration sets it (regex-match-case = yes);
//   3. `netward-policy explain` on the default policy (and decide / decideLocal behind it).
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.ts';
import {
  commandString,
  decide,
  decideLocal,
  parseLocalRules,
  renderLocalRules,
  renderTacPlusNg,
} from '../src/index.ts';
import { DESIGN_FILE, designPolicy } from './helpers/design.ts';
import { pcre2Decide, readReference } from './helpers/reference.ts';
import { type D, TABLE } from './helpers/table.ts';

describe('explain equals tac_plus-ng on a command x role table', () => {
  it('has at least 50 cases', () => {
    expect(TABLE.length).toBeGreaterThanOrEqual(50);
  });

  const { profiles, users } = readReference();
  const commands = TABLE.map(([, cmd, args]) => commandString(cmd, args));
  // PCRE2 answers for every case, computed per reference profile in one batch each.
  const oracle = new Map<number, D>();
  for (const [user, profile] of users) {
    const idx = TABLE.map((row, i) => (row[0] === user ? i : -1)).filter((i) => i >= 0);
    const answers = pcre2Decide(
      profiles.get(profile) ?? [],
      idx.map((i) => commands[i] as string),
    );
    idx.forEach((i, k) => {
      oracle.set(i, answers[k] as D);
    });
  }
  const local = parseLocalRules(renderLocalRules(designPolicy()), 'local-rules.json');

  TABLE.forEach(([role, cmd, args, expected], i) => {
    const command = commands[i] as string;
    it(`${role}: ${JSON.stringify(command)} -> ${expected}`, () => {
      // unknown users have no profile in the reference: tac_plus-ng fails them
      expect(oracle.get(i) ?? 'deny').toBe(expected);
      expect(decide(designPolicy(), role, command).decision).toBe(expected);
      expect(decideLocal(local, role, command).decision).toBe(expected);
      let out = '';
      const code = runCli(
        ['explain', '--json', '--policy', DESIGN_FILE, '--role', role, '--', cmd, ...args],
        {
          stdout: (t) => {
            out += t;
          },
          stderr: () => {},
          readFile: () => {
            throw new Error('no files');
          },
          writeFile: () => {},
        },
      );
      expect(JSON.parse(out)).toMatchObject({ decision: expected, command });
      expect(code).toBe(expected === 'permit' ? 0 : 1);
    });
  });

  it('differs from a tac_plus-ng left at its caseless default only on case, which the rendered config pins', () => {
    // tac_plus-ng compiles /.../ with PCRE2_CASELESS unless `regex-match-case = yes` (the reference
    // configuration does not set it): these are the table rows whose answer would change.
    const differing: string[] = [];
    for (const [user, profile] of users) {
      const idx = TABLE.map((row, i) => (row[0] === user ? i : -1)).filter((i) => i >= 0);
      const caseless = pcre2Decide(
        profiles.get(profile) ?? [],
        idx.map((i) => commands[i] as string),
        true,
      );
      idx.forEach((i, k) => {
        if (caseless[k] !== oracle.get(i)) differing.push(`${user}: ${commands[i]}`);
      });
    }
    expect(differing).toEqual([
      'net-viewer: SHOW bgp',
      'net-viewer: Show version',
      'net-operator: Ping 192.0.2.1',
    ]);
    expect(renderTacPlusNg(designPolicy())).toContain('\n\tregex-match-case = yes\n');
  });
});
