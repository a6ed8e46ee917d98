import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import {
  decideLocal,
  defaultPolicy,
  type Grammars,
  type LocalRules,
  loadPolicy,
  parseGrammarFile,
  parseLocalRules,
  renderGrammar,
  renderLocalRules,
} from '@netward/policy';
import { signCertificate } from '@netward/ssh-certificate';
import type { AuditSink } from '../src/audit.ts';
import { createRulesAuthorizer } from '../src/authorize.ts';
import { type ConfigInput, type ForceCommandConfig, validateConfig } from '../src/config.ts';
import type { SpawnFunction } from '../src/execute.ts';
import { runValidator } from '../src/validator.ts';

export const CA = generateKeyPairSync('ed25519');
export const USER_KEY = generateKeyPairSync('ed25519');

export const SID = 'fd9e4bdc77df2fa8';
export const REQ = 'a1b2c3d4e5f6a7b8c9d0';

export interface CertOptions {
  keyId?: string;
  principals?: string[];
  serial?: bigint;
  type?: 'user' | 'host';
  /** Seconds from now until valid_before. Default 60 (the broker's TTL). */
  validForSeconds?: number;
}

/** A certificate line as sshd would expose it (`<type> <base64>`), signed in process. */
export function certLine(o: CertOptions = {}): string {
  const now = BigInt(Math.floor(Date.now() / 1000));
  return signCertificate(
    {
      publicKey: USER_KEY.publicKey,
      type: o.type ?? 'user',
      serial: o.serial ?? 15800n,
      keyId: o.keyId ?? `sid=${SID},user=bob,req=${REQ}`,
      principals: o.principals ?? ['net-viewer', 'net-operator', 'net-admin'],
      validAfter: now - 10n,
      validBefore: now + BigInt(o.validForSeconds ?? 60),
    },
    CA.privateKey,
  ).line;
}

export function authInfo(line = certLine()): string {
  return `publickey ${line}\n`;
}

const FRR_CONFIG: ConfigInput = {
  device: 'spine-a',
  executables: {
    vtysh: { path: '/usr/bin/vtysh', args: ['--config_dir', '/etc/frr', '-N', 'spine-a'], style: 'vtysh' },
    ping: { path: '/usr/bin/ping' },
    traceroute: { path: '/usr/sbin/traceroute' },
    ip: { path: '/usr/sbin/ip' },
  },
  cli: { executable: 'vtysh', commands: ['show', 'configure', 'write', 'clear'] },
  authorization: { mode: 'local', rulesFile: '/etc/netward/local-rules.json' },
  audit: { file: '/var/log/netward/forcecommand.log' },
};

const VYOS_CONFIG: ConfigInput = {
  device: 'vyos-1',
  executables: {
    'vyatta-op-cmd-wrapper': { path: '/opt/vyatta/bin/vyatta-op-cmd-wrapper' },
    ping: { path: '/usr/bin/ping' },
  },
  cli: { executable: 'vyatta-op-cmd-wrapper', commands: ['show', 'configure', 'traceroute'] },
  authorization: { mode: 'local', rulesFile: '/etc/netward/local-rules.json' },
  audit: { file: '/var/log/netward/forcecommand.log' },
};

export const GRAMMAR_FILE = '/etc/netward/grammar.json';

/** The shipped default policy: its grammar file is in the config. */
export const CONFIGS: Record<'frr' | 'vyos', ForceCommandConfig> = {
  frr: validateConfig({ ...FRR_CONFIG, grammarFile: GRAMMAR_FILE }),
  vyos: validateConfig({ ...VYOS_CONFIG, grammarFile: GRAMMAR_FILE }),
};

/** The design's compatibility policy: rules only, no grammar file. */
export const DESIGN_CONFIGS: Record<'frr' | 'vyos', ForceCommandConfig> = {
  frr: validateConfig(FRR_CONFIG),
  vyos: validateConfig(VYOS_CONFIG),
};

export const DESIGN_POLICY_FILE = join(import.meta.dirname, '..', '..', 'policy', 'policy', 'design.yaml');

export const DEFAULT_RULES = parseLocalRules(renderLocalRules(defaultPolicy()), 'default-policy');
export const DESIGN_RULES = parseLocalRules(
  renderLocalRules(loadPolicy(DESIGN_POLICY_FILE)),
  'design-policy',
);
export const DEFAULT_GRAMMARS: Grammars = parseGrammarFile(renderGrammar(defaultPolicy()), GRAMMAR_FILE);

/** Interfaces the in-process device has (the fixtures' `<interface>` values). */
export const DEVICE_INTERFACES: ReadonlySet<string> = new Set(['lo', 'eth0', 'eth1', 'swp1']);

export interface SpawnCall {
  file: string;
  args: readonly string[];
  options: SpawnOptions;
}

/** A spawn that records what it would have run and "exits" with `code`. */
export function recordingSpawn(code = 0): { spawn: SpawnFunction; calls: SpawnCall[] } {
  const calls: SpawnCall[] = [];
  const spawn: SpawnFunction = (file, args, options) => {
    calls.push({ file, args: [...args], options });
    const child = new EventEmitter() as unknown as ChildProcess;
    Object.defineProperty(child, 'pid', { value: 999_999 });
    setImmediate(() => {
      child.emit('exit', code, null);
      // With piped output (session mode) the validator waits for 'close', which follows 'exit'.
      child.emit('close', code, null);
    });
    return child;
  };
  return { spawn, calls };
}

export interface MemoryAudit extends AuditSink {
  records: { fields: Record<string, unknown>; msg: string; level: string }[];
}

export function memoryAudit(failing = false): MemoryAudit {
  const records: MemoryAudit['records'] = [];
  return {
    records,
    record(fields, msg, level = 'info') {
      if (failing) throw new Error('disk full');
      records.push({ fields, msg, level });
    },
    async close() {},
  };
}

export interface RunOptions {
  command: string | undefined;
  role?: string;
  device?: 'frr' | 'vyos';
  env?: Record<string, string>;
  authInfoText?: string;
  auditFails?: boolean;
  config?: ForceCommandConfig;
  /** default (grammar + rendered rules, the shipped policy) or design (the seed's rules only). */
  policy?: 'default' | 'design';
}

/** The whole validator in process, with local default-policy rules and a recording spawn. */
export async function runInProcess(o: RunOptions) {
  const { spawn, calls } = recordingSpawn();
  const audit = memoryAudit(o.auditFails ?? false);
  const stderr: string[] = [];
  const env: Record<string, string> = { SSH_USER_AUTH: '/run/sshd-auth-info', ...(o.env ?? {}) };
  if (o.command !== undefined) env['SSH_ORIGINAL_COMMAND'] = o.command;
  const design = o.policy === 'design';
  const rules: LocalRules = design ? DESIGN_RULES : DEFAULT_RULES;
  const status = await runValidator({
    config: o.config ?? (design ? DESIGN_CONFIGS : CONFIGS)[o.device ?? 'frr'],
    account: o.role ?? 'net-operator',
    env,
    authorizer: async () => createRulesAuthorizer((role, command) => decideLocal(rules, role, command)),
    loadGrammars: async () => DEFAULT_GRAMMARS,
    interfaces: () => DEVICE_INTERFACES,
    audit,
    spawn,
    stderr: (t) => stderr.push(t),
    readAuthInfo: () => o.authInfoText ?? authInfo(),
    // The fixtures name VyOS paths that do not exist here; the real check is tested through sshd.
    checkExecutable: () => {},
  });
  return { status, calls, audit, stderr: stderr.join('') };
}
