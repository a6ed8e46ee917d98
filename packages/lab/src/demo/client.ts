import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LabError } from '../errors.ts';
import { loadUsers } from '../idp/config.ts';
import { type LoginResult, loginWithPkce } from '../idp/login.ts';
import type { LabLayout } from '../layout.ts';

/** Every scope an agent may ask for; the IdP grants the subset the user's role allows. */
export const AGENT_SCOPE = 'openid mcp:ctrl-plane:read mcp:diag:run mcp:config:read mcp:config:write';

/** Logs a lab user in through the real authorization code + PKCE flow (no token minted on the side). */
export async function loginAs(layout: LabLayout, user: string): Promise<LoginResult> {
  if (layout.options.stack === 'keycloak') {
    const { keycloakLogin } = await import('../stack/keycloak.ts');
    const t = await keycloakLogin(layout, user);
    return { accessToken: t.accessToken, tokenType: 'Bearer', expiresIn: t.expiresIn, scope: t.scope };
  }
  const users = loadUsers(layout.paths.usersFile);
  const entry = users[user];
  if (entry === undefined) throw new LabError('ERR_LAB_LOGIN', `no lab user ${user}`);
  return loginWithPkce({
    issuer: layout.urls.idp,
    clientId: layout.clients.agent,
    redirectUri: layout.clients.agentRedirect,
    resource: layout.urls.mcp,
    scope: AGENT_SCOPE,
    username: user,
    password: entry.password,
  });
}

export interface ToolOutcome {
  /** The MCP result was a tool error (isError), or the call was refused before reaching the tool. */
  readonly ok: boolean;
  readonly text: string;
  /** Stable error code when the server gave one (in structured content or the text). */
  readonly code?: string;
  /** HTTP-level refusal (401/403) instead of a tool result. */
  readonly httpStatus?: number;
  readonly ms: number;
  /** When the call was sent (ISO 8601): the server's records of it are not older. */
  readonly startedAt: string;
}

export interface AgentSession {
  readonly client: Client;
  readonly token: string;
  listTools(): Promise<string[]>;
  call(tool: string, args: Record<string, unknown>): Promise<ToolOutcome>;
  close(): Promise<void>;
}

function textOf(content: unknown): string {
  if (!Array.isArray(content)) return '';
  return content
    .map((c: { type?: string; text?: string }) =>
      c.type === 'text' && typeof c.text === 'string' ? c.text : '',
    )
    .join('\n');
}

/** An MCP agent: the SDK's Client over Streamable HTTP, with the user's bearer token on every request. */
export async function connectAgent(
  layout: LabLayout,
  accessToken: string,
  name = 'netward-lab-demo',
): Promise<AgentSession> {
  const transport = new StreamableHTTPClientTransport(new URL(layout.urls.mcp), {
    requestInit: { headers: { authorization: `Bearer ${accessToken}` } },
  });
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(transport);
  return {
    client,
    token: accessToken,
    async listTools() {
      const { tools } = await client.listTools();
      return tools.map((t) => t.name).sort();
    },
    async call(tool, args) {
      const t0 = performance.now();
      const startedAt = new Date().toISOString();
      try {
        const result = await client.callTool({ name: tool, arguments: args });
        const text = textOf(result.content);
        const structured = result.structuredContent as { code?: unknown } | undefined;
        const code =
          typeof structured?.code === 'string'
            ? structured.code
            : (/\b(ERR_[A-Z0-9_]+)\b/.exec(text)?.[1] ?? undefined);
        return {
          ok: result.isError !== true,
          text,
          ...(code !== undefined ? { code } : {}),
          ms: performance.now() - t0,
          startedAt,
        };
      } catch (err) {
        const e = err as { code?: unknown; message?: string };
        const status =
          /HTTP (\d{3})/.exec(e.message ?? '')?.[1] ??
          (typeof e.code === 'number' ? String(e.code) : undefined);
        return {
          ok: false,
          text: e.message ?? String(err),
          ...(status !== undefined && Number(status) >= 400 && Number(status) < 600
            ? { httpStatus: Number(status) }
            : {}),
          ms: performance.now() - t0,
          startedAt,
        };
      }
    },
    async close() {
      await client.close();
    },
  };
}
