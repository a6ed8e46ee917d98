/**
 * Host certificate checks on certificates made by ssh-keygen (an independent encoder): type, CA,
 * validity window and principals, each refused on its own.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { thrownCode } from '@netward/kit/testing';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { McpServerError } from '../src/errors.ts';
import { type HostKeyPolicy, parseHostCertificate, verifyHostKey } from '../src/ssh/host-key.ts';
import { parseKeyLine } from '../src/ssh/keys.ts';

const dir = mkdtempSync(join(tmpdir(), 'netward-mcp-hostkey-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const keygen = (...args: string[]) => execFileSync('ssh-keygen', ['-q', ...args], { stdio: 'ignore' });
keygen('-t', 'ed25519', '-N', '', '-f', join(dir, 'ca'));
keygen('-t', 'ed25519', '-N', '', '-f', join(dir, 'other_ca'));
const blobOf = (file: string) => parseKeyLine(readFileSync(file, 'utf8'), 'ERR_MCP_CONFIG').blob;

let n = 0;
function cert(opts: { ca?: string; host?: boolean; principals?: string; validity?: string }): Buffer {
  n += 1;
  const key = join(dir, `k${n}`);
  keygen('-t', 'ed25519', '-N', '', '-f', key);
  keygen(
    '-s',
    join(dir, opts.ca ?? 'ca'),
    ...(opts.host === false ? [] : ['-h']),
    '-I',
    `host-${n}`,
    '-n',
    opts.principals ?? 'spine-a,10.0.0.1',
    '-V',
    opts.validity ?? '-5m:+1h',
    '-z',
    String(4242 + n),
    `${key}.pub`,
  );
  return blobOf(`${key}-cert.pub`);
}

const policy: HostKeyPolicy = { kind: 'ca', caBlobs: [blobOf(join(dir, 'ca.pub'))] };
const now = new Date();

const codeOf = (fn: () => unknown) => thrownCode(fn, McpServerError) ?? 'accepted';

describe('host certificates', () => {
  it('reads what ssh-keygen wrote', () => {
    const c = parseHostCertificate(cert({}));
    expect(c.certType).toBe(2);
    expect(c.principals).toEqual(['spine-a', '10.0.0.1']);
    expect(c.keyId).toMatch(/^host-\d+$/);
    expect(c.signatureKey.equals(policy.kind === 'ca' ? policy.caBlobs[0]! : Buffer.alloc(0))).toBe(true);
  });

  it('accepts a valid certificate naming the device or its address', () => {
    const c = cert({});
    expect(codeOf(() => verifyHostKey(policy, c, ['spine-a', '192.0.2.1'], now))).toBe('accepted');
    expect(codeOf(() => verifyHostKey(policy, c, ['other', '10.0.0.1'], now))).toBe('accepted');
  });

  const refused: [string, () => Buffer, string[]?][] = [
    ['expired', () => cert({ validity: '20200101:20200102' })],
    ['not yet valid', () => cert({ validity: '+1h:+2h' })],
    ['signed by another CA', () => cert({ ca: 'other_ca' })],
    ['a user certificate', () => cert({ host: false })],
    ['naming other hosts', () => cert({ principals: 'leaf-1,10.0.0.2' })],
    ['a plain key', () => blobOf(join(dir, 'ca.pub'))],
    [
      'a tampered certificate',
      () => {
        const c = Buffer.from(cert({}));
        c[c.length - 10]! ^= 1;
        return c;
      },
    ],
    ['a truncated certificate', () => cert({}).subarray(0, 100)],
  ];
  for (const [name, make] of refused) {
    it(`refuses ${name}`, () => {
      expect(codeOf(() => verifyHostKey(policy, make(), ['spine-a', '10.0.0.1'], now))).toBe(
        'ERR_MCP_HOST_KEY',
      );
    });
  }

  it('any mutation of a valid certificate is refused with ERR_MCP_HOST_KEY, never a crash or a pass', () => {
    const valid = cert({});
    fc.assert(
      fc.property(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 1, max: 255 }), (pos, xor) => {
        const c = Buffer.from(valid);
        c[pos]! ^= xor;
        expect(codeOf(() => verifyHostKey(policy, c, ['spine-a'], now))).toBe('ERR_MCP_HOST_KEY');
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        expect(codeOf(() => verifyHostKey(policy, Buffer.from(bytes), ['spine-a'], now))).toBe(
          'ERR_MCP_HOST_KEY',
        );
      }),
    );
  });
});
