/**
 * One tool call, end to end, as a pipeline of the named steps in steps.ts:
 *
 *   request id → audit context from the token (user, sid, role) → authorize scope → resolve device →
 *   command from validated arguments → exchange token at the IdP (RFC 8693; the caller's token is never
 *   forwarded) → ephemeral Ed25519 key and certificate from the broker → run over SSH (host key checked,
 *   MCP_* env) → outcome → audit line → key dropped.
 *
 * Every failure becomes a tool error with a stable code and a fixed public message; the cause goes to
 * the audit log only. There is no fallback anywhere: no cached credential, no other key, no retry.
 */
import {
  contextFields,
  createAuditContext,
  isValidField,
  type Logger,
  newRequestId,
  withFields,
} from '@netward/audit-context';
import { type BrokerClient, BrokerClientError } from '@netward/ca-broker/client';
import { deviceAllowed, type Policy } from '@netward/policy';
import type { Identity } from '../auth/token.ts';
import type { Limits } from '../config.ts';
import { McpServerError, type McpServerErrorCode } from '../errors.ts';
import type { TokenExchanger } from '../exchange.ts';
import type { SessionPool } from '../session-pool.ts';
import type { ExecResult } from '../ssh/connection.ts';
import { round } from '../ssh/executor.ts';
import { type Args, deviceCommands } from '../tools/commands.ts';
import type { InventoryDevice } from './inventory.ts';
import { errorResult, REQUEST_ID_META, type ToolResult, textResult } from './result.ts';
import {
  authorizeScope,
  exchangeToken,
  getCertificate,
  outcomeOf,
  resolveDevice,
  runOverSsh,
  type ToolCall,
  UNSAFE_TOOL,
} from './steps.ts';

export interface ToolRunnerDeps {
  readonly policy: Policy;
  readonly inventory: ReadonlyMap<string, InventoryDevice>;
  readonly limits: Limits;
  readonly exchange: TokenExchanger;
  readonly broker: BrokerClient;
  readonly logger: Logger;
  /** Set in session mode. */
  readonly sessionPool?: SessionPool;
  readonly unsafeRawCommandTool: boolean;
}

/** What the request carried besides the arguments. */
export interface CallMeta {
  /** W3C Trace Context `traceparent` from the request's `_meta` (MCP 2026-07-28), when well-formed. */
  readonly traceparent?: string;
}

export interface ToolRunner {
  run(identity: Identity, tool: string, args: Args, meta?: CallMeta): Promise<ToolResult>;
  close(): void;
}

const BROKER_CODES: Record<string, McpServerErrorCode> = {
  ERR_BROKER_UNAVAILABLE: 'ERR_MCP_BROKER_UNAVAILABLE',
  ERR_BROKER_TIMEOUT: 'ERR_MCP_BROKER_TIMEOUT',
  ERR_BROKER_REFUSED: 'ERR_MCP_BROKER_REFUSED',
  ERR_BROKER_BAD_RESPONSE: 'ERR_MCP_BROKER_BAD_RESPONSE',
};

function asMcpError(e: unknown): McpServerError {
  if (e instanceof McpServerError) return e;
  if (e instanceof BrokerClientError) {
    return new McpServerError(BROKER_CODES[e.code] ?? 'ERR_MCP_BROKER_BAD_RESPONSE', e.message, { cause: e });
  }
  return new McpServerError('ERR_MCP_INTERNAL', 'unexpected failure', { cause: e });
}

/** The call's state and audit context, with the device named when the inventory has it. */
function startCall(
  identity: Identity,
  tool: string,
  args: Args,
  device: InventoryDevice | undefined,
): ToolCall {
  const requestId = newRequestId();
  const ctx = createAuditContext({
    user: identity.user,
    sid: identity.sid,
    role: identity.role.name,
    requestId,
    ...(isValidField('tool', tool) ? { tool } : {}),
    ...(isValidField('actor', identity.clientId) ? { actor: identity.clientId } : {}),
  });
  return {
    identity,
    tool,
    args,
    requestId,
    ctx: device ? withFields(ctx, { device: device.name }) : ctx,
    timings: {},
  };
}

function lookupDevice(
  inventory: ReadonlyMap<string, InventoryDevice>,
  args: Args,
): InventoryDevice | undefined {
  const name = args['device'];
  return typeof name === 'string' && isValidField('device', name) ? inventory.get(name) : undefined;
}

export function createToolRunner(deps: ToolRunnerDeps): ToolRunner {
  const { inventory, limits, logger } = deps;
  const toolScopes = new Map(deps.policy.tools.map((t) => [t.name, t.scope]));

  const listDevices = (identity: Identity): ToolResult => {
    const devices = [...inventory.values()]
      .filter((d) => deviceAllowed(identity.role, d))
      .map((d) => ({ name: d.name, vendor: d.vendor, site: d.site ?? null, tenant: d.tenant ?? null }));
    return textResult(JSON.stringify({ devices }, null, 2));
  };

  /** Steps 1 to 6; what they answer, and the failure and the device's exit when there is one. */
  const runSteps = async (call: ToolCall, found: InventoryDevice | undefined) => {
    authorizeScope(call, toolScopes, deps.unsafeRawCommandTool);
    if (call.tool === 'list_devices') return { result: listDevices(call.identity) };
    const device = resolveDevice(call, found);
    const command = deviceCommands[call.tool as keyof typeof deviceCommands](call.args);
    const credential = async () =>
      getCertificate(call, device, await exchangeToken(call, deps.exchange), deps.broker);
    const exec = await runOverSsh(call, device, command, credential, deps);
    return { ...outcomeOf(call, device, exec, limits.maxOutputBytes), exec };
  };

  const logStart = (call: ToolCall, meta: CallMeta) => {
    const unsafe = call.tool === UNSAFE_TOOL;
    logger.info(
      {
        event: 'tool_call_start',
        ...contextFields(call.ctx),
        actor: call.ctx.actor,
        arguments: call.args,
        // The agent's trace, so its spans can be joined to this call's request_id.
        ...(meta.traceparent ? { traceparent: meta.traceparent } : {}),
        ...(unsafe ? { unsafe_tool: true } : {}),
      },
      unsafe ? 'tool call start (UNSAFE raw command tool)' : 'tool call start',
    );
  };

  const logEnd = (call: ToolCall, started: number, failure?: McpServerError, exec?: ExecResult) => {
    logger.info(
      {
        event: 'tool_call_end',
        ...contextFields(call.ctx),
        actor: call.ctx.actor,
        decision: failure ? 'error' : 'ok',
        outcome: failure ? failure.code : 'ok',
        ...(failure ? { code: failure.code, err: failure } : {}),
        ...(exec ? { exit_code: exec.exitCode, truncated: exec.truncated } : {}),
        ...(call.deviceRequestId ? { device_request_id: call.deviceRequestId } : {}),
        duration_ms: round(performance.now() - started),
        timings: call.timings,
      },
      'tool call end',
    );
  };

  return {
    close: () => deps.sessionPool?.closeAll(),

    async run(identity, tool, args, meta = {}) {
      const started = performance.now();
      const found = lookupDevice(inventory, args);
      const call = startCall(identity, tool, args, found);
      logStart(call, meta);
      let outcome: { result: ToolResult; failure?: McpServerError | undefined; exec?: ExecResult };
      try {
        outcome = await runSteps(call, found);
      } catch (e) {
        const failure = asMcpError(e);
        outcome = { result: errorResult(failure, call.requestId), failure };
      }
      logEnd(call, started, outcome.failure, outcome.exec);
      // The caller can quote this id to an operator: `netward-audit trace <id>` finds the whole chain.
      return { ...outcome.result, _meta: { [REQUEST_ID_META]: call.requestId } };
    },
  };
}
