import { randomBytes } from 'node:crypto';
import { contextFields, formatLogPrefix } from '@netward/audit-context';
import type { Grammars } from '@netward/policy/local-rules';
import type { AuditSink } from './audit.ts';
import type { Authorizer, AuthzAnswer } from './authorize.ts';
import { checkFileSafety, type ForceCommandConfig } from './config.ts';
import { hostileVariables } from './environment.ts';
import { clientMessage, FC_ERROR_CODES, ForceCommandError, type ForceCommandErrorCode } from './errors.ts';
import { type ExecuteResult, execute, type SpawnFunction } from './execute.ts';
import { checkGrammar, type GrammarRecord, loadGrammars } from './grammar.ts';
import { type Identity, type PartialIdentity, readIdentity } from './identity.ts';
import { checkInput } from './input.ts';
import { type ExecutionPlan, normalize, requestString } from './normalize.ts';

export interface ValidatorDeps {
  readonly config: ForceCommandConfig;
  /** The account the process runs as (os.userInfo().username): the role. */
  readonly account: string;
  readonly home?: string;
  /** The process environment sshd set up: SSH_ORIGINAL_COMMAND, SSH_USER_AUTH, MCP_*. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Built lazily: not at all for commands refused before stage 3. */
  readonly authorizer: () => Promise<Authorizer>;
  readonly audit: AuditSink;
  readonly spawn: SpawnFunction;
  readonly stderr: (text: string) => void;
  readonly now?: () => number;
  /** Wall clock (ms since the epoch) for the certificate's validity window. Default Date.now. */
  readonly clock?: () => number;
  readonly readAuthInfo?: (path: string) => string;
  readonly onStopSignal?: (stop: () => void) => () => void;
  /**
   * Refuses an allowlisted program an account could have replaced. Default: checkFileSafety (regular
   * file, root-owned, not group/world-writable, in root-owned closed directories). Tests that use
   * paths which do not exist on this machine (VyOS) pass their own.
   */
  readonly checkExecutable?: (file: string) => void;
  /** Reads config.grammarFile. Default loadGrammars (root-owned file); tests pass grammars built in memory. */
  readonly loadGrammars?: (file: string) => Promise<Grammars>;
  /** Interfaces of this device, for `<interface>` values. Default: those of the validator's namespace. */
  readonly interfaces?: () => ReadonlySet<string>;
}

/** Longest command text copied into an audit record (the input is bounded by stage 1 only if it passed). */
const MAX_LOGGED_COMMAND = 4096;

function prefixOf(id: PartialIdentity): string {
  if (
    id.user !== undefined &&
    id.sid !== undefined &&
    id.certSerial !== undefined &&
    id.requestId !== undefined
  ) {
    return formatLogPrefix({
      role: id.role,
      user: id.user,
      sid: id.sid,
      certSerial: id.certSerial,
      requestId: id.requestId,
    });
  }
  const d = (v: string | undefined) => v ?? '-';
  return `[${id.role}/${d(id.user)}/cert:${d(id.certSerial)}/sid:${d(id.sid)}/req:${d(id.requestId)}]`;
}

function correlation(id: PartialIdentity, device: string) {
  return contextFields({
    role: id.role,
    device,
    ...(id.user === undefined ? {} : { user: id.user }),
    ...(id.sid === undefined ? {} : { sid: id.sid }),
    ...(id.certSerial === undefined ? {} : { certSerial: id.certSerial }),
    ...(id.requestId === undefined ? {} : { requestId: id.requestId }),
    ...(id.tool === undefined ? {} : { tool: id.tool }),
  });
}

function describePlan(plan: ExecutionPlan) {
  return {
    executable: plan.executable,
    argv: [plan.file, ...plan.args],
    requests: plan.requests.map(requestString),
    ...(plan.wrapper === undefined ? {} : { wrapper: plan.wrapper }),
    routed_to_cli: plan.routedToCli,
  };
}

/**
 * One SSH command, start to finish: identity, stages 1-3, audit, execution. Returns the exit status.
 * Every path that does not end in a permitted execution writes a deny record and one line to stderr.
 */
export async function runValidator(deps: ValidatorDeps): Promise<number> {
  const state: { authorizer?: Authorizer } = {};
  try {
    return await validate(deps, state);
  } finally {
    state.authorizer?.close();
  }
}

async function validate(deps: ValidatorDeps, state: { authorizer?: Authorizer }): Promise<number> {
  const now = deps.now ?? (() => performance.now());
  const started = now();
  const { config } = deps;
  const rawCommand = deps.env['SSH_ORIGINAL_COMMAND'];
  const command = rawCommand === undefined ? '' : rawCommand.slice(0, MAX_LOGGED_COMMAND);
  let who: PartialIdentity = { role: deps.account };
  let identity: Identity | undefined;
  let plan: ExecutionPlan | undefined;
  // 'none': the grammar file gives the role no grammar, or the config names no grammar file.
  let grammar: GrammarRecord[] | 'none' | undefined;
  const answers: Record<string, unknown>[] = [];
  let authorizer: Authorizer | undefined;

  const base = () => ({
    ...correlation(who, config.device),
    command,
    ...(identity === undefined
      ? {}
      : {
          claimed: identity.claimed,
          key_id: identity.keyId,
          request_id_source: identity.requestIdSource,
        }),
    ...(plan === undefined ? {} : { normalized: describePlan(plan) }),
    ...(grammar === undefined ? {} : { grammar }),
    ...(answers.length === 0 ? {} : { authz: { mode: authorizer?.mode, answers } }),
  });

  const deny = async (code: ForceCommandErrorCode, error?: unknown): Promise<number> => {
    const entry = FC_ERROR_CODES[code];
    const label =
      code === 'ERR_FC_NOT_AUTHORIZED' || code === 'ERR_FC_AUTHZ_UNAVAILABLE' ? authzLabel() : entry.stage;
    let status: number = entry.exit;
    let shown: ForceCommandErrorCode = code;
    try {
      deps.audit.record(
        {
          event: 'decision',
          ...base(),
          decision: 'deny',
          stage: entry.stage,
          code,
          exit_status: entry.exit,
          duration_ms: Math.round((now() - started) * 10) / 10,
          ...(error instanceof ForceCommandError && error.detail !== undefined
            ? { detail: error.detail }
            : {}),
          ...(error !== undefined && !(error instanceof ForceCommandError) ? { err: error } : {}),
          ...(error instanceof ForceCommandError && error.cause !== undefined ? { err: error.cause } : {}),
        },
        `${prefixOf(who)} DENY (${label}${label === entry.stage ? `: ${code}` : ''}): ${command}`,
        'warn',
      );
    } catch {
      shown = 'ERR_FC_AUDIT';
      status = FC_ERROR_CODES.ERR_FC_AUDIT.exit;
    }
    deps.stderr(clientMessage(shown));
    return status;
  };

  const authzLabel = () => (authorizer?.mode === 'tacacs' ? 'TACACS+' : 'local rules');

  try {
    // Checked first, decided after identity: a hostile environment is refused whoever asks, but the
    // record should still say who.
    const hostile = hostileVariables(deps.env);
    const environmentError = () =>
      new ForceCommandError('ERR_FC_ENVIRONMENT', undefined, { detail: { variables: hostile } });
    try {
      identity = readIdentity({
        account: deps.account,
        env: deps.env,
        device: config.device,
        ...(deps.clock === undefined ? {} : { nowSeconds: () => (deps.clock as () => number)() / 1000 }),
        ...(deps.readAuthInfo === undefined ? {} : { readFile: deps.readAuthInfo }),
      });
      who = identity;
    } catch (e) {
      if (e instanceof ForceCommandError) {
        const partial = e.detail?.['partial'] as PartialIdentity | undefined;
        if (partial !== undefined) who = partial;
      }
      throw hostile.length === 0 ? e : environmentError();
    }
    if (hostile.length > 0) throw environmentError();
    if (!config.accounts.includes(deps.account)) {
      throw new ForceCommandError('ERR_FC_IDENTITY', undefined, {
        detail: { reason: 'account not in config.accounts' },
      });
    }
    const checked = checkInput(rawCommand, config.limits.maxCommandLength);
    plan = normalize(checked, {
      executables: config.executables,
      cli: config.cli,
      wrappers: config.wrappers,
      maxCliCommands: config.limits.maxCliCommands,
    });

    (deps.checkExecutable ?? checkFileSafety)(plan.file);

    // Stage 2b: the role's command grammar describes every request, or nothing is asked or run.
    if (config.grammarFile === undefined) {
      grammar = 'none';
    } else {
      const grammars = await (deps.loadGrammars ?? loadGrammars)(config.grammarFile);
      grammar = (await checkGrammar(grammars, deps.account, plan.requests, deps.interfaces)) ?? 'none';
    }

    // Stage 3: every request must be permitted; the first refusal decides.
    authorizer = await deps.authorizer();
    state.authorizer = authorizer;
    for (const request of plan.requests) {
      const answer: AuthzAnswer = await authorizer.authorize(request, identity);
      answers.push({ command: requestString(request), permitted: answer.permitted, ...answer.detail });
      if (!answer.permitted) return await deny(answer.code ?? 'ERR_FC_NOT_AUTHORIZED');
    }
  } catch (e) {
    if (e instanceof ForceCommandError) return await deny(e.code, e);
    return await deny('ERR_FC_INTERNAL', e);
  }

  // Permitted: the record must be on disk before anything runs.
  try {
    deps.audit.record(
      {
        event: 'decision',
        ...base(),
        decision: 'permit',
        stage: 'authorize',
        duration_ms: Math.round((now() - started) * 10) / 10,
      },
      `${prefixOf(who)} PERMIT (${authzLabel()}): ${command}`,
    );
  } catch {
    deps.stderr(clientMessage('ERR_FC_AUDIT'));
    return FC_ERROR_CODES.ERR_FC_AUDIT.exit;
  }

  const taskId = randomBytes(8).toString('hex');
  await authorizer.accountStart?.(plan.requests, identity, taskId);
  const result: ExecuteResult = await execute(plan, {
    spawn: deps.spawn,
    timeoutMs: config.limits.runTimeoutMs,
    account: deps.account,
    ...(deps.home === undefined ? {} : { home: deps.home }),
    ...(deps.onStopSignal === undefined ? {} : { onStopSignal: deps.onStopSignal }),
  });
  let exitStatus = result.exitStatus;
  let code: ForceCommandErrorCode | undefined;
  if (result.spawnError !== undefined) code = 'ERR_FC_EXEC';
  else if (result.timedOut) code = 'ERR_FC_TIMEOUT';
  if (code !== undefined) {
    exitStatus = FC_ERROR_CODES[code].exit;
    deps.stderr(clientMessage(code));
  }
  await authorizer.accountStop?.(plan.requests, identity, taskId, exitStatus);
  try {
    deps.audit.record(
      {
        event: 'completed',
        ...base(),
        decision: 'permit',
        stage: 'execute',
        exit_status: exitStatus,
        ...(result.signal === undefined ? {} : { signal: result.signal }),
        ...(code === undefined ? {} : { code }),
        ...(result.spawnError === undefined ? {} : { spawn_error: result.spawnError }),
        duration_ms: Math.round((now() - started) * 10) / 10,
      },
      `${prefixOf(who)} EXIT ${exitStatus}: ${command}`,
    );
  } catch {
    // The command already ran with its permit on record; the missing completion record is all we lose.
  }
  return exitStatus;
}
