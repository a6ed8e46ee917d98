/**
 * The wire between the validator (running as a service account) and the device's authorization agent
 * (running as root, holding the TACACS+ key): one JSON object per line over a Unix stream socket, in
 * both directions, strictly one reply per request in order.
 *
 *   validator → agent  {"id":1,"op":"authorize","user":"bob","sid":"…","cert_serial":"…","request_id":"…",
 *                       "cmd":"ip","args":["addr","show"]}
 *                      {"id":2,"op":"account","type":"start"|"stop","task_id":"…","exit_status":0,
 *                       "user":…,"sid":…,"cert_serial":…,"request_id":…,"cmd":…,"args":[…]}
 *   agent → validator  {"id":1,"status":"PASS_ADD","permitted":true,"args":[…],"server_msg":"…",
 *                       "reason":"…","error_code":"…"}     (the TACACS+ result, read by readTacacsAnswer)
 *                      {"id":2,"ok":true}
 *                      {"id":n,"error":"bad request"}      (then the agent closes the connection)
 *
 * What the request carries is what the validator proved from the certificate, but the agent cannot
 * check it: it is used only for rem_addr and the agent's log. The role (TACACS+ `user`) is never in the
 * request: the agent takes it from the socket the connection arrived on (one per account, in a
 * directory only that account can traverse).
 */

/** Longest line either side accepts (a request: at most limits.maxCommandLength words plus ids). */
export const MAX_LINE = 16 * 1024;

/** sun_path is 108 bytes on Linux (unix(7)), NUL included. */
export const MAX_SOCKET_PATH = 107;

export const SOCKET_NAME = 'agent.sock';

/** `<socketDir>/<account>/agent.sock`: the directory is the proof of the account. */
export function agentSocketPath(socketDir: string, account: string): string {
  return `${socketDir}/${account}/${SOCKET_NAME}`;
}

export interface AgentCaller {
  readonly user: string;
  readonly sid: string;
  readonly cert_serial: string;
  readonly request_id: string;
}

export interface AuthorizeMessage extends AgentCaller {
  readonly id: number;
  readonly op: 'authorize';
  readonly cmd: string;
  readonly args: readonly string[];
}

export interface AccountMessage extends AgentCaller {
  readonly id: number;
  readonly op: 'account';
  readonly type: 'start' | 'stop';
  readonly task_id: string;
  readonly exit_status?: number;
  readonly cmd: string;
  readonly args: readonly string[];
}

export type AgentRequest = AuthorizeMessage | AccountMessage;

/** RFC 8907 section 6.2 statuses plus the client's own fail-closed outcomes. */
export const TACACS_STATUSES: readonly string[] = Object.freeze([
  'PASS_ADD',
  'PASS_REPL',
  'FAIL',
  'ERROR',
  'FOLLOW',
  'NO_REPLY',
]);

/**
 * Splits a stream into lines of at most MAX_LINE bytes; calls `onLine` for each and `onOverflow` once
 * when a line grows past the limit (the caller then drops the connection).
 */
export function lineReader(onLine: (line: string) => void, onOverflow: () => void): (chunk: Buffer) => void {
  let pending = '';
  let dead = false;
  return (chunk) => {
    if (dead) return;
    pending += chunk.toString('utf8');
    let nl = pending.indexOf('\n');
    while (nl >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      onLine(line);
      nl = pending.indexOf('\n');
    }
    if (pending.length > MAX_LINE) {
      dead = true;
      onOverflow();
    }
  };
}
