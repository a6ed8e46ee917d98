// OpenBao's configuration for the compose lab, as data files that docker/openbao-init/init.sh applies:
// - JWT auth against Keycloak's JWKS: one login role per policy role, bound to the exchanged token's
//   audience (the broker) and to `net_role` = the role, granting only that role's signing policy;
// - SSH secrets engine `ssh/`: one signing role per policy role (allowed_users = the principal,
//   ttl = max_ttl = the policy's, user key ids allowed so the broker sets the Key ID, extensions from the
//   policy and nothing else);
// - SSH secrets engine `ssh-host/`: host certificates for the devices, signed at device start with a
//   token that may do nothing else.
// Field names follow the Vault/OpenBao HTTP API (auth/jwt/config, auth/jwt/role/:name, ssh/roles/:name).
import { type Policy, ROLE_CLAIM, type Role } from '@netward/policy';
import {
  CLIENTS,
  COMPOSE_SITE,
  DEVICES,
  HOST_SIGNER_POLICY,
  HOST_SIGNING_ROLE,
  issuerOf,
  jwksUrlOf,
  SSH_HOST_MOUNT,
  SSH_USER_MOUNT,
  type StackSite,
  signingPolicyName,
} from './site.ts';

/** Files under docker/openbao-init/, relative to it. */
export type OpenBaoFiles = Map<string, unknown>;

export function renderOpenBao(
  policy: Policy,
  site: StackSite = COMPOSE_SITE,
): { json: OpenBaoFiles; hcl: Map<string, string> } {
  const json: OpenBaoFiles = new Map();
  const hcl = new Map<string, string>();

  json.set('jwt-config.json', {
    jwks_url: jwksUrlOf(site),
    bound_issuer: issuerOf(site),
    jwt_supported_algs: ['RS256'],
  });

  for (const role of policy.roles) {
    const policyName = signingPolicyName(role.name);
    json.set(`jwt-roles/${role.name}.json`, jwtRole(role, policyName));
    json.set(`ssh-roles/${role.name}.json`, sshRole(role, site.devices));

    hcl.set(
      `policies/${policyName}.hcl`,
      [
        `# ${role.name}: sign user certificates for the ${role.name} principal, nothing else.`,
        `path "${SSH_USER_MOUNT}/sign/${role.name}" {`,
        '  capabilities = ["update"]',
        '}',
        '',
      ].join('\n'),
    );
  }

  json.set('ssh-host-role.json', {
    key_type: 'ca',
    algorithm_signer: 'default',
    allow_user_certificates: false,
    allow_host_certificates: true,
    allowed_domains: DEVICES.map((d) => d.name).join(','),
    allow_bare_domains: true,
    allow_subdomains: false,
    ttl: '720h',
    max_ttl: '720h',
  });

  hcl.set(
    `policies/${HOST_SIGNER_POLICY}.hcl`,
    [
      '# Devices sign their own host key at start, for their own name only (allowed_domains).',
      `path "${SSH_HOST_MOUNT}/sign/${HOST_SIGNING_ROLE}" {`,
      '  capabilities = ["update"]',
      '}',
      '',
    ].join('\n'),
  );

  return { json, hcl };
}

/** OpenBao's JWT login role for one role: the broker's exchanged token, the role's claim, one policy. */
function jwtRole(role: Role, policyName: string) {
  return {
    role_type: 'jwt',
    user_claim: 'preferred_username',
    bound_audiences: [CLIENTS.broker],
    bound_claims_type: 'string',
    bound_claims: { [ROLE_CLAIM]: role.idpRole },
    // Copied into the OpenBao token's metadata, so OpenBao's own audit log names the user and session.
    // OpenBao reserves the metadata key `role` (the login role's name): the claim keeps its own name.
    claim_mappings: { preferred_username: 'user', sid: 'sid', [ROLE_CLAIM]: ROLE_CLAIM },
    clock_skew_leeway: 5,
    expiration_leeway: 5,
    not_before_leeway: 5,
    token_policies: [policyName],
    token_no_default_policy: true,
    token_type: 'batch',
    token_ttl: 60,
    token_max_ttl: 60,
  };
}

/** OpenBao's SSH signing role for one role: user certificates for its principal, its TTL and extensions. */
function sshRole(role: Role, devices: readonly string[]) {
  const extensions = Object.fromEntries(role.certificate.extensions.map((e) => [e, '']));
  return {
    key_type: 'ca',
    algorithm_signer: 'default',
    allow_user_certificates: true,
    allow_host_certificates: false,
    // One principal per device, `<role>@<device>`, and no default: a request that names no device
    // gets nothing (OpenBao refuses an empty principal list), one for another role's account neither.
    allowed_users: devices.map((d) => `${role.name}@${d}`).join(','),
    allow_user_key_ids: true,
    ttl: `${role.certificate.ttlSeconds}s`,
    max_ttl: `${role.certificate.maxTtlSeconds}s`,
    // Valid from a few seconds in the past (clock skew between OpenBao and the devices).
    not_before_duration: '10s',
    default_extensions: extensions,
    allowed_extensions: role.certificate.extensions.join(','),
    // The broker may pin a certificate to the MCP server's addresses.
    allowed_critical_options: 'source-address',
  };
}
