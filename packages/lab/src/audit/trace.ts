import { isValidField } from '@netward/audit-context';
import type { AuditEvent } from './sources.ts';

/**
 * The links of the seed's audit table, in the order a tool call produces them. Each is found in the
 * merged logs by the correlation ids it carries; one that is absent is reported as missing.
 */
export const LINKS = [
  { id: 'idp-login', component: 'idp', label: 'IdP login', carries: 'user, sid' },
  {
    id: 'mcp-call',
    component: 'mcp-server',
    label: 'MCP server tool call',
    carries: 'user, sid, request id',
  },
  { id: 'idp-exchange', component: 'idp', label: 'IdP token exchange', carries: 'user, sid' },
  { id: 'ca-issue', component: 'ca-broker', label: 'CA broker certificate', carries: 'user, cert serial' },
  { id: 'sshd-accept', component: 'sshd', label: 'device sshd', carries: 'user, sid, cert serial' },
  { id: 'validator', component: 'forcecommand', label: 'ForceCommand validator', carries: 'all four' },
  { id: 'tacacs', component: 'tacacs-server', label: 'TACACS+ decision', carries: 'all four' },
  { id: 'syslog', component: 'syslog', label: 'syslog collector copy', carries: 'all four' },
] as const;

export type LinkId = (typeof LINKS)[number]['id'];

export interface Chain {
  readonly requestId: string;
  readonly user?: string;
  readonly sid?: string;
  readonly serials: readonly string[];
  readonly device?: string;
  readonly tool?: string;
  /** Every event of the chain, in time order. */
  readonly events: readonly (AuditEvent & { link: LinkId | 'other' })[];
  /** Links with no record, each with the reason it may legitimately be absent, if one is known. */
  readonly missing: readonly { link: LinkId; label: string; note?: string }[];
  /**
   * Records that are present but disagree with the chain: a decision logged after the device had
   * already given up on it, a certificate issued after the call ended. Complete = none missing, none here.
   */
  readonly inconsistent?: readonly string[];
}

/** Complete only when every link is present and every record agrees with the others. */
export function isComplete(chain: Chain): boolean {
  return chain.missing.length === 0 && (chain.inconsistent ?? []).length === 0;
}

export type QueryKind = 'request_id' | 'cert_serial' | 'sid' | 'user';

const byTime = (a: AuditEvent, b: AuditEvent) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0);

function linkOf(e: AuditEvent): LinkId | 'other' {
  switch (e.component) {
    case 'idp':
      if (e.event === 'login') return 'idp-login';
      if (e.event === 'token_issued' || e.event === 'token_exchange') return 'idp-exchange';
      return 'other';
    case 'mcp-server':
      return 'mcp-call';
    case 'ca-broker':
      return 'ca-issue';
    case 'sshd':
      return 'sshd-accept';
    case 'forcecommand':
    // The device's authorization agent answers the validator: the same link of the chain.
    case 'forcecommand-agent':
      return 'validator';
    case 'tacacs-server':
    case 'tacacs':
      return 'tacacs';
    case 'syslog':
      return 'syslog';
    default:
      return 'other';
  }
}

/** Which kind of id the query is, by looking it up in the records (a request id wins over a user name). */
export function classify(events: readonly AuditEvent[], query: string): QueryKind | undefined {
  if (events.some((e) => e.requestId === query)) return 'request_id';
  if (/^\d+$/.test(query) && events.some((e) => e.certSerial === query)) return 'cert_serial';
  if (events.some((e) => e.sid === query)) return 'sid';
  if (events.some((e) => e.user === query)) return 'user';
  return undefined;
}

/** The request ids a query covers, oldest first. */
export function requestIdsFor(events: readonly AuditEvent[], query: string): string[] {
  const kind = classify(events, query);
  if (kind === undefined) return [];
  const matching = events.filter((e) =>
    kind === 'request_id'
      ? e.requestId === query
      : kind === 'cert_serial'
        ? e.certSerial === query
        : kind === 'sid'
          ? e.sid === query
          : e.user === query,
  );
  const first = new Map<string, string>();
  for (const e of matching) {
    if (e.requestId !== undefined && isValidField('requestId', e.requestId)) {
      const t = first.get(e.requestId);
      if (t === undefined || e.time < t) first.set(e.requestId, e.time);
    }
  }
  return [...first.entries()].sort((a, b) => (a[1] < b[1] ? -1 : 1)).map(([id]) => id);
}

/** The first and last time of a call: its MCP server records, or any of its records without them. */
function callWindow(events: readonly AuditEvent[], id: string): [string, string] {
  const mcp = events.filter((e) => e.requestId === id && e.component === 'mcp-server');
  const times = (mcp.length > 0 ? mcp : events.filter((e) => e.requestId === id))
    .map((e) => e.time)
    .filter(Boolean)
    .sort();
  return [times[0] ?? '', times.at(-1) ?? ''];
}

// The syslog copy is stamped by the collector on arrival, a moment after the validator's record.
const inWindow = (e: AuditEvent, [f, t]: [string, string]) =>
  e.time >= f && e.time <= (e.component === 'syslog' && t !== '' ? plusMs(t, 1000) : t);

const deviceSide = (e: AuditEvent) =>
  e.component !== 'mcp-server' &&
  e.component !== 'idp' &&
  e.component !== 'ca-broker' &&
  e.component !== 'sshd';

/**
 * The records that name this call (or, in session mode, the call whose certificate it reuses, inside
 * this call's time), and a note when a device record could belong to another call as well.
 */
function directRecords(events: readonly AuditEvent[], requestId: string) {
  const allOwn = events.filter((e) => e.requestId === requestId);
  // Session mode: the device saw the request id of the call that obtained the reused certificate.
  // Its device-side records inside this call's time window belong to this call; the certificate's
  // issue and the SSH login belong to every call that used them.
  const deviceIds = new Set(
    allOwn.map((e) => e.deviceRequestId).filter((d): d is string => d !== undefined && d !== requestId),
  );
  // Every call that shares the device-side request id with this one (this call's certificate reused
  // by later calls, or this call reusing an earlier call's): their device records carry the same id.
  const certIds = new Set([...deviceIds, requestId]);
  const sharers = new Set<string>();
  for (const e of events) {
    if (e.component !== 'mcp-server' || e.requestId === undefined || e.requestId === requestId) continue;
    if ((e.deviceRequestId !== undefined && certIds.has(e.deviceRequestId)) || certIds.has(e.requestId))
      sharers.add(e.requestId);
  }
  const windowOf = (id: string) => callWindow(events, id);
  const [from, to] = windowOf(requestId);
  const own = allOwn.filter((e) => sharers.size === 0 || !deviceSide(e) || inWindow(e, [from, to]));
  // A device that records each framed request under its own id (the session-mode validator) has this
  // call's records under this call's id: the certificate call's device records are that call's alone.
  // Only a device that saw the certificate's id for every call has to be matched by time.
  const ownDevice = own.some(deviceSide);
  const borrowed = events.filter(
    (e) =>
      e.requestId !== undefined &&
      deviceIds.has(e.requestId) &&
      (e.component === 'ca-broker' ||
        e.component === 'sshd' ||
        (!ownDevice && deviceSide(e) && inWindow(e, [from, to]))),
  );
  // A device record inside this call's window and another sharer's cannot be attributed.
  const otherWindows = [...sharers].map((id) => [id, windowOf(id)] as const);
  const ambiguousWith = new Set<string>();
  let ambiguous = 0;
  for (const e of [...own, ...borrowed]) {
    // A device record under this call's own id is this call's: the session-mode validator records each
    // framed request's id. Only records under the certificate's id (older validators) are ambiguous.
    if (!deviceSide(e) || e.requestId === undefined || !deviceIds.has(e.requestId)) continue;
    const others = otherWindows.filter(([, w]) => inWindow(e, w)).map(([id]) => id);
    if (others.length > 0) {
      ambiguous++;
      for (const o of others) ambiguousWith.add(o);
    }
  }
  const attribution =
    ambiguous === 0
      ? []
      : [
          `${ambiguous} device record(s) fall in the time of call(s) ${[...ambiguousWith].join(', ')} on the same certificate too: the device sees the certificate's request id, not each call's`,
        ];
  return { direct: [...own, ...borrowed], deviceIds, attribution, to };
}

/** Builds the chain of one tool call from every component's records. */
export function traceRequest(events: readonly AuditEvent[], requestId: string): Chain {
  const { direct, deviceIds, attribution, to } = directRecords(events, requestId);
  const serials = [...new Set(direct.map((e) => e.certSerial).filter((s): s is string => s !== undefined))];
  const pick = <K extends 'user' | 'sid' | 'device' | 'tool'>(k: K) =>
    direct.find((e) => e[k] !== undefined)?.[k];
  const user = pick('user');
  const sid = pick('sid');
  const device = pick('device');
  const tool = pick('tool');
  const included = new Set<AuditEvent>(direct);

  // The certificate's own records (broker issue, sshd accept) carry the serial; in session mode one
  // certificate serves several calls, and its records belong to each of their chains.
  for (const e of events) {
    if (e.certSerial !== undefined && serials.includes(e.certSerial) && e.requestId === undefined)
      included.add(e);
  }
  if (sid !== undefined) addIdpRecords(events, included, sid, [...deviceIds][0] ?? requestId, to);

  const chainEvents = [...included].sort(byTime).map((e) => ({ ...e, link: linkOf(e) }));
  const inconsistent = [...disagreements(chainEvents, requestId), ...attribution];
  return {
    requestId,
    inconsistent,
    ...(user !== undefined ? { user } : {}),
    ...(sid !== undefined ? { sid } : {}),
    serials,
    ...(device !== undefined ? { device } : {}),
    ...(tool !== undefined ? { tool } : {}),
    events: chainEvents,
    missing: missingLinks(chainEvents),
  };
}

/**
 * The login of this session, and the token exchange that preceded the certificate: the exchange knows
 * the session, not the request, so the latest one inside that window is the one used. The exchange was
 * made by the call that obtained the certificate (this one, or in session mode the one whose
 * certificate it reuses), between that call's start and the certificate's issue (or this call's end
 * when no certificate was issued): never before the call, never after it.
 */
function addIdpRecords(
  events: readonly AuditEvent[],
  included: Set<AuditEvent>,
  sid: string,
  certCall: string,
  to: string,
): void {
  const exchangeFrom = callWindow(events, certCall)[0];
  const issued = [...included].filter((e) => e.component === 'ca-broker').sort(byTime)[0]?.time ?? to;
  const login = events
    .filter((e) => e.component === 'idp' && e.event === 'login' && e.sid === sid)
    .sort(byTime)[0];
  if (login) included.add(login);
  const exchange = events
    .filter(
      (e) =>
        e.component === 'idp' &&
        e.sid === sid &&
        (e.event === 'token_exchange' ||
          (e.event === 'token_issued' && e.summary.startsWith('token exchange'))) &&
        (exchangeFrom === '' || e.time >= exchangeFrom) &&
        (issued === '' || e.time <= issued),
    )
    .sort(byTime)
    .at(-1);
  if (exchange) included.add(exchange);
}

/** The links of the chain with no record, each with what its absence most likely means. */
function missingLinks(chainEvents: readonly (AuditEvent & { link: string })[]) {
  const present = new Set(chainEvents.map((e) => e.link));
  const validatorDenied = chainEvents.find((e) => e.link === 'validator' && e.decision === 'deny');
  return LINKS.filter((l) => !present.has(l.id)).map((l) => {
    let note: string | undefined;
    if (l.id === 'tacacs' && validatorDenied && !/tacacs|TACACS/.test(validatorDenied.summary)) {
      note = 'the validator denied before asking TACACS+ (or TACACS+ was unreachable: fail-closed)';
    } else if (l.id === 'tacacs' && validatorDenied) {
      note = 'TACACS+ unreachable: the validator failed closed';
    } else if (
      (l.id === 'ca-issue' || l.id === 'sshd-accept' || l.id === 'validator' || l.id === 'idp-exchange') &&
      !present.has('ca-issue') &&
      present.has('mcp-call')
    ) {
      note = 'the call ended before reaching this step (see the MCP server record)';
    }
    return { link: l.id, label: l.label, ...(note !== undefined ? { note } : {}) };
  });
}

/**
 * Records that are present but do not agree with the rest of the chain. Each of these was seen in the
 * lab under faults: an MCP server killed mid-call (no end record), a TACACS+ server that answered after
 * the validator had failed closed on its timeout, a broker that issued a certificate for a call that had
 * already ended. A chain with any of them is not complete.
 */
function disagreements(
  events: readonly (AuditEvent & { link: LinkId | 'other' })[],
  requestId: string,
): string[] {
  const out: string[] = [];
  const own = events.filter((e) => e.requestId === requestId);
  const mcp = own.filter((e) => e.component === 'mcp-server');
  const end = mcp.find((e) => e.event === 'tool_call_end');
  if (mcp.some((e) => e.event === 'tool_call_start') && end === undefined)
    out.push('the MCP server logged the start of the call but not its end (it stopped mid-call?)');
  for (const e of events) {
    if (e.late)
      out.push(
        `${e.component} decided late (${e.decision ?? 'no decision'} at ${shortTime(e.time)}): its caller had given up`,
      );
  }
  const last = (link: LinkId) =>
    events
      .filter(
        (e) =>
          e.link === link && (e.requestId === undefined || e.requestId === requestId || link !== 'validator'),
      )
      .sort(byTime)
      .at(-1);
  const validator = last('validator');
  for (const t of events.filter((e) => e.link === 'tacacs' && !e.late)) {
    if (validator !== undefined && t.time > validator.time && t.decision !== validator.decision)
      out.push(
        `TACACS+ said ${t.decision ?? '?'} at ${shortTime(t.time)}, after the validator had decided ${validator.decision ?? '?'} at ${shortTime(validator.time)}`,
      );
  }
  out.push(...foreignRecords(own, mcp));
  if (end !== undefined) {
    for (const c of events.filter((e) => e.link === 'ca-issue' && e.requestId === requestId)) {
      if (c.time > end.time)
        out.push(
          `certificate issued at ${shortTime(c.time)}, after the call ended at ${shortTime(end.time)}`,
        );
    }
  }
  return out;
}

/**
 * Records under this call's request id that another user or certificate wrote. A session-mode client
 * names each framed request's id itself (the device cannot check it), so a caller holding any valid
 * certificate can put its commands under another call's id; the device records still carry the user
 * and serial of the certificate that ran them, which must be the call's (the MCP server's records, or
 * the certificate the broker issued for it).
 */
function foreignRecords(own: readonly AuditEvent[], mcp: readonly AuditEvent[]): string[] {
  const user = mcp.find((e) => e.user !== undefined)?.user;
  const serials = new Set(
    own
      .filter((e) => e.component === 'mcp-server' || e.component === 'ca-broker')
      .map((e) => e.certSerial)
      .filter((v): v is string => v !== undefined),
  );
  const foreign = own.filter(
    (e) =>
      e.component !== 'mcp-server' &&
      ((user !== undefined && e.user !== undefined && e.user !== user) ||
        (serials.size > 0 && e.certSerial !== undefined && !serials.has(e.certSerial))),
  );
  if (foreign.length === 0) return [];
  const who = [...new Set(foreign.map((e) => `${e.user ?? '?'}/cert:${e.certSerial ?? '?'}`))].join(', ');
  return [
    `${foreign.length} record(s) from ${shortTime(foreign[0]?.time ?? '')} under this request id name ${who}, not the call's user and certificate: another client chose this id`,
  ];
}

function plusMs(iso: string, ms: number): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t + ms).toISOString();
}

function shortTime(iso: string): string {
  return iso ? iso.slice(11, 23) : '??:??:??.???';
}

/** Which correlation ids a record carries, by name: the values are in the chain's header. */
function ids(e: AuditEvent): string {
  const out: string[] = [];
  if (e.user) out.push('user');
  if (e.sid) out.push('sid');
  if (e.certSerial) out.push('serial');
  if (e.requestId) out.push('req');
  return out.join(' ');
}

/** Every line of the trace fits a terminal of this many columns. */
export const TRACE_WIDTH = 120;

function clip(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

/**
 * The chain as the seed's table: time, component, the crucial part of the entry, which ids it
 * carries. Every line fits TRACE_WIDTH columns: the ids' values are printed once, in the header.
 */
export function formatChain(chain: Chain): string[] {
  const lines: string[] = [];
  lines.push(
    clip(
      `request ${chain.requestId}  user=${chain.user ?? '?'}  device=${chain.device ?? '?'}  tool=${chain.tool ?? '?'}`,
      TRACE_WIDTH,
    ),
  );
  lines.push(clip(`  sid=${chain.sid ?? '?'}  serial=${chain.serials.join(',') || '?'}`, TRACE_WIDTH));
  // 2 + 12 + 2 + 20 + 2 + entry + 2 + 19 ("user sid serial req") = 120
  const entryWidth = TRACE_WIDTH - 2 - 12 - 2 - 20 - 2 - 2 - 19;
  lines.push(`  ${'time'.padEnd(12)}  ${'component'.padEnd(20)}  ${'entry'.padEnd(entryWidth)}  ids`);
  for (const e of chain.events) {
    const component = clip(
      e.component + (e.device && e.component !== 'mcp-server' ? `@${e.device}` : ''),
      20,
    );
    lines.push(
      `  ${shortTime(e.time)}  ${component.padEnd(20)}  ${clip(e.summary, entryWidth).padEnd(entryWidth)}  ${ids(e)}`.trimEnd(),
    );
  }
  if (chain.missing.length === 0 && (chain.inconsistent ?? []).length === 0) {
    lines.push('  complete: every link of the chain has a record, and they agree');
  } else {
    for (const m of chain.missing)
      lines.push(clip(`  ✗ missing: ${m.label}${m.note ? ` (${m.note})` : ''}`, TRACE_WIDTH));
    for (const m of chain.inconsistent ?? []) lines.push(clip(`  ✗ inconsistent: ${m}`, TRACE_WIDTH));
  }
  return lines;
}
