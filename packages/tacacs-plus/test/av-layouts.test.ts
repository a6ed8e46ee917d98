// Our server against real tac_plus-ng answers for unusual AV-pair layouts (fixtures/tac_plus-ng/
// av-layouts.json), NUL at every position, and malformed pairs. The handler is the rendered tac_plus-ng
// profile, `if (service == shell) { rules… deny } deny`, over the policy package's rules; the server does
// the AV-pair handling (requestView) under test.
import { fileURLToPath } from 'node:url';
import { decide, loadPolicy, type Policy } from '@netward/policy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestView, type ServerAuthorizationRequest } from '../src/index.ts';
import { AcctStatus } from '../src/protocol/index.ts';
import layouts from './fixtures/tac_plus-ng/av-layouts.json' with { type: 'json' };
import { startServer } from './helpers.ts';
import { rawAccount, rawAuthorize } from './raw-request.ts';

/**
 * The policy holding the design's rules (the three tac_plus-ng profiles of the seed), under which the
 * 'default' answers were captured (policy/design.yaml, since the default policy became the grammar
 * policy). The 'hardened' answers were captured under the same rules anchored at `^`: that policy is
 * kept beside the captures (fixtures/tac_plus-ng/anchored-rules.yaml), as it no longer ships.
 */
export const DESIGN_RULES_POLICY = fileURLToPath(new URL('../../policy/policy/design.yaml', import.meta.url));
const HARDENED_POLICY = fileURLToPath(new URL('fixtures/tac_plus-ng/anchored-rules.yaml', import.meta.url));

const KEY = 'labsecret';
const ROLES = ['net-viewer', 'net-operator', 'net-admin'] as const;

function profile(policy: Policy) {
  return (req: ServerAuthorizationRequest) =>
    req.service === 'shell' && decide(policy, req.user, req.commandBytes).decision === 'permit'
      ? ({ status: 'PASS_ADD' } as const)
      : ({ status: 'FAIL' } as const);
}

const cleanup: (() => Promise<void>)[] = [];
const ports: Record<'default' | 'hardened', number> = { default: 0, hardened: 0 };
beforeAll(async () => {
  for (const [name, file] of [
    ['default', DESIGN_RULES_POLICY],
    ['hardened', HARDENED_POLICY],
  ] as const) {
    ports[name] = (
      await startServer({ key: KEY, handlers: { authorize: profile(loadPolicy(file)) } }, cleanup)
    ).port;
  }
});
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

const latin1 = (s: string) => Buffer.from(s, 'latin1');

describe('the answers of a real tac_plus-ng to unusual AV-pair layouts', () => {
  expect(layouts.cases.length).toBe(15);
  for (const c of layouts.cases) {
    for (const role of ROLES) {
      for (const policy of ['default', 'hardened'] as const) {
        const want = (c['tac_plus-ng'] as Record<string, Record<string, string>>)[role]?.[policy];
        it(`${c.case}: ${role} under ${policy} → ${want}`, async () => {
          expect(want).toMatch(/^(PASS_ADD|FAIL|ERROR)$/);
          const got = await rawAuthorize(ports[policy], KEY, role, c.av_pairs_latin1.map(latin1));
          expect(got).toBe(want);
        });
      }
    }
  }
});

// Commands each role is permitted under the design's rules; a NUL anywhere in them must turn that into FAIL.
const PERMITTED: [string, string[]][] = [
  ['net-viewer', ['service=shell', 'cmd=show']],
  ['net-viewer', ['service=shell', 'cmd=show', 'cmd-arg=bgp', 'cmd-arg=summary']],
  [
    'net-operator',
    ['service=shell', 'cmd=ip', 'cmd-arg=link', 'cmd-arg=set', 'cmd-arg=lo', 'cmd-arg=down', 'cmd-arg=/show'],
  ],
  ['net-admin', ['service=shell', 'cmd=reboot']],
];

describe('NUL in an AV pair is FAIL, wherever it is', () => {
  for (const [role, pairs] of PERMITTED) {
    it(`${role} ${pairs.join(' ')}: PASS_ADD without NUL, FAIL with NUL at each of its positions`, async () => {
      expect(await rawAuthorize(ports.default, KEY, role, pairs.map(latin1))).toBe('PASS_ADD');
      let sent = 0;
      for (let p = 0; p < pairs.length; p++) {
        const pair = pairs[p] as string;
        for (let at = 0; at <= pair.length; at++) {
          const args = pairs.map(latin1);
          args[p] = latin1(`${pair.slice(0, at)}\0${pair.slice(at)}`);
          expect(await rawAuthorize(ports.default, KEY, role, args), `${p}:${at}`).toBe('FAIL');
          sent++;
        }
      }
      expect(sent).toBe(pairs.reduce((n, s) => n + s.length + 1, 0));
    });
  }

  it('an extra pair that is only NUL, or an unknown attribute carrying one, is FAIL too', async () => {
    for (const extra of ['\0', 'foo=\0', 'x\0=y']) {
      const args = [...PERMITTED[0]![1], extra].map(latin1);
      expect(await rawAuthorize(ports.default, KEY, 'net-viewer', args)).toBe('FAIL');
    }
  });

  it('accounting with NUL in a pair is not recorded as SUCCESS', async () => {
    const ok = await rawAccount(ports.default, KEY, 'net-viewer', [latin1('task_id=1'), latin1('cmd=show')]);
    expect(ok).toBe(AcctStatus.SUCCESS);
    const nul = await rawAccount(ports.default, KEY, 'net-viewer', [
      latin1('task_id=1'),
      latin1('cmd=sh\0ow'),
    ]);
    expect(nul).toBe(AcctStatus.ERROR);
  });
});

describe('malformed pairs (RFC 8907 section 6.1: attribute, then = or *, then value)', () => {
  for (const bad of ['show', '=show', '*x', 'cmd-arg']) {
    it(`${JSON.stringify(bad)} next to a permitted command is FAIL`, async () => {
      const args = ['service=shell', 'cmd=show', bad].map(latin1);
      expect(await rawAuthorize(ports.default, KEY, 'net-viewer', args)).toBe('FAIL');
    });
  }
  it('an empty pair is no error (tac_plus-ng skips it)', async () => {
    const args = ['service=shell', '', 'cmd=show'].map(latin1);
    expect(await rawAuthorize(ports.default, KEY, 'net-viewer', args)).toBe('PASS_ADD');
  });
});

describe('requestView', () => {
  const view = (pairs: string[]) => requestView(pairs.map(latin1));
  it('builds the command line in packet order, from cmd= and cmd* and non-empty cmd-arg=', () => {
    expect(view(['cmd=show', 'cmd-arg=', 'cmd-arg=bgp', 'cmd-arg*x']).commandLine).toBe('show bgp');
    expect(view(['cmd-arg=/show', 'cmd=reboot']).commandLine).toBe(' /showreboot');
    expect(view(['cmd=reboot', 'cmd=/show']).commandLine).toBe('reboot/show');
    expect(view(['cmd*show']).isCommand).toBe(true);
    expect(view(['cmd=show', 'cmd=']).isCommand).toBe(false);
    expect(view(['cmdx=configure', 'cmd=show']).commandLine).toBe('show');
  });
  it('takes the last non-empty service= and ignores service*', () => {
    expect(view(['service=shell', 'service=ppp']).service).toBe('ppp');
    expect(view(['service=ppp', 'service*shell']).service).toBe('ppp');
    expect(view(['service=shell', 'service=']).service).toBe('shell');
    expect(view(['cmd=show']).service).toBeUndefined();
  });
  it('keeps bytes that are not UTF-8 for the decision', () => {
    const v = view(['cmd=reboot', 'cmd-arg=\u00c3/show']);
    expect(v.commandBytes).toEqual(Buffer.from([...latin1('reboot '), 0xc3, ...latin1('/show')]));
    expect(v.commandLine).toBe('reboot \ufffd/show');
  });
  it('names the refused argument', () => {
    expect(view(['service=shell', 'cmd=sh\0ow'])).toMatchObject({ refusal: 'nul', refusedIndex: 1 });
    expect(view(['service=shell', 'oops'])).toMatchObject({ refusal: 'malformed', refusedIndex: 1 });
  });
});
