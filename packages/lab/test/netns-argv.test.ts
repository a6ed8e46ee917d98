// The argv builders the devices' programs start through (FRR, sshd, the authorization agent), run for
// real: a namespace of this test's own, a program inside it, its hostname in a UTS namespace of its own.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireRoot } from '@netward/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inNamespace, inNamespaceNamed, run } from '../src/system/exec.ts';

const NS = `nwargv${process.pid}`;

beforeAll(() => {
  requireRoot('network namespaces');
  execFileSync('ip', ['netns', 'add', NS]);
});
afterAll(() => {
  execFileSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
});

describe('argv in a device namespace', () => {
  it('inNamespace runs the program inside the namespace, with its arguments as given', async () => {
    const [file, ...args] = inNamespace(NS, '/usr/sbin/ip', ['-o', 'link', 'show']);
    const { stdout } = await run(file, args);
    // A fresh namespace holds its loopback alone: not the host's links.
    expect(
      stdout
        .trim()
        .split('\n')
        .map((l) => l.split(': ')[1]),
    ).toEqual(['lo']);
  });

  it('inNamespaceNamed names the UTS namespace, leaves the host its name, and passes odd names as data', async () => {
    const name = 'spine-a';
    const [file, ...args] = inNamespaceNamed(NS, name, '/bin/sh', [
      '-c',
      'hostname; echo "$1"',
      'sh',
      '$(id) x;y',
    ]);
    const { stdout } = await run(file, args);
    expect(stdout).toBe(`${name}\n$(id) x;y\n`);
    expect(hostname()).not.toBe(name);
    // A hostname the shell would parse is handed to hostname(1) as data (which refuses it), never run.
    const marker = join(tmpdir(), `nwargv-${process.pid}`);
    const [f2, ...a2] = inNamespaceNamed(NS, `a$(touch ${marker})`, '/bin/true', []);
    expect((await run(f2, a2, { allowFailure: true })).code).not.toBe(0);
    expect(existsSync(marker)).toBe(false);
  });
});
