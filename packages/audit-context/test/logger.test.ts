import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { auditRecordSchema, contextFields, createLogger, parseAuditLine } from '../src/index.ts';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, destination: stream as unknown as NodeJS.WritableStream & { write(s: string): boolean } };
}

// Each kind of secret that can reach a log, in the shape it really has.
const JWT =
  'eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJib2IiLCJzY29wZSI6Im1jcDpjdHJsLXBsYW5lOnJlYWQifQ.MEUCIQDx3e6a9N8p0f2v7hQwR3xZ';
const PEM =
  '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIK1xYz5k0nGd8+7rq2a9Xb0v8gE8sS7y0N0aQzQm8Kk1\n-----END PRIVATE KEY-----';
const OPENSSH =
  '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----';
const VAULT = 'hvs.CAESIJ3k2lK9f8cNq0rTtYvWxZ1aB2cD3eF4gH5iJ6kL7mN8oP';
const TACACS_KEY = 'labsecret-7c1f9e';
const SECRETS = [
  JWT,
  PEM.split('\n')[1]!,
  OPENSSH.split('\n')[1]!,
  VAULT,
  TACACS_KEY,
  'CAESIJ3k2lK9f8cNq0rTtYvWxZ1aB2cD3eF4gH5iJ6kL7mN8oP',
];

describe('createLogger', () => {
  it('writes JSON lines with component and the correlation fields at the top level', () => {
    const { lines, destination } = capture();
    const log = createLogger({ component: 'mcp-server', destination });
    const ctx = {
      user: 'bob',
      sid: 'fd9e',
      role: 'net-operator',
      requestId: 'a1b2c3d4e5f6g7h8',
      certSerial: '42',
      device: 'spine-a',
    };
    log.child(contextFields(ctx)).info({ decision: 'permit', args: { prefix: '10.0.0.0/8' } }, 'tool call');
    const rec = JSON.parse(lines[0]!);
    expect(rec).toMatchObject({
      component: 'mcp-server',
      level: 'info',
      user: 'bob',
      sid: 'fd9e',
      role: 'net-operator',
      cert_serial: '42',
      request_id: 'a1b2c3d4e5f6g7h8',
      device: 'spine-a',
      decision: 'permit',
      args: { prefix: '10.0.0.0/8' },
      msg: 'tool call',
    });
    expect(auditRecordSchema.safeParse(rec).success).toBe(true);
    expect(parseAuditLine(lines[0]!)).toBeDefined();
    expect(parseAuditLine('not json')).toBeUndefined();
  });

  it('keeps every kind of secret out of every likely place', () => {
    const { lines, destination } = capture();
    const log = createLogger({ component: 'test', destination });
    log.info({ headers: { authorization: `Bearer ${JWT}` } }, 'request');
    log.info({ req: { headers: { Authorization: 'Bearer opaque-token-value-123456' } } }, 'request');
    log.info({ subject_token: JWT, access_token: JWT, actor_token: JWT }, 'exchange');
    log.info({ body: { token: JWT } }, 'nested');
    log.info({ note: `got token ${JWT} from idp` }, 'free text');
    log.info(`message with ${JWT} inside`);
    log.info({ privateKey: PEM }, 'key by name');
    log.info({ detail: `key material ${OPENSSH}` }, 'key by shape');
    log.info(
      {
        tacacsKey: TACACS_KEY,
        tacacs_key: TACACS_KEY,
        config: { tacacs: { key: 'x', sharedKey: TACACS_KEY } },
      },
      'tacacs',
    );
    log.info({ vaultToken: VAULT, headers: { 'X-Vault-Token': VAULT } }, 'vault');
    log.info({ text: `vault said ${VAULT}` }, 'vault by shape');
    log.error({ err: new Error(`upstream refused Bearer ${JWT}`) }, 'failure');
    log.child({ token: JWT }).info('child binding');
    log.info({ list: [JWT, { password: 'hunter2hunter2' }] }, 'array');
    const all = lines.join('\n');
    for (const secret of [...SECRETS, 'opaque-token-value-123456', 'hunter2hunter2']) {
      expect(all).not.toContain(secret);
    }
    expect(lines).toHaveLength(14);
    expect(all).toContain('[REDACTED]');
    // Non-secrets survive.
    expect(all).toContain('from idp');
    expect(all).toContain('upstream refused');
  });
});
