// Authorization and accounting requests: both carry a command in their AV pairs, read as tac_plus-ng
// reads them (requestView), and differ in their decisions and replies.
import { isValidField, type RemAddrFields } from '@netward/audit-context';
import { type RequestView, requestView, type ShellCommand, shellCommand } from '../av-pairs.ts';
import { decodeAcctRequest, encodeAcctReply } from '../protocol/accounting.ts';
import { decodeAuthorRequest, encodeAuthorResponse, type RequestCommon } from '../protocol/authorization.ts';
import { AcctFlag, AcctStatus, AuthorStatus } from '../protocol/constants.ts';
import type { PacketHeader } from '../protocol/header.ts';
import { answer, auditOf, hex, type ReadRequest, type RequestContext, type RequestType } from './handle.ts';
import type {
  AccountingDecision,
  AuthorizationDecision,
  ServerAccountingRequest,
  ServerAuthorizationRequest,
} from './types.ts';

/** What both request types carry (RFC 8907 sections 6.1 and 7.1) that the decision needs. */
type CommandPacket = Pick<RequestCommon, 'user' | 'port' | 'remAddr' | 'privLvl' | 'args' | 'argBytes'>;

/** The part of the request both types share, and the readings the decision log repeats. */
function readCommand(ctx: RequestContext, header: PacketHeader, req: CommandPacket) {
  const shell = shellCommand(req.args);
  const view = requestView(req.argBytes);
  const audit = auditOf(req.remAddr);
  const common = {
    user: req.user,
    port: req.port,
    remAddr: req.remAddr,
    privLvl: req.privLvl,
    ...(view.service !== undefined ? { service: view.service } : {}),
    commandBytes: view.commandBytes,
    commandLine: view.commandLine,
    ...(shell.cmd !== undefined ? { cmd: shell.cmd } : {}),
    args: shell.cmdArgs,
    avPairs: [...req.args],
    avPairBytes: [...req.argBytes],
    sessionId: header.sessionId,
    peer: ctx.peer,
    ...(audit ? { audit } : {}),
  };
  return { shell, view, audit, common };
}

/** The `tacacs` object of the decision log; `extra` (the task id) goes after the arguments. */
function commandLogFields(
  req: CommandPacket,
  view: RequestView,
  shell: ShellCommand,
  extra: Record<string, unknown>,
): Record<string, unknown> {
  return {
    user: req.user,
    port: req.port,
    priv_lvl: req.privLvl,
    service: view.service,
    command: view.commandLine,
    cmd: shell.cmd,
    args: shell.cmdArgs,
    ...extra,
    ...(view.refusal !== undefined ? { refused: view.refusal, refused_arg: view.refusedIndex } : {}),
    // The rest of the arguments only when there are any: the line is serialised (and scrubbed) for
    // every request, and service/cmd/cmd-arg are already above.
    ...(shell.others.length > 0 ? { other_av_pairs: shell.others } : {}),
  };
}

/** The template's input; `refused` is the decision when the arguments were refused (see requestView). */
function reading<R, D>(
  request: R,
  packet: CommandPacket,
  parts: { view: RequestView; shell: ShellCommand; audit: RemAddrFields | undefined },
  refused: D,
): ReadRequest<R, D> & CommandReadings {
  const { view, shell, audit } = parts;
  return {
    request,
    remAddr: packet.remAddr,
    audit,
    packet,
    view,
    shell,
    ...(view.refusal !== undefined ? { refused } : {}),
  };
}

function refusalMessage(view: RequestView): string {
  return view.refusal === 'nul'
    ? `argument ${view.refusedIndex} contains NUL`
    : `argument ${view.refusedIndex} is not attribute=value or attribute*value`;
}

/** What both types keep from reading the packet for their log lines. */
interface CommandReadings {
  readonly packet: CommandPacket;
  readonly view: RequestView;
  readonly shell: ShellCommand;
}

const AUTHORIZATION: RequestType<ServerAuthorizationRequest, AuthorizationDecision, CommandReadings> = {
  event: 'tacacs.authorization',
  msg: 'authorization',
  reportsLate: true,
  handler: (config) => config.handlers.authorize,
  absent: { status: 'FAIL', serverMsg: 'authorization not configured' },
  failed: { status: 'ERROR', serverMsg: 'authorization failed' },
  check: checkAuthorization,
  encode: encodeAuthorization,
  fields({ packet, view, shell }, d, header) {
    const reply = d.args && d.args.length > 0 ? { reply_args: d.args } : {};
    return {
      decision: d.status === 'PASS_ADD' || d.status === 'PASS_REPL' ? 'permit' : 'deny',
      status: d.status,
      session_id: hex(header.sessionId),
      tacacs: { ...commandLogFields(packet, view, shell, {}), ...reply },
      role: isValidField('role', packet.user) ? packet.user : undefined,
    };
  },
};

export async function handleAuthorization(
  ctx: RequestContext,
  header: PacketHeader,
  body: Buffer,
): Promise<void> {
  const started = process.hrtime.bigint();
  const packet = decodeAuthorRequest(body);
  const parts = readCommand(ctx, header, packet);
  const { view, common } = parts;
  const request: ServerAuthorizationRequest = {
    ...common,
    authenMethod: packet.authenMethod,
    authenType: packet.authenType,
    authenService: packet.authenService,
    ...(view.protocol !== undefined ? { protocol: view.protocol } : {}),
    isCommand: view.isCommand,
  };
  // Refused before any handler sees it, whatever the handler would say (see requestView).
  const refused: AuthorizationDecision = { status: 'FAIL', serverMsg: refusalMessage(view) };
  return answer(ctx, header, AUTHORIZATION, reading(request, packet, parts, refused), started);
}

const ACCOUNTING: RequestType<ServerAccountingRequest, AccountingDecision, CommandReadings> = {
  event: 'tacacs.accounting',
  msg: 'accounting',
  reportsLate: false,
  handler: (config) => config.handlers.account,
  absent: { status: 'SUCCESS' },
  failed: { status: 'ERROR', serverMsg: 'accounting failed' },
  // A handler that answers nothing accepts the record (it is in the decision log).
  check: (d) => (d === undefined ? { status: 'SUCCESS' } : checkAccounting(d)),
  encode: (d) =>
    encodeAcctReply({ status: AcctStatus[d.status], serverMsg: d.serverMsg ?? '', data: d.data ?? '' }),
  fields({ packet, view, shell, request }, d, header) {
    return {
      acct_type: request.type,
      status: d.status,
      session_id: hex(header.sessionId),
      tacacs: commandLogFields(packet, view, shell, { task_id: shell.taskId }),
      role: isValidField('role', packet.user) ? packet.user : undefined,
    };
  },
};

export async function handleAccounting(
  ctx: RequestContext,
  header: PacketHeader,
  body: Buffer,
): Promise<void> {
  const started = process.hrtime.bigint();
  const packet = decodeAcctRequest(body);
  const parts = readCommand(ctx, header, packet);
  const { shell, view, common } = parts;
  const request: ServerAccountingRequest = {
    type: acctType(packet.flags),
    flags: packet.flags,
    ...common,
    ...(shell.taskId !== undefined ? { taskId: shell.taskId } : {}),
  };
  // A record whose arguments carry NUL or a malformed pair is not accepted (ERROR: accounting has no
  // FAIL); it still gets its decision-log line, so nothing is lost silently.
  const refused: AccountingDecision = { status: 'ERROR', serverMsg: refusalMessage(view) };
  return answer(ctx, header, ACCOUNTING, reading(request, packet, parts, refused), started);
}

function acctType(flags: number): ServerAccountingRequest['type'] {
  if (flags === AcctFlag.START) return 'start';
  if (flags === AcctFlag.STOP) return 'stop';
  if (flags === AcctFlag.WATCHDOG) return 'watchdog';
  return 'update';
}

function encodeAuthorization(d: AuthorizationDecision): Buffer {
  return encodeAuthorResponse({
    status: AuthorStatus[d.status],
    args: d.args ?? [],
    serverMsg: d.serverMsg ?? '',
    data: d.data ?? '',
  });
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function checkAuthorization(d: AuthorizationDecision | undefined): AuthorizationDecision {
  if (
    d === null ||
    typeof d !== 'object' ||
    !['PASS_ADD', 'PASS_REPL', 'FAIL', 'ERROR'].includes(d.status) ||
    (d.args !== undefined && !isStringArray(d.args)) ||
    (d.serverMsg !== undefined && typeof d.serverMsg !== 'string') ||
    (d.data !== undefined && typeof d.data !== 'string')
  ) {
    throw new TypeError('authorize handler returned an invalid decision');
  }
  // Encode now so that an over-long argument becomes ERROR rather than a half-written reply.
  encodeAuthorization(d);
  return d;
}

function checkAccounting(d: AccountingDecision): AccountingDecision {
  if (d === null || typeof d !== 'object' || !['SUCCESS', 'ERROR'].includes(d.status)) {
    throw new TypeError('account handler returned an invalid decision');
  }
  return d;
}
