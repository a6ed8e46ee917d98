// The compose lab's fixed facts: names, addresses and URLs shared by compose.yaml and every rendered file.
// The policy says who may do what; this file says where things run. test/compose/ checks that
// compose.yaml agrees with it (service names, addresses, ports).

export const REALM = 'netward';

/**
 * Where the stack runs: the only values that differ between the compose lab and the native lab's
 * `--stack keycloak` (packages/lab/src/stack/), which render their realm, OpenBao configuration and
 * broker configuration with the same functions from these (test/compose/stack-parity.test.ts).
 */
export interface StackSite {
  /** Keycloak's base URL; the issuer is `<keycloakUrl>/realms/netward`. */
  readonly keycloakUrl: string;
  /** The MCP server's canonical URL (RFC 9728 resource, and the audience of agents' access tokens). */
  readonly mcpResource: string;
  /** OpenBao's API address. */
  readonly baoAddr: string;
  /** Where the CA broker listens. */
  readonly brokerListen: { readonly host: string; readonly port: number };
  /**
   * The devices a certificate may be bound to. Certificates carry `<role>@<device>` (the broker's
   * certificate.devicePrincipal), and OpenBao's signing role for a role allows exactly these principals:
   * its allowed_users is an exact list, with no patterns (builtin/logical/ssh, calculateValidPrincipals).
   */
  readonly devices: readonly string[];
}

export const issuerOf = (site: StackSite) => `${site.keycloakUrl}/realms/${REALM}`;
export const jwksUrlOf = (site: StackSite) => `${issuerOf(site)}/protocol/openid-connect/certs`;
export const tokenEndpointOf = (site: StackSite) => `${issuerOf(site)}/protocol/openid-connect/token`;

export const MCP_PORT = 8000;
export const BROKER_PORT = 8443;

/** Keycloak clients: the agent (public, PKCE), the MCP server (confidential, token exchange), the broker. */
export const CLIENTS = Object.freeze({
  agent: 'netward-agent',
  mcp: 'netward-mcp',
  broker: 'netward-ca-broker',
});

/** Mount paths of the OpenBao SSH engines: user certificates and device host certificates. */
export const SSH_USER_MOUNT = 'ssh';
export const SSH_HOST_MOUNT = 'ssh-host';
export const HOST_SIGNING_ROLE = 'device-host';
export const HOST_SIGNER_POLICY = 'device-host-signer';
/** Name of the OpenBao policy that may sign for one device account. */
export const signingPolicyName = (account: string) => `ssh-${account}`;

/** The demo users and the IdP role each holds (the seed's alice, bob, carol). */
export const USERS = Object.freeze([
  { username: 'alice', firstName: 'Alice', lastName: 'Viewer', idpRole: 'net-viewer' },
  { username: 'bob', firstName: 'Bob', lastName: 'Operator', idpRole: 'net-operator' },
  { username: 'carol', firstName: 'Carol', lastName: 'Admin', idpRole: 'net-admin' },
] as const);

export interface LabDevice {
  readonly name: string;
  readonly address: string;
  readonly vendor: 'frr' | 'vyos';
  readonly site: string;
  readonly role: 'spine' | 'leaf' | 'edge';
  /** Compose profile the device needs, if any. */
  readonly profile?: string;
}

export const DEVICES: readonly LabDevice[] = Object.freeze([
  { name: 'spine-a', address: '172.30.0.10', vendor: 'frr', site: 'lab', role: 'spine' },
  { name: 'leaf-1', address: '172.30.0.11', vendor: 'frr', site: 'lab', role: 'leaf' },
  { name: 'leaf-2', address: '172.30.0.12', vendor: 'frr', site: 'lab', role: 'leaf' },
  { name: 'vyos-1', address: '172.30.0.20', vendor: 'vyos', site: 'lab', role: 'edge', profile: 'vyos' },
]);

/** The compose lab: Keycloak's issuer is the same inside the network and from the host (KC_HOSTNAME). */
export const COMPOSE_SITE: StackSite = Object.freeze({
  keycloakUrl: 'http://keycloak:8080',
  mcpResource: 'http://localhost:8000/mcp',
  baoAddr: 'http://openbao:8200',
  brokerListen: Object.freeze({ host: '0.0.0.0', port: BROKER_PORT }),
  devices: Object.freeze(DEVICES.map((d) => d.name)),
});

/** Keycloak's issuer, the same inside the network and from the host (KC_HOSTNAME in compose.yaml). */
export const KEYCLOAK_URL = COMPOSE_SITE.keycloakUrl;
export const ISSUER = issuerOf(COMPOSE_SITE);
export const JWKS_URL = jwksUrlOf(COMPOSE_SITE);
export const TOKEN_ENDPOINT = tokenEndpointOf(COMPOSE_SITE);

/** The MCP server's canonical URL (RFC 9728 resource, and the audience of agents' access tokens). */
export const MCP_RESOURCE = COMPOSE_SITE.mcpResource;
export const BROKER_URL = 'http://ca-broker:8443';
export const BAO_ADDR = COMPOSE_SITE.baoAddr;

/** The management network every device's validator asks TACACS+ from. */
export const MGMT_SUBNET = '172.30.0.0/24';
export const TACACS_ADDRESS = '172.30.0.49';
export const TACACS_PORT = 49;
/** syslog-ng on the management network: validators send their records there on every command, so by
 *  address (no DNS lookup per command). */
export const SYSLOG_ADDRESS = '172.30.0.5';
export const SYSLOG_PORT = 514;

/** Keycloak resolves ${VAR} in an imported realm from its environment (compose.yaml sets them). */
export const KEYCLOAK_ENV = Object.freeze({
  mcpClientSecret: 'NETWARD_MCP_CLIENT_SECRET',
  demoPassword: 'NETWARD_DEMO_PASSWORD',
});
