import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isValidField, parseAuditLine, parseKeyId, RECORD_FIELDS } from '@netward/audit-context';
import { readKeycloakLog } from './keycloak.ts';

/** One record of one component's log, reduced to what the trace needs. */
export interface AuditEvent {
  /** ISO 8601; events without a time sort by their file order after those with one. */
  readonly time: string;
  /** idp, mcp-server, ca-broker, sshd, forcecommand, syslog, tacacs-server */
  readonly component: string;
  /** The device the record comes from (sshd, validator) or is about. */
  readonly device?: string;
  readonly user?: string;
  readonly sid?: string;
  readonly role?: string;
  readonly certSerial?: string;
  readonly requestId?: string;
  /**
   * Session mode: the request id the device sees (that of the call which obtained the certificate the
   * session reuses), logged by the MCP server as `device_request_id`.
   */
  readonly deviceRequestId?: string;
  readonly tool?: string;
  readonly decision?: string;
  readonly event?: string;
  /** The component said it decided after its caller had given up (`late: true` in the record). */
  readonly late?: boolean;
  /** The crucial part of the entry, one line. */
  readonly summary: string;
  /** file:line */
  readonly source: string;
}

type Raw = Record<string, unknown>;

/** The lab's JSON-lines logs of the host's services (the devices' are named per device). */
const JSON_LOGS = new Set(['idp.log', 'mcp-server.log', 'ca-broker.log', 'tacacs.log', 'syslog.jsonl']);

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? String(v) : undefined;
}

/** Correlation fields of a JSON record, each taken only when it has its field's shape. */
type FieldOf = (typeof RECORD_FIELDS)[keyof typeof RECORD_FIELDS];

function correlation(r: Raw): Partial<Record<FieldOf, string>> {
  const out: Partial<Record<FieldOf, string>> = {};
  for (const [name, field] of Object.entries(RECORD_FIELDS) as [keyof typeof RECORD_FIELDS, FieldOf][]) {
    const v = str(r[name]);
    if (v !== undefined && isValidField(field, v)) out[field] = v;
  }
  if (out.certSerial === undefined) {
    const serial = str(r['serial']);
    if (serial !== undefined && isValidField('certSerial', serial)) out.certSerial = serial;
  }
  return out;
}

/** The validator's line after its `[role/user/cert:…/sid:…/req:…]` prefix: the decision and the command. */
function afterPrefix(msg: string | undefined): string | undefined {
  const m = msg === undefined ? null : /^\[[^\]]*\] (.*)$/s.exec(msg);
  return m?.[1];
}

/** The crucial part of each component's entry, as in the seed's audit table. */
function componentSummary(component: string, r: Raw): string | undefined {
  const event = str(r['event']);
  switch (component) {
    case 'idp':
      if (event === 'login') return str(r['msg']);
      if (event === 'token_issued') {
        const gty = str(r['grant_type']);
        const act = str(r['actor']);
        return `${gty === 'token-exchange' ? 'token exchange' : `token (${gty ?? '?'})`} for ${str(r['audience']) ?? '?'}${act ? ` act=${act}` : ''}`;
      }
      return undefined;
    case 'mcp-server':
      if (event === 'tool_call_start') {
        return `start ${str(r['tool']) ?? '?'} on ${str(r['device']) ?? '?'}${r['unsafe_tool'] ? ' (UNSAFE raw tool)' : ''}`;
      }
      if (event === 'tool_call_end') {
        const d = typeof r['duration_ms'] === 'number' ? ` ${Math.round(r['duration_ms'])} ms` : '';
        return `end ${str(r['outcome']) ?? str(r['decision']) ?? '?'}${d}`;
      }
      return undefined;
    case 'ca-broker': {
      const decision = str(r['decision']);
      if (decision === undefined) return undefined;
      return `${decision} ${str(r['certificate_type']) ?? ''} cert principal=${str(r['role']) ?? '?'} ttl=${String(r['ttl'] ?? '?')}${str(r['actor']) ? ` act=${str(r['actor'])}` : ''}${str(r['code']) ? ` ${str(r['code'])}` : ''}`.replace(
        /\s+/g,
        ' ',
      );
    }
    case 'tacacs-server': {
      const t = r['tacacs'] as Raw | undefined;
      if (!t || typeof t !== 'object') return undefined;
      const args = Array.isArray(t['args']) ? ` ${(t['args'] as unknown[]).map(String).join(' ')}` : '';
      return `user=${str(t['user']) ?? '?'} decision=${str(r['decision']) ?? str(r['status']) ?? '?'} cmd="${str(t['cmd']) ?? ''}${args}" rem_addr=${str(t['rem_addr']) ?? '-'}`;
    }
    default:
      return undefined;
  }
}

function summarize(component: string, r: Raw): string {
  const parts: string[] = [];
  if (component === 'forcecommand') {
    const decision = afterPrefix(str(r['msg']));
    // Which validator served it: the device's resident one, or a process of the command's own.
    if (decision) return r['served_by'] === 'resident' ? `${decision} [resident]` : decision;
  }
  if (component === 'syslog') {
    const record = r['record'] as Raw | undefined;
    const decision = record && typeof record === 'object' ? afterPrefix(str(record['msg'])) : undefined;
    if (decision) return `copy from ${str(r['origin']) ?? '?'}: ${decision}`;
  }
  const special = componentSummary(component, r);
  if (special !== undefined) return special;
  const msg = str(r['msg']);
  if (msg) parts.push(msg);
  for (const k of [
    'event',
    'decision',
    'code',
    'grant_type',
    'outcome',
    'command',
    'cmd',
    'principal',
    'principals',
  ]) {
    const v = r[k];
    if (v === undefined || v === null) continue;
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    if (msg?.includes(text)) continue;
    parts.push(`${k}=${text.length > 80 ? `${text.slice(0, 77)}...` : text}`);
  }
  const tacacs = r['tacacs'] as Raw | undefined;
  if (component.startsWith('tacacs') && tacacs && typeof tacacs === 'object') {
    const cmd = str(tacacs['cmd']);
    const args = Array.isArray(tacacs['args']) ? (tacacs['args'] as unknown[]).map(String).join(' ') : '';
    if (cmd) parts.push(`cmd="${cmd}${args ? ` ${args}` : ''}"`);
  }
  return parts.join(' ');
}

function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n');
  } catch {
    return [];
  }
}

/**
 * JSON-lines logs (every component's pino logger): one event per line that is an audit record
 * (audit-context's schema: time, level, component, correlation fields in their formats). Anything else
 * on the line's place (a stack trace, a half-written line) is not an event.
 */
export function readJsonLog(file: string, device?: string): AuditEvent[] {
  const out: AuditEvent[] = [];
  readLines(file).forEach((line, i) => {
    const record = parseAuditLine(line);
    if (record === undefined) return;
    const r = record as Raw;
    const { component, time } = record;
    const c = correlation(r);
    const dev = c.device ?? device;
    const deviceRequestId = str(r['device_request_id']);
    out.push({
      time,
      component,
      ...c,
      ...(dev !== undefined ? { device: dev } : {}),
      ...(deviceRequestId !== undefined && isValidField('requestId', deviceRequestId)
        ? { deviceRequestId }
        : {}),
      ...(str(r['decision']) !== undefined ? { decision: str(r['decision']) as string } : {}),
      ...(str(r['event']) !== undefined ? { event: str(r['event']) as string } : {}),
      ...(r['late'] === true ? { late: true } : {}),
      summary: summarize(component, r),
      source: `${basename(file)}:${i + 1}`,
    });
  });
  return out;
}

/**
 * sshd's authentication lines, as timestamped by the lab (`<iso> <sshd line>`), e.g.
 *   Accepted publickey for net-operator from 10.255.0.1 port 50412 ssh2: ED25519-CERT SHA256:...
 *   ID sid=...,user=bob,req=... (serial 1580034476) CA ED25519 SHA256:...
 * The Key ID is the broker's; it is parsed strictly (parseKeyId), so a malformed one is shown, not used.
 */
const ACCEPTED =
  /^Accepted publickey for (\S+) from (\S+) port (\d+) ssh2: (\S+) (\S+) ID (.*) \(serial (\d+)\) CA (\S+) (\S+)/;

export function readSshdLog(file: string, device: string): AuditEvent[] {
  const out: AuditEvent[] = [];
  readLines(file).forEach((line, i) => {
    const sp = line.indexOf(' ');
    const time = /^\d{4}-\d\d-\d\dT/.test(line) ? line.slice(0, sp) : '';
    const text = time ? line.slice(sp + 1) : line;
    const m = ACCEPTED.exec(text);
    if (m === null) {
      if (
        /Certificate invalid|certificate .* (expired|not yet valid)|not in principals|refusing|Authentication refused/i.test(
          text,
        )
      ) {
        out.push({
          time,
          component: 'sshd',
          device,
          decision: 'refused',
          summary: text.slice(0, 200),
          source: `${basename(file)}:${i + 1}`,
        });
      }
      return;
    }
    const [, account, from, , keyType, , keyId, serial] = m;
    let ids: { user?: string; sid?: string; requestId?: string } = {};
    try {
      ids = parseKeyId(keyId as string);
    } catch {
      // shown in the summary, not used for correlation
    }
    out.push({
      time,
      component: 'sshd',
      device,
      ...(isValidField('role', account) ? { role: account as string } : {}),
      ...(ids.user !== undefined ? { user: ids.user } : {}),
      ...(ids.sid !== undefined ? { sid: ids.sid } : {}),
      ...(ids.requestId !== undefined ? { requestId: ids.requestId } : {}),
      ...(isValidField('certSerial', serial) ? { certSerial: serial as string } : {}),
      decision: 'accepted',
      summary: `Accepted ${keyType} for ${account} from ${from} ID "${keyId}" serial ${serial}`,
      source: `${basename(file)}:${i + 1}`,
    });
  });
  return out;
}

/**
 * tac_plus-ng's authorization log, when the lab runs it (`--tacacs tac_plus-ng`), in the format the
 * policy renders: `${nas} ${user} ${port} ${nac} ${profile} ${result} ...` separated by ${FS}, after
 * tac_plus-ng's own timestamp. Read tolerantly: the netward rem_addr (nac) carries the ids, the result
 * word the decision. Written from the configuration only: no tac_plus-ng runs on the machine this was
 * built on, so no real log was available to check it against.
 */
const REM_ADDR_IN_LINE =
  /([A-Za-z0-9][A-Za-z0-9._@+-]{0,63})\/cert:(\d{1,20})\/sid:([A-Za-z0-9_-]{1,96})\/req:([A-Za-z0-9_-]{16,43})/;

export function readTacPlusNgLog(file: string): AuditEvent[] {
  const out: AuditEvent[] = [];
  readLines(file).forEach((line, i) => {
    const m = REM_ADDR_IN_LINE.exec(line);
    if (m === null) return;
    const t = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:\.\d+)?\s*([+-]\d{4}|Z)?/.exec(line);
    let time = '';
    if (t) {
      const zone = t[3] === undefined || t[3] === 'Z' ? 'Z' : `${t[3].slice(0, 3)}:${t[3].slice(3)}`;
      const d = new Date(`${t[1]}T${t[2]}${zone}`);
      if (!Number.isNaN(d.getTime())) time = d.toISOString();
    }
    const result = /\b(permit|deny)\b/i.exec(line)?.[1]?.toLowerCase();
    const [, user, certSerial, sid, requestId] = m;
    const ids = {
      ...(isValidField('user', user) ? { user: user as string } : {}),
      ...(isValidField('certSerial', certSerial) ? { certSerial: certSerial as string } : {}),
      ...(isValidField('sid', sid) ? { sid: sid as string } : {}),
      ...(isValidField('requestId', requestId) ? { requestId: requestId as string } : {}),
    };
    out.push({
      time,
      component: 'tacacs-server',
      ...ids,
      ...(result !== undefined ? { decision: result } : {}),
      summary: `tac_plus-ng ${result ?? '?'}: ${line.replace(/\t/g, ' ').slice(0, 160)}`,
      source: `${basename(file)}:${i + 1}`,
    });
  });
  return out;
}

/** Every component's records in a lab's log directory. */
export function readLabEvents(logDir: string): AuditEvent[] {
  if (!existsSync(logDir)) return [];
  const events: AuditEvent[] = [];
  const tacPlusNg = join(logDir, 'tac_plus-ng', 'authz.log');
  if (existsSync(tacPlusNg)) events.push(...readTacPlusNgLog(tacPlusNg));
  for (const name of readdirSync(logDir).sort()) {
    const file = join(logDir, name);
    const fc = /^forcecommand-(.+)\.jsonl$/.exec(name);
    const agent = /^agent-(.+)\.log$/.exec(name);
    // A resident validator's own log (resident-<device>-<account>.log): its start, stop and refusals.
    const resident = /^resident-(.+)-net-(?:viewer|operator|admin)\.log$/.exec(name);
    const sshd = /^sshd-(.+)\.log$/.exec(name);
    // Replicas (`--replicas 2`) log to <service>-<n>.log beside the first one's <service>.log.
    const replica = /^(?:mcp-server|ca-broker|tacacs)-\d+\.log$/.test(name);
    if (JSON_LOGS.has(name) || replica) events.push(...readJsonLog(file));
    else if (name === 'keycloak.log') events.push(...readKeycloakLog(readLines(file), file));
    else if (agent) events.push(...readJsonLog(file, agent[1] as string));
    else if (resident) events.push(...readJsonLog(file, resident[1] as string));
    else if (fc) events.push(...readJsonLog(file, fc[1]));
    else if (sshd && !name.endsWith('.stderr.log')) events.push(...readSshdLog(file, sshd[1] as string));
  }
  return events;
}
