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

/** Builds the chain of one tool call from every component's records. */
export function traceRequest(events: readonly AuditEvent[], requestId: string): Chain {
  const own = events.filter((e) => e.requestId === requestId);
  // Session mode: the device saw the request id of the call that obtained the reused certificate.
  // Its device-side records inside this call's time window belong to this call; the certificate's
  // issue and the SSH login belong to every call that used them.
  const deviceIds = new Set(
    own.map((e) => e.deviceRequestId).filter((d): d is string => d !== undefined && d !== requestId),
  );
  const times = own
    .map((e) => e.time)
    .filter(Boolean)
    .sort();
  const from = times[0] ?? '';
  const to = times.at(-1) ?? '';
  const borrowed = events.filter(
    (e) =>
      e.requestId !== undefined &&
      deviceIds.has(e.requestId) &&
      (e.component === 'ca-broker' ||
        e.component === 'sshd' ||
        (e.component !== 'mcp-server' && e.component !== 'idp' && e.time >= from && e.time <= to)),
  );
  const direct = [...own, ...borrowed];
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
  const start = [...included].sort(byTime)[0]?.time ?? '';
  const issued = [...included].filter((e) => e.component === 'ca-broker').sort(byTime)[0]?.time ?? start;
  if (sid !== undefined) {
    // The login of this session, and the token exchange that preceded the certificate: the exchange
    // knows the session, not the request, so the latest one before the certificate is the one used.
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
          (issued === '' || e.time <= issued),
      )
      .sort(byTime)
      .at(-1);
    if (exchange) included.add(exchange);
  }

  const chainEvents = [...included].sort(byTime).map((e) => ({ ...e, link: linkOf(e) }));
  const present = new Set(chainEvents.map((e) => e.link));
  const validatorDenied = chainEvents.find((e) => e.link === 'validator' && e.decision === 'deny');
  const missing = LINKS.filter((l) => !present.has(l.id)).map((l) => {
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
  return {
    requestId,
    ...(user !== undefined ? { user } : {}),
    ...(sid !== undefined ? { sid } : {}),
    serials,
    ...(device !== undefined ? { device } : {}),
    ...(tool !== undefined ? { tool } : {}),
    events: chainEvents,
    missing,
  };
}

function shortTime(iso: string): string {
  return iso ? iso.slice(11, 23) : '??:??:??.???';
}

function ids(e: AuditEvent): string {
  const out: string[] = [];
  if (e.user) out.push(`user=${e.user}`);
  if (e.sid) out.push(`sid=${e.sid.slice(0, 8)}…`);
  if (e.certSerial) out.push(`serial=${e.certSerial}`);
  if (e.requestId) out.push(`req=${e.requestId.slice(0, 8)}…`);
  return out.join(' ');
}

/** The chain as the seed's table: time, component, the crucial part of the entry, its ids. */
export function formatChain(chain: Chain): string[] {
  const lines: string[] = [];
  lines.push(
    `request ${chain.requestId}  user=${chain.user ?? '?'} sid=${chain.sid ?? '?'} serial=${chain.serials.join(',') || '?'} device=${chain.device ?? '?'} tool=${chain.tool ?? '?'}`,
  );
  lines.push(`  ${'time'.padEnd(12)}  ${'component'.padEnd(22)}  ${'entry'.padEnd(64)}  ids`);
  for (const e of chain.events) {
    const summary = e.summary.length > 64 ? `${e.summary.slice(0, 61)}...` : e.summary;
    lines.push(
      `  ${shortTime(e.time)}  ${(e.component + (e.device && e.component !== 'mcp-server' ? `@${e.device}` : '')).padEnd(22)}  ${summary.padEnd(64)}  ${ids(e)}`,
    );
  }
  if (chain.missing.length === 0) {
    lines.push('  every link of the chain has a record');
  } else {
    for (const m of chain.missing) lines.push(`  ✗ missing: ${m.label}${m.note ? ` (${m.note})` : ''}`);
  }
  return lines;
}
