/**
 * Keycloak as the lab's IdP: the pinned distribution (downloads.ts) started per lab with
 * `kc.sh start --optimized` on the embedded in-memory H2 database, then the realm the compose lab
 * imports (src/compose/keycloak-realm.ts, rendered from the lab's policy for this lab's addresses)
 * created through the admin REST API, with the lab's own secrets put in where the compose file has
 * `${...}` placeholders.
 *
 * Why not `start-dev --import-realm`: start-dev re-builds the Quarkus application into the shared
 * installation on every start (24 s measured on two cores) and `--import-realm` reads the installation's
 * data/import/, also shared; two labs on one machine would race on both. The running server is the same.
 *
 * What a production Keycloak would change (docker/README.md says the same): a real database
 * (`--db=postgres`) instead of dev-mem, TLS and a fixed public hostname, no bootstrap admin left over,
 * no direct grants on the agents' client, and the realm managed as code outside the lab.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Policy } from '@netward/policy';
import { renderComposeRealm } from '../compose/keycloak-realm.ts';
import { CLIENTS, REALM } from '../compose/site.ts';
import { LabError } from '../errors.ts';
import { loadUsers } from '../idp/config.ts';
import type { LabLayout } from '../layout.ts';
import type { ServiceSpec } from '../services/supervisor.ts';
import { httpOk } from '../system/probe.ts';
import { KEYCLOAK_MANAGEMENT_PORT, KEYCLOAK_PORT, stackEndpoints, stackPaths, stackSite } from './site.ts';

const ADMIN_USER = 'netward-lab-admin';

/** The bootstrap admin's password: random per lab, 0600 in state/, given to Keycloak by environment. */
function adminPassword(layout: LabLayout): string {
  const file = stackPaths(layout).keycloakAdminPassword;
  if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString('base64url'), { mode: 0o600 });
  chmodSync(file, 0o600);
  return readFileSync(file, 'utf8').trim();
}

export function keycloakSpec(layout: LabLayout, home: string): ServiceSpec {
  const site = stackSite(layout);
  return {
    name: 'keycloak',
    command: join(home, 'bin', 'kc.sh'),
    args: [
      'start',
      '--optimized',
      '--http-enabled=true',
      `--http-host=${layout.hostMgmtAddress}`,
      `--http-port=${KEYCLOAK_PORT}`,
      `--http-management-port=${KEYCLOAK_MANAGEMENT_PORT}`,
      // One issuer whoever asks (the MCP server, the broker and OpenBao all compare it).
      `--hostname=${site.keycloakUrl}`,
      // The audit trail: one JSON line per event (logins and token exchanges are INFO, not DEBUG).
      '--log-console-output=json',
      '--spi-events-listener--jboss-logging--success-level=info',
    ],
    // Secrets by environment, never argv: /proc/<pid>/environ is readable by root only.
    env: {
      KC_BOOTSTRAP_ADMIN_USERNAME: ADMIN_USER,
      KC_BOOTSTRAP_ADMIN_PASSWORD: adminPassword(layout),
    },
    log: stackPaths(layout).keycloakLog,
    ready: () => httpOk(stackEndpoints(layout).keycloakHealth),
    // Measured: 14 s to ready on an idle two-core machine; several times that with the cores shared.
    readyTimeoutMs: 240_000,
  };
}

async function adminToken(layout: LabLayout): Promise<string> {
  const site = stackSite(layout);
  const res = await fetch(`${site.keycloakUrl}/realms/master/protocol/openid-connect/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: 'admin-cli',
      username: ADMIN_USER,
      password: adminPassword(layout),
    }).toString(),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await res.json().catch(() => ({}))) as { access_token?: unknown };
  if (!res.ok || typeof body.access_token !== 'string') {
    throw new LabError('ERR_LAB_SERVICE', `keycloak: admin login refused (HTTP ${res.status})`);
  }
  return body.access_token;
}

export interface RealmSecrets {
  /** The MCP server's client secret (the compose file's `${NETWARD_MCP_CLIENT_SECRET}`). */
  readonly mcpClientSecret: string;
  /** Each user's password (the compose file has one `${NETWARD_DEMO_PASSWORD}` for all). */
  readonly passwords: Readonly<Record<string, string>>;
}

/**
 * The compose lab's realm, rendered by the same function for this lab's site, with this lab's secrets
 * where the compose file has `${...}` placeholders. Pure: the parity test compares it with the file.
 */
export function stackRealm(
  layout: LabLayout,
  policy: Policy,
  secrets: RealmSecrets,
): Record<string, unknown> {
  const realm = renderComposeRealm(policy, stackSite(layout)) as {
    clients: Array<{ clientId: string; secret?: string }>;
    users: Array<{ username: string; credentials: Array<{ value: string }> }>;
  };
  for (const c of realm.clients) if (c.clientId === CLIENTS.mcp) c.secret = secrets.mcpClientSecret;
  for (const u of realm.users) {
    const password = secrets.passwords[u.username];
    if (password === undefined) throw new LabError('ERR_LAB_CONFIG', `no lab password for ${u.username}`);
    for (const c of u.credentials) c.value = password;
  }
  return realm as unknown as Record<string, unknown>;
}

function labRealm(layout: LabLayout, policy: Policy): Record<string, unknown> {
  const users = loadUsers(layout.paths.usersFile);
  return stackRealm(layout, policy, {
    mcpClientSecret: readFileSync(layout.paths.exchangeSecret, 'utf8').trim(),
    passwords: Object.fromEntries(Object.entries(users).map(([name, u]) => [name, u.password])),
  });
}

/** Creates the realm unless this Keycloak already has it (an `up` run again on a running lab). */
export async function importRealm(layout: LabLayout, policy: Policy): Promise<'created' | 'present'> {
  const site = stackSite(layout);
  const token = await adminToken(layout);
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const existing = await fetch(`${site.keycloakUrl}/admin/realms/${REALM}`, {
    headers,
    signal: AbortSignal.timeout(30_000),
  });
  await existing.arrayBuffer();
  if (existing.ok) return 'present';
  const res = await fetch(`${site.keycloakUrl}/admin/realms`, {
    method: 'POST',
    headers,
    body: JSON.stringify(labRealm(layout, policy)),
    signal: AbortSignal.timeout(120_000),
  });
  const text = await res.text();
  if (res.status !== 201) {
    throw new LabError(
      'ERR_LAB_SERVICE',
      `keycloak: realm import refused (HTTP ${res.status}): ${text.slice(0, 300)}`,
    );
  }
  return 'created';
}

/**
 * A lab user's access token from Keycloak. Keycloak's login page is a browser form; the realm enables
 * the resource owner password grant on the agents' client for the lab's command-line demo only (the
 * realm file says so), and that is what this uses: the token is the same one an authorization code +
 * PKCE login would give (same client, scopes and mappers).
 */
export async function keycloakLogin(
  layout: LabLayout,
  user: string,
): Promise<{ accessToken: string; scope: string; expiresIn: number }> {
  const users = loadUsers(layout.paths.usersFile);
  const entry = users[user];
  if (entry === undefined) throw new LabError('ERR_LAB_LOGIN', `no lab user ${user}`);
  const res = await fetch(stackEndpoints(layout).tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: CLIENTS.agent,
      username: user,
      password: entry.password,
      scope: 'openid',
    }).toString(),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok || typeof body['access_token'] !== 'string') {
    throw new LabError('ERR_LAB_LOGIN', `keycloak login of ${user}: ${String(body['error'] ?? res.status)}`);
  }
  return {
    accessToken: body['access_token'],
    scope: String(body['scope'] ?? ''),
    expiresIn: Number(body['expires_in']),
  };
}
