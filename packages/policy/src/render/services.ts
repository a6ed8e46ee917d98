// The JSON artifacts for the services: CA broker (role -> principal, TTL, extensions), MCP server
// (tool -> scope) and identity providers (role claim values and the scopes they grant).
import { PolicyError } from '../errors.ts';
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

/** Formats `renderIdp` can produce. */
export type IdpFormat = 'netward' | 'keycloak-realm';

export interface IdpOptions {
  /** Default `netward`: the lab IdP's own format. */
  readonly format?: IdpFormat;
  /** keycloak-realm: realm name (default `netward`). */
  readonly realm?: string;
  /** keycloak-realm: client holding the roles as client roles (default `netward`). */
  readonly rolesClientId?: string;
}

/**
 * Roles and scopes for an identity provider.
 * - `netward` (default): `{ version, claim, roles: [{ value, role, scopes }], scopes: [every scope, sorted] }`,
 *   read by the lab IdP.
 * - `keycloak-realm`: a realm import (see renderKeycloakRealm).
 */
export function renderIdp(policy: Policy, opts: IdpOptions = {}): string {
  if (opts.format === 'keycloak-realm') return renderKeycloakRealm(policy, opts);
  return json({
    version: 1,
    claim: ROLE_CLAIM,
    roles: policy.roles.map((r) => ({ value: r.idpRole, role: r.name, scopes: [...r.scopes] })),
    scopes: allScopes(policy),
  });
}

function allScopes(policy: Policy): string[] {
  return [...new Set(policy.roles.flatMap((r) => r.scopes).concat(policy.tools.map((t) => t.scope)))].sort();
}

/**
 * A Keycloak realm import (RealmRepresentation) carrying the same data:
 * - each IdP role is a client role of a bearer-only client (`rolesClientId`), so the `net_role` claim can be
 *   filled from exactly those roles (a client-role mapper, single-valued) without the realm's default roles;
 * - each MCP scope is an optional client scope included in the token's `scope`, with role scope mappings to
 *   the roles that grant it: Keycloak applies a client scope that has role scope mappings only to users
 *   holding one of those roles ("Client scopes permissions" in the server administration guide), so a
 *   viewer asking for `mcp:config:write` does not get it;
 * - a default client scope `net_role` carries the mapper.
 * Users and the agent's client are the deployment's business and are not included. Not checked against a
 * running Keycloak in this repository (none runs here); the compose lab is where it is loaded.
 */
export function renderKeycloakRealm(policy: Policy, opts: IdpOptions = {}): string {
  const client = opts.rolesClientId ?? 'netward';
  for (const [what, v] of [
    ['realm', opts.realm ?? 'netward'],
    ['rolesClientId', client],
  ] as const) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(v)) {
      throw new PolicyError(
        'ERR_POLICY_TARGET',
        `${what} must be letters, digits, _ . - (got ${JSON.stringify(v)})`,
      );
    }
  }
  const scopes = allScopes(policy);
  return json({
    realm: opts.realm ?? 'netward',
    enabled: true,
    clients: [
      {
        clientId: client,
        name: 'netward roles',
        description: `Holds the netward roles (rendered from ${policy.source}); no login.`,
        enabled: true,
        bearerOnly: true,
        protocol: 'openid-connect',
      },
    ],
    roles: {
      client: {
        [client]: policy.roles.map((r) => ({
          name: r.idpRole,
          description: `netward role ${r.name}: ${r.scopes.join(' ') || 'no scopes'}`,
          clientRole: true,
        })),
      },
    },
    clientScopes: [
      {
        name: ROLE_CLAIM,
        description: 'The netward role as a single-valued claim',
        protocol: 'openid-connect',
        attributes: { 'include.in.token.scope': 'false', 'display.on.consent.screen': 'false' },
        protocolMappers: [
          {
            name: ROLE_CLAIM,
            protocol: 'openid-connect',
            protocolMapper: 'oidc-usermodel-client-role-mapper',
            consentRequired: false,
            config: {
              'usermodel.clientRoleMapping.clientId': client,
              'claim.name': ROLE_CLAIM,
              'jsonType.label': 'String',
              multivalued: 'false',
              'access.token.claim': 'true',
              'id.token.claim': 'true',
              'userinfo.token.claim': 'true',
            },
          },
        ],
      },
      ...scopes.map((scope) => ({
        name: scope,
        protocol: 'openid-connect',
        attributes: { 'include.in.token.scope': 'true', 'display.on.consent.screen': 'false' },
      })),
    ],
    clientScopeMappings: {
      [client]: scopes.map((scope) => ({
        clientScope: scope,
        roles: policy.roles.filter((r) => r.scopes.includes(scope)).map((r) => r.idpRole),
      })),
    },
    defaultDefaultClientScopes: [ROLE_CLAIM],
    defaultOptionalClientScopes: scopes,
  });
}
