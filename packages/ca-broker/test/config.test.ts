import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatPrivateKey } from '@netward/ssh-certificate';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../src/config.ts';
import { CaBrokerError } from '../src/errors.ts';
import { startupWarnings } from '../src/server.ts';
import { createLocalBackend, readCaKey } from '../src/signers/local.ts';
import { freshKey } from '../src/testing/broker.ts';
import { tempDir } from './helpers/openssh.ts';

const dir = tempDir('ca-broker-config');
afterAll(() => dir.remove());

const minimal = {
  token: {
    issuer: 'https://idp.example/realms/netward',
    audience: 'netward-ca-broker',
    jwksUri: 'https://idp.example/jwks',
  },
  backend: { type: 'local', stateDir: '/var/lib/netward-ca' },
};

function configError(fn: () => unknown): CaBrokerError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CaBrokerError);
    expect((err as CaBrokerError).code).toBe('ERR_CA_CONFIG');
    return err as CaBrokerError;
  }
  throw new Error('expected ERR_CA_CONFIG');
}

describe('configuration', () => {
  it('fills the documented secure defaults and freezes the result', () => {
    const c = parseConfig(minimal);
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 8200 });
    expect(c.token.algorithms).toEqual(['EdDSA', 'ES256', 'RS256', 'PS256']);
    expect(c.token.clockToleranceSeconds).toBe(5);
    expect(c.token.claims).toEqual({ user: ['preferred_username', 'sub'], sid: 'sid', role: 'net_role' });
    expect(c.token.actor).toEqual({ allowed: [], require: false, claim: 'act' });
    expect(c.certificate).toEqual({ backdateSeconds: 5, devicePrincipal: false });
    expect(c.rateLimit).toEqual({ burst: 30, perSecond: 2 });
    expect(c.hostSigning).toEqual({ maxValidityDays: 365 });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.token.algorithms)).toBe(true);
    expect(() => {
      (c.listen as { host: string }).host = '0.0.0.0';
    }).toThrow(TypeError);
  });

  it('rejects unknown keys, HMAC or none, and inconsistent settings, naming file and key', () => {
    expect(configError(() => parseConfig({ ...minimal, extra: 1 }, 'broker.yaml')).message).toContain(
      'broker.yaml: (root)',
    );
    expect(
      configError(() => parseConfig({ ...minimal, token: { ...minimal.token, requireActr: true } }, 'b.yaml'))
        .message,
    ).toContain('b.yaml: token');
    for (const alg of ['HS256', 'none']) {
      expect(
        configError(() =>
          parseConfig({ ...minimal, token: { ...minimal.token, algorithms: [alg] } }, 'b.yaml'),
        ).message,
      ).toContain('b.yaml: token.algorithms[0]');
    }
    configError(() => parseConfig({ ...minimal, token: { ...minimal.token, jwksUri: 'file:///etc/jwks' } }));
    configError(() => parseConfig({ ...minimal, token: { ...minimal.token, clockToleranceSeconds: 600 } }));
    configError(() => parseConfig({ ...minimal, token: { ...minimal.token, actor: { require: true } } }));
    configError(() => parseConfig({ ...minimal, certificate: { sourceAddress: ['10.0.0.0/33'] } }));
    configError(() => parseConfig({ ...minimal, certificate: { sourceAddress: ['not-an-ip'] } }));
    configError(() => parseConfig({ ...minimal, backend: { type: 'local' } }));
    configError(() =>
      parseConfig({
        ...minimal,
        backend: { type: 'vault', address: 'https://v', auth: { method: 'token' } },
      }),
    );
  });

  it('reads YAML, with host/port from the environment', () => {
    const file = join(dir.path, 'broker.yaml');
    writeFileSync(
      file,
      `token:\n  issuer: ${minimal.token.issuer}\n  audience: a\n  jwksUri: ${minimal.token.jwksUri}\nbackend: { type: local, stateDir: /x }\n`,
    );
    expect(loadConfig(file, {}).listen).toEqual({ host: '127.0.0.1', port: 8200 });
    expect(loadConfig(file, { NETWARD_CA_BROKER_PORT: '9000' }).listen.port).toBe(9000);
    expect(configError(() => loadConfig(file, { NETWARD_CA_BROKER_PORT: 'x' })).message).toContain(
      `${file}: listen.port`,
    );
    writeFileSync(file, 'token: [1,\n');
    expect(configError(() => loadConfig(file, {})).message).toContain(file);
    writeFileSync(file, 'a: 1\na: 2\n');
    configError(() => loadConfig(file, {}));
  });
});

describe('startup warnings', () => {
  it('names each weaker-than-possible setting, and none for a strict config', () => {
    const loose = parseConfig({
      ...minimal,
      listen: { host: '0.0.0.0' },
      token: { ...minimal.token, jwksUri: 'http://idp.example/jwks' },
    });
    expect(startupWarnings(loose).map((w) => w.setting)).toEqual([
      'listen.host',
      'token.jwksUri',
      'token.actor.require',
    ]);
    const strict = parseConfig({
      ...minimal,
      token: {
        ...minimal.token,
        jwksUri: 'http://127.0.0.1:8080/jwks',
        actor: { allowed: ['mcp'], require: true },
      },
    });
    expect(startupWarnings(strict)).toEqual([]);
  });
});

describe('local backend keys', () => {
  it('refuses a CA key file the group or others can read', () => {
    const file = join(dir.path, 'ca');
    writeFileSync(file, formatPrivateKey(freshKey().privateKey), { mode: 0o600 });
    expect(() => readCaKey(file)).not.toThrow();
    for (const mode of [0o640, 0o604, 0o660]) {
      chmodSync(file, mode);
      expect(() => createLocalBackend({ userCaKeyFile: file })).toThrow(
        expect.objectContaining({ code: 'ERR_CA_KEY_PERMISSIONS' }),
      );
    }
  });

  it('refuses a key that is not Ed25519, and the same key for user and host CA', () => {
    const file = join(dir.path, 'ca2');
    writeFileSync(file, 'not a key', { mode: 0o600 });
    expect(() => readCaKey(file)).toThrow(expect.objectContaining({ code: 'ERR_CA_KEY_FILE' }));
    writeFileSync(file, formatPrivateKey(freshKey().privateKey), { mode: 0o600 });
    expect(() => createLocalBackend({ userCaKeyFile: file, hostCaKeyFile: file })).toThrow(
      expect.objectContaining({ code: 'ERR_CA_KEY_FILE' }),
    );
  });
});
