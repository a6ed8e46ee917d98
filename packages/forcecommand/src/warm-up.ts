import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { signCertificate } from '@netward/ssh-certificate';
import type { AuthorizationStatus } from '@netward/tacacs-plus/client';
import { createAuditSink } from './audit.ts';
import { createRulesAuthorizer, readTacacsAnswer } from './authorize.ts';
import { validateConfig } from './config.ts';
import { runValidator } from './validator.ts';

// Local rules for the warm-up, written out here rather than rendered from the default policy: rendering
// needs the main entry of @netward/policy, which would put full zod and yaml into the snapshot for
// nothing (the validator reads rules with @netward/policy/local-rules only). The same kinds of patterns
// as the shipped policies: an unanchored deny, anchored and `(^|/)` permits, alternation, `$`.
const WARM_UP_RULES = JSON.stringify({
  version: 1,
  roles: {
    'net-viewer': {
      rules: [
        { action: 'deny', match: 'configure' },
        { action: 'permit', match: '^show($| )' },
        { action: 'permit', match: '(^|/)ip (addr|route)($| )' },
      ],
      default: 'deny',
    },
  },
});

/** The exit status each warm-up command must end with: a permit, a policy deny, a stage-1 deny. */
const WARM_UP_COMMANDS: readonly (readonly [string, number])[] = [
  ['ip addr show lo', 0],
  ['ip link set lo down', 109],
  ['show; id', 101],
];

/**
 * Runs one permitted and two denied commands through the whole validator in memory (a certificate
 * signed here, local rules from WARM_UP_RULES, records to /dev/null, a spawn that only pretends), and
 * the TACACS+ codec over one request and reply (no socket: nothing may touch the network while a
 * snapshot is built), so that a start-up snapshot taken afterwards holds the hot functions already
 * compiled. Throws if a command does not end as expected, so a warm-up that stopped reaching the code
 * it is meant to warm fails the snapshot build instead of silently warming less.
 */
export async function warmUp(): Promise<void> {
  const { decideLocal, parseLocalRules } = await import('@netward/policy/local-rules');
  const rules = parseLocalRules(WARM_UP_RULES, 'warm-up');
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
  for (const [command, expected] of WARM_UP_COMMANDS) {
    const audit = createAuditSink({ file: '/dev/null' });
    const status = await runValidator({
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
    if (status !== expected) throw new Error(`warm-up: "${command}" ended ${status}, not ${expected}`);
  }
  await warmUpTacacs();
}

/**
 * What the TACACS+ authorizer does per command apart from the socket: the client (constructed only; it
 * connects on the first call), the request body and packet as the client builds them, the server's
 * reply framed, de-obfuscated and decoded as the client reads it, and the answer read the fail-closed
 * way.
 */
async function warmUpTacacs(): Promise<void> {
  const { TacacsClient } = await import('@netward/tacacs-plus/client');
  const wire = await import('@netward/tacacs-plus/protocol');
  const key = Buffer.from('warm-up');
  const client = new TacacsClient({ servers: [{ host: '127.0.0.1', port: 49, key }] });
  await client.close();
  const protection = { kind: 'key', key } as const;
  const session = { version: wire.VERSION_DEFAULT, type: wire.PacketType.AUTHOR, sessionId: 0x5eed };
  const request = wire.encodeAuthorRequest({
    authenMethod: wire.AuthenMethod.TACACSPLUS,
    privLvl: 1,
    authenType: wire.AuthenType.ASCII,
    authenService: wire.AuthenService.LOGIN,
    user: 'net-viewer',
    port: 'ssh',
    remAddr: 'warmup/cert:1/sid:warmup/req:warmupwarmupwarmup',
    args: ['service=shell', 'cmd=ip', 'cmd-arg=addr', 'cmd-arg=show', 'cmd-arg=lo'],
  });
  wire.encodePacket({ ...session, seqNo: 1, flags: 0 }, request, protection);
  const reply = wire.encodePacket(
    { ...session, seqNo: 2, flags: 0 },
    wire.encodeAuthorResponse({ status: wire.AuthorStatus.PASS_ADD }),
    protection,
  );
  for (const frame of new wire.PacketFramer().push(reply)) {
    const r = wire.decodeAuthorResponse(wire.openBody(frame.header, frame.raw, protection));
    const status = wire.nameOf(wire.AuthorStatus, r.status) as AuthorizationStatus;
    const answer = readTacacsAnswer(
      { cmd: 'ip', args: ['addr', 'show', 'lo'] },
      { permitted: status === 'PASS_ADD', status, args: [...r.args], serverMsg: r.serverMsg },
    );
    if (!answer.permitted) throw new Error(`warm-up: TACACS+ reply read as ${status}, not a permit`);
  }
}
