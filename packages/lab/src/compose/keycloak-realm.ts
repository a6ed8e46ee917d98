// The Keycloak realm of the compose lab, projected from the policy (roles, scopes, role claim) and the
// lab's users and clients. Keycloak 26.2 or newer: standard token exchange (RFC 8693, "V2").
//
// What each part is for:
// - realm roles net-viewer / net-operator / net-admin: the policy's idpRole values, one per user;
// - client scope `netward-role`: the `net_role` claim (a realm-role mapper, single-valued). The clients
//   do not have full scope: only the three roles are in their scope, so the claim carries nothing else;
// - one client scope per MCP scope (mcp:ctrl-plane:read, ...), each with role scope mappings to the
//   roles the policy grants it: Keycloak applies a client scope with role scope mappings only to users
//   holding one of those roles, so a token's `scope` is exactly what the policy gives the user's role;
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
import { type Policy, ROLE_CLAIM } from '@netward/policy';
import { CLIENTS, COMPOSE_SITE, KEYCLOAK_ENV, REALM, type StackSite, USERS } from './site.ts';

const OIDC = 'openid-connect';

interface Mapper {
  name: string;
  protocol: string;
  protocolMapper: string;
  consentRequired: boolean;
  config: Record<string, string>;
}

function mapper(name: string, protocolMapper: string, config: Record<string, string>): Mapper {
  return { name, protocol: OIDC, protocolMapper, consentRequired: false, config };
}

const inAccessToken = {
  'access.token.claim': 'true',
  'introspection.token.claim': 'true',
};

function clientScope(name: string, description: string, includeInScope: boolean, mappers: Mapper[] = []) {
  return {
    name,
    description,
    protocol: OIDC,
    attributes: {
      'include.in.token.scope': String(includeInScope),
      'display.on.consent.screen': 'false',
    },
    protocolMappers: mappers,
  };
}

/** Every MCP scope the policy knows, sorted, with the IdP roles that are granted it. */
export function scopeGrants(policy: Policy): Array<{ scope: string; idpRoles: string[] }> {
  const scopes = [
    ...new Set(policy.roles.flatMap((r) => r.scopes).concat(policy.tools.map((t) => t.scope))),
  ].sort();
  return scopes.map((scope) => ({
    scope,
    idpRoles: policy.roles.filter((r) => r.scopes.includes(scope)).map((r) => r.idpRole),
  }));
}

export function renderKeycloakRealm(policy: Policy, site: StackSite = COMPOSE_SITE): unknown {
  const idpRoles = policy.roles.map((r) => r.idpRole);
  const grants = scopeGrants(policy);
  const mcpScopes = grants.map((g) => g.scope);

  const scopes = [
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
    clientScope('netward-role', `The ${ROLE_CLAIM} claim: the user's role from the policy.`, false, [
      mapper(ROLE_CLAIM, 'oidc-usermodel-realm-role-mapper', {
        'claim.name': ROLE_CLAIM,
        'jsonType.label': 'String',
        multivalued: 'false',
        ...inAccessToken,
        'id.token.claim': 'true',
        'userinfo.token.claim': 'true',
      }),
    ]),
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
    ...grants.map((g) => clientScope(g.scope, `MCP scope ${g.scope} (policy).`, true)),
  ];

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
    roles: {
      realm: policy.roles.map((r) => ({
        name: r.idpRole,
        description: `netward role: device account ${r.name}, scopes ${r.scopes.join(' ')}`,
      })),
    },
    users: USERS.map((u) => {
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
    }),
    clientScopes: scopes,
    defaultDefaultClientScopes: [],
    defaultOptionalClientScopes: [],
    scopeMappings: [
      ...grants.map((g) => ({ clientScope: g.scope, roles: g.idpRoles })),
      { client: CLIENTS.agent, roles: idpRoles },
      { client: CLIENTS.mcp, roles: idpRoles },
    ],
    clients: [
      {
        clientId: CLIENTS.agent,
        name: 'AI agents and MCP clients',
        description:
          'Public client: authorization code with PKCE. Direct grants are on for the lab demo only.',
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
        defaultClientScopes: ['basic', 'profile', 'netward-role', 'netward-mcp-audience', ...mcpScopes],
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
        defaultClientScopes: ['basic', 'profile', 'netward-role', 'netward-broker-audience'],
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
    ],
  };
}
