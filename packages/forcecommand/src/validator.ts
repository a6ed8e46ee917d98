import { randomBytes } from 'node:crypto';
import { contextFields, formatLogPrefix } from '@netward/audit-context';
import type { Grammars } from '@netward/policy/local-rules';
import type { SessionRequest } from '@netward/session-protocol';
import type { AuditSink } from './audit.ts';
import type { Authorizer, AuthzAnswer } from './authorize.ts';
import { checkFileSafety, type ForceCommandConfig } from './config.ts';
import { hostileVariables } from './environment.ts';
import { clientMessage, FC_ERRORS, ForceCommandError, type ForceCommandErrorCode } from './errors.ts';
import { type ExecuteOutput, type ExecuteResult, execute, type SpawnFunction } from './execute.ts';
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
  /** Session mode: one framed request (command, request id, tool) instead of SSH_ORIGINAL_COMMAND. */
  readonly request?: SessionRequest;
  /**
   * Per-call mode: milliseconds spent before the validator got its deps (node's start with the snapshot
   * deserialised, `process`; reading and checking the config, `config`). Recorded under `timings`.
   */
  readonly startup?: Readonly<Record<string, number>>;
  /** Session mode: names the channel in every record, so an operator sees which requests shared one. */
  readonly channel?: string;
  /** Session mode: the command's output goes here instead of straight to the inherited stdout/stderr. */
  readonly output?: ExecuteOutput;
  /** Set by the resident validator: every record says so (`served_by`). */
  readonly servedBy?: 'resident';
  /** Resident: the client went away; the completion record says so (`client_gone`). */
  readonly clientGone?: () => boolean;
}

/** How one request ended: the exit status the client gets and, for the validator's own, the code. */
export interface Outcome {
  readonly status: number;
  readonly code?: ForceCommandErrorCode;
  readonly signal?: string;
}

/** Longest command text copied into an audit record (the input is bounded by stage 1 only if it passed). */
const MAX_LOGGED_COMMAND = 4096;

export function prefixOf(id: PartialIdentity): string {
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

export function correlation(id: PartialIdentity, device: string) {
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
    // The line went to this daemon's vty socket; argv is what vtysh would have been started with.
    ...(plan.vty === undefined ? {} : { vty: { daemon: plan.vty.daemon, socket: plan.vty.socket } }),
  };
}

/**
 * One SSH command, start to finish: identity, stages 1-3, audit, execution. Returns the exit status.
 * Every path that does not end in a permitted execution writes a deny record and one line to stderr.
 */
export async function runValidator(deps: ValidatorDeps): Promise<number> {
  return (await runRequest(deps)).status;
}

/** As runValidator, and says which of the validator's codes (if any) decided: session mode needs it. */
export async function runRequest(deps: ValidatorDeps): Promise<Outcome> {
  const run = new Request(deps);
  try {
    const denied = await run.decide();
    return denied ?? (await run.execute());
  } finally {
    run.authorizer?.close();
  }
}

/**
 * A refusal decided before the stages (the resident validator's malformed CALL frame, or too many
 * requests running): one deny record under whoever the environment proves, if anyone, and one line.
 */
export function refuseRequest(
  deps: ValidatorDeps,
  code: ForceCommandErrorCode,
  detail?: Record<string, unknown>,
): Outcome {
  return new Request(deps).refuse(code, detail);
}

/**
 * Session mode, when the channel opens: who is asking (certificate, claims, environment, account), or
 * the refusal's outcome, recorded like any denied command (`command` is the session verb).
 */
export function admitSession(deps: ValidatorDeps): Identity | Outcome {
  return new Request(deps).admit();
}

const ms = (v: number) => Math.round(v * 10) / 10;

/** The state of one request as it moves through the stages, and what its audit records say. */
class Request {
  readonly #deps: ValidatorDeps;
  readonly #config: ForceCommandConfig;
  readonly #now: () => number;
  readonly #started: number;
  readonly #rawCommand: string | undefined;
  readonly #command: string;
  #who: PartialIdentity;
  #identity: Identity | undefined;
  #plan: ExecutionPlan | undefined;
  // 'none': the grammar file gives the role no grammar, or the config names no grammar file.
  #grammar: GrammarRecord[] | 'none' | undefined;
  readonly #answers: Record<string, unknown>[] = [];
  /** Milliseconds per stage, in the decision record: where a command's time goes (issue 12). */
  readonly #timings: Record<string, number>;
  #mark: number;
  authorizer: Authorizer | undefined;

  constructor(deps: ValidatorDeps) {
    this.#deps = deps;
    this.#config = deps.config;
    this.#now = deps.now ?? (() => performance.now());
    this.#started = this.#now();
    this.#rawCommand = deps.request === undefined ? deps.env['SSH_ORIGINAL_COMMAND'] : deps.request.command;
    this.#command = this.#rawCommand === undefined ? '' : this.#rawCommand.slice(0, MAX_LOGGED_COMMAND);
    this.#who = { role: deps.account };
    this.#timings = { ...deps.startup };
    this.#mark = this.#started;
  }

  /** Closes the stage that ran since the last lap under `name`. */
  #lap(name: string): void {
    const t = this.#now();
    this.#timings[name] = ms(t - this.#mark);
    this.#mark = t;
  }

  #base(): Record<string, unknown> {
    const identity = this.#identity;
    return {
      ...correlation(this.#who, this.#config.device),
      command: this.#command,
      ...(this.#deps.channel === undefined ? {} : { channel: this.#deps.channel }),
      ...(this.#deps.servedBy === undefined ? {} : { served_by: this.#deps.servedBy }),
      ...(identity === undefined
        ? {}
        : {
            claimed: identity.claimed,
            key_id: identity.keyId,
            request_id_source: identity.requestIdSource,
            ...(identity.certRequestId === undefined ? {} : { cert_request_id: identity.certRequestId }),
          }),
      ...(this.#plan === undefined ? {} : { normalized: describePlan(this.#plan) }),
      ...(this.#grammar === undefined ? {} : { grammar: this.#grammar }),
      ...(this.#answers.length === 0
        ? {}
        : { authz: { mode: this.authorizer?.mode, answers: this.#answers } }),
      timings: this.#timings,
    };
  }

  #authzLabel(): string {
    return this.authorizer?.mode === 'tacacs' ? 'TACACS+' : 'local rules';
  }

  #elapsed(): number {
    return ms(this.#now() - this.#started);
  }

  /** Writes the deny record and the client's one line; the record failing turns it into ERR_FC_AUDIT. */
  #deny(code: ForceCommandErrorCode, error?: unknown): Outcome {
    const entry = FC_ERRORS[code];
    const authz = code === 'ERR_FC_NOT_AUTHORIZED' || code === 'ERR_FC_AUTHZ_UNAVAILABLE';
    const label = authz ? this.#authzLabel() : `${entry.stage}: ${code}`;
    const known = error instanceof ForceCommandError ? error : undefined;
    let shown: ForceCommandErrorCode = code;
    try {
      this.#deps.audit.record(
        {
          event: 'decision',
          ...this.#base(),
          decision: 'deny',
          stage: entry.stage,
          code,
          exit_status: entry.exit,
          duration_ms: this.#elapsed(),
          ...(known?.detail === undefined ? {} : { detail: known.detail }),
          ...(error !== undefined && known === undefined ? { err: error } : {}),
          ...(known?.cause === undefined ? {} : { err: known.cause }),
        },
        `${prefixOf(this.#who)} DENY (${label}): ${this.#command}`,
        'warn',
      );
    } catch {
      shown = 'ERR_FC_AUDIT';
    }
    this.#deps.stderr(clientMessage(shown));
    return { status: FC_ERRORS[shown].exit, code: shown };
  }

  /** Identity, stages 1-3: undefined when every request is permitted, else the refusal's outcome. */
  async decide(): Promise<Outcome | undefined> {
    try {
      const identity = this.#checkIdentity();
      this.#lap('identity');
      const plan = this.#checkCommand();
      this.#lap('normalize');
      await this.#checkGrammar(plan);
      this.#lap('grammar');
      // Stage 3: every request must be permitted; the first refusal decides.
      this.authorizer = await this.#deps.authorizer();
      this.#lap('authorizer');
      for (const request of plan.requests) {
        const answer: AuthzAnswer = await this.authorizer.authorize(request, identity);
        this.#answers.push({
          command: requestString(request),
          permitted: answer.permitted,
          ...answer.detail,
        });
        if (!answer.permitted) return this.#deny(answer.code ?? 'ERR_FC_NOT_AUTHORIZED');
      }
      this.#lap('authorize');
      return undefined;
    } catch (e) {
      if (e instanceof ForceCommandError) return this.#deny(e.code, e);
      return this.#deny('ERR_FC_INTERNAL', e);
    }
  }

  refuse(code: ForceCommandErrorCode, detail: Record<string, unknown> | undefined): Outcome {
    try {
      this.#checkIdentity();
    } catch {
      // The record carries as much of who as the environment proved (#who keeps the partial identity).
    }
    return this.#deny(code, new ForceCommandError(code, undefined, detail === undefined ? {} : { detail }));
  }

  admit(): Identity | Outcome {
    try {
      return this.#checkIdentity();
    } catch (e) {
      if (e instanceof ForceCommandError) return this.#deny(e.code, e);
      return this.#deny('ERR_FC_INTERNAL', e);
    }
  }

  #checkIdentity(): Identity {
    const deps = this.#deps;
    // Checked first, decided after identity: a hostile environment is refused whoever asks, but the
    // record should still say who.
    const hostile = hostileVariables(deps.env);
    const environmentError = () =>
      new ForceCommandError('ERR_FC_ENVIRONMENT', undefined, { detail: { variables: hostile } });
    try {
      const clock = deps.clock;
      this.#identity = readIdentity({
        account: deps.account,
        env: deps.env,
        device: this.#config.device,
        ...(clock === undefined ? {} : { nowSeconds: () => clock() / 1000 }),
        ...(deps.readAuthInfo === undefined ? {} : { readFile: deps.readAuthInfo }),
        ...(deps.request === undefined
          ? {}
          : { session: { requestId: deps.request.id, tool: deps.request.tool } }),
      });
      this.#who = this.#identity;
    } catch (e) {
      if (e instanceof ForceCommandError) {
        const partial = e.detail?.['partial'] as PartialIdentity | undefined;
        if (partial !== undefined) this.#who = partial;
      }
      throw hostile.length === 0 ? e : environmentError();
    }
    if (hostile.length > 0) throw environmentError();
    if (!this.#config.accounts.includes(deps.account)) {
      throw new ForceCommandError('ERR_FC_IDENTITY', undefined, {
        detail: { reason: 'account not in config.accounts' },
      });
    }
    return this.#identity;
  }

  /** Stages 1 and 2, and the allowlisted program's ownership. */
  #checkCommand(): ExecutionPlan {
    const config = this.#config;
    const checked = checkInput(this.#rawCommand, config.limits.maxCommandLength);
    this.#plan = normalize(checked, {
      executables: config.executables,
      cli: config.cli,
      wrappers: config.wrappers,
      maxCliCommands: config.limits.maxCliCommands,
    });
    (this.#deps.checkExecutable ?? checkFileSafety)(this.#plan.file);
    return this.#plan;
  }

  /** Stage 2b: the role's command grammar describes every request, or nothing is asked or run. */
  async #checkGrammar(plan: ExecutionPlan): Promise<void> {
    const file = this.#config.grammarFile;
    if (file === undefined) {
      this.#grammar = 'none';
      return;
    }
    const grammars = await (this.#deps.loadGrammars ?? loadGrammars)(file);
    this.#grammar =
      (await checkGrammar(grammars, this.#deps.account, plan.requests, this.#deps.interfaces)) ?? 'none';
  }

  /** Permitted: the record goes on disk first, then the program runs, then its completion record. */
  async execute(): Promise<Outcome> {
    const deps = this.#deps;
    const plan = this.#plan as ExecutionPlan;
    const identity = this.#identity as Identity;
    const authorizer = this.authorizer as Authorizer;
    try {
      deps.audit.record(
        {
          event: 'decision',
          ...this.#base(),
          decision: 'permit',
          stage: 'authorize',
          duration_ms: this.#elapsed(),
        },
        `${prefixOf(this.#who)} PERMIT (${this.#authzLabel()}): ${this.#command}`,
      );
    } catch {
      deps.stderr(clientMessage('ERR_FC_AUDIT'));
      return { status: FC_ERRORS.ERR_FC_AUDIT.exit, code: 'ERR_FC_AUDIT' };
    }

    const taskId = randomBytes(8).toString('hex');
    await authorizer.accountStart?.(plan.requests, identity, taskId);
    const result: ExecuteResult = await execute(plan, {
      spawn: deps.spawn,
      timeoutMs: this.#config.limits.runTimeoutMs,
      account: deps.account,
      ...(deps.home === undefined ? {} : { home: deps.home }),
      ...(deps.onStopSignal === undefined ? {} : { onStopSignal: deps.onStopSignal }),
      ...(deps.output === undefined ? {} : { output: deps.output }),
    });
    let exitStatus = result.exitStatus;
    let code: ForceCommandErrorCode | undefined;
    if (result.spawnError !== undefined) code = 'ERR_FC_EXEC';
    else if (result.timedOut) code = 'ERR_FC_TIMEOUT';
    if (code !== undefined) {
      exitStatus = FC_ERRORS[code].exit;
      deps.stderr(clientMessage(code));
    }
    await authorizer.accountStop?.(plan.requests, identity, taskId, exitStatus);
    this.#completed(exitStatus, result, code);
    return {
      status: exitStatus,
      ...(code === undefined ? {} : { code }),
      ...(result.signal === undefined ? {} : { signal: result.signal }),
    };
  }

  #completed(exitStatus: number, result: ExecuteResult, code: ForceCommandErrorCode | undefined): void {
    try {
      this.#deps.audit.record(
        {
          event: 'completed',
          ...this.#base(),
          decision: 'permit',
          stage: 'execute',
          exit_status: exitStatus,
          ...(result.signal === undefined ? {} : { signal: result.signal }),
          ...(code === undefined ? {} : { code }),
          ...(result.spawnError === undefined ? {} : { spawn_error: result.spawnError }),
          ...(this.#deps.clientGone?.() === true ? { client_gone: true } : {}),
          duration_ms: this.#elapsed(),
        },
        `${prefixOf(this.#who)} EXIT ${exitStatus}: ${this.#command}`,
      );
    } catch {
      // The command already ran with its permit on record; the missing completion record is all we lose.
    }
  }
}
