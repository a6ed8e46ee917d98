import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { signCertificate } from '@netward/ca-broker/certificate';
import { createAuditSink } from './audit.ts';
import { createRulesAuthorizer } from './authorize.ts';
import { validateConfig } from './config.ts';
import { runValidator } from './validator.ts';

/**
 * Runs one permitted and one denied command through the whole validator in memory (a certificate
 * signed here, the default policy's local rules, records to /dev/null, a spawn that only pretends), so
 * that a start-up snapshot taken afterwards holds every hot function already compiled.
 */
export async function warmUp(): Promise<void> {
  const { decideLocal, defaultPolicy, parseLocalRules, renderLocalRules } = await import('@netward/policy');
  const rules = parseLocalRules(renderLocalRules(defaultPolicy()), 'warm-up');
  const config = validateConfig({
    device: 'warm-up',
    executables: { ip: { path: '/usr/sbin/ip' } },
    authorization: { mode: 'local', rulesFile: '/dev/null' },
    audit: { file: '/dev/null' },
  });
  const ca = generateKeyPairSync('ed25519');
  const user = generateKeyPairSync('ed25519');
  const now = BigInt(Math.floor(Date.now() / 1000));
  const line = signCertificate(
    {
      publicKey: user.publicKey,
      type: 'user',
      serial: 1n,
      keyId: 'sid=warmup,user=warmup,req=warmupwarmupwarmup',
      principals: ['net-viewer'],
      validAfter: now,
      validBefore: now + 60n,
    },
    ca.privateKey,
  ).line;
  for (const command of ['ip addr show lo', 'ip link set lo down', 'show; id']) {
    const audit = createAuditSink({ file: '/dev/null' });
    await runValidator({
      config,
      account: 'net-viewer',
      env: { SSH_ORIGINAL_COMMAND: command, SSH_USER_AUTH: '/warm-up', MCP_USER: 'warmup' },
      authorizer: async () => createRulesAuthorizer((role, c) => decideLocal(rules, role, c)),
      audit,
      spawn: () => {
        const child = new EventEmitter() as ChildProcess;
        setImmediate(() => child.emit('exit', 0, null));
        return child;
      },
      stderr: () => {},
      readAuthInfo: () => `publickey ${line}\n`,
      checkExecutable: () => {},
    });
    await audit.close();
  }
}
