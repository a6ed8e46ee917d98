/**
 * The steps of one tool call, in the order the runner takes them:
 *
 *   authorize scope → resolve device → (exchange token → get certificate) → run over SSH → outcome
 *
 * each a function of the call's state and what it needs, so each can be tested alone. The exchange and
 * the certificate are handed to the SSH step as one `Credential` source rather than run before it: in
 * session mode a pooled connection needs neither. Every refusal is an McpServerError with a stable
 * code; the runner turns it into the tool result and the audit line.
 */
import { type AuditContext, encodeSshEnv, withFields } from '@netward/audit-context';
import type { BrokerClient } from '@netward/ca-broker/client';
import { deviceAllowed } from '@netward/policy';
import type { Identity } from '../auth/token.ts';
import type { Limits } from '../config.ts';
import { McpServerError } from '../errors.ts';
import type { TokenExchanger } from '../exchange.ts';
import { SessionPool } from '../session-pool.ts';
import type { ExecResult } from '../ssh/connection.ts';
import { connectTarget, round, runDeviceCommand } from '../ssh/executor.ts';
import { type EphemeralKey, generateEphemeralKey } from '../ssh/keys.ts';
import { type Args, isDeviceTool } from '../tools/commands.ts';
import type { InventoryDevice } from './inventory.ts';
import { deviceText, errorResult, type ToolResult, textResult } from './result.ts';

/** One call's state as it moves through the steps. */
export interface ToolCall {
  readonly identity: Identity;
  readonly tool: string;
  readonly args: Args;
  readonly requestId: string;
  /** The audit context; the device and the certificate serial are added as they become known. */
  ctx: AuditContext;
  /** Milliseconds per step, for the tool_call_end line. */
  readonly timings: Record<string, number>;
  /** Session mode: the request id the device sees (the certificate's), when it is not this call's. */
  deviceRequestId?: string;
}

export const UNSAFE_TOOL = 'run_raw_command_on_device';

/** Step 1. The tool exists here and the token's scopes cover it. tools/list already hid it and the
 *  HTTP layer answered 403; checked again here on purpose. */
export function authorizeScope(
  call: ToolCall,
  toolScopes: ReadonlyMap<string, string>,
  unsafeRawCommandTool: boolean,
): void {
  const scope = toolScopes.get(call.tool);
  if (scope === undefined || (call.tool === UNSAFE_TOOL && !unsafeRawCommandTool)) {
    throw new McpServerError('ERR_MCP_UNKNOWN_TOOL', `no tool ${call.tool}`);
  }
  if (!call.identity.scopes.includes(scope)) {
    throw new McpServerError('ERR_MCP_INSUFFICIENT_SCOPE', `tool ${call.tool} needs ${scope}`);
  }
}

/** Step 2. A device tool, on a device of the inventory within the role's reach. A device outside the
 *  role's reach is reported exactly like one that does not exist. */
export function resolveDevice(call: ToolCall, device: InventoryDevice | undefined): InventoryDevice {
  if (!isDeviceTool(call.tool)) {
    throw new McpServerError('ERR_MCP_UNKNOWN_TOOL', `no device command for ${call.tool}`);
  }
  if (device === undefined || !deviceAllowed(call.identity.role, device)) {
    throw new McpServerError('ERR_MCP_UNKNOWN_DEVICE', 'device not in inventory or not allowed for the role');
  }
  return device;
}

/** Step 3. RFC 8693 at the IdP: the caller's token is the subject token and is never forwarded. */
export async function exchangeToken(call: ToolCall, exchange: TokenExchanger): Promise<string> {
  const t = performance.now();
  const exchanged = await exchange(call.identity.token);
  call.timings['exchange'] = round(performance.now() - t);
  return exchanged.accessToken;
}

export interface Credential {
  readonly key: EphemeralKey;
  readonly certificate: string;
  readonly serial: string;
  readonly validBefore: Date;
}

/** Step 4. A fresh key and the broker's certificate for it, for the caller's role on this device. */
export async function getCertificate(
  call: ToolCall,
  device: InventoryDevice,
  accessToken: string,
  broker: BrokerClient,
): Promise<Credential> {
  let t = performance.now();
  const key = generateEphemeralKey();
  call.timings['key'] = round(performance.now() - t);
  t = performance.now();
  const role = call.identity.role.name;
  const cert = await broker.sign({
    token: accessToken,
    publicKey: key.publicKeyLine,
    requestId: call.requestId,
    role,
    // The broker may bind the certificate to this device (principal <role>@<device>).
    device: device.name,
  });
  call.timings['sign'] = round(performance.now() - t);
  if (cert.principal !== role && cert.principal !== `${role}@${device.name}`) {
    throw new McpServerError('ERR_MCP_BROKER_BAD_RESPONSE', 'certificate principal is not the caller role');
  }
  return { key, certificate: cert.certificate, serial: cert.serial, validBefore: cert.validBefore };
}

export interface SshDeps {
  readonly limits: Limits;
  /** Set in session mode. */
  readonly sessionPool?: SessionPool | undefined;
}

/**
 * Step 5, the one place the call meets ssh/ and the session pool: per call, connect with a new
 * credential, exec, close; in session mode, exec on the pooled connection of (sid, role, device),
 * opened with a new credential when there is none.
 */
export async function runOverSsh(
  call: ToolCall,
  device: InventoryDevice,
  command: string,
  credential: () => Promise<Credential>,
  deps: SshDeps,
): Promise<ExecResult> {
  const { identity, timings } = call;
  const { limits } = deps;
  const envFor = (requestId: string) =>
    encodeSshEnv({
      user: identity.user,
      sid: identity.sid,
      requestId,
      ...(call.ctx.tool === undefined ? {} : { tool: call.ctx.tool }),
    });
  const pool = deps.sessionPool;
  if (pool === undefined) {
    const { key, certificate, serial } = await credential();
    call.ctx = withFields(call.ctx, { certSerial: serial });
    // `key` goes out of scope with this call: the private half never left this process's memory.
    return runDeviceCommand({
      device,
      username: identity.role.name,
      key,
      certificate,
      command,
      env: envFor(call.requestId),
      connectTimeoutMs: limits.connectTimeoutMs,
      execTimeoutMs: limits.execTimeoutMs,
      maxOutputBytes: limits.maxOutputBytes,
      timings,
    });
  }
  const poolKey = SessionPool.key(identity.sid, identity.role.name, device.name);
  const { session, reused, release } = await pool.acquire(poolKey, async () => {
    const { key, certificate, serial, validBefore } = await credential();
    const t = performance.now();
    const connection = await connectTarget(
      device,
      identity.role.name,
      key,
      certificate,
      limits.connectTimeoutMs,
    );
    timings['connect'] = round(performance.now() - t);
    return { connection, certSerial: serial, certRequestId: call.requestId, validBefore };
  });
  try {
    // The certificate (and so its issue and the SSH login) belongs to the call that obtained it.
    if (session.certRequestId !== call.requestId) call.deviceRequestId = session.certRequestId;
    timings['reused'] = reused ? 1 : 0;
    call.ctx = withFields(call.ctx, { certSerial: session.certSerial });
    // The pool's timer may not have fired yet: never start an exec on an expiring certificate.
    if (!pool.usable(session)) {
      throw new McpServerError('ERR_MCP_CERT_EXPIRED', 'session certificate too close to expiry');
    }
    const t = performance.now();
    try {
      // A framed request on a session channel: the device records this call's own request id.
      return await session.connection.request(command, {
        requestId: call.requestId,
        ...(call.ctx.tool === undefined ? {} : { tool: call.ctx.tool }),
        env: envFor(session.certRequestId),
        timeoutMs: limits.execTimeoutMs,
        maxOutputBytes: limits.maxOutputBytes,
      });
    } finally {
      timings['exec'] = round(performance.now() - t);
    }
  } finally {
    // Renewal closes the replaced connection only once every exec on it has finished.
    release();
  }
}

/** Step 6. What the agent sees of the device's answer: its output, or ERR_MCP_DEVICE_DENIED with the
 *  device's message when the command exited non-zero (the validator's refusal, or a failure). */
export function outcomeOf(
  call: ToolCall,
  device: InventoryDevice,
  exec: ExecResult,
  maxOutputBytes: number,
): { result: ToolResult; failure?: McpServerError } {
  if (exec.exitCode !== 0) {
    const failure = new McpServerError(
      'ERR_MCP_DEVICE_DENIED',
      `device exited with ${exec.exitCode ?? `signal ${exec.signal}`}`,
    );
    const message = deviceText(exec.stderr.trim() || exec.stdout.trim(), 2000);
    return { result: errorResult(failure, call.requestId, message), failure };
  }
  const note = exec.truncated ? `\n[output truncated at ${maxOutputBytes} bytes]` : '';
  // A configuration command prints nothing when it works: say so, rather than answer "".
  const text = deviceText(exec.stdout, maxOutputBytes) + note;
  return {
    result: textResult(
      text.trim() === '' ? `${call.tool} on ${device.name}: done (exit 0, no output)` : text,
    ),
  };
}
