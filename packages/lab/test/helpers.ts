import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@netward/audit-context';
import { freePort } from '@netward/kit/testing';
import { type IdpConfig, parseIdpConfig } from '../src/idp/config.ts';

export { freePort };

export function captureLogger(component: string): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n'))
        if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createLogger({ component, destination: destination as never }), lines };
}

export const ROLES = {
  'net-viewer': ['mcp:ctrl-plane:read'],
  'net-operator': ['mcp:ctrl-plane:read', 'mcp:diag:run'],
  'net-admin': ['mcp:ctrl-plane:read', 'mcp:diag:run', 'mcp:config:read', 'mcp:config:write'],
};

export const PASSWORDS = { alice: 'alice-password-1', bob: 'bob-password-22', carol: 'carol-password-333' };

export async function idpFixture(): Promise<{
  config: IdpConfig;
  dir: string;
  secret: string;
  cleanup(): void;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'netward-idp-'));
  const port = await freePort();
  const users = {
    alice: { password: PASSWORDS.alice, role: 'net-viewer' },
    bob: { password: PASSWORDS.bob, role: 'net-operator' },
    carol: { password: PASSWORDS.carol, role: 'net-admin' },
  };
  writeFileSync(join(dir, 'users.json'), JSON.stringify(users), { mode: 0o600 });
  const secret = 'exchange-secret-0123456789abcdef0123456789';
  writeFileSync(join(dir, 'exchange.secret'), secret, { mode: 0o600 });
  const config = parseIdpConfig({
    issuer: `http://127.0.0.1:${port}`,
    usersFile: join(dir, 'users.json'),
    jwksFile: join(dir, 'jwks.json'),
    roles: ROLES,
    mcp: { resource: 'http://127.0.0.1:9/mcp' },
    agentClient: { clientId: 'mcp-agent', redirectUris: ['http://127.0.0.1:8976/callback'] },
    exchangeClient: { clientId: 'netward-mcp-server', clientSecretFile: join(dir, 'exchange.secret') },
    broker: { audience: 'http://127.0.0.1:10/broker' },
  });
  return { config, dir, secret, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
