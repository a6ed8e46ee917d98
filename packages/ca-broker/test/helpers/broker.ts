import { generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { newRequestId } from '@netward/audit-context';
import { defaultPolicy, type Policy, parsePolicy } from '@netward/policy';
import { formatPublicKey } from '@netward/ssh-certificate';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { type BrokerConfigInput, parseConfig } from '../../src/config.ts';
import { createLocalBackend } from '../../src/signers/local.ts';
import type { SigningBackend } from '../../src/signers/types.ts';
import type { TestIdp } from './idp.ts';
import { tempDir } from './openssh.ts';

export const AUDIENCE = 'netward-ca-broker';
export const MCP_CLIENT = 'netward-mcp-server';

export function auditCapture() {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) {
        raw.push(l);
        lines.push(JSON.parse(l));
      }
      cb();
    },
  });
  return {
    lines,
    raw,
    destination: destination as unknown as NodeJS.WritableStream & { write(s: string): boolean },
  };
}

/** A policy whose roles have short or extended certificates, for TTL and extension tests. */
export function testPolicy(opts: { ttl?: number; maxTtl?: number; extensions?: string[] } = {}): Policy {
  const base = defaultPolicy();
  const yaml = `version: 1
roles:
${base.roles
  .map(
    (r) => `  - name: ${r.name}
    idpRole: ${r.idpRole}
    scopes: [${r.scopes.join(', ')}]
    certificate: { ttlSeconds: ${opts.ttl ?? 60}, maxTtlSeconds: ${opts.maxTtl ?? 60}, extensions: [${(opts.extensions ?? []).join(', ')}] }
    tacacs: { group: ${r.tacacs.group}, profile: ${r.tacacs.profile} }
    rules: [{ action: permit }]`,
  )
  .join('\n')}
tools: []
`;
  return parsePolicy(yaml, 'test-policy.yaml');
}

export interface TestBroker {
  app: FastifyInstance;
  audit: ReturnType<typeof auditCapture>;
  backend: SigningBackend;
  stateDir: string;
  close(): Promise<void>;
}

export function brokerConfig(
  idp: TestIdp,
  overrides: Partial<BrokerConfigInput> = {},
  stateDir = '/nonexistent',
) {
  return parseConfig({
    token: {
      issuer: idp.issuer,
      audience: AUDIENCE,
      jwksUri: idp.jwksUri,
      actor: { allowed: [MCP_CLIENT] },
      ...(overrides.token ?? {}),
    },
    backend: { type: 'local', stateDir },
    ...Object.fromEntries(Object.entries(overrides).filter(([k]) => k !== 'token')),
  });
}

export function startBroker(
  idp: TestIdp,
  overrides: Partial<BrokerConfigInput> = {},
  deps: { policy?: Policy; backend?: (stateDir: string) => SigningBackend; now?: () => number } = {},
): TestBroker {
  const dir = tempDir('ca-broker-state');
  const config = brokerConfig(idp, overrides, dir.path);
  const backend =
    deps.backend?.(dir.path) ??
    createLocalBackend({ stateDir: dir.path, ...(deps.now ? { now: deps.now } : {}) });
  const audit = auditCapture();
  const app = buildApp(config, {
    backend,
    policy: deps.policy ?? defaultPolicy(),
    logDestination: audit.destination,
    ...(deps.now ? { now: deps.now } : {}),
  });
  return {
    app,
    audit,
    backend,
    stateDir: dir.path,
    async close() {
      await app.close();
      dir.remove();
    },
  };
}

export function claims(idp: TestIdp, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const t = Math.floor(Date.now() / 1000);
  return {
    iss: idp.issuer,
    aud: AUDIENCE,
    sub: 'f3a1c9e2-user-bob',
    preferred_username: 'bob',
    sid: 'fd9e4bdc77df2fa8',
    net_role: 'net-operator',
    act: { sub: MCP_CLIENT },
    iat: t,
    exp: t + 300,
    // Each token its own id, as the IdP does: the broker issues one certificate per token.
    jti: randomUUID(),
    ...overrides,
  };
}

export function freshKey(): { line: string; privateKey: KeyObject; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { line: formatPublicKey(publicKey), privateKey, publicKey };
}

export async function signRequest(
  app: FastifyInstance,
  token: string | undefined,
  body: Record<string, unknown> = {},
) {
  return app.inject({
    method: 'POST',
    url: '/v1/ssh/sign',
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    payload: { public_key: freshKey().line, request_id: newRequestId(), ...body },
  });
}
