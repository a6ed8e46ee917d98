// The Keycloak realm of the compose lab, projected from the policy (roles, scopes, role claim) and the
// lab's users and clients. Keycloak 26.2 or newer: standard token exchange (RFC 8693, "V2").
//
// What each part is for:
// - the policy's part (realm roles, the `netward-role` scope with the `net_role` claim, one client scope
//   per MCP scope with its role scope mappings): @netward/policy's keycloakRealmParts, the same parts
//   `netward-policy render --target keycloak-realm` writes. The clients do not have full scope: only the
//   three roles are in their scope, so the claim carries nothing else;
// - `netward-mcp-audience`: access tokens for agents carry the MCP server's canonical URL (what the MCP
//   server checks, RFC 8707/9068) and its client id (what Keycloak's token exchange checks: the subject
//   token must name the requesting client among its audiences);
// - `netward-broker-audience`: the MCP server's client may request the broker as audience in an
//   exchange; the exchanged token then carries `aud: netward-ca-broker` (checked by the broker and by
//   OpenBao's JWT role);
// - clients: netward-agent (public, authorization code + PKCE S256; direct grants on for the lab's
//   command-line demo only), netward-mcp (confidential, `standard.token.exchange.enabled`), and
//   netward-ca-broker (bearer-only: an audience, never a token requester).
// Importing a realm that lists client scopes replaces Keycloak's built-in ones, so `basic` (sub) and
// `profile` (preferred_username) are defined here too.
import {
  keycloakClientScope as clientScope,
  KEYCLOAK_IN_ACCESS_TOKEN as inAccessToken,
  KEYCLOAK_ROLE_SCOPE,
  keycloakRealmParts,
  keycloakMapper as mapper,
  type Policy,
} from '@netward/policy';
import { CLIENTS, COMPOSE_SITE, KEYCLOAK_ENV, REALM, type StackSite, USERS } from './site.ts';

const OIDC = 'openid-connect';

/** The compose lab's whole realm: the policy's parts, the lab's users and clients and their audiences. */
export function renderComposeRealm(policy: Policy, site: StackSite = COMPOSE_SITE): unknown {
  const parts = keycloakRealmParts(policy);
  const idpRoles = parts.roles.map((r) => r.name);
  return {
    realm: REALM,
    displayName: 'netward compose lab',
    enabled: true,
    sslRequired: 'external',
    registrationAllowed: false,
    loginWithEmailAllowed: false,
    bruteForceProtected: true,
    // Short-lived access tokens: the MCP server exchanges them per tool call.
    accessTokenLifespan: 300,
    ssoSessionIdleTimeout: 1800,
    ssoSessionMaxLifespan: 36000,
    defaultSignatureAlgorithm: 'RS256',
    // Logins and token exchanges in Keycloak's log (the jboss-logging listener): the audit trail's
    // first links, found by the session id that is the tokens' `sid`.
    eventsEnabled: true,
    eventsListeners: ['jboss-logging'],
    roles: { realm: parts.roles },
    users: composeUsers(idpRoles),
    clientScopes: composeClientScopes(parts, site),
    defaultDefaultClientScopes: [],
    defaultOptionalClientScopes: [],
    scopeMappings: [
      ...parts.scopeMappings,
      { client: CLIENTS.agent, roles: idpRoles },
      { client: CLIENTS.mcp, roles: idpRoles },
    ],
    clients: composeClients(parts.scopes),
  };
}

type RealmParts = ReturnType<typeof keycloakRealmParts>;

/**
 * Importing a realm that lists client scopes replaces Keycloak's built-in ones: `basic` and `profile`
 * are here with the policy's scopes, and the audiences of the MCP server's and the broker's tokens.
 */
function composeClientScopes(parts: RealmParts, site: StackSite) {
  return [
    // Keycloak's own `basic` scope (25+): `sub` and `auth_time` come from mappers; `sid` is still
    // added by Keycloak itself, and the broker puts it into the certificate's Key ID.
    clientScope('basic', 'Subject and authentication time of every token.', false, [
      mapper('sub', 'oidc-sub-mapper', { ...inAccessToken }),
      mapper('auth_time', 'oidc-usersessionmodel-note-mapper', {
        'user.session.note': 'AUTH_TIME',
        'claim.name': 'auth_time',
        'jsonType.label': 'long',
        ...inAccessToken,
        'id.token.claim': 'true',
      }),
    ]),
    clientScope('profile', 'The user name, which the CA broker writes into the certificate Key ID.', true, [
      mapper('username', 'oidc-usermodel-property-mapper', {
        'user.attribute': 'username',
        'claim.name': 'preferred_username',
        'jsonType.label': 'String',
        ...inAccessToken,
        'id.token.claim': 'true',
        'userinfo.token.claim': 'true',
      }),
    ]),
    parts.roleScope,
    clientScope('netward-mcp-audience', 'Access tokens for the MCP server.', false, [
      mapper('mcp-resource', 'oidc-audience-mapper', {
        'included.custom.audience': site.mcpResource,
        ...inAccessToken,
      }),
      mapper('mcp-client', 'oidc-audience-mapper', {
        'included.client.audience': CLIENTS.mcp,
        ...inAccessToken,
      }),
    ]),
    clientScope('netward-broker-audience', 'Exchanged tokens for the CA broker.', false, [
      mapper('ca-broker', 'oidc-audience-mapper', {
        'included.client.audience': CLIENTS.broker,
        ...inAccessToken,
      }),
    ]),
    ...parts.scopeScopes,
  ];
}

/** The lab's demo users, each holding one role of the policy; passwords from the environment. */
function composeUsers(idpRoles: readonly string[]) {
  return USERS.map((u) => {
    if (!idpRoles.includes(u.idpRole)) {
      throw new Error(`lab user ${u.username} holds ${u.idpRole}, which the policy does not define`);
    }
    return {
      username: u.username,
      enabled: true,
      emailVerified: true,
      email: `${u.username}@netward.lab`,
      firstName: u.firstName,
      lastName: u.lastName,
      realmRoles: [u.idpRole],
      credentials: [{ type: 'password', value: `\${${KEYCLOAK_ENV.demoPassword}}`, temporary: false }],
    };
  });
}

/** The agent's public client, the MCP server's exchange client and the broker's audience. */
function composeClients(mcpScopes: readonly string[]) {
  return [
    {
      clientId: CLIENTS.agent,
      name: 'AI agents and MCP clients',
      description: 'Public client: authorization code with PKCE. Direct grants are on for the lab demo only.',
      enabled: true,
      protocol: OIDC,
      publicClient: true,
      standardFlowEnabled: true,
      implicitFlowEnabled: false,
      directAccessGrantsEnabled: true,
      serviceAccountsEnabled: false,
      fullScopeAllowed: false,
      // Loopback redirects (RFC 8252 7.3) for MCP clients on the operator's machine.
      redirectUris: ['http://127.0.0.1/*', 'http://localhost/*'],
      webOrigins: ['+'],
      attributes: {
        'pkce.code.challenge.method': 'S256',
        'post.logout.redirect.uris': '+',
        // RFC 9068 section 2.1: access tokens typed `at+jwt`; the MCP server refuses any other type.
        'access.token.header.type.rfc9068': 'true',
      },
      defaultClientScopes: ['basic', 'profile', KEYCLOAK_ROLE_SCOPE, 'netward-mcp-audience', ...mcpScopes],
      optionalClientScopes: [],
    },
    {
      clientId: CLIENTS.mcp,
      name: 'netward MCP server',
      description: 'Exchanges agents\u2019 tokens for CA-broker tokens (RFC 8693), one per tool call.',
      enabled: true,
      protocol: OIDC,
      publicClient: false,
      clientAuthenticatorType: 'client-secret',
      secret: `\${${KEYCLOAK_ENV.mcpClientSecret}}`,
      standardFlowEnabled: false,
      implicitFlowEnabled: false,
      directAccessGrantsEnabled: false,
      serviceAccountsEnabled: false,
      fullScopeAllowed: false,
      attributes: {
        'standard.token.exchange.enabled': 'true',
        // The exchanged (broker-audience) tokens are `at+jwt` too: the broker refuses any other type.
        'access.token.header.type.rfc9068': 'true',
      },
      defaultClientScopes: ['basic', 'profile', KEYCLOAK_ROLE_SCOPE, 'netward-broker-audience'],
      optionalClientScopes: mcpScopes,
    },
    {
      clientId: CLIENTS.broker,
      name: 'netward CA broker',
      description: 'Audience of exchanged tokens; never requests tokens itself.',
      enabled: true,
      protocol: OIDC,
      bearerOnly: true,
      publicClient: false,
      standardFlowEnabled: false,
      directAccessGrantsEnabled: false,
      serviceAccountsEnabled: false,
      fullScopeAllowed: false,
    },
  ];
}
