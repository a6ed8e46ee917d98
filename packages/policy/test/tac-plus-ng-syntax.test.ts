// The rendered tac_plus-ng configuration, token by token, against the reference configuration known to
// load (the captured server's): same lexical structure, same profile token streams.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderTacPlusNg } from '../src/index.ts';
import { block, tokenize } from './helpers/cfg-lexer.ts';
import { designPolicy } from './helpers/design.ts';
import { FIXTURES } from './helpers/reference.ts';

const reference = tokenize(readFileSync(join(FIXTURES, 'tac_plus-ng', 'tac_plus-ng.cfg'), 'utf8'));
const ours = tokenize(
  renderTacPlusNg(designPolicy(), {
    key: 'labsecret',
    device: { name: 'localhost', address: '127.0.0.1' },
    pidFile: '/run/tac_plus-ng.pid',
  }),
);
const text = (ts: readonly { text: string }[]) => ts.map((t) => t.text).join(' ');

describe('rendered tac_plus-ng configuration', () => {
  it('has balanced braces and parentheses', () => {
    for (const [open, close] of [
      ['{', '}'],
      ['(', ')'],
    ]) {
      let depth = 0;
      for (const t of ours) {
        if (t.kind !== 'punct') continue;
        if (t.text === open) depth++;
        if (t.text === close) depth--;
        expect(depth).toBeGreaterThanOrEqual(0);
      }
      expect(depth).toBe(0);
    }
  });

  it('renders the viewer and operator profiles token for token as the reference', () => {
    for (const p of ['viewer-profile', 'operator-profile']) {
      expect(text(block(ours, ['profile', p]))).toBe(text(block(reference, ['profile', p])));
    }
  });

  it('limits the admin profile to shell commands', () => {
    expect(text(block(ours, ['profile', 'admin-profile']))).toBe(
      'profile admin-profile { script { if ( service = = shell ) { permit } deny } }', // `==` lexes as two `=`
    );
  });

  it('has the reference spawnd block and device block', () => {
    expect(text(block(ours, ['id', '=', 'spawnd']))).toBe(text(block(reference, ['id', '=', 'spawnd'])));
    expect(text(block(ours, ['device', 'localhost']))).toBe(text(block(reference, ['device', 'localhost'])));
  });

  it('has the reference log blocks', () => {
    for (const l of ['authzlog', 'acctlog', 'authclog', 'connlog']) {
      expect(text(block(ours, ['log', l]))).toBe(text(block(reference, ['log', l])));
    }
  });

  it('maps each user to its group and each group to its profile as the reference does', () => {
    for (const u of ['net-viewer', 'net-operator', 'net-admin']) {
      const member = (ts: typeof ours) => {
        const b = block(ts, ['user', u]);
        const k = b.findIndex((t) => t.text === 'member');
        return b[k + 2]?.text;
      };
      expect(member(ours)).toBe(member(reference));
    }
    const rules = (ts: typeof ours) =>
      text(block(ts, ['ruleset']))
        .split(' if ')
        .slice(1)
        .map((s) => s.replace(/ deny } } }$/, ''))
        .sort();
    expect(rules(ours)).toEqual(rules(reference));
  });

  it('sets regex-match-case before the first profile', () => {
    const t = text(ours);
    expect(t.indexOf('regex-match-case = yes')).toBeGreaterThan(0);
    expect(t.indexOf('regex-match-case = yes')).toBeLessThan(t.indexOf('profile viewer-profile'));
  });
});
