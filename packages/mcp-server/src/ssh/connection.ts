/**
 * One SSH connection to one device, authenticated with an OpenSSH user certificate, and the exec
 * channels run over it. Every failure is an McpServerError with a code that says which step failed;
 * nothing here retries or falls back to another credential.
 */
import { Client, type ClientChannel, type ConnectConfig, type PublicKeyAuthMethod } from 'ssh2';
import { McpServerError } from '../errors.ts';
import { type HostKeyPolicy, verifyHostKey } from './host-key.ts';
import { certificateAuthKey, ED25519, ED25519_CERT, type EphemeralKey } from './keys.ts';
import { CappedBuffer } from './output.ts';
import { type RequestOptions, SessionChannels } from './session-channel.ts';

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  /** The device account, which is the role: net-viewer, net-operator, net-admin. */
  readonly username: string;
  /** The inventory name (and any other name) a host certificate may certify. */
  readonly hostNames: readonly string[];
  readonly hostKeyPolicy: HostKeyPolicy;
  readonly key: EphemeralKey;
  /** The OpenSSH certificate line the broker issued for `key`. */
  readonly certificate: string;
  /** TCP connect + key exchange + authentication. */
  readonly connectTimeoutMs: number;
  /** Exec channels open at once on this connection; more wait. Default 5 (see DEFAULT_MAX_CHANNELS). */
  readonly maxChannels?: number;
  readonly now?: () => Date;
}

/**
 * Half of OpenSSH's default MaxSessions (10). sshd frees a session slot a little after the client sees
 * the channel close, so running right at the limit is refused: with 25 concurrent execs on one
 * connection against OpenSSH 9.2 here, 8 at a time got "open failed", 6 never did.
 */
export const DEFAULT_MAX_CHANNELS = 5;

export interface ExecOptions {
  /** Sent as SSH `env` requests (RFC 4254 section 6.4); sshd keeps those listed in AcceptEnv. */
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** Bytes kept of stdout and of stderr each; the rest is dropped and `truncated` set. */
  readonly maxOutputBytes: number;
}

export interface ExecResult {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly truncated: boolean;
}

export interface DeviceConnection {
  /** Per-call mode: one exec channel, one validator, one command. */
  exec(command: string, options: ExecOptions): Promise<ExecResult>;
  /** Session mode: the command as a framed request on a long-lived session channel (session-channel.ts). */
  request(command: string, options: RequestOptions): Promise<ExecResult>;
  close(): void;
  /** False once the connection closed or failed. */
  readonly usable: boolean;
}

type Level = 'client-socket' | 'client-timeout' | 'handshake' | 'client-authentication' | 'protocol' | string;

export async function connectDevice(options: ConnectOptions): Promise<DeviceConnection> {
  const certificateMethod: PublicKeyAuthMethod = {
    type: 'publickey',
    username: options.username,
    key: certificateAuthKey(options.key, options.certificate),
  };
  const client = new Client();
  let hostKeyError: McpServerError | undefined;
  let open = false;

  const config: ConnectConfig = {
    host: options.host,
    port: options.port,
    username: options.username,
    readyTimeout: options.connectTimeoutMs,
    // One method, one key: the certificate. Nothing else is ever tried.
    authHandler: [certificateMethod],
    algorithms: {
      // With a host CA only the host certificate algorithm is offered, so a device that has no
      // certificate cannot fall back to a plain key (patches/ssh2@1.17.0.patch adds the algorithm).
      serverHostKey: (options.hostKeyPolicy.kind === 'ca' ? [ED25519_CERT] : [ED25519]) as never,
    },
    hostVerifier: (key: Buffer): boolean => {
      try {
        verifyHostKey(options.hostKeyPolicy, key, options.hostNames, options.now?.() ?? new Date());
        return true;
      } catch (e) {
        hostKeyError =
          e instanceof McpServerError
            ? e
            : new McpServerError('ERR_MCP_HOST_KEY', 'host key check failed', { cause: e });
        return false;
      }
    },
  };

  const maxChannels = options.maxChannels ?? DEFAULT_MAX_CHANNELS;
  const limitedExec = channelLimiter(client, maxChannels);

  return new Promise<DeviceConnection>((resolve, reject) => {
    const fail = (err: Error & { level?: Level }) => {
      client.removeAllListeners('ready');
      client.end();
      if (hostKeyError) return reject(hostKeyError);
      reject(classifyConnectError(err));
    };
    client.once('error', fail);
    client.once('ready', () => {
      client.removeListener('error', fail);
      open = true;
      // Later errors (the device going away) close the connection; pending execs see 'close'.
      client.on('error', () => {
        open = false;
      });
      const sessions = new SessionChannels(client, maxChannels);
      client.once('close', () => {
        open = false;
        sessions.closeAll();
      });
      resolve({
        get usable() {
          return open;
        },
        exec: (command, execOptions) => limitedExec(command, execOptions),
        request: (command, requestOptions) => sessions.request(command, requestOptions),
        close: () => {
          open = false;
          sessions.closeAll();
          client.end();
        },
      });
    });
    try {
      client.connect(config);
    } catch (cause) {
      reject(new McpServerError('ERR_MCP_SSH_CONNECT', 'invalid SSH connection settings', { cause }));
    }
  });
}

// OpenSSH's MaxSessions (default 10) caps the channels open at once on one connection; beyond it sshd
// refuses the channel. Calls sharing a connection queue for a slot instead, the wait counting against
// their time limit.
function channelLimiter(
  client: Client,
  maxChannels: number,
): (command: string, execOptions: ExecOptions) => Promise<ExecResult> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (command: string, execOptions: ExecOptions): Promise<ExecResult> => {
    const deadline = Date.now() + execOptions.timeoutMs;
    if (active >= maxChannels) {
      await new Promise<void>((resolveSlot, rejectSlot) => {
        const wake = () => {
          clearTimeout(timer);
          resolveSlot();
        };
        const timer = setTimeout(() => {
          const i = waiting.indexOf(wake);
          if (i >= 0) waiting.splice(i, 1);
          rejectSlot(
            new McpServerError('ERR_MCP_TIMEOUT', 'no free channel on the device connection in time'),
          );
        }, execOptions.timeoutMs);
        waiting.push(wake);
      });
    }
    active += 1;
    try {
      return await runExec(client, command, {
        ...execOptions,
        timeoutMs: Math.max(1, deadline - Date.now()),
      });
    } finally {
      active -= 1;
      waiting.shift()?.();
    }
  };
}

function classifyConnectError(err: Error & { level?: Level }): McpServerError {
  switch (err.level) {
    case 'client-authentication':
      return new McpServerError('ERR_MCP_SSH_AUTH', 'device refused the certificate', { cause: err });
    case 'client-timeout':
      return new McpServerError('ERR_MCP_TIMEOUT', 'SSH connection timed out', { cause: err });
    case 'handshake':
      return new McpServerError('ERR_MCP_HOST_KEY', 'SSH key exchange failed', { cause: err });
    default:
      return new McpServerError('ERR_MCP_SSH_CONNECT', 'SSH connection failed', { cause: err });
  }
}

function runExec(client: Client, command: string, options: ExecOptions): Promise<ExecResult> {
  return new Promise<ExecResult>((resolve, reject) => {
    let settled = false;
    let channel: ClientChannel | undefined;
    const timer = setTimeout(() => {
      settle(new McpServerError('ERR_MCP_TIMEOUT', `command did not finish within ${options.timeoutMs} ms`));
      channel?.close();
    }, options.timeoutMs);
    const settle = (outcome: ExecResult | McpServerError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.removeListener('close', onClientClose);
      if (outcome instanceof McpServerError) reject(outcome);
      else resolve(outcome);
    };
    // Once the device accepted the exec, the command may have run: saying "not run" then would invite
    // an agent to retry a change that was already made.
    const onClientClose = () =>
      settle(
        channel === undefined
          ? new McpServerError('ERR_MCP_SSH_EXEC', 'connection closed before the command started')
          : new McpServerError('ERR_MCP_OUTCOME_UNKNOWN', 'connection closed while the command ran'),
      );
    client.once('close', onClientClose);

    try {
      client.exec(command, { env: { ...options.env } }, (err, ch) => {
        if (err) {
          settle(new McpServerError('ERR_MCP_SSH_EXEC', 'device refused the exec request', { cause: err }));
          return;
        }
        channel = ch;
        const out = new CappedBuffer(options.maxOutputBytes);
        const errOut = new CappedBuffer(options.maxOutputBytes);
        let exitCode: number | null = null;
        let signal: string | null = null;
        ch.on('data', (d: Buffer) => {
          out.push(d);
        });
        ch.stderr.on('data', (d: Buffer) => {
          errOut.push(d);
        });
        ch.on('exit', (code: number | null, sig?: string) => {
          exitCode = typeof code === 'number' ? code : null;
          signal = sig ?? null;
        });
        ch.once('close', () => {
          // sshd always reports an exit status or signal for a command that ended; a channel closed
          // without either was cut, and the command may or may not have run.
          if (exitCode === null && signal === null) {
            settle(new McpServerError('ERR_MCP_OUTCOME_UNKNOWN', 'channel closed without an exit status'));
            return;
          }
          settle({
            exitCode,
            signal,
            stdout: out.text(),
            stderr: errOut.text(),
            truncated: out.truncated || errOut.truncated,
          });
        });
      });
    } catch (cause) {
      settle(new McpServerError('ERR_MCP_SSH_EXEC', 'could not open an exec channel', { cause }));
    }
  });
}
