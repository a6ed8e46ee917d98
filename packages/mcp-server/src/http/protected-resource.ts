/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728 section 3): at `/.well-known/oauth-protected-resource`
 * and at the path-suffixed form for the MCP endpoint (`/.well-known/oauth-protected-resource/mcp`,
 * section 3.1), which the 401 challenge names.
 */
import type { FastifyInstance } from 'fastify';

export const PRM_PATH = '/.well-known/oauth-protected-resource';

export interface ProtectedResourceOptions {
  /** The MCP endpoint's canonical URL (the token audience). */
  readonly resource: string;
  readonly issuer: string;
  readonly scopes: readonly string[];
}

/** The metadata URL for the MCP endpoint at `resource`: the path-suffixed form of section 3.1. */
export function metadataUrlFor(resource: URL): string {
  const path = resource.pathname;
  return `${resource.origin}${PRM_PATH}${path === '/' ? '' : path.replace(/\/$/, '')}`;
}

export async function protectedResourcePlugin(
  app: FastifyInstance,
  options: ProtectedResourceOptions,
): Promise<void> {
  const metadata = Object.freeze({
    resource: options.resource,
    authorization_servers: [options.issuer],
    scopes_supported: [...options.scopes],
    bearer_methods_supported: ['header'],
    resource_name: 'netward MCP server',
  });
  const suffixed = new URL(metadataUrlFor(new URL(options.resource))).pathname;
  for (const path of new Set([PRM_PATH, suffixed])) {
    app.get(path, async (_req, reply) => reply.header('cache-control', 'max-age=300').send(metadata));
  }
}
