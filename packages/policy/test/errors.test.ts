// Errors keep their cause and carry their catalogue's exit status; that every code is documented is
// checked for every package at the root (test/errors/catalogues.test.ts).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decide, loadPolicy, PolicyError, parsePolicy } from '../src/index.ts';

const README = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'README.md'), 'utf8');

describe('error catalogue', () => {
  it('keeps the cause of a read failure', () => {
    try {
      loadPolicy('/nonexistent/policy.yaml');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(PolicyError);
      expect((err as PolicyError).code).toBe('ERR_POLICY_READ');
      expect(((err as PolicyError).cause as NodeJS.ErrnoException).code).toBe('ENOENT');
      expect((err as PolicyError).exitStatus).toBe(2);
      expect((err as PolicyError).toJSON()).toEqual({
        code: 'ERR_POLICY_READ',
        message: 'cannot read the policy file',
      });
    }
  });
});

describe('README', () => {
  it('documents a policy file that parses', () => {
    const example = /```yaml\n(# required[\s\S]*?)```/.exec(README)?.[1];
    expect(example).toBeDefined();
    const p = parsePolicy(example as string, 'README.md');
    expect(decide(p, 'net-operator', 'ping -c 3 192.0.2.1')).toMatchObject({
      decision: 'permit',
      ruleIndex: 2,
    });
    expect(p.roles[0]?.devices).toEqual({ site: ['ams1', 'fra2'], vendor: ['frr'] });
  });

  it('documents a grammar policy that parses', () => {
    const example = /```yaml\n(version: 1\ngrammars:[\s\S]*?)```/.exec(README)?.[1];
    expect(example).toBeDefined();
    const p = parsePolicy(example as string, 'README.md');
    expect(decide(p, 'net-operator', 'ping -c 3 -W 2 192.0.2.1').decision).toBe('permit');
    expect(decide(p, 'net-operator', 'ping -f 192.0.2.1').decision).toBe('deny');
  });
});
