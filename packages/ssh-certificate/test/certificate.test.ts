import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, thrownCode } from '@netward/kit/testing';
import fc from 'fast-check';
import sshpk from 'sshpk';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkCertificate,
  ED25519_CERT,
  fingerprint,
  formatPrivateKey,
  formatPublicKey,
  parseCertificate,
  parsePrivateKey,
  parsePublicKey,
  SshCertificateError,
  signCertificate,
  signCertificateAsync,
  verifyCertificateSignature,
} from '../src/index.ts';
import { listCertificate, sshKeygen } from '../src/testing/openssh.ts';

const dir = tempDir('ssh-certificate');
afterAll(() => dir.remove());

const ca = generateKeyPairSync('ed25519');
const user = generateKeyPairSync('ed25519');

const codeOf = (fn: () => unknown) => thrownCode(fn, SshCertificateError);

function utc(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 19);
}

const after = 1_781_094_595; // 2026-06-10T12:29:55Z
const before = after + 60;

/** The fields of the sample certificate (a broker-issued one for bob), with `overrides`. */
function sampleFields(
  overrides: Partial<Parameters<typeof signCertificate>[0]> = {},
): Parameters<typeof signCertificate>[0] {
  return {
    publicKey: user.publicKey,
    type: 'user',
    serial: 15_800_344_769_086_219_675n,
    keyId: 'sid=fd9e4bdc77df2fa8,user=bob,req=Qm9iUmVxdWVzdElkMDAx',
    principals: ['net-operator'],
    validAfter: BigInt(after),
    validBefore: BigInt(before),
    criticalOptions: { 'source-address': '127.0.0.1/32,::1/128' },
    extensions: ['permit-pty'],
    ...overrides,
  };
}

function sampleCert(overrides: Partial<Parameters<typeof signCertificate>[0]> = {}) {
  return signCertificate(sampleFields(overrides), ca.privateKey);
}

describe('signCertificate, read back by ssh-keygen -L', () => {
  it('shows every field as issued', () => {
    const file = join(dir.path, 'user-cert.pub');
    writeFileSync(file, `${sampleCert().line}\n`);
    const l = listCertificate(file);
    expect(l.type).toBe(`${ED25519_CERT} user certificate`);
    expect(l.publicKey).toBe(`ED25519-CERT ${fingerprint(user.publicKey)}`);
    expect(l.signingCa).toBe(`ED25519 ${fingerprint(ca.publicKey)} (using ssh-ed25519)`);
    expect(l.keyId).toBe('"sid=fd9e4bdc77df2fa8,user=bob,req=Qm9iUmVxdWVzdElkMDAx"');
    expect(l.serial).toBe('15800344769086219675');
    expect(l.valid).toBe(`from ${utc(after)} to ${utc(before)}`);
    expect(l.principals).toEqual(['net-operator']);
    expect(l.criticalOptions).toEqual(['source-address 127.0.0.1/32,::1/128']);
    expect(l.extensions).toEqual(['permit-pty']);
  });

  it('sorts extensions and writes a host certificate without options', () => {
    const file = join(dir.path, 'ext-cert.pub');
    writeFileSync(
      file,
      sampleCert({ extensions: ['permit-pty', 'permit-X11-forwarding', 'permit-agent-forwarding'] }).line,
    );
    // OpenSSH compares names with strcmp: upper case sorts first.
    expect(listCertificate(file).extensions).toEqual([
      'permit-X11-forwarding',
      'permit-agent-forwarding',
      'permit-pty',
    ]);

    const hostFile = join(dir.path, 'host-cert.pub');
    const host = sampleCert({
      type: 'host',
      principals: ['spine-a', 'spine-a.lab'],
      criticalOptions: {},
      extensions: [],
    });
    writeFileSync(hostFile, host.line);
    const h = listCertificate(hostFile);
    expect(h.type).toBe(`${ED25519_CERT} host certificate`);
    expect(h.principals).toEqual(['spine-a', 'spine-a.lab']);
    expect(h.criticalOptions).toEqual([]);
    expect(h.extensions).toEqual([]);
  });

  it('refuses to produce what OpenSSH would misread', () => {
    expect(() => sampleCert({ principals: [] })).toThrow(TypeError);
    expect(() => sampleCert({ principals: ['a,b'] })).toThrow(TypeError);
    expect(() => sampleCert({ type: 'host' })).toThrow(TypeError);
    expect(() => sampleCert({ serial: 1n << 64n })).toThrow(RangeError);
    expect(() => sampleCert({ validBefore: BigInt(after) })).toThrow(RangeError);
    expect(() => signCertificate({ ...fieldsOf(), publicKey: user.publicKey }, ca.publicKey)).toThrow(
      TypeError,
    );
  });
});

function fieldsOf() {
  return {
    publicKey: user.publicKey,
    type: 'user' as const,
    serial: 1n,
    keyId: 'k',
    principals: ['p'],
    validAfter: 0n,
    validBefore: 10n,
  };
}

describe('signCertificateAsync', () => {
  it('produces the same certificate as the synchronous signer for the same nonce', async () => {
    const nonce = Buffer.alloc(32, 7);
    const sync = sampleCert({ nonce });
    const asyncSigned = await signCertificateAsync(sampleFields({ nonce }), ca.privateKey);
    // Ed25519 signatures are deterministic (RFC 8032 section 5.1.6): same input, same bytes.
    expect(asyncSigned.line).toBe(sync.line);
    expect(() => signCertificateAsync(fieldsOf(), ca.publicKey)).toThrow(TypeError);
  });
});

describe('signCertificate, read back by sshpk', () => {
  it('parses and verifies under the CA key', () => {
    const cert = sshpk.parseCertificate(sampleCert().line, 'openssh');
    const caKey = sshpk.parseKey(formatPublicKey(ca.publicKey), 'ssh');
    expect(cert.isSignedByKey(caKey)).toBe(true);
    expect(cert.isSignedByKey(sshpk.parseKey(formatPublicKey(user.publicKey), 'ssh'))).toBe(false);
    expect(cert.subjects.map((s) => s.uid)).toEqual(['net-operator']);
    expect(cert.serial.toString('hex')).toBe(15_800_344_769_086_219_675n.toString(16));
    expect(cert.validFrom.getTime()).toBe(after * 1000);
    expect(cert.validUntil.getTime()).toBe(before * 1000);
    expect(cert.subjectKey.toString('ssh')).toBe(formatPublicKey(user.publicKey));
    const sig = (
      cert as unknown as {
        signatures: { openssh: { keyId: string; exts: { name: string; critical: boolean }[] } };
      }
    ).signatures.openssh;
    expect(sig.keyId).toBe('sid=fd9e4bdc77df2fa8,user=bob,req=Qm9iUmVxdWVzdElkMDAx');
    expect(sig.exts.map((e) => `${e.critical ? 'critical' : 'ext'}:${e.name}`)).toEqual([
      'critical:source-address',
      'ext:permit-pty',
    ]);
  });
});

describe('parseCertificate on certificates made by ssh-keygen -s', () => {
  for (const caType of ['ed25519', 'rsa', 'ecdsa'] as const) {
    it(`reads every field and verifies a ${caType} CA signature`, () => {
      const caFile = join(dir.path, `kg-ca-${caType}`);
      const keyFile = join(dir.path, `kg-user-${caType}`);
      sshKeygen(['-q', '-t', caType, '-N', '', '-C', '', '-f', caFile]);
      sshKeygen(['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', keyFile]);
      sshKeygen([
        '-q',
        '-s',
        caFile,
        '-I',
        'sid=s1,user=alice',
        '-n',
        'net-viewer,net-admin',
        '-z',
        '18446744073709551615',
        '-V',
        '20260610122955:20260610123055',
        '-O',
        'clear',
        '-O',
        'source-address=10.0.0.0/8',
        '-O',
        'extension:permit-pty',
        `${keyFile}.pub`,
      ]);
      const line = readFileSync(`${keyFile}-cert.pub`, 'utf8');
      const cert = parseCertificate(line);
      expect(cert.type).toBe('user');
      expect(cert.serial).toBe(18_446_744_073_709_551_615n);
      expect(cert.keyId).toBe('sid=s1,user=alice');
      expect(cert.principals).toEqual(['net-viewer', 'net-admin']);
      expect(cert.validAfter).toBe(BigInt(Date.UTC(2026, 5, 10, 12, 29, 55) / 1000));
      expect(cert.validBefore).toBe(BigInt(Date.UTC(2026, 5, 10, 12, 30, 55) / 1000));
      expect(cert.criticalOptions).toEqual([{ name: 'source-address', value: '10.0.0.0/8' }]);
      expect(cert.extensions).toEqual([{ name: 'permit-pty', value: '' }]);
      expect(formatPublicKey(cert.publicKey)).toBe(readFileSync(`${keyFile}.pub`, 'utf8').trim());
      expect(fingerprint(cert.signatureKey)).toBe(sshKeygen(['-l', '-f', `${caFile}.pub`]).split(' ')[1]);
      expect(verifyCertificateSignature(cert)).toBe(true);
      const caLine = readFileSync(`${caFile}.pub`, 'utf8');
      const now = new Date(Date.UTC(2026, 5, 10, 12, 30, 0));
      expect(checkCertificate(cert, { trustedCaKeys: [caLine], now, principal: 'net-admin' })).toBe(cert);
    });
  }

  it('signs with our OpenSSH-format CA key file, which ssh-keygen reads too', () => {
    const caFile = join(dir.path, 'our-ca');
    writeFileSync(caFile, formatPrivateKey(ca.privateKey, 'test ca'), { mode: 0o600 });
    expect(sshKeygen(['-y', '-f', caFile]).trim()).toBe(formatPublicKey(ca.publicKey, 'test ca'));
    const keyFile = join(dir.path, 'our-user.pub');
    writeFileSync(keyFile, `${formatPublicKey(user.publicKey)}\n`);
    sshKeygen(['-q', '-s', caFile, '-I', 'x', '-n', 'p', keyFile]);
    const cert = parseCertificate(readFileSync(join(dir.path, 'our-user-cert.pub'), 'utf8'));
    expect(fingerprint(cert.signatureKey)).toBe(fingerprint(ca.publicKey));
    expect(verifyCertificateSignature(cert)).toBe(true);
    expect(parsePrivateKey(readFileSync(caFile, 'utf8')).export({ format: 'jwk' })).toEqual(
      ca.privateKey.export({ format: 'jwk' }),
    );
    // and a key ssh-keygen wrote
    sshKeygen(['-q', '-t', 'ed25519', '-N', '', '-C', 'c', '-f', join(dir.path, 'kg-key')]);
    const k = parsePrivateKey(readFileSync(join(dir.path, 'kg-key'), 'utf8'));
    expect(formatPublicKey(k, 'c')).toBe(readFileSync(join(dir.path, 'kg-key.pub'), 'utf8').trim());
  });
});

describe('checkCertificate', () => {
  const cert = parseCertificate(sampleCert().line);
  const inside = new Date((after + 30) * 1000);
  const opts = { trustedCaKeys: [ca.publicKey], now: inside };

  it('applies the checks sshd applies, each with its code', () => {
    expect(checkCertificate(cert, { ...opts, principal: 'net-operator' })).toBe(cert);
    expect(codeOf(() => checkCertificate(cert, { ...opts, trustedCaKeys: [user.publicKey] }))).toBe(
      'ERR_SSH_CERTIFICATE_UNTRUSTED',
    );
    expect(codeOf(() => checkCertificate(cert, { ...opts, type: 'host' }))).toBe('ERR_SSH_CERTIFICATE_TYPE');
    expect(codeOf(() => checkCertificate(cert, { ...opts, now: new Date(before * 1000) }))).toBe(
      'ERR_SSH_CERTIFICATE_EXPIRED',
    );
    expect(codeOf(() => checkCertificate(cert, { ...opts, now: new Date((after - 1) * 1000) }))).toBe(
      'ERR_SSH_CERTIFICATE_NOT_YET_VALID',
    );
    expect(codeOf(() => checkCertificate(cert, { ...opts, principal: 'net-admin' }))).toBe(
      'ERR_SSH_CERTIFICATE_PRINCIPAL',
    );
  });

  it('detects any changed byte of the signed part', () => {
    const blob = cert.blob;
    for (let i = 0; i < cert.signedData.length; i++) {
      const tampered = Buffer.from(blob);
      tampered[i]! ^= 0x01;
      let ok = false;
      try {
        ok = verifyCertificateSignature(parseCertificate(tampered));
      } catch (err) {
        expect(err).toBeInstanceOf(SshCertificateError);
      }
      expect(ok, `byte ${i}`).toBe(false);
    }
  });
});

describe('parseCertificate on hostile input', () => {
  const blob = sampleCert().blob;

  it('refuses every truncation with a typed error', () => {
    for (let i = 0; i < blob.length; i++) {
      expect(
        codeOf(() => parseCertificate(blob.subarray(0, i))),
        `length ${i}`,
      ).toMatch(/^ERR_SSH_(MALFORMED_CERTIFICATE|UNSUPPORTED_KEY)$/);
    }
    expect(codeOf(() => parseCertificate(Buffer.concat([blob, Buffer.from([0])])))).toBe(
      'ERR_SSH_MALFORMED_CERTIFICATE',
    );
  });

  it('never throws anything but a SshCertificateError on random mutations (property)', () => {
    fc.assert(
      fc.property(fc.nat(blob.length - 1), fc.integer({ min: 0, max: 255 }), (at, value) => {
        const m = Buffer.from(blob);
        m[at] = value;
        try {
          parseCertificate(m);
        } catch (err) {
          return err instanceof SshCertificateError;
        }
        return true;
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses lines that are not certificates', () => {
    expect(codeOf(() => parseCertificate('junk'))).toBe('ERR_SSH_MALFORMED_CERTIFICATE');
    expect(codeOf(() => parseCertificate(formatPublicKey(user.publicKey)))).toBe('ERR_SSH_UNSUPPORTED_KEY');
    // the line's type must match the blob's
    const line = sampleCert().line;
    expect(codeOf(() => parseCertificate(line.replace(ED25519_CERT, 'ssh-rsa-cert-v01@openssh.com')))).toBe(
      'ERR_SSH_MALFORMED_CERTIFICATE',
    );
  });
});

describe('round trip (property)', () => {
  const keys: KeyObject[] = Array.from({ length: 4 }, () => generateKeyPairSync('ed25519').publicKey);
  const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);
  it('parse(sign(fields)) returns the fields', () => {
    fc.assert(
      fc.property(
        fc.record({
          key: fc.nat(keys.length - 1),
          type: fc.constantFrom('user' as const, 'host' as const),
          serial: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
          keyId: fc.string({ maxLength: 80 }),
          principals: fc.uniqueArray(name, { minLength: 1, maxLength: 5 }),
          validAfter: fc.bigInt({ min: 0n, max: 1n << 40n }),
          span: fc.bigInt({ min: 1n, max: 1n << 20n }),
          extensions: fc.uniqueArray(name, { maxLength: 4 }),
          source: fc.option(fc.constantFrom('10.0.0.1/32', '::1/128,127.0.0.1/32'), { nil: undefined }),
        }),
        (f) => {
          const user = f.type === 'user';
          const signed = signCertificate(
            {
              publicKey: keys[f.key]!,
              type: f.type,
              serial: f.serial,
              keyId: f.keyId,
              principals: f.principals,
              validAfter: f.validAfter,
              validBefore: f.validAfter + f.span,
              extensions: user ? f.extensions : [],
              criticalOptions: user && f.source ? { 'source-address': f.source } : {},
            },
            ca.privateKey,
          );
          const p = parseCertificate(signed.line);
          expect(p.blob.equals(signed.blob)).toBe(true);
          expect(formatPublicKey(p.publicKey)).toBe(formatPublicKey(keys[f.key]!));
          expect([p.type, p.serial, p.keyId, p.principals, p.validAfter, p.validBefore]).toEqual([
            f.type,
            f.serial,
            f.keyId,
            f.principals,
            f.validAfter,
            f.validAfter + f.span,
          ]);
          expect(p.extensions.map((e) => e.name)).toEqual(
            user ? [...f.extensions].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))) : [],
          );
          expect(p.criticalOptions).toEqual(
            user && f.source ? [{ name: 'source-address', value: f.source }] : [],
          );
          expect(verifyCertificateSignature(p)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('public key lines', () => {
  it('round-trips ssh-keygen keys and agrees on fingerprints', () => {
    const file = join(dir.path, 'fp');
    sshKeygen(['-q', '-t', 'ed25519', '-N', '', '-C', 'alice@host', '-f', file]);
    const line = readFileSync(`${file}.pub`, 'utf8');
    const parsed = parsePublicKey(line);
    expect(parsed.comment).toBe('alice@host');
    expect(formatPublicKey(parsed.key, 'alice@host')).toBe(line.trim());
    expect(fingerprint(parsed.key)).toBe(sshKeygen(['-l', '-f', `${file}.pub`]).split(' ')[1]);
    // and the other way: a key Node made, fingerprinted by ssh-keygen from our line
    writeFileSync(`${file}2.pub`, `${formatPublicKey(user.publicKey)}\n`);
    expect(sshKeygen(['-l', '-f', `${file}2.pub`]).split(' ')[1]).toBe(fingerprint(user.publicKey));
  });

  it('refuses what a certificate may not be issued for, each with its code', () => {
    const rsa = join(dir.path, 'rsa');
    sshKeygen(['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', rsa]);
    expect(codeOf(() => parsePublicKey(readFileSync(`${rsa}.pub`, 'utf8')))).toBe('ERR_SSH_UNSUPPORTED_KEY');
    expect(codeOf(() => parsePublicKey(sampleCert().line))).toBe('ERR_SSH_CERTIFICATE_NOT_KEY');
    const good = formatPublicKey(user.publicKey);
    for (const junk of [
      '',
      'ssh-ed25519',
      'ssh-ed25519 !!!!',
      `ssh-rsa ${good.split(' ')[1]}`,
      `ssh-ed25519 ${good.split(' ')[1]!.slice(0, -4)}`,
      `ssh-ed25519 ${good.split(' ')[1]}\nssh-ed25519 ${good.split(' ')[1]}`,
      'x'.repeat(20_000),
    ]) {
      expect(
        codeOf(() => parsePublicKey(junk)),
        JSON.stringify(junk.slice(0, 40)),
      ).toBe('ERR_SSH_MALFORMED_KEY');
    }
  });
});
