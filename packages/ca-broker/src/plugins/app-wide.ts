import type { FastifyPluginAsync } from 'fastify';

/**
 * Marks a plugin so that its hooks and handlers apply to the whole app rather than to a child context
 * of its own: fastify's documented `skip-override` property, which is all the fastify-plugin package
 * sets. The audit, error and authentication plugins must see every route, including the 404s.
 */
export function appWide<T extends Record<string, unknown>>(
  plugin: FastifyPluginAsync<T>,
): FastifyPluginAsync<T> {
  Object.defineProperty(plugin, Symbol.for('skip-override'), { value: true });
  return plugin;
}

/** What a route declares in `config` for the plugins: the certificate it issues, the credential it takes. */
export interface RouteConfig {
  /** A certificate endpoint: its decision line (issued or refused) is the request's audit line. */
  readonly certificate?: 'user' | 'host';
  /** `bearer`: the IdP's access token (tokens.ts); `operator`: the operator token file's. */
  readonly auth?: 'bearer' | 'operator';
  /** The `realm` of its 401 answers (RFC 6750 section 3). */
  readonly realm?: string;
}

export function routeConfig(req: { routeOptions?: { config?: unknown } }): RouteConfig {
  return (req.routeOptions?.config ?? {}) as RouteConfig;
}
