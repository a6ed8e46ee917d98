import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { encodeRemAddr } from '@netward/audit-context';
import { readPrivateFile, stripNewline, withKitErrors } from '@netward/kit/files';
import type { LocalRules } from '@netward/policy/local-rules';
import type { AuthorizationResult, TacacsClient } from '@netward/tacacs-plus/client';
import { agentSocketPath, lineReader, TACACS_STATUSES } from './agent-protocol.ts';
import { checkFileSafety, type ForceCommandConfig, groupId } from './config.ts';
import { ForceCommandError } from './errors.ts';
import type { Identity } from './identity.ts';
import { type AuthzRequest, requestString } from './normalize.ts';
import { type ParsedFrom, type Preparsed, preparsed } from './preparsed.ts';

/** One answer of the policy for one request, with what the audit record says about it. */
export interface AuthzAnswer {
  readonly permitted: boolean;
  /** Set when not permitted: a policy refusal or a fail-closed refusal. */
  readonly code?: 'ERR_FC_NOT_AUTHORIZED' | 'ERR_FC_AUTHZ_UNAVAILABLE';
  /** The rule (local) or the TACACS+ answer (status, server message, reason): for the audit record only. */
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface Authorizer {
  readonly mode: 'local' | 'tacacs';
  authorize(request: AuthzRequest, identity: Identity): Promise<AuthzAnswer>;
  /** TACACS+ accounting around a permitted command (no-op unless configured). Never throws. */
  accountStart?(requests: readonly AuthzRequest[], identity: Identity, taskId: string): Promise<void>;
  accountStop?(
    requests: readonly AuthzRequest[],
    identity: Identity,
    taskId: string,
    exitStatus: number,
  ): Promise<void>;
  close(): void;
}

// ---------------------------------------------------------------------------------------------------
// Local rules (@netward/policy/local-rules: the rule parser on zod/mini, without full zod or yaml).
// Loaded lazily so that TACACS+ mode does not pay for the rule parser.
// ---------------------------------------------------------------------------------------------------

/** What a local rules decision looks like (`Decision` of @netward/policy/local-rules). */
export interface LocalDecision {
  readonly decision: 'permit' | 'deny';
  readonly ruleIndex: number | null;
  readonly rule: unknown;
}

export async function createLocalAuthorizer(rulesFile: string): Promise<Authorizer> {
  checkFileSafety(rulesFile);
  let text: string;
  try {
    text = readFileSync(rulesFile, 'utf8');
  } catch (e) {
    throw new ForceCommandError('ERR_FC_CONFIG', `${rulesFile}: cannot read`, {
      cause: e,
      detail: { file: rulesFile },
    });
  }
  const policy = await import('@netward/policy/local-rules');
  const known = PREPARSED.get(text);
  let rules: LocalRules;
  try {
    rules = known?.value ?? policy.parseLocalRules(text, rulesFile);
  } catch (e) {
    throw new ForceCommandError('ERR_FC_CONFIG', `${rulesFile}: invalid local rules`, {
      cause: e,
      detail: { file: rulesFile },
    });
  }
  if (known === undefined) PREPARSED.parsed(text, rules);
  return createRulesAuthorizer(
    (role, command) => policy.decideLocal(rules, role, command),
    policy.commandString,
    known?.from ?? 'file',
  );
}

/** Local rules parsed into the start-up snapshot or kept by a resident validator (9-25 ms per parse
 *  measured at load ~30). */
const PREPARSED: Preparsed<LocalRules> = preparsed();

/** For the snapshot builder: parses `rulesFile` now and decides once per role, so both are in the heap. */
export async function preparseLocalRules(rulesFile: string): Promise<void> {
  const text = readFileSync(rulesFile, 'utf8');
  const policy = await import('@netward/policy/local-rules');
  const rules = policy.parseLocalRules(text, rulesFile);
  for (const role of Object.keys(rules.roles)) policy.decideLocal(rules, role, 'show version');
  PREPARSED.set(text, rules);
}

/** The local authorizer over any decision function (tests use it with rules built in memory). */
export function createRulesAuthorizer(
  decide: (role: string, command: string) => LocalDecision,
  join: (cmd: string, args: readonly string[]) => string = (cmd, args) => requestString({ cmd, args }),
  /** Where the rules were parsed: from the file for this command, in the snapshot, or kept from an
   *  earlier request of a resident validator. */
  parsed?: ParsedFrom,
): Authorizer {
  return {
    mode: 'local',
    async authorize(request, identity) {
      const command = join(request.cmd, request.args);
      const d = decide(identity.role, command);
      const detail = {
        mode: 'local',
        command,
        rule_index: d.ruleIndex,
        rule: d.rule,
        ...(parsed === undefined ? {} : { rules_parsed: parsed }),
      };
      return d.decision === 'permit'
        ? { permitted: true, detail }
        : { permitted: false, code: 'ERR_FC_NOT_AUTHORIZED', detail };
    },
    close() {},
  };
}

// ---------------------------------------------------------------------------------------------------
// TACACS+ (@netward/tacacs-plus), loaded only in tacacs mode.
// ---------------------------------------------------------------------------------------------------

type TacacsAuthorResult = Pick<
  AuthorizationResult,
  'permitted' | 'status' | 'args' | 'serverMsg' | 'reason' | 'errorCode'
>;

type TacacsSettings = Extract<ForceCommandConfig['authorization'], { mode: 'tacacs' }>;

/**
 * Reads an answer the fail-closed way: only PASS_ADD, or PASS_REPL that does not replace the command
 * (RFC 8907 section 6.2: PASS_REPL replaces the request's arguments; a replaced command is not the one
 * the client asked for, so it is not run) is a permit; FAIL is a policy deny; everything else (ERROR,
 * FOLLOW, no reply, wrong key, garbage) is "unavailable".
 */
export function readTacacsAnswer(request: AuthzRequest, r: TacacsAuthorResult): AuthzAnswer {
  const detail: Record<string, unknown> = { mode: 'tacacs', status: r.status };
  if (r.serverMsg) detail['server_msg'] = r.serverMsg.slice(0, 256);
  if (r.reason) detail['reason'] = r.reason;
  if (r.errorCode) detail['error_code'] = r.errorCode;
  if (r.permitted && r.status === 'PASS_REPL') {
    const wanted = new Set([`cmd=${request.cmd}`, ...request.args.map((a) => `cmd-arg=${a}`)]);
    const replaced = (r.args ?? []).some(
      (a) => (a.startsWith('cmd=') || a.startsWith('cmd-arg=')) && !wanted.has(a),
    );
    if (replaced)
      return { permitted: false, code: 'ERR_FC_NOT_AUTHORIZED', detail: { ...detail, replaced: true } };
  }
  if (r.permitted && (r.status === 'PASS_ADD' || r.status === 'PASS_REPL'))
    return { permitted: true, detail };
  if (r.status === 'FAIL') return { permitted: false, code: 'ERR_FC_NOT_AUTHORIZED', detail };
  return { permitted: false, code: 'ERR_FC_AUTHZ_UNAVAILABLE', detail };
}

function remAddrOf(identity: Identity): string {
  return encodeRemAddr({
    user: identity.user,
    certSerial: identity.certSerial,
    sid: identity.sid,
    requestId: identity.requestId,
  });
}

/**
 * Reads the TACACS+ shared key. Not tacacs-plus's readKeyFile: that one insists on mode 0600, right for
 * a server running as one user, but the validator runs as three accounts, which read the key through
 * their common group (root:netward 0640). The checks are made on the opened descriptor (the file checked
 * is the file read): root-owned, regular, not group-writable, nothing for others, group read only for
 * the accounts' group. One trailing newline is stripped. Errors name the file, never the key.
 */
export function readSharedKey(file: string, gid: number | undefined): Buffer {
  const key = withKitErrors(
    // Group read by root's group or the accounts' group only: root:netward 0640 (see above).
    () => stripNewline(readPrivateFile(file, { what: 'TACACS+ key', owner: 0, groupReadable: gid ?? 0 })),
    (e) => new ForceCommandError('ERR_FC_CONFIG', e.message, { cause: e }),
  );
  if (key.length === 0) throw new ForceCommandError('ERR_FC_CONFIG', `${file}: empty TACACS+ key`);
  return key;
}

/** One accounting record per request, `start` before the command runs and `stop` after it. */
type AccountRecord = (
  type: 'start' | 'stop',
  requests: readonly AuthzRequest[],
  identity: Identity,
  taskId: string,
  exitStatus?: number,
) => Promise<void>;

/** The Authorizer's two accounting hooks over one record function. */
function accountingHooks(account: AccountRecord): Pick<Authorizer, 'accountStart' | 'accountStop'> {
  return {
    accountStart: (requests, identity, taskId) => account('start', requests, identity, taskId),
    accountStop: (requests, identity, taskId, exitStatus) =>
      account('stop', requests, identity, taskId, exitStatus),
  };
}

export async function createTacacsAuthorizer(
  settings: TacacsSettings,
  accountGroup: string,
): Promise<Authorizer> {
  const key = readSharedKey(settings.keyFile, groupId(accountGroup));
  const { TacacsClient: Client } = await import('@netward/tacacs-plus/client');
  const client: TacacsClient = new Client({
    servers: settings.servers.map((s) => ({ host: s.host, port: s.port, key })),
    timeoutMs: settings.timeoutMs,
    deadlineMs: settings.deadlineMs,
  });
  const account: AccountRecord = async (type, requests, identity, taskId, exitStatus) => {
    if (!settings.accounting) return;
    // RFC 8907 section 8.3 attributes; it has none for an exit status, so a failure goes in err_msg.
    const now = Math.floor(Date.now() / 1000);
    const extraArgs = [
      type === 'start' ? `start_time=${now}` : `stop_time=${now}`,
      ...(exitStatus ? [`err_msg=exit status ${exitStatus}`] : []),
    ];
    for (const r of requests) {
      try {
        await client.account({
          type,
          user: identity.role,
          port: 'ssh',
          remAddr: remAddrOf(identity),
          taskId,
          cmd: r.cmd,
          args: r.args,
          extraArgs,
        });
      } catch {
        // Accounting is a record, not a gate: the client is documented never to throw, but a record
        // lost here must not turn a permitted command into a crash.
      }
    }
  };
  return {
    mode: 'tacacs',
    async authorize(request, identity) {
      let r: TacacsAuthorResult;
      try {
        r = await client.authorize({
          user: identity.role,
          port: 'ssh',
          remAddr: remAddrOf(identity),
          cmd: request.cmd,
          args: request.args,
        });
      } catch (e) {
        return {
          permitted: false,
          code: 'ERR_FC_AUTHZ_UNAVAILABLE',
          detail: { mode: 'tacacs', status: 'EXCEPTION', reason: (e as Error)?.message ?? 'error' },
        };
      }
      return readTacacsAnswer(request, r);
    },
    ...accountingHooks(account),
    close: () => client.close(),
  };
}

// ---------------------------------------------------------------------------------------------------
// TACACS+ through the device's authorization agent (agent.ts): the validator holds no key.
// ---------------------------------------------------------------------------------------------------

function unavailable(reason: string): AuthzAnswer {
  return {
    permitted: false,
    code: 'ERR_FC_AUTHZ_UNAVAILABLE',
    detail: { mode: 'tacacs', via: 'agent', status: 'AGENT_UNAVAILABLE', reason },
  };
}

/** Reads the agent's answer to an authorize request: anything but a well-formed TACACS+ result denies. */
export function readAgentAnswer(request: AuthzRequest, reply: unknown): AuthzAnswer {
  if (typeof reply !== 'object' || reply === null || Array.isArray(reply)) return unavailable('garbage');
  const r = reply as Record<string, unknown>;
  if (typeof r['error'] === 'string') return unavailable(`agent refused the request: ${r['error']}`);
  const status = r['status'];
  const args = r['args'] ?? [];
  if (
    typeof status !== 'string' ||
    !TACACS_STATUSES.includes(status) ||
    typeof r['permitted'] !== 'boolean' ||
    !Array.isArray(args) ||
    !args.every((a) => typeof a === 'string')
  ) {
    return unavailable('garbage');
  }
  const text = (k: string) => (typeof r[k] === 'string' ? (r[k] as string) : undefined);
  const answer = readTacacsAnswer(request, {
    permitted: r['permitted'],
    status: status as TacacsAuthorResult['status'],
    args: args as string[],
    serverMsg: text('server_msg') ?? '',
    ...(text('reason') === undefined ? {} : { reason: text('reason') as string }),
    ...(text('error_code') === undefined ? {} : { errorCode: text('error_code') as never }),
  });
  return { ...answer, detail: { ...answer.detail, via: 'agent' } };
}

export interface AgentSettings {
  readonly socketDir: string;
  /** Whole-call deadline per request; past it the answer is a deny. */
  readonly deadlineMs: number;
  readonly accounting: boolean;
}

/**
 * One connection to the agent, opened on first use and again after a failure, with one JSON line per
 * question and each answer awaited within `deadlineMs`. A failure answers every question in flight with
 * `{ error }`, which the caller reads as a deny.
 */
function agentAsker(path: string, deadlineMs: number) {
  let socket: Socket | undefined;
  let closed = false;
  let nextId = 1;
  const waiting = new Map<number, (reply: unknown) => void>();
  // A failure answers every request in flight with an error (a deny); the next request, if any (the
  // accounting stop after a long command the agent's idle timer cut off), opens a new connection.
  const failAll = (s: Socket, reason: string) => {
    if (socket !== s) return;
    socket = undefined;
    s.destroy();
    for (const [, resolve] of waiting) resolve({ error: reason });
    waiting.clear();
  };
  const onLine = (s: Socket) => (line: string) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return failAll(s, 'garbage');
    }
    const id = (value as { id?: unknown } | null)?.id;
    const resolve = typeof id === 'number' ? waiting.get(id) : undefined;
    if (resolve === undefined) return failAll(s, 'garbage');
    waiting.delete(id as number);
    resolve(value);
  };
  const open = (): Socket => {
    if (socket !== undefined) return socket;
    const s = connect(path);
    socket = s;
    s.on('error', (e: NodeJS.ErrnoException) => failAll(s, `agent unreachable (${e.code ?? e.message})`));
    s.on('close', () => failAll(s, 'agent closed the connection'));
    s.on(
      'data',
      lineReader(onLine(s), () => failAll(s, 'garbage')),
    );
    return s;
  };
  const ask = (message: Record<string, unknown>): Promise<unknown> => {
    if (closed) return Promise.resolve({ error: 'closed' });
    const id = nextId++;
    return new Promise((resolve) => {
      const s = open();
      const timer = setTimeout(() => {
        resolve({ error: `no answer within ${deadlineMs} ms` });
        failAll(s, 'timeout');
      }, deadlineMs);
      waiting.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      s.write(`${JSON.stringify({ id, ...message })}\n`);
    });
  };
  const close = () => {
    closed = true;
    socket?.destroy();
  };
  return { ask, close };
}

/**
 * The validator's side of the agent: one connection per command, one line per request, each answer
 * awaited within `deadlineMs`. Down (no socket, refused), slow, closed early or garbage: a deny with
 * ERR_FC_AUTHZ_UNAVAILABLE, like an unreachable TACACS+ server.
 */
export function createAgentAuthorizer(settings: AgentSettings, account: string): Authorizer {
  const { ask, close } = agentAsker(agentSocketPath(settings.socketDir, account), settings.deadlineMs);
  const caller = (identity: Identity) => ({
    user: identity.user,
    sid: identity.sid,
    cert_serial: identity.certSerial,
    request_id: identity.requestId,
  });
  const account_: AccountRecord = async (type, requests, identity, taskId, exitStatus) => {
    if (!settings.accounting) return;
    for (const r of requests) {
      await ask({
        op: 'account',
        type,
        task_id: taskId,
        ...(exitStatus === undefined ? {} : { exit_status: exitStatus }),
        ...caller(identity),
        cmd: r.cmd,
        args: r.args,
      });
    }
  };
  return {
    mode: 'tacacs',
    async authorize(request, identity) {
      const reply = await ask({ op: 'authorize', ...caller(identity), cmd: request.cmd, args: request.args });
      const error = (reply as { error?: unknown } | null)?.error;
      if (typeof error === 'string') return unavailable(error);
      return readAgentAnswer(request, reply);
    },
    ...accountingHooks(account_),
    close,
  };
}

export async function createAuthorizer(config: ForceCommandConfig, account?: string): Promise<Authorizer> {
  const a = config.authorization;
  if (a.mode === 'local') return createLocalAuthorizer(a.rulesFile);
  if (a.agent !== undefined) {
    if (account === undefined) throw new ForceCommandError('ERR_FC_CONFIG', 'agent mode needs the account');
    return createAgentAuthorizer(
      { socketDir: a.agent.socketDir, deadlineMs: a.deadlineMs, accounting: a.accounting },
      account,
    );
  }
  return createTacacsAuthorizer(a, config.accountGroup);
}
