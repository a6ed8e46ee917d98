// explain() equals tac_plus-ng's answers on every captured authorization exchange: the requests are decoded
// from the captured bytes, the command string rebuilt as tac_plus-ng builds it, and our decision compared
// with the status the real server sent back.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.ts';
import { commandString, decide, decideLocal, parseLocalRules, renderLocalRules } from '../src/index.ts';
import { DESIGN_FILE, designPolicy } from './helpers/design.ts';
import { FIXTURES } from './helpers/reference.ts';
import { authorReplyStatus, decodeAuthorRequest, deobfuscate, tacPlusNgCmdline } from './helpers/tacacs.ts';

interface Case {
  name: string;
  key: string;
  messages: { from: 'client' | 'server'; hex: string }[];
}
const vectors = JSON.parse(
  readFileSync(join(FIXTURES, 'tac_plus-ng', 'tac_plus-ng-exchanges.json'), 'utf8'),
) as {
  cases: Case[];
};
// Authorization exchanges made with the server's key; authz-wrong-client-key never reaches the policy.
const authz = vectors.cases.filter((c) => c.name.startsWith('authz-') && c.key === 'labsecret');

describe('captured tac_plus-ng authorization exchanges', () => {
  it('covers every authorization case made with the server key', () => {
    expect(authz.map((c) => c.name)).toEqual([
      'authz-viewer-show-bgp-summary-pass',
      'authz-viewer-configure-terminal-fail',
      'authz-operator-ping-pass',
      'authz-operator-vtysh-configure-fail',
      'authz-admin-configure-terminal-pass',
      'authz-unknown-user-fail',
    ]);
  });

  const local = parseLocalRules(renderLocalRules(designPolicy()), 'local-rules.json');
  for (const c of authz) {
    it(c.name, () => {
      const [req, rep] = c.messages;
      const { user, args } = decodeAuthorRequest(deobfuscate(Buffer.from(req?.hex ?? '', 'hex'), c.key).body);
      const status = authorReplyStatus(deobfuscate(Buffer.from(rep?.hex ?? '', 'hex'), c.key).body);
      expect([0x01, 0x10]).toContain(status);
      expect(args).toContain('service=shell');

      const cmd = args.find((a) => a.startsWith('cmd='))?.slice(4) ?? '';
      const cmdArgs = args.filter((a) => a.startsWith('cmd-arg=')).map((a) => a.slice(8));
      const command = commandString(cmd, cmdArgs);
      expect(command).toBe(tacPlusNgCmdline(args));

      const expected = status === 0x01 ? 'permit' : 'deny';
      expect(decide(designPolicy(), user, command).decision).toBe(expected);
      expect(decideLocal(local, user, command).decision).toBe(expected);
      let out = '';
      const code = runCli(
        ['explain', '--json', '--policy', DESIGN_FILE, '--role', user, '--', cmd, ...cmdArgs],
        {
          stdout: (t) => {
            out += t;
          },
          stderr: () => {},
          readFile: () => '',
          writeFile: () => {},
        },
      );
      expect(JSON.parse(out)).toMatchObject({ decision: expected, command });
      expect(code).toBe(expected === 'permit' ? 0 : 1);
    });
  }

  it('rebuilds the vtysh case with its quoted argument as one cmd-arg', () => {
    const c = authz.find((x) => x.name === 'authz-operator-vtysh-configure-fail') as Case;
    const { user, args } = decodeAuthorRequest(
      deobfuscate(Buffer.from(c.messages[0]?.hex ?? '', 'hex'), c.key).body,
    );
    expect(user).toBe('net-operator');
    const d = decide(designPolicy(), user, tacPlusNgCmdline(args));
    expect(d).toMatchObject({ decision: 'deny', ruleIndex: 0, rule: { action: 'deny', match: 'configure' } });
  });
});
