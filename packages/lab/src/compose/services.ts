// Configuration files of netward's own services in the compose lab, in the shapes their config schemas
// accept (packages/ca-broker/src/config.ts, packages/mcp-server/src/config.ts,
// packages/forcecommand/src/config.ts; test/compose/ validates each rendered file with them). None
// holds a secret: the MCP client secret and the TACACS+ key are files the containers write at start
// from their environment.
import {
  BROKER_URL,
  CLIENTS,
  COMPOSE_SITE,
  DEVICES,
  ISSUER,
  issuerOf,
  JWKS_URL,
  jwksUrlOf,
  type LabDevice,
  MCP_PORT,
  MCP_RESOURCE,
  SSH_USER_MOUNT,
  type StackSite,
  SYSLOG_ADDRESS,
  SYSLOG_PORT,
  TACACS_ADDRESS,
  TACACS_PORT,
  TOKEN_ENDPOINT,
} from './site.ts';

/** Files the containers write at start (tmpfs or root-owned), referenced by the configs below. */
export const RUNTIME_FILES = Object.freeze({
  mcpClientSecret: '/run/netward/mcp-client-secret',
  mcpHostCa: '/run/netward/known_hosts',
  tacacsKey: '/etc/netward/tacacs.key',
  grammar: '/etc/netward/grammar.json',
  agentSockets: '/run/netward/agent',
  validatorAudit: '/var/log/netward/forcecommand.log',
});

/**
 * CA broker: verifies the exchanged token, signs through OpenBao with that same token (JWT login).
 * Keycloak's standard token exchange (26.2+) adds no `act` claim (it does not implement delegation),
 * so the actor is the exchanged token's `azp`: the client that authenticated to the token endpoint
 * with its secret to obtain it, i.e. the MCP server. A token any other client obtained is refused.
 */
export function renderBrokerConfig(site: StackSite = COMPOSE_SITE): unknown {
  return {
    listen: { host: site.brokerListen.host, port: site.brokerListen.port },
    token: {
      issuer: issuerOf(site),
      audience: CLIENTS.broker,
      jwksUri: jwksUrlOf(site),
      algorithms: ['RS256'],
      claims: { user: ['preferred_username'], sid: 'sid', role: 'net_role' },
      actor: { claim: 'azp', allowed: [CLIENTS.mcp], require: true },
    },
    backend: {
      type: 'vault',
      address: site.baoAddr,
      mount: SSH_USER_MOUNT,
      signRole: '{role}',
      auth: { method: 'jwt', mount: 'jwt', role: '{role}' },
    },
    // Each certificate is good on the device of its call only (principal `<role>@<device>`).
    certificate: { devicePrincipal: true },
    log: { level: 'info' },
  };
}

function mcpInventory(devices: readonly LabDevice[]) {
  // The MCP server drives FRR only (vtysh); the VyOS device is reached by hand (docker/README.md).
  return devices
    .filter((d) => d.vendor === 'frr')
    .map((d) => ({ name: d.name, address: d.name, port: 22, vendor: d.vendor, site: d.site }));
}

/** MCP server: the resource server, token exchange at Keycloak, certificates from the broker. */
export function renderMcpConfig(opts: { unsafeRawCommandTool: boolean }): unknown {
  return {
    listen: { host: '0.0.0.0', port: MCP_PORT },
    publicUrl: MCP_RESOURCE,
    // The container's own healthcheck asks over 127.0.0.1.
    allowedHosts: [`127.0.0.1:${MCP_PORT}`],
    issuer: ISSUER,
    jwksUri: JWKS_URL,
    algorithms: ['RS256'],
    roleClaim: 'net_role',
    tokenExchange: {
      tokenEndpoint: TOKEN_ENDPOINT,
      clientId: CLIENTS.mcp,
      clientSecretFile: RUNTIME_FILES.mcpClientSecret,
      audience: CLIENTS.broker,
    },
    broker: { url: BROKER_URL },
    inventory: mcpInventory(DEVICES),
    hostCa: { publicKeyFile: RUNTIME_FILES.mcpHostCa },
    unsafeRawCommandTool: opts.unsafeRawCommandTool,
    sessionMode: false,
  };
}

/** The validator on one device: TACACS+ (tac_plus-ng) decides, audit to a file and to syslog-ng. */
export function renderValidatorConfig(device: LabDevice): unknown {
  const executables =
    device.vendor === 'frr'
      ? {
          // --config_dir: vtysh reads the instance's vtysh.conf (docs/frr.md), as the native lab does.
          vtysh: { path: '/usr/bin/vtysh', args: ['--config_dir', '/etc/frr'], style: 'vtysh' },
          ping: { path: '/usr/bin/ping' },
          traceroute: { path: '/usr/bin/traceroute' },
          ip: { path: '/usr/bin/ip' },
        }
      : {
          // VyOS: op-mode commands run through its wrapper, which stage 2 strips before authorization.
          'vyatta-op-cmd-wrapper': { path: '/opt/vyatta/bin/vyatta-op-cmd-wrapper' },
          ping: { path: '/usr/bin/ping' },
          traceroute: { path: '/usr/bin/traceroute' },
          ip: { path: '/usr/bin/ip' },
        };
  const cli =
    device.vendor === 'frr'
      ? { executable: 'vtysh', commands: ['show'] }
      : { executable: 'vyatta-op-cmd-wrapper', commands: ['show'] };
  return {
    device: device.name,
    accounts: ['net-viewer', 'net-operator', 'net-admin'],
    accountGroup: 'netward',
    executables,
    cli,
    // Every request is parsed against the role's command grammar before TACACS+ is asked.
    grammarFile: RUNTIME_FILES.grammar,
    authorization: {
      mode: 'tacacs',
      servers: [{ host: TACACS_ADDRESS, port: TACACS_PORT }],
      // Read by the device's authorization agent alone (root, 0600): the accounts never hold the key.
      keyFile: RUNTIME_FILES.tacacsKey,
      agent: { socketDir: RUNTIME_FILES.agentSockets },
      timeoutMs: 1500,
      deadlineMs: 3000,
      accounting: true,
    },
    audit: {
      file: RUNTIME_FILES.validatorAudit,
      syslog: { host: SYSLOG_ADDRESS, port: SYSLOG_PORT, transport: 'udp', facility: 'authpriv' },
    },
  };
}
