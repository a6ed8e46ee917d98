import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deviceConfigObject } from '@netward/forcecommand';
import { type Policy, parsePolicy, renderGrammar, renderIdp } from '@netward/policy';
import { renderBrokerConfig } from '../compose/services.ts';
import { CLIENTS } from '../compose/site.ts';
import type { DeviceLayout, LabLayout } from '../layout.ts';
import { stackEndpoints, stackSite } from '../stack/site.ts';
import { packageFile } from '../system/packages.ts';
import { agentSocketDir } from '../topology/agent.ts';
import { behindProxy, replicaConfigFile, replicaIndexes, replicaPort } from '../topology/replicas.ts';
import { devicePaths } from '../topology/sshd.ts';

/** The validators' group (forcecommand's default `accountGroup`). */
export const ACCOUNT_GROUP = 'netward';

export const FILES = {
  idpConfig: (l: LabLayout) => join(l.paths.config, 'idp.json'),
  brokerConfig: (l: LabLayout) => join(l.paths.config, 'ca-broker.json'),
  mcpConfig: (l: LabLayout) => join(l.paths.config, 'mcp-server.json'),
  tacacsConfig: (l: LabLayout) => join(l.paths.config, 'tacacs.json'),
  syslogConfig: (l: LabLayout) => join(l.paths.config, 'syslog.json'),
  policy: (l: LabLayout) => join(l.paths.config, 'policy.yaml'),
  /** The validators' command grammars, rendered from the policy (root-owned, read by every device). */
  grammar: (l: LabLayout) => join(l.paths.config, 'grammar.json'),
  /** No longer written (see ensureSecrets); removed when an older lab left it behind. */
  tacacsClientKey: (l: LabLayout) => join(l.paths.config, 'tacacs-client.key'),
  userCaKey: (l: LabLayout) => join(l.paths.ca, 'user_ca'),
  hostCaKey: (l: LabLayout) => join(l.paths.ca, 'host_ca'),
  jwks: (l: LabLayout) => join(l.paths.idp, 'jwks.json'),
} as const;

function writeSecret(file: string, value: string, mode = 0o600, gid = 0): void {
  writeFileSync(file, value, { mode });
  chmodSync(file, mode);
  chownSync(file, 0, gid);
}

/**
 * Secrets of the lab, created once and kept across `up`s (so tokens and keys stay valid when a
 * service is restarted): user passwords, the TACACS+ key, the MCP server's client secret. Files are
 * 0600 root in state/ (0700): no device account reads any of them.
 */
export function ensureSecrets(layout: LabLayout): void {
  const p = layout.paths;
  if (!existsSync(p.usersFile)) {
    const users: Record<string, { password: string; role: string }> = {};
    for (const u of layout.users)
      users[u.name] = { password: randomBytes(12).toString('base64url'), role: u.role };
    writeSecret(p.usersFile, `${JSON.stringify(users, null, 2)}\n`);
  }
  if (!existsSync(p.tacacsKey)) writeSecret(p.tacacsKey, randomBytes(24).toString('base64url'));
  // The devices' authorization agents (root) read p.tacacsKey itself; no copy for the accounts. An
  // older lab directory may still hold the group-readable copy the validators used to read.
  rmSync(FILES.tacacsClientKey(layout), { force: true });
  if (!existsSync(p.exchangeSecret)) writeSecret(p.exchangeSecret, randomBytes(32).toString('base64url'));
}

/**
 * The lab's policy: one of the shipped policies (`--policy default|design`), with the certificate
 * lifetime replaced when the lab asks for another (the end-to-end tests use a short one to watch sshd
 * refuse an expired certificate), and the grammar file the validators read, rendered from it.
 */
export function writePolicy(layout: LabLayout): Policy {
  const source = readFileSync(
    packageFile('@netward/policy', 'policy', `${layout.options.policy}.yaml`),
    'utf8',
  );
  const ttl = layout.options.certTtl;
  const text = source.replace(
    /ttlSeconds: \d+, maxTtlSeconds: \d+/g,
    `ttlSeconds: ${ttl}, maxTtlSeconds: ${ttl}`,
  );
  const file = FILES.policy(layout);
  writeFileSync(file, text, { mode: 0o644 });
  const policy = parsePolicy(text, file);
  writeFileSync(FILES.grammar(layout), renderGrammar(policy), { mode: 0o644 });
  return policy;
}

function writeJson(file: string, value: unknown, mode = 0o644): void {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`, { mode });
  chmodSync(file, mode);
}

export function brokerAudience(layout: LabLayout): string {
  return layout.options.stack === 'keycloak' ? CLIENTS.broker : layout.urls.broker;
}

/** The MCP server's client at the IdP: the one that exchanges agents' tokens for broker tokens. */
export function exchangeClient(layout: LabLayout): { clientId: string; tokenEndpoint: string } {
  return layout.options.stack === 'keycloak'
    ? { clientId: CLIENTS.mcp, tokenEndpoint: stackEndpoints(layout).tokenEndpoint }
    : { clientId: layout.clients.mcpServer, tokenEndpoint: `${layout.urls.idp}/token` };
}

export function writeIdpConfig(layout: LabLayout, policy: Policy): void {
  const rendered = JSON.parse(renderIdp(policy)) as { roles: { value: string; scopes: string[] }[] };
  const roles: Record<string, string[]> = {};
  for (const r of rendered.roles) roles[r.value] = r.scopes;
  writeJson(FILES.idpConfig(layout), {
    issuer: layout.urls.idp,
    host: '127.0.0.1',
    usersFile: layout.paths.usersFile,
    jwksFile: FILES.jwks(layout),
    storeFile: join(layout.paths.idp, 'store.json'),
    roles,
    mcp: { resource: layout.urls.mcp, accessTokenTtl: 900 },
    agentClient: { clientId: layout.clients.agent, redirectUris: [layout.clients.agentRedirect] },
    exchangeClient: { clientId: layout.clients.mcpServer, clientSecretFile: layout.paths.exchangeSecret },
    broker: { audience: brokerAudience(layout), accessTokenTtl: 60 },
  });
}

/** One file per broker (`--replicas`): they differ only in the port they listen on. */
export function writeBrokerConfig(layout: LabLayout): void {
  for (const i of replicaIndexes(layout))
    writeJson(replicaConfigFile(layout, 'ca-broker', i), brokerConfigObject(layout, i));
}

/**
 * Every broker of a lab shares the CA keys and the replay cache (the local backend's default,
 * `state/ca/replay`: an append-only log per minute whose first line of a token wins, so one token
 * yields one certificate across brokers).
 * The rate limit is per broker process.
 */
export function brokerConfigObject(layout: LabLayout, replica = 1): Record<string, unknown> {
  if (layout.options.stack === 'keycloak') {
    // The compose lab's broker configuration, rendered for this lab's site (one source), plus the
    // lab's policy file and the benchmark's rate limit.
    return {
      ...(renderBrokerConfig(stackSite(layout)) as Record<string, unknown>),
      policyFile: FILES.policy(layout),
      rateLimit: { burst: 500, perSecond: 200 },
    };
  }
  return {
    listen: { host: '127.0.0.1', port: replicaPort(layout, 'ca-broker', replica) },
    token: {
      issuer: layout.urls.idp,
      audience: brokerAudience(layout),
      jwksUri: `${layout.urls.idp}/jwks`,
      algorithms: ['ES256'],
      // Only the MCP server, through the token exchange, may obtain certificates.
      actor: { allowed: [layout.clients.mcpServer], require: true },
    },
    policyFile: FILES.policy(layout),
    backend: { type: 'local', stateDir: layout.paths.ca },
    // One device per certificate (principal <role>@<device>), usable only from the MCP server's
    // address on the management network (the devices see the host's bridge address).
    certificate: { devicePrincipal: true, sourceAddress: [`${layout.hostMgmtAddress}/32`] },
    // The benchmark runs 10 agents flat out for seconds: the default (2/s per user) would throttle it.
    rateLimit: { burst: 500, perSecond: 200 },
  };
}

export interface McpConfigOptions {
  readonly unsafeRawCommandTool?: boolean;
  readonly sessionMode?: boolean;
}

export function mcpConfigObject(
  layout: LabLayout,
  options: McpConfigOptions = {},
  replica = 1,
): Record<string, unknown> {
  const keycloak = layout.options.stack === 'keycloak' ? stackEndpoints(layout) : undefined;
  return {
    // Behind HAProxy a replica listens on its own port; its public URL (the tokens' audience) is the
    // balancer's, and it reaches the brokers through the balancer too.
    listen: { host: '127.0.0.1', port: replicaPort(layout, 'mcp-server', replica) },
    publicUrl: layout.urls.mcp,
    // Its own address too, for the lab's readiness probe and HAProxy's health check.
    ...(behindProxy(layout)
      ? { allowedHosts: [`127.0.0.1:${replicaPort(layout, 'mcp-server', replica)}`] }
      : {}),
    issuer: keycloak?.issuer ?? layout.urls.idp,
    jwksUri: keycloak?.jwksUri ?? `${layout.urls.idp}/jwks`,
    // Keycloak signs with RS256 by default (the realm's defaultSignatureAlgorithm); the lab IdP ES256.
    algorithms: keycloak ? ['RS256'] : ['ES256'],
    tokenExchange: {
      ...exchangeClient(layout),
      clientSecretFile: layout.paths.exchangeSecret,
      audience: brokerAudience(layout),
    },
    broker: { url: layout.urls.broker },
    inventory: layout.devices.map((d) => ({
      name: d.name,
      address: d.mgmtAddress,
      port: 22,
      vendor: 'frr',
      site: d.site,
    })),
    hostCa: { publicKeyFile: layout.paths.hostCaPub },
    policyFile: FILES.policy(layout),
    unsafeRawCommandTool: options.unsafeRawCommandTool ?? false,
    sessionMode: options.sessionMode ?? layout.options.sessionMode,
  };
}

export function writeMcpConfig(layout: LabLayout, options: McpConfigOptions = {}): void {
  for (const i of replicaIndexes(layout))
    writeJson(replicaConfigFile(layout, 'mcp-server', i), mcpConfigObject(layout, options, i));
}

export interface TacacsServiceConfig {
  readonly host: string;
  readonly port: number;
  readonly keyFile: string;
  readonly policyFile: string;
}

export function writeTacacsConfig(layout: LabLayout): void {
  for (const i of replicaIndexes(layout)) {
    writeJson(replicaConfigFile(layout, 'tacacs', i), {
      host: layout.hostMgmtAddress,
      port: replicaPort(layout, 'tacacs', i),
      keyFile: layout.paths.tacacsKey,
      policyFile: FILES.policy(layout),
    } satisfies TacacsServiceConfig);
  }
}

export interface SyslogServiceConfig {
  readonly host: string;
  readonly port: number;
  readonly outFile: string;
}

export function writeSyslogConfig(layout: LabLayout): void {
  writeJson(FILES.syslogConfig(layout), {
    host: layout.hostMgmtAddress,
    port: layout.options.syslogPort,
    outFile: layout.paths.syslogOut,
  } satisfies SyslogServiceConfig);
}

/**
 * One device's validator configuration, from forcecommand's own deployment helper: vtysh with the
 * fixed arguments that reach this device's FRR instance (`--config_dir /etc/frr -N <ns>`), ping,
 * traceroute and ip at their Debian paths, TACACS+ on the management network (fail-closed), the local
 * audit file and a copy to the lab's syslog collector.
 */
export function forcecommandConfigObject(device: DeviceLayout, layout: LabLayout): Record<string, unknown> {
  const config = deviceConfigObject({
    device: device.name,
    auditFile: devicePaths(device, layout).auditFile,
    accountGroup: ACCOUNT_GROUP,
    // vty: the tools' single-daemon show lines go to the daemon's socket, no vtysh start (issue 16).
    frr: { vtysh: '/usr/bin/vtysh', configDir: '/etc/frr', pathspace: device.ns, vty: true },
    // Bare CLI words go to vtysh, where TACACS+ decides per role (the seed's `configure terminal`).
    cliCommands: ['show', 'configure', 'write', 'clear'],
    authorization: {
      mode: 'tacacs',
      // Every TACACS+ server of the lab, in order: the agent's client fails over to the next.
      servers: replicaIndexes(layout).map((i) => ({
        host: layout.hostMgmtAddress,
        port: replicaPort(layout, 'tacacs', i),
      })),
      keyFile: layout.paths.tacacsKey,
      timeoutMs: 1500,
      deadlineMs: 3000,
      agent: { socketDir: agentSocketDir(device, layout) },
    },
    syslog: { host: layout.hostMgmtAddress, port: layout.options.syslogPort, transport: 'udp' },
  }) as Record<string, unknown>;
  // Every request is parsed against the role's grammar before TACACS+ is asked.
  return { ...config, grammarFile: FILES.grammar(layout) };
}

export function writeForcecommandConfig(device: DeviceLayout, layout: LabLayout): void {
  writeJson(devicePaths(device, layout).forcecommandConfig, forcecommandConfigObject(device, layout));
}
