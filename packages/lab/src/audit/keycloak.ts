import { basename } from 'node:path';
import { isValidField } from '@netward/audit-context';
import type { AuditEvent } from './sources.ts';

/**
 * Keycloak's own audit records (`--stack keycloak`): the realm enables events with the `jboss-logging`
 * listener, and the lab starts Keycloak with JSON console output and success events at INFO, so each
 * login and token exchange is one JSON line whose `message` reads
 *   type="TOKEN_EXCHANGE", realmName="netward", clientId="netward-mcp", userId="…", sessionId="…",
 *   ipAddress="10.255.0.1", …, username="bob"
 * Keycloak's `sessionId` is the `sid` claim of the tokens of that login, so the trace links the login
 * and the exchange to the certificate by `sid`, as it does for the lab IdP.
 */
const EVENT_OF: Readonly<Record<string, string>> = {
  LOGIN: 'login',
  TOKEN_EXCHANGE: 'token_exchange',
  LOGIN_ERROR: 'login_error',
  TOKEN_EXCHANGE_ERROR: 'token_exchange_error',
};

function field(message: string, name: string): string | undefined {
  return new RegExp(`(?:^|[ ,])${name}="([^"]*)"`).exec(message)?.[1];
}

export function readKeycloakLog(lines: readonly string[], file: string): AuditEvent[] {
  const out: AuditEvent[] = [];
  lines.forEach((line, i) => {
    if (!line.startsWith('{')) return;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const message = typeof r['message'] === 'string' ? r['message'] : '';
    const type = field(message, 'type');
    const event = type === undefined ? undefined : EVENT_OF[type];
    if (event === undefined) return;
    const sid = field(message, 'sessionId');
    const user = field(message, 'username');
    const client = field(message, 'clientId') ?? '?';
    const error = field(message, 'error');
    out.push({
      time: typeof r['timestamp'] === 'string' ? new Date(r['timestamp']).toISOString() : '',
      component: 'idp',
      event,
      ...(sid !== undefined && isValidField('sid', sid) ? { sid } : {}),
      ...(user !== undefined && isValidField('user', user) ? { user } : {}),
      summary: `keycloak ${type} client=${client}${error ? ` error=${error}` : ''}`,
      source: `${basename(file)}:${i + 1}`,
    });
  });
  return out;
}
