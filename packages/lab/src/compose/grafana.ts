// The Grafana dashboard of the audit trail: one text box per correlation id and one logs panel per id,
// each a LogQL query that finds the id in every format the chain writes it in (audit-context's
// encodings): JSON log lines (`"request_id":"..."`), the certificate Key ID that sshd logs
// (`sid=...,user=...,req=...`, `(serial N)`), and the validator's and TACACS+'s prefix and rem_addr
// (`[role/user/cert:<serial>/sid:<sid>/req:<id>]`, `user/cert:<serial>/sid:<sid>/req:<id>`).

const DATASOURCE = { type: 'loki', uid: 'netward-loki' };
/** Every stream Promtail ships: container logs and syslog relayed by syslog-ng. */
const STREAMS = '{source=~"container|syslog"}';

interface Correlation {
  readonly field: 'user' | 'sid' | 'cert_serial' | 'request_id';
  readonly title: string;
  /** RE2 alternatives matching the value `$<field>` in each format. */
  readonly patterns: readonly string[];
}

export const CORRELATIONS: readonly Correlation[] = Object.freeze([
  {
    field: 'user',
    title: 'By user',
    patterns: ['"user":"$user"', 'user=$user\\b', '\\b$user/cert:'],
  },
  {
    field: 'sid',
    title: 'By IdP session (sid)',
    patterns: ['"sid":"$sid"', 'sid=$sid\\b', 'sid:$sid\\b'],
  },
  {
    field: 'cert_serial',
    title: 'By certificate serial',
    patterns: ['"cert_serial":"$cert_serial"', '\\(serial $cert_serial\\)', 'cert:$cert_serial/'],
  },
  {
    field: 'request_id',
    title: 'By request id (one tool call)',
    patterns: ['"request_id":"$request_id"', 'req=$request_id\\b', 'req:$request_id\\b'],
  },
]);

/** The LogQL query of one correlation panel. */
export function correlationQuery(c: Correlation): string {
  // LogQL strings are Go strings: backslashes are doubled inside the double quotes.
  const regex = c.patterns.join('|').replaceAll('\\', '\\\\').replaceAll('"', '\\"');
  return `${STREAMS} |~ "${regex}"`;
}

function textbox(name: string, label: string) {
  return {
    name,
    label,
    type: 'textbox',
    query: '',
    current: { text: '', value: '' },
    hide: 0,
  };
}

function logsPanel(id: number, title: string, expr: string, y: number, description: string) {
  return {
    id,
    type: 'logs',
    title,
    description,
    datasource: DATASOURCE,
    gridPos: { h: 10, w: 24, x: 0, y },
    options: {
      showTime: true,
      wrapLogMessage: true,
      sortOrder: 'Ascending',
      enableLogDetails: true,
      dedupStrategy: 'none',
    },
    targets: [{ refId: 'A', datasource: DATASOURCE, expr, queryType: 'range' }],
  };
}

export function renderAuditDashboard(): unknown {
  const panels = CORRELATIONS.map((c, i) =>
    logsPanel(
      i + 1,
      `${c.title}: $${c.field}`,
      correlationQuery(c),
      i * 10,
      `Every component's record carrying this ${c.field}, oldest first: IdP, MCP server, CA broker, OpenBao, sshd, validator, TACACS+.`,
    ),
  );
  panels.push(
    logsPanel(
      CORRELATIONS.length + 1,
      'Device decisions (validator and TACACS+)',
      '{source="syslog"} |~ "PERMIT|DENY|permit|deny"',
      CORRELATIONS.length * 10,
      'Every permit and deny on the devices, whoever asked.',
    ),
  );
  return {
    uid: 'netward-audit',
    title: 'netward audit trail',
    description: 'One query per correlation id rebuilds the chain from login to command.',
    tags: ['netward', 'audit'],
    editable: false,
    schemaVersion: 39,
    time: { from: 'now-1h', to: 'now' },
    refresh: '10s',
    templating: {
      list: CORRELATIONS.map((c) => textbox(c.field, c.field)),
    },
    panels,
  };
}
