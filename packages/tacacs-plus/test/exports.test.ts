// The public entries export what callers use (other packages, these tests, the README's examples, the
// pack test) and nothing else; the main entry is the client entry plus the server. The README's "Public
// API" section lists the same names.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as client from '../src/client-entry.ts';
import * as main from '../src/index.ts';
import * as protocol from '../src/protocol/index.ts';

const CLIENT = ['TACACS_ERRORS', 'TacacsClient', 'TacacsError', 'commandLine', 'readKeyFile'];
const SERVER = ['createTacacsServer', 'requestView'];

describe('public entries', () => {
  it('./client exports the client and nothing of the server', () => {
    expect(Object.keys(client).sort()).toEqual([...CLIENT].sort());
  });

  it('the main entry is exactly the client entry plus the server', () => {
    expect(Object.keys(main).sort()).toEqual([...CLIENT, ...SERVER].sort());
    const mainEntries = new Map(Object.entries(main));
    for (const [name, value] of Object.entries(client)) expect(mainEntries.get(name)).toBe(value);
  });

  it('./protocol exports the codec names callers use, and the README names each runtime export', () => {
    const names = Object.keys(protocol);
    expect(names.length).toBeLessThan(40);
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Public API'), readme.indexOf('## Client'));
    for (const name of [...names, ...CLIENT, ...SERVER]) expect(section).toContain(name);
  });
});
