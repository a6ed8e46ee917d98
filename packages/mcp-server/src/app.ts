/**
 * The HTTP face of the server, as fastify plugins, one per concern:
 *
 * - the Host/Origin check on every request, before anything else (http/host-guard.ts);
 * - protected resource metadata, RFC 9728 (http/protected-resource.ts);
 * - the MCP route, authenticated as an OAuth 2.1 resource server with RFC 6750 challenges
 *   (http/mcp-route.ts, http/auth.ts), answering through the official SDK (http/mcp-sdk.ts);
 * - liveness (http/health.ts).
 *
 * The tool calls themselves run in the pipeline (pipeline/runner.ts).
 */
import { createLogger, type Logger } from '@netward/audit-context';
import { type KeySource, remoteKeys } from '@netward/bearer';
import { type BrokerClient, createBrokerClient } from '@netward/ca-broker/client';
import { defaultPolicy, loadPolicy, type Policy, type Tool as PolicyTool } from '@netward/policy';
import Fastify, { type FastifyInstance } from 'fastify';
import type { JWTVerifyGetKey } from 'jose';
import { createTokenVerifier } from './auth/token.ts';
import type { Config } from './config.ts';
import { createTokenExchanger, type TokenExchanger } from './exchange.ts';
import { createBearerAuth } from './http/auth.ts';
import { healthPlugin } from './http/health.ts';
import { hostGuard } from './http/host-guard.ts';
import { mcpRoutePlugin } from './http/mcp-route.ts';
import { createMcpDispatcher } from './http/mcp-sdk.ts';
import { metadataUrlFor, protectedResourcePlugin } from './http/protected-resource.ts';
import { buildInventory } from './pipeline/inventory.ts';
import { createToolRunner, type ToolRunner } from './pipeline/runner.ts';
import { UNSAFE_TOOL } from './pipeline/steps.ts';
import { SessionPool } from './session-pool.ts';
import { toolInputShapes } from './tools/schemas.ts';

export interface AppDeps {
  /** Default: config.policyFile, else @netward/policy's default policy. */
  readonly policy?: Policy;
  /** Default: the issuer's remote JWKS (config.jwksUri, else discovered). */
  readonly jwks?: JWTVerifyGetKey | KeySource;
  /** Default: RFC 8693 at config.tokenExchange. */
  readonly exchange?: TokenExchanger;
  /** Default: @netward/ca-broker's client for config.broker.url. */
  readonly broker?: BrokerClient;
  /** Default: JSON lines on stdout. */
  readonly logger?: Logger;
}

/** The policy's tools this server offers: implemented here, and the raw tool only when enabled. */
function offeredTools(policy: Policy, config: Config, logger: Logger): PolicyTool[] {
  const tools = policy.tools.filter((t) => {
    if (!Object.hasOwn(toolInputShapes, t.name)) {
      logger.warn(
        { event: 'tool_skipped', tool: t.name },
        'policy tool has no implementation here; not offered',
      );
      return false;
    }
    return t.name !== UNSAFE_TOOL || config.unsafeRawCommandTool;
  });
  if (config.unsafeRawCommandTool) {
    logger.warn(
      { event: 'unsafe_tool_enabled', tool: UNSAFE_TOOL },
      'UNSAFE: run_raw_command_on_device is registered (a raw command passthrough under a read scope). ' +
        'Only the device-side validator stands between it and the device. Never enable this in production.',
    );
  }
  return tools;
}

function toolRunner(config: Config, deps: AppDeps, policy: Policy, logger: Logger): ToolRunner {
  const { limits } = config;
  return createToolRunner({
    policy,
    inventory: buildInventory(config.inventory, config.hostCaKeys),
    limits,
    logger,
    unsafeRawCommandTool: config.unsafeRawCommandTool,
    exchange:
      deps.exchange ?? createTokenExchanger({ ...config.tokenExchange, timeoutMs: limits.exchangeTimeoutMs }),
    broker:
      deps.broker ?? createBrokerClient({ baseUrl: config.broker.url, timeoutMs: limits.brokerTimeoutMs }),
    ...(config.sessionMode
      ? { sessionPool: new SessionPool({ renewBeforeExpiryMs: limits.renewBeforeExpiryMs }) }
      : {}),
  });
}

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const logger = deps.logger ?? createLogger({ component: 'mcp-server' });
  const policy = deps.policy ?? (config.policyFile ? loadPolicy(config.policyFile) : defaultPolicy());
  const publicUrl = new URL(config.publicUrl);
  const tools = offeredTools(policy, config, logger);
  const allScopes = [...new Set(policy.tools.map((t) => t.scope))];
  // The scope asked for when a client has no token: what the smallest useful tool needs.
  const baseScope = policy.tools.find((t) => t.name === 'list_devices')?.scope ?? allScopes.join(' ');
  const verify = createTokenVerifier({
    issuer: config.issuer,
    audience: config.publicUrl,
    algorithms: config.algorithms,
    roleClaim: config.roleClaim,
    clockToleranceSeconds: config.clockToleranceSeconds,
    policy,
    jwks: deps.jwks ?? remoteKeys({ issuer: config.issuer, jwksUri: config.jwksUri }),
    cacheEntries: config.verifiedTokenCacheEntries,
  });
  const runner = toolRunner(config, deps, policy, logger);
  const maxBodyBytes = config.limits.maxBodyBytes;

  const app = Fastify({ logger: false, bodyLimit: maxBodyBytes });
  app.addHook('onClose', async () => runner.close());
  app.addHook(
    'onRequest',
    hostGuard({
      publicUrl,
      allowedHosts: config.allowedHosts,
      allowedOrigins: config.allowedOrigins,
      logger,
    }),
  );
  await app.register(protectedResourcePlugin, {
    resource: config.publicUrl,
    issuer: config.issuer,
    scopes: allScopes,
  });
  await app.register(healthPlugin);
  await app.register(mcpRoutePlugin, {
    publicUrl,
    tools,
    auth: createBearerAuth({ verify, metadataUrl: metadataUrlFor(publicUrl), baseScope, logger }),
    dispatcher: createMcpDispatcher({ tools, runner, maxBodyBytes, logger }),
    logger,
  });
  return app;
}
