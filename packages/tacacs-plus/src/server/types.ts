// The public types of the server: what createTacacsServer takes, what handlers get and answer.
import type { Logger, RemAddrFields } from '@netward/audit-context';
import type { TacacsTlsFiles } from '../tls-options.ts';

/** What every handler is told about the request's origin. */
export interface ServerRequestBase {
  readonly user: string;
  readonly port: string;
  readonly remAddr: string;
  readonly privLvl: number;
  readonly sessionId: number;
  /** address:port of the client. */
  readonly peer: string;
  /** The audit context carried in rem_addr, when rem_addr has the netward layout. */
  readonly audit?: RemAddrFields;
}

export interface ServerAuthorizationRequest extends ServerRequestBase {
  readonly authenMethod: number;
  readonly authenType: number;
  readonly authenService: number;
  /** The last `service=` value, as tac_plus-ng takes it (see `requestView`). */
  readonly service?: string;
  /** The last `protocol=` value. */
  readonly protocol?: string;
  /** The command line rules must match, as bytes: `cmd` and `cmd-arg` values in packet order. */
  readonly commandBytes: Buffer;
  /** The same command line as text (U+FFFD for bytes that are not UTF-8): for messages and logs. */
  readonly commandLine: string;
  /** A command authorization (the last `cmd` has a value) rather than a shell start. */
  readonly isCommand: boolean;
  /** The first `cmd=` value, for display; decide on `commandBytes`. */
  readonly cmd?: string;
  /** The `cmd-arg=` values in order, for display; decide on `commandBytes`. */
  readonly args: string[];
  /** Every argument as text (U+FFFD for bytes that are not UTF-8). */
  readonly avPairs: string[];
  /** Every argument as the bytes received. */
  readonly avPairBytes: Buffer[];
}

export interface AuthorizationDecision {
  readonly status: 'PASS_ADD' | 'PASS_REPL' | 'FAIL' | 'ERROR';
  readonly args?: readonly string[];
  readonly serverMsg?: string;
  readonly data?: string;
}

export interface ServerAccountingRequest extends ServerRequestBase {
  /** 'update' is WATCHDOG with START (RFC 8907 section 7.2). */
  readonly type: 'start' | 'stop' | 'watchdog' | 'update';
  readonly flags: number;
  /** As in ServerAuthorizationRequest. */
  readonly service?: string;
  readonly commandBytes: Buffer;
  readonly commandLine: string;
  readonly cmd?: string;
  readonly args: string[];
  readonly avPairs: string[];
  readonly avPairBytes: Buffer[];
  readonly taskId?: string;
}

export interface AccountingDecision {
  readonly status: 'SUCCESS' | 'ERROR';
  readonly serverMsg?: string;
  readonly data?: string;
}

export interface ServerAuthenticationRequest extends ServerRequestBase {
  readonly type: 'ascii' | 'pap';
  /** Never logged by this server; handlers must not log it either. */
  readonly password: string;
}

export interface AuthenticationDecision {
  readonly status: 'PASS' | 'FAIL' | 'ERROR';
  readonly serverMsg?: string;
}

export type MaybePromise<T> = T | Promise<T>;

export interface TacacsServerHandlers {
  /** Default when absent: FAIL. */
  authorize?(req: ServerAuthorizationRequest): MaybePromise<AuthorizationDecision>;
  /** Default when absent, or when it returns nothing: SUCCESS (the record is in the decision log). */
  account?(req: ServerAccountingRequest): MaybePromise<AccountingDecision | undefined>;
  /** Default when absent: FAIL. */
  authenticate?(req: ServerAuthenticationRequest): MaybePromise<AuthenticationDecision>;
}

export interface TacacsServerLimits {
  /** Open connections at once; more are refused by the kernel backlog. Default 1024. */
  readonly maxConnections?: number;
  /** Sessions in progress on one connection (single-connection mode); more get ERROR. Default 64. */
  readonly maxSessionsPerConnection?: number;
  /** Largest body accepted; a larger announced length closes the connection. Default 64 KiB. */
  readonly maxBodyLength?: number;
  /** A handler slower than this answers ERROR. Default 5000 ms. */
  readonly handlerTimeoutMs?: number;
}

export interface TacacsServerOptions {
  /** Shared key for MD5 obfuscation on plain TCP. Exactly one of `key` and `tls`. */
  readonly key?: string | Buffer;
  /** TACACS+ over TLS 1.3 (RFC 9887): client certificates required, unencrypted flag inside TLS. */
  readonly tls?: TacacsTlsFiles;
  readonly handlers: TacacsServerHandlers;
  /** Decision log. Default: createLogger({ component: 'tacacs-server' }) to stdout. */
  readonly logger?: Logger;
  readonly limits?: TacacsServerLimits;
  /** A connection silent for this long is closed. Default 30000 ms. */
  readonly idleTimeoutMs?: number;
  /** Honour the client's single-connection flag (RFC 8907 section 4.3). Default true. */
  readonly singleConnection?: boolean;
}

export interface TacacsServer {
  /** Default host 127.0.0.1; default port 49, or 300 with TLS. Port 0 picks a free port. */
  listen(options?: { host?: string; port?: number }): Promise<{ host: string; port: number }>;
  close(): Promise<void>;
  /** Connections open now. */
  readonly connections: number;
}
