/**
 * Session mode's channels: long-lived exec channels running the device validator's session verb, each
 * answering framed requests one at a time (@netward/session-protocol). The validator then
 * starts once per channel instead of once per command, and every request carries its own request id to
 * the device's audit record and TACACS+ rem_addr, so parallel calls on one certificate stay apart.
 *
 * A connection keeps up to `maxChannels` of them; a request takes an idle one, opens a new one while
 * under the limit, or waits. A channel that timed out, broke its framing or closed is dropped, never
 * reused: its validator may still be running the last command.
 */
import {
  encodeRequest,
  FRAME_EXIT,
  FRAME_READY,
  FRAME_STDERR,
  FRAME_STDOUT,
  FrameDecoder,
  MAX_OUTPUT_FRAME,
  parseExit,
  SESSION_VERB,
} from '@netward/session-protocol';
import type { Client, ClientChannel } from 'ssh2';
import { McpServerError } from '../errors.ts';
import type { ExecOptions, ExecResult } from './connection.ts';
import { CappedBuffer } from './output.ts';

export interface RequestOptions extends ExecOptions {
  /** This call's request id: the device records it, and asks TACACS+ with it, for this command only. */
  readonly requestId: string;
  readonly tool?: string;
}

/** Exit statuses with which the validator ends a channel before starting any request still pending. */
const VALIDATOR_REFUSALS = { min: 100, max: 119 } as const;

interface Pending {
  readonly id: string;
  readonly stdout: CappedBuffer;
  readonly stderr: CappedBuffer;
  readonly settle: (outcome: ExecResult | McpServerError) => void;
}

/** One validator in session mode behind one exec channel. */
class SessionChannel {
  readonly #channel: ClientChannel;
  readonly #decoder = new FrameDecoder(MAX_OUTPUT_FRAME, [
    FRAME_READY,
    FRAME_STDOUT,
    FRAME_STDERR,
    FRAME_EXIT,
  ]);
  #pending: Pending | undefined;
  #exitStatus: number | null = null;
  usable = true;

  constructor(channel: ClientChannel) {
    this.#channel = channel;
    channel.on('data', (chunk: Buffer) => this.#receive(chunk));
    channel.stderr.on('data', () => {
      // The validator frames everything once in session mode; raw stderr is sshd's or a failed start's.
    });
    channel.on('exit', (code: number | null) => {
      this.#exitStatus = typeof code === 'number' ? code : null;
    });
    channel.once('close', () => this.#closed());
  }

  run(command: string, options: RequestOptions): Promise<ExecResult> {
    return new Promise<ExecResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        // The command may still be running on the device; this channel is done either way.
        this.close();
        pending.settle(
          new McpServerError('ERR_MCP_TIMEOUT', `command did not finish within ${options.timeoutMs} ms`),
        );
      }, options.timeoutMs);
      const pending: Pending = {
        id: options.requestId,
        stdout: new CappedBuffer(options.maxOutputBytes),
        stderr: new CappedBuffer(options.maxOutputBytes),
        settle: (outcome) => {
          if (this.#pending !== pending) return;
          this.#pending = undefined;
          clearTimeout(timer);
          if (outcome instanceof McpServerError) reject(outcome);
          else resolve(outcome);
        },
      };
      this.#pending = pending;
      const tool = options.tool === undefined ? {} : { tool: options.tool };
      this.#channel.write(encodeRequest({ id: options.requestId, command, ...tool }));
    });
  }

  close(): void {
    this.usable = false;
    this.#channel.close();
  }

  #receive(chunk: Buffer): void {
    let frames: ReturnType<FrameDecoder['push']>;
    try {
      frames = this.#decoder.push(chunk);
    } catch (cause) {
      this.close();
      this.#pending?.settle(
        new McpServerError('ERR_MCP_OUTCOME_UNKNOWN', 'the device sent a malformed session frame', { cause }),
      );
      return;
    }
    for (const frame of frames) {
      const pending = this.#pending;
      if (frame.type === FRAME_READY) continue;
      if (pending === undefined) {
        // Output nobody asked for: the channel is out of step, so nothing more is trusted on it.
        this.close();
        return;
      }
      if (frame.type === FRAME_STDOUT) pending.stdout.push(frame.payload);
      else if (frame.type === FRAME_STDERR) pending.stderr.push(frame.payload);
      else this.#exit(pending, frame.payload);
    }
  }

  #exit(pending: Pending, payload: Buffer): void {
    let exit: ReturnType<typeof parseExit>;
    try {
      exit = parseExit(payload);
      if (exit.id !== pending.id) throw new Error('exit frame for another request');
    } catch (cause) {
      this.close();
      pending.settle(
        new McpServerError('ERR_MCP_OUTCOME_UNKNOWN', 'the device answered out of step', { cause }),
      );
      return;
    }
    pending.settle({
      exitCode: exit.exit,
      signal: exit.signal ?? null,
      stdout: pending.stdout.text(),
      stderr: pending.stderr.text(),
      truncated: pending.stdout.truncated || pending.stderr.truncated,
    });
  }

  #closed(): void {
    this.usable = false;
    const status = this.#exitStatus;
    // The validator starts nothing after it decided to end the channel (an expired certificate, a
    // refused identity, a framing error): a request without its EXIT frame then did not run.
    const refused = status !== null && status >= VALIDATOR_REFUSALS.min && status <= VALIDATOR_REFUSALS.max;
    this.#pending?.settle(
      refused
        ? new McpServerError('ERR_MCP_SSH_EXEC', `the device ended the session channel (exit ${status})`)
        : new McpServerError('ERR_MCP_OUTCOME_UNKNOWN', 'the session channel closed while the command ran'),
    );
  }
}

/** The session channels of one connection. */
export class SessionChannels {
  readonly #client: Client;
  readonly #max: number;
  readonly #idle: SessionChannel[] = [];
  #open = 0;
  readonly #waiting: ((c: SessionChannel | undefined) => void)[] = [];

  constructor(client: Client, maxChannels: number) {
    this.#client = client;
    this.#max = maxChannels;
  }

  async request(command: string, options: RequestOptions): Promise<ExecResult> {
    const deadline = Date.now() + options.timeoutMs;
    const channel = await this.#take(options, deadline);
    try {
      return await channel.run(command, { ...options, timeoutMs: Math.max(1, deadline - Date.now()) });
    } finally {
      this.#give(channel);
    }
  }

  async #take(options: RequestOptions, deadline: number): Promise<SessionChannel> {
    for (;;) {
      const idle = this.#idle.pop();
      if (idle?.usable) return idle;
      if (idle !== undefined) {
        this.#open -= 1; // closed while idle (certificate end, sshd's ChannelTimeout)
        continue;
      }
      if (this.#open < this.#max) return this.#openChannel(options.env);
      const handed = await this.#wait(deadline);
      if (handed?.usable) return handed;
    }
  }

  /** Waits for a channel handed back (or a slot freed: undefined) until the deadline. */
  #wait(deadline: number): Promise<SessionChannel | undefined> {
    return new Promise((resolve, reject) => {
      const wake = (c: SessionChannel | undefined) => {
        clearTimeout(timer);
        resolve(c);
      };
      const timer = setTimeout(
        () => {
          const i = this.#waiting.indexOf(wake);
          if (i >= 0) this.#waiting.splice(i, 1);
          reject(
            new McpServerError('ERR_MCP_TIMEOUT', 'no free session channel on the device connection in time'),
          );
        },
        Math.max(1, deadline - Date.now()),
      );
      this.#waiting.push(wake);
    });
  }

  #give(channel: SessionChannel): void {
    if (!channel.usable) this.#open -= 1;
    const next = this.#waiting.shift();
    if (next !== undefined) next(channel.usable ? channel : undefined);
    else if (channel.usable) this.#idle.push(channel);
  }

  async #openChannel(env: Readonly<Record<string, string>>): Promise<SessionChannel> {
    this.#open += 1;
    try {
      const ch = await new Promise<ClientChannel>((resolve, reject) => {
        this.#client.exec(SESSION_VERB, { env: { ...env } }, (err, c) => {
          if (err)
            reject(
              new McpServerError('ERR_MCP_SSH_EXEC', 'device refused the session channel', { cause: err }),
            );
          else resolve(c);
        });
      });
      return new SessionChannel(ch);
    } catch (e) {
      this.#open -= 1;
      throw e instanceof McpServerError
        ? e
        : new McpServerError('ERR_MCP_SSH_EXEC', 'could not open a session channel', { cause: e });
    }
  }

  closeAll(): void {
    for (const c of this.#idle.splice(0)) c.close();
  }
}
