// For any input string and any role, nothing outside the allowlist is executed and no shell is invoked.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FC_ERROR_CODES } from '../src/errors.ts';
import { CHILD_PATH } from '../src/execute.ts';
import { ALLOWED_CHARACTERS, checkInput, splitWords } from '../src/input.ts';
import { CONFIGS, runInProcess } from './helpers.ts';

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
            const code = record?.['code'] as keyof typeof FC_ERROR_CODES;
            expect(r.status).toBe(FC_ERROR_CODES[code].exit);
          }
        },
      ),
      { numRuns: 1500 },
    );
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
