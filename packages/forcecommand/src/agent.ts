// The device's authorization agent: a root process that holds the TACACS+ key and one warm TACACS+
// connection, and answers the validators of the service accounts over per-account Unix sockets. The
// validator runs as the account, so whatever it could read, a command run as the account could read
// too (`ip -b FILE` printed the key); with the agent the key is root:root 0600 and no account reads it.
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { contextFields, encodeRemAddr, isValidField, type Logger } from '@netward/audit-context';
import type { TacacsClient } from '@netward/tacacs-plus';
import {
  type AccountMessage,
  type AgentRequest,
  type AuthorizeMessage,
  agentSocketPath,
  lineReader,
  MAX_SOCKET_PATH,
  TACACS_STATUSES,
} from './agent-protocol.ts';
import { ForceCommandError } from './errors.ts';

export interface AgentOptions {
  readonly device: string;
  /** Root-owned directory holding one subdirectory per account (created and checked here). */
  readonly socketDir: string;
  readonly accounts: readonly string[];
  /** The TACACS+ client (single-connection mode) with the key; the agent closes it on close(). */
  readonly client: Pick<TacacsClient, 'authorize' | 'account' | 'close'>;
  readonly accounting: boolean;
  readonly logger: Logger;
  /** A connection idle this long is closed. Default 10 s: a validator asks within milliseconds. */
  readonly idleMs?: number;
  /** Injected in tests; default reads /etc/passwd and /etc/group. */
  readonly passwd?: string;
  readonly group?: string;
}

export interface RunningAgent {
  /** account → socket path */
  readonly sockets: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

/** Most requests on one connection: a validator sends one per `-c` (limits.maxCliCommands ≤ 64) + 2. */
const MAX_REQUESTS_PER_CONNECTION = 80;

function agentError(message: string, cause?: unknown): ForceCommandError {
  return new ForceCommandError('ERR_FC_CONFIG', `agent: ${message}`, cause === undefined ? {} : { cause });
}

interface Account {
  readonly uid: number;
  readonly gid: number;
}

/**
 * Each account's socket directory is root:<the account's own primary group> 0710: root and the members
 * of that group may traverse it, nobody may list or change it. So the group must be the account's alone:
 * no other account has it as primary group and it lists no members besides the account. Checked at
 * start; anything else and the agent refuses to run.
 */
export function accountsOf(
  names: readonly string[],
  passwd = readFileSync('/etc/passwd', 'utf8'),
  group = readFileSync('/etc/group', 'utf8'),
): Record<string, Account> {
  const users = passwd
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 4);
  const groups = group
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 4);
  const out: Record<string, Account> = {};
  for (const name of names) {
    const u = users.find((f) => f[0] === name);
    if (u === undefined) throw agentError(`account ${name} does not exist`);
    const uid = Number(u[2]);
    const gid = Number(u[3]);
    if (!Number.isInteger(uid) || uid === 0 || !Number.isInteger(gid) || gid === 0)
      throw agentError(`account ${name} has no unprivileged uid/gid`);
    const sharing = users.filter((f) => f[0] !== name && Number(f[3]) === gid).map((f) => f[0]);
    if (sharing.length > 0) throw agentError(`primary group of ${name} is also that of ${sharing.join(',')}`);
    const g = groups.find((f) => Number(f[2]) === gid);
    const members = (g?.[3] ?? '').split(',').filter((m) => m !== '' && m !== name);
    if (members.length > 0)
      throw agentError(`primary group of ${name} lists other members: ${members.join(',')}`);
    out[name] = { uid, gid };
  }
  return out;
}

function ensureDir(dir: string, gid: number, mode: number): void {
  mkdirSync(dir, { recursive: true, mode });
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw agentError(`${dir} is not a directory`);
  chownSync(dir, 0, gid);
  chmodSync(dir, mode);
}

function isStringArray(v: unknown, max: number): v is string[] {
  return Array.isArray(v) && v.length <= max && v.every((a) => typeof a === 'string' && a.length <= 1024);
}

/** Checks one request line; undefined when it is not a request the agent answers. */
export function parseAgentRequest(line: string): AgentRequest | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const r = v as Record<string, unknown>;
  if (!Number.isSafeInteger(r['id'])) return undefined;
  if (!isValidField('user', r['user'] as string)) return undefined;
  if (!isValidField('sid', r['sid'] as string)) return undefined;
  if (!isValidField('certSerial', r['cert_serial'] as string)) return undefined;
  if (!isValidField('requestId', r['request_id'] as string)) return undefined;
  if (typeof r['cmd'] !== 'string' || r['cmd'] === '' || r['cmd'].length > 256) return undefined;
  if (!isStringArray(r['args'], 256)) return undefined;
  if (r['op'] === 'authorize') return r as unknown as AgentRequest;
  if (r['op'] === 'account') {
    if (r['type'] !== 'start' && r['type'] !== 'stop') return undefined;
    if (typeof r['task_id'] !== 'string' || !/^[0-9a-f]{1,32}$/.test(r['task_id'])) return undefined;
    if (r['exit_status'] !== undefined && !Number.isSafeInteger(r['exit_status'])) return undefined;
    return r as unknown as AgentRequest;
  }
  return undefined;
}

/**
 * Starts listening on `<socketDir>/<account>/agent.sock` for every account. Must run as root (it chowns
 * the directories). The connection's account is the socket it arrived on, never anything it sends.
 */
export async function startAgent(o: AgentOptions): Promise<RunningAgent> {
  const accounts = accountsOf(o.accounts, o.passwd, o.group);
  ensureDir(o.socketDir, 0, 0o755);
  const open = new Set<Socket>();
  const { servers, sockets } = await listenPerAccount(o, accounts, (account, conn) => {
    open.add(conn);
    conn.on('close', () => open.delete(conn));
    serveConnection(o, account, conn);
  });
  o.logger.info(
    { event: 'agent_started', device: o.device, sockets: Object.values(sockets) },
    `authorization agent for ${o.device} listening`,
  );
  return {
    sockets,
    async close() {
      for (const c of open) c.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      for (const p of Object.values(sockets)) rmSync(p, { force: true });
      await o.client.close();
    },
  };
}

/** One socket per account in its own root:<group> 0710 directory; all closed again if one fails. */
async function listenPerAccount(
  o: AgentOptions,
  accounts: Record<string, Account>,
  onConnection: (account: string, conn: Socket) => void,
): Promise<{ servers: Server[]; sockets: Record<string, string> }> {
  const servers: Server[] = [];
  const sockets: Record<string, string> = {};
  try {
    for (const [account, { gid }] of Object.entries(accounts)) {
      const path = agentSocketPath(o.socketDir, account);
      if (path.length > MAX_SOCKET_PATH) throw agentError(`socket path too long: ${path}`);
      const dir = `${o.socketDir}/${account}`;
      ensureDir(dir, gid, 0o710);
      rmSync(path, { force: true });
      const server = createServer((conn) => onConnection(account, conn));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => resolve());
      });
      // The directory decides who may connect; the socket itself needs write for connect(2) (unix(7)).
      chmodSync(path, 0o666);
      servers.push(server);
      sockets[account] = path;
    }
  } catch (e) {
    for (const s of servers) s.close();
    throw e;
  }
  return { servers, sockets };
}

/**
 * One validator's connection: request lines answered one at a time, in order (the validator waits for
 * each answer before it asks again); a malformed line, an overlong one or too many requests end it.
 */
function serveConnection(o: AgentOptions, account: string, conn: Socket): void {
  conn.setTimeout(o.idleMs ?? 10_000, () => conn.destroy());
  conn.on('error', () => conn.destroy());
  let count = 0;
  let queue: Promise<void> = Promise.resolve();
  const reply = (value: Record<string, unknown>) => {
    if (!conn.destroyed) conn.write(`${JSON.stringify(value)}\n`);
  };
  const refuse = (reason: string) => {
    o.logger.warn({ event: 'agent_bad_request', role: account, device: o.device, reason }, 'bad request');
    reply({ id: null, error: 'bad request' });
    conn.end();
    conn.destroySoon();
  };
  const onLine = (line: string) => {
    if (++count > MAX_REQUESTS_PER_CONNECTION) return refuse('too many requests');
    const request = parseAgentRequest(line);
    if (request === undefined) return refuse('malformed');
    queue = queue.then(() => answer(o, account, request).then(reply));
  };
  conn.on(
    'data',
    lineReader(onLine, () => refuse('line too long')),
  );
}

/** What the agent tells TACACS+ about the caller: the account, and the correlation ids in rem_addr. */
function remAddrOf(r: AgentRequest): string {
  return encodeRemAddr({ user: r.user, certSerial: r.cert_serial, sid: r.sid, requestId: r.request_id });
}

async function answer(o: AgentOptions, account: string, r: AgentRequest): Promise<Record<string, unknown>> {
  if (r.op === 'account') {
    if (o.accounting) await recordAccounting(o, account, r);
    return { id: r.id, ok: true };
  }
  return authorize(o, account, r);
}

/** RFC 8907 section 8.3 attributes; it has none for an exit status, so a failure goes in err_msg. */
async function recordAccounting(o: AgentOptions, account: string, r: AccountMessage): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  try {
    await o.client.account({
      type: r.type,
      user: account,
      port: 'ssh',
      remAddr: remAddrOf(r),
      taskId: r.task_id,
      cmd: r.cmd,
      args: r.args,
      extraArgs: [
        r.type === 'start' ? `start_time=${now}` : `stop_time=${now}`,
        ...(r.exit_status ? [`err_msg=exit status ${r.exit_status}`] : []),
      ],
    });
  } catch {
    // A record, not a gate.
  }
}

/** One authorization by TACACS+, logged with the correlation fields, answered to the validator. */
async function authorize(
  o: AgentOptions,
  account: string,
  r: AuthorizeMessage,
): Promise<Record<string, unknown>> {
  const started = performance.now();
  const command = [r.cmd, ...r.args].join(' ');
  let result: Awaited<ReturnType<TacacsClient['authorize']>>;
  try {
    result = await o.client.authorize({
      user: account,
      port: 'ssh',
      remAddr: remAddrOf(r),
      cmd: r.cmd,
      args: r.args,
    });
  } catch (e) {
    // The client is documented never to throw; if it does, the answer is a deny like any other failure.
    result = {
      permitted: false,
      status: 'NO_REPLY',
      args: [],
      serverMsg: '',
      reason: (e as Error)?.message ?? 'error',
    } as unknown as typeof result;
  }
  const status = TACACS_STATUSES.includes(result.status) ? result.status : 'ERROR';
  const fields = contextFields({
    role: account,
    device: o.device,
    user: r.user,
    sid: r.sid,
    certSerial: r.cert_serial,
    requestId: r.request_id,
  });
  o.logger[result.permitted ? 'info' : 'warn'](
    {
      event: 'authorization',
      ...fields,
      command,
      status,
      permitted: result.permitted,
      ...(result.reason ? { reason: result.reason } : {}),
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
    },
    `[${account}/${r.user}/cert:${r.cert_serial}/sid:${r.sid}/req:${r.request_id}] ${status}: ${command}`,
  );
  return {
    id: r.id,
    status,
    permitted: result.permitted,
    args: result.args ?? [],
    ...(result.serverMsg ? { server_msg: result.serverMsg.slice(0, 256) } : {}),
    ...(result.reason ? { reason: result.reason } : {}),
    ...(result.errorCode ? { error_code: result.errorCode } : {}),
  };
}
