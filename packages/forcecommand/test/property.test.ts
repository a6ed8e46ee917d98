// For any input string and any role, nothing outside the allowlist is executed and no shell is invoked.

import { defaultPolicy, generateCommands } from '@netward/policy';
import { matchGrammar } from '@netward/policy/local-rules';
import { forbiddenWords, GRAMMAR_WORDS } from '@netward/policy/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FC_ERRORS } from '../src/errors.ts';
import { CHILD_PATH } from '../src/execute.ts';
import { ALLOWED_CHARACTERS, checkInput, splitWords } from '../src/input.ts';
import { CONFIGS, DEFAULT_GRAMMARS, DEVICE_INTERFACES, runInProcess } from './helpers.ts';

const ROLES = ['net-viewer', 'net-operator', 'net-admin'];
const ALLOWLIST = new Set(
  Object.values(CONFIGS).flatMap((c) => Object.values(c.executables).map((e) => e.path)),
);
const SHELLS = /(^|\/)(sh|bash|dash|zsh|ksh|csh|tcsh|fish|busybox|env|sudo|su)$/;

// Words that reach deep into the validator: allowlisted names, wrappers, options, paths, metacharacters.
const word = fc.oneof(
  fc.constantFrom(
    'vtysh',
    '/usr/bin/vtysh',
    'show',
    'ip',
    'ping',
    'traceroute',
    'configure',
    'write',
    'vyatta-op-cmd-wrapper',
    '/opt/vyatta/bin/vyatta-op-cmd-wrapper',
    '-c',
    '--command',
    '-N',
    'sh',
    '/bin/sh',
    'bash',
    "'",
    "''",
    "'show version'",
    'terminal',
    'bgp',
    'summary',
    ';',
    '|',
    '$(id)',
    '`id`',
    '\n',
    '\0',
    '..',
    '/',
    './ping',
  ),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
);
const command = fc.oneof(
  fc.array(word, { maxLength: 8 }).map((ws) => ws.join(' ')),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
);

describe('validator properties', () => {
  it('never runs anything but an allowlisted absolute path, never through a shell, with a clean env', async () => {
    await fc.assert(
      fc.asyncProperty(
        command,
        fc.constantFrom(...ROLES),
        fc.constantFrom('frr', 'vyos'),
        async (cmd, role, device) => {
          const r = await runInProcess({
            command: cmd,
            role,
            device: device as 'frr' | 'vyos',
            env: { MCP_TOOL: 'x', LD_PRELOAD: '/tmp/evil.so', PATH: '/tmp' },
          });
          expect(r.calls.length).toBeLessThanOrEqual(1);
          for (const call of r.calls) {
            expect(ALLOWLIST.has(call.file)).toBe(true);
            expect(call.file).not.toMatch(SHELLS);
            expect(call.options.shell).toBe(false);
            expect(call.options.env).toEqual(expect.objectContaining({ PATH: CHILD_PATH }));
            expect(Object.keys(call.options.env ?? {}).sort()).toEqual(
              ['HOME', 'LANG', 'LC_ALL', 'LOGNAME', 'PATH', 'USER'].sort(),
            );
            // Stage 1 held: whatever ran came from a command of allowed characters only.
            expect(ALLOWED_CHARACTERS.test(cmd)).toBe(true);
            for (const a of call.args) expect(a).not.toMatch(/[\n\0;|&$`<>]/);
          }
          const record = r.audit.records[0]?.fields;
          expect(record?.['decision']).toBe(r.calls.length === 1 ? 'permit' : 'deny');
          if (r.calls.length === 0) {
            const code = record?.['code'] as keyof typeof FC_ERRORS;
            expect(r.status).toBe(FC_ERRORS[code].exit);
          }
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('with the default policy, runs only what the role grammar describes, and never fails internally', async () => {
    // Words the grammars are made of, and the ones attackers reach for, so that many inputs get far.
    const gword = fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(...GRAMMAR_WORDS) },
      { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9.:/-]{1,8}$/) },
    );
    // Commands generated from the grammars (admitted ones and near misses), mutated at a random word.
    const generated = generateCommands(defaultPolicy().grammars ?? []);
    const mutated = fc
      .tuple(fc.constantFrom(...generated), fc.nat(), gword, fc.constantFrom('replace', 'insert', 'keep'))
      .map(([c, at, w, how]) => {
        const ws = c.split(' ');
        const i = at % (ws.length + 1);
        if (how === 'replace') ws[Math.min(i, ws.length - 1)] = w;
        else if (how === 'insert') ws.splice(i, 0, w);
        return ws.join(' ');
      });
    let ran = 0;
    await fc.assert(
      fc.asyncProperty(
        // Mostly mutations of admitted commands (a run measured 9 of 1,500 admitted at equal weights).
        fc.oneof(
          { arbitrary: mutated, weight: 3 },
          { arbitrary: fc.array(gword, { minLength: 1, maxLength: 9 }).map((ws) => ws.join(' ')), weight: 1 },
        ),
        fc.constantFrom(...ROLES),
        async (cmd, role) => {
          const r = await runInProcess({ command: cmd, role });
          const record = r.audit.records[0]?.fields;
          expect(record?.['code']).not.toBe('ERR_FC_INTERNAL');
          if (r.calls.length === 0) return;
          // It ran: every request was admitted by the role's grammar, by the entry the record names.
          const sets = DEFAULT_GRAMMARS.roles.get(role) ?? [];
          const admitted = record?.['grammar'] as { command: string; entry: string }[];
          const requests = (record?.['normalized'] as { requests: string[] } | undefined)?.requests ?? [];
          expect(requests.length).toBeGreaterThan(0);
          ran++;
          expect(admitted.map((g) => g.command)).toEqual(requests);
          for (const [i, request] of requests.entries()) {
            const m = matchGrammar(sets, request.split(' '));
            expect(m.matched).toBe(true);
            if (m.matched) {
              expect(m.entry).toBe(admitted[i]?.entry);
              for (const name of m.interfaces) expect(DEVICE_INTERFACES.has(name)).toBe(true);
            }
            // no file, namespace, VRF or flood option of the program it ran
            expect(forbiddenWords(request.split(' '))).toEqual([]);
          }
        },
      ),
      { numRuns: 1500 },
    );
    // not vacuous: some of the random commands were admitted and ran
    expect(ran).toBeGreaterThan(5);
  });

  it('splitWords is the inverse of quoting each word', () => {
    const safeWord = fc.stringMatching(/^[a-zA-Z0-9 _./:,=@-]{0,10}$/);
    fc.assert(
      fc.property(fc.array(safeWord, { minLength: 1, maxLength: 6 }), (words) => {
        const quoted = words.map((w) => `'${w}'`).join(' ');
        expect(splitWords(checkInput(quoted, 4096))).toEqual(words);
      }),
    );
  });

  it('stage 1 accepts exactly the seed character class', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40, unit: 'binary' }), (s) => {
        let ok = true;
        try {
          checkInput(s, 4096);
        } catch (e) {
          ok = false;
          expect(['ERR_FC_EMPTY', 'ERR_FC_METACHARACTER', 'ERR_FC_UNBALANCED_QUOTE']).toContain(
            (e as { code: string }).code,
          );
        }
        if (ok) expect(/^[a-zA-Z0-9 _./:,=@'-]+$/.test(s) && s.trim() !== '').toBe(true);
      }),
    );
  });
});
