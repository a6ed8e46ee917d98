// The JSON artifacts for the services: CA broker (role -> principal, TTL, extensions), MCP server
// (tool -> scope) and identity providers (role claim values and the scopes they grant).
import type { Policy } from '../types.ts';

/** Name of the IdP claim that carries the role (the seed's `net_role`). */
export const ROLE_CLAIM = 'net_role';

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/**
 * CA broker map, keyed by the IdP role value the broker reads from the token:
 * `{ version, claim, roles: { [idpRole]: { role, principals, ttlSeconds, maxTtlSeconds, extensions, devices? } } }`.
 */
export function renderBrokerRoles(policy: Policy): string {
  const roles: Record<string, unknown> = {};
  for (const r of policy.roles) {
    roles[r.idpRole] = {
      role: r.name,
      principals: [r.name],
      ttlSeconds: r.certificate.ttlSeconds,
      maxTtlSeconds: r.certificate.maxTtlSeconds,
      extensions: [...r.certificate.extensions],
      ...(r.devices === undefined ? {} : { devices: r.devices }),
    };
  }
  return json({ version: 1, claim: ROLE_CLAIM, roles });
}

/** MCP server map: `{ version, tools: { [name]: { scope, description, command?, unsafe? } } }`. */
export function renderMcpTools(policy: Policy): string {
  const tools: Record<string, unknown> = {};
  for (const t of policy.tools) {
    tools[t.name] = {
      scope: t.scope,
      description: t.description,
      ...(t.command === undefined ? {} : { command: t.command }),
      ...(t.unsafe === undefined ? {} : { unsafe: t.unsafe }),
    };
  }
  return json({ version: 1, tools });
}

/** Formats `renderIdp` can produce; `keycloak-realm` is planned for the compose lab. */
export type IdpFormat = 'netward';

/**
 * Roles and scopes for an identity provider: `{ version, claim, roles: [{ value, role, scopes }],
 * scopes: [every scope, sorted] }`. The lab IdP reads this directly; other formats (a Keycloak realm) are
 * projections of the same data, selected by `format`.
 */
export function renderIdp(policy: Policy, opts: { format?: IdpFormat } = {}): string {
  void opts.format;
  const scopes = [
    ...new Set(policy.roles.flatMap((r) => r.scopes).concat(policy.tools.map((t) => t.scope))),
  ].sort();
  return json({
    version: 1,
    claim: ROLE_CLAIM,
    roles: policy.roles.map((r) => ({ value: r.idpRole, role: r.name, scopes: [...r.scopes] })),
    scopes,
  });
}
