/**
 * One tool call, end to end:
 *
 *   request id → audit context from the token (user, sid, role) → scope check again → device from the
 *   inventory → command from validated arguments → token exchange at the IdP (RFC 8693; the caller's
 *   token is never forwarded) → ephemeral Ed25519 key → certificate from the broker → SSH (host key
 *   checked) → exec with MCP_* env → output → key dropped.
 *
 * Every failure becomes a tool error with a stable code and a fixed public message; the cause goes to
 * the audit log only. There is no fallback anywhere: no cached credential, no other key, no retry.
 */
import {
  type AuditContext,
  contextFields,
  createAuditContext,
  encodeSshEnv,
  isValidField,
  type Logger,
  newRequestId,
  withFields,
} from '@netward/audit-context';
import { type BrokerClient, BrokerClientError } from '@netward/ca-broker';
import { deviceAllowed, type Policy } from '@netward/policy';
import type { Identity } from './auth/token.ts';
import type { DeviceEntry, Limits } from './config.ts';
import { McpServerError, type McpServerErrorCode } from './errors.ts';
import type { TokenExchanger } from './exchange.ts';
import { SessionPool } from './session-pool.ts';
import type { ExecResult } from './ssh/connection.ts';
import { connectTarget, type DeviceTarget, round, runDeviceCommand } from './ssh/executor.ts';
import type { HostKeyPolicy } from './ssh/host-key.ts';
import { generateEphemeralKey } from './ssh/keys.ts';
import { type Args, deviceCommands, isDeviceTool } from './tools/commands.ts';

export interface InventoryDevice extends DeviceTarget {
  readonly vendor: string;
  readonly site?: string;
  readonly tenant?: string;
}

export function buildInventory(
  entries: readonly DeviceEntry[],
  hostCaKeys: readonly Buffer[],
): Map<string, InventoryDevice> {
  const out = new Map<string, InventoryDevice>();
  for (const d of entries) {
    const hostKeyPolicy: HostKeyPolicy = d.hostKeys
      ? {
          kind: 'pinned',
          keyBlobs: d.hostKeys.map((l) => Buffer.from(l.trim().split(/\s+/)[1] ?? '', 'base64')),
        }
      : { kind: 'ca', caBlobs: hostCaKeys };
    out.set(
      d.name,
      Object.freeze({
        name: d.name,
        address: d.address,
        port: d.port,
        vendor: d.vendor,
        ...(d.site === undefined ? {} : { site: d.site }),
        ...(d.tenant === undefined ? {} : { tenant: d.tenant }),
        hostKeyPolicy,
      }),
    );
  }
  return out;
}

/** The `_meta` key under which every tool result carries the call's request id. */
export const REQUEST_ID_META = 'netward/request_id';

/** What tools/call returns (MCP CallToolResult, text content only). */
export interface ToolResult {
  [key: string]: unknown;
  content: { type: 'text'; text: string }[];
  isError?: boolean;
}

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

/** Device output an agent may see: printable text, bounded. */
function deviceText(s: string, max: number): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping terminal control sequences is the point
  const clean = s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, '');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

export function errorResult(err: McpServerError, requestId: string, deviceMessage?: string): ToolResult {
  const error: Record<string, string> = { code: err.code, message: err.publicMessage, request_id: requestId };
  if (deviceMessage !== undefined && deviceMessage !== '') error['device_message'] = deviceMessage;
  return { content: [{ type: 'text', text: JSON.stringify({ error }) }], isError: true };
}

/** What the request carried besides the arguments. */
export interface CallMeta {
  /** W3C Trace Context `traceparent` from the request's `_meta` (MCP 2026-07-28), when well-formed. */
  readonly traceparent?: string;
}

/** W3C Trace Context section 3.2: version 00, 32-hex trace id, 16-hex parent id, 2-hex flags; the
 *  all-zero ids are invalid. Anything else is dropped, never logged. */
export function parseTraceparent(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/.exec(value);
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined;
  return value;
}

export interface ToolRunner {
  run(identity: Identity, tool: string, args: Args, meta?: CallMeta): Promise<ToolResult>;
  close(): void;
}

export function createToolRunner(deps: ToolRunnerDeps): ToolRunner {
  const { policy, inventory, limits, logger } = deps;
  const toolScopes = new Map(policy.tools.map((t) => [t.name, t.scope]));

  const listDevices = (identity: Identity): ToolResult => {
    const devices = [...inventory.values()]
      .filter((d) => deviceAllowed(identity.role, d))
      .map((d) => ({ name: d.name, vendor: d.vendor, site: d.site ?? null, tenant: d.tenant ?? null }));
    return { content: [{ type: 'text', text: JSON.stringify({ devices }, null, 2) }] };
  };

  /** Exchange → key → certificate; the key lives as long as the certificate is used. */
  const obtainCertificate = async (
    identity: Identity,
    device: InventoryDevice,
    ctx: AuditContext,
    timings: Record<string, number>,
  ) => {
    let t = performance.now();
    const exchanged = await deps.exchange(identity.token);
    timings['exchange'] = round(performance.now() - t);
    t = performance.now();
    const key = generateEphemeralKey();
    timings['key'] = round(performance.now() - t);
    t = performance.now();
    const cert = await deps.broker.sign({
      token: exchanged.accessToken,
      publicKey: key.publicKeyLine,
      requestId: ctx.requestId,
      role: identity.role.name,
      // The broker may bind the certificate to this device (principal <role>@<device>).
      device: device.name,
    });
    timings['sign'] = round(performance.now() - t);
    const principal = cert.principal;
    if (principal !== identity.role.name && principal !== `${identity.role.name}@${device.name}`) {
      throw new McpServerError('ERR_MCP_BROKER_BAD_RESPONSE', 'certificate principal is not the caller role');
    }
    return { key, cert };
  };

  const execute = async (
    identity: Identity,
    device: InventoryDevice,
    command: string,
    ctxIn: AuditContext,
    timings: Record<string, number>,
    setCtx: (c: AuditContext) => void,
    deviceRequestId: (id: string) => void,
  ): Promise<ExecResult> => {
    const envFor = (requestId: string) =>
      encodeSshEnv({
        user: identity.user,
        sid: identity.sid,
        requestId,
        ...(ctxIn.tool === undefined ? {} : { tool: ctxIn.tool }),
      });
    const env = envFor(ctxIn.requestId);
    const pool = deps.sessionPool;
    if (pool === undefined) {
      const { key, cert } = await obtainCertificate(identity, device, ctxIn, timings);
      setCtx(withFields(ctxIn, { certSerial: cert.serial }));
      // `key` goes out of scope with this call: the private half never left this process's memory.
      return runDeviceCommand({
        device,
        username: identity.role.name,
        key,
        certificate: cert.certificate,
        command,
        env,
        connectTimeoutMs: limits.connectTimeoutMs,
        execTimeoutMs: limits.execTimeoutMs,
        maxOutputBytes: limits.maxOutputBytes,
        timings,
      });
    }
    const poolKey = SessionPool.key(identity.sid, identity.role.name, device.name);
    const { session, reused, release } = await pool.acquire(poolKey, async () => {
      const { key, cert } = await obtainCertificate(identity, device, ctxIn, timings);
      const t = performance.now();
      const connection = await connectTarget(
        device,
        identity.role.name,
        key,
        cert.certificate,
        limits.connectTimeoutMs,
      );
      timings['connect'] = round(performance.now() - t);
      return {
        connection,
        certSerial: cert.serial,
        certRequestId: ctxIn.requestId,
        validBefore: cert.validBefore,
      };
    });
    try {
      // The certificate (and so its issue and the SSH login) belongs to the call that obtained it.
      if (session.certRequestId !== ctxIn.requestId) deviceRequestId(session.certRequestId);
      timings['reused'] = reused ? 1 : 0;
      setCtx(withFields(ctxIn, { certSerial: session.certSerial }));
      // The pool's timer may not have fired yet: never start an exec on an expiring certificate.
      if (!pool.usable(session)) {
        throw new McpServerError('ERR_MCP_CERT_EXPIRED', 'session certificate too close to expiry');
      }
      const t = performance.now();
      try {
        // A framed request on a session channel: the device records this call's own request id.
        return await session.connection.request(command, {
          requestId: ctxIn.requestId,
          ...(ctxIn.tool === undefined ? {} : { tool: ctxIn.tool }),
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
  };

  return {
    close: () => deps.sessionPool?.closeAll(),

    async run(identity, tool, args, meta = {}) {
      const started = performance.now();
      const requestId = newRequestId();
      let ctx = createAuditContext({
        user: identity.user,
        sid: identity.sid,
        role: identity.role.name,
        requestId,
        ...(isValidField('tool', tool) ? { tool } : {}),
        ...(isValidField('actor', identity.clientId) ? { actor: identity.clientId } : {}),
      });
      const timings: Record<string, number> = {};
      const deviceArg = args['device'];
      const device =
        typeof deviceArg === 'string' && isValidField('device', deviceArg)
          ? inventory.get(deviceArg)
          : undefined;
      if (device) ctx = withFields(ctx, { device: device.name });
      const unsafe = tool === 'run_raw_command_on_device';
      logger.info(
        {
          event: 'tool_call_start',
          ...contextFields(ctx),
          actor: ctx.actor,
          arguments: args,
          // The agent's trace, so its spans can be joined to this call's request_id.
          ...(meta.traceparent ? { traceparent: meta.traceparent } : {}),
          ...(unsafe ? { unsafe_tool: true } : {}),
        },
        unsafe ? 'tool call start (UNSAFE raw command tool)' : 'tool call start',
      );

      let result: ToolResult;
      let failure: McpServerError | undefined;
      let exec: ExecResult | undefined;
      // Session mode: the request id the device sees (the certificate's), when it is not this call's.
      let sessionRequestId: string | undefined;
      try {
        const scope = toolScopes.get(tool);
        if (scope === undefined || (unsafe && !deps.unsafeRawCommandTool)) {
          throw new McpServerError('ERR_MCP_UNKNOWN_TOOL', `no tool ${tool}`);
        }
        // tools/list already hid it and the HTTP layer answered 403; checked again here on purpose.
        if (!identity.scopes.includes(scope)) {
          throw new McpServerError('ERR_MCP_INSUFFICIENT_SCOPE', `tool ${tool} needs ${scope}`);
        }
        if (tool === 'list_devices') {
          result = listDevices(identity);
        } else {
          if (!isDeviceTool(tool))
            throw new McpServerError('ERR_MCP_UNKNOWN_TOOL', `no device command for ${tool}`);
          // A device outside the role's reach is reported exactly like one that does not exist.
          if (device === undefined || !deviceAllowed(identity.role, device)) {
            throw new McpServerError(
              'ERR_MCP_UNKNOWN_DEVICE',
              'device not in inventory or not allowed for the role',
            );
          }
          const command = deviceCommands[tool](args);
          exec = await execute(
            identity,
            device,
            command,
            ctx,
            timings,
            (c) => {
              ctx = c;
            },
            (id) => {
              sessionRequestId = id;
            },
          );
          if (exec.exitCode !== 0) {
            failure = new McpServerError(
              'ERR_MCP_DEVICE_DENIED',
              `device exited with ${exec.exitCode ?? `signal ${exec.signal}`}`,
            );
            result = errorResult(
              failure,
              requestId,
              deviceText(exec.stderr.trim() || exec.stdout.trim(), 2000),
            );
          } else {
            const note = exec.truncated ? `\n[output truncated at ${limits.maxOutputBytes} bytes]` : '';
            // A configuration command prints nothing when it works: say so, rather than answer "".
            const text = deviceText(exec.stdout, limits.maxOutputBytes) + note;
            result = {
              content: [
                {
                  type: 'text',
                  text: text.trim() === '' ? `${tool} on ${device.name}: done (exit 0, no output)` : text,
                },
              ],
            };
          }
        }
      } catch (e) {
        failure = asMcpError(e);
        result = errorResult(failure, requestId);
      }
      logger.info(
        {
          event: 'tool_call_end',
          ...contextFields(ctx),
          actor: ctx.actor,
          decision: failure ? 'error' : 'ok',
          outcome: failure ? failure.code : 'ok',
          ...(failure ? { code: failure.code, err: failure } : {}),
          ...(exec ? { exit_code: exec.exitCode, truncated: exec.truncated } : {}),
          ...(sessionRequestId ? { device_request_id: sessionRequestId } : {}),
          duration_ms: round(performance.now() - started),
          timings,
        },
        'tool call end',
      );
      // The caller can quote this id to an operator: `netward-audit trace <id>` finds the whole chain.
      return { ...result, _meta: { [REQUEST_ID_META]: requestId } };
    },
  };
}
