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

/** One protocol mapper of a Keycloak client scope (ProtocolMapperRepresentation). */
export interface KeycloakMapper {
  name: string;
  protocol: string;
  protocolMapper: string;
  consentRequired: boolean;
  config: Record<string, string>;
}

export function keycloakMapper(
  name: string,
  protocolMapper: string,
  config: Record<string, string>,
): KeycloakMapper {
  return { name, protocol: 'openid-connect', protocolMapper, consentRequired: false, config };
}

/** Mapper settings that put a claim into access tokens and their introspection. */
export const KEYCLOAK_IN_ACCESS_TOKEN = {
  'access.token.claim': 'true',
  'introspection.token.claim': 'true',
} as const;

/** A Keycloak client scope (ClientScopeRepresentation). */
export function keycloakClientScope(
  name: string,
  description: string,
  includeInScope: boolean,
  mappers: KeycloakMapper[] = [],
) {
  return {
    name,
    description,
    protocol: 'openid-connect',
    attributes: {
      'include.in.token.scope': String(includeInScope),
      'display.on.consent.screen': 'false',
    },
    protocolMappers: mappers,
  };
}

/** The client scope that carries the role claim. */
export const KEYCLOAK_ROLE_SCOPE = 'netward-role';

/**
 * What the policy decides in a Keycloak realm:
 * - realm roles: the policy's IdP role values, one per user;
 * - client scope `netward-role`: the `net_role` claim (a realm-role mapper, single-valued); clients
 *   without full scope carry only these roles in their scope, so the claim holds nothing else;
 * - one client scope per MCP scope, with role scope mappings to the roles the policy grants it:
 *   Keycloak applies a client scope with role scope mappings only to users holding one of those roles
 *   ("Client scopes permissions" in the server administration guide), so a token's `scope` is exactly
 *   what the policy gives the user's role.
 * The compose lab's realm (@netward/lab/compose) adds its users, clients and audiences to these parts,
 * and is the one loaded into a real Keycloak (26.7 in `netward-lab up --stack keycloak`).
 */
export function keycloakRealmParts(policy: Policy) {
  const grants = allScopes(policy).map((scope) => ({
    scope,
    idpRoles: policy.roles.filter((r) => r.scopes.includes(scope)).map((r) => r.idpRole),
  }));
  return {
    roles: policy.roles.map((r) => ({
      name: r.idpRole,
      description: `netward role: device account ${r.name}, scopes ${r.scopes.join(' ')}`,
    })),
    roleScope: keycloakClientScope(
      KEYCLOAK_ROLE_SCOPE,
      `The ${ROLE_CLAIM} claim: the user's role from the policy.`,
      false,
      [
        keycloakMapper(ROLE_CLAIM, 'oidc-usermodel-realm-role-mapper', {
          'claim.name': ROLE_CLAIM,
          'jsonType.label': 'String',
          multivalued: 'false',
          ...KEYCLOAK_IN_ACCESS_TOKEN,
          'id.token.claim': 'true',
          'userinfo.token.claim': 'true',
        }),
      ],
    ),
    scopeScopes: grants.map((g) => keycloakClientScope(g.scope, `MCP scope ${g.scope} (policy).`, true)),
    scopeMappings: grants.map((g) => ({ clientScope: g.scope, roles: g.idpRoles })),
    scopes: grants.map((g) => g.scope),
  };
}

/**
 * A Keycloak realm import (RealmRepresentation) of the policy's parts alone (see keycloakRealmParts),
 * for a deployment that keeps its own users and clients: the role claim scope is a default scope of
 * every client and the MCP scopes optional ones.
 */
export function renderKeycloakRealm(policy: Policy, opts: IdpOptions = {}): string {
  const realm = opts.realm ?? 'netward';
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(realm)) {
    throw new PolicyError(
      'ERR_POLICY_TARGET',
      `realm must be letters, digits, _ . - (got ${JSON.stringify(realm)})`,
    );
  }
  const parts = keycloakRealmParts(policy);
  return json({
    realm,
    enabled: true,
    roles: { realm: parts.roles },
    clientScopes: [parts.roleScope, ...parts.scopeScopes],
    scopeMappings: parts.scopeMappings,
    defaultDefaultClientScopes: [KEYCLOAK_ROLE_SCOPE],
    defaultOptionalClientScopes: parts.scopes,
  });
}
