/**
 * An MCP client of each protocol revision, behind one small interface so a test runs unchanged
 * against both: `2025-11-25` is the v1 SDK's client (initialize handshake, the flow most deployed
 * clients still use), `2026-07-28` the v2 SDK's client pinned to the current revision (no handshake:
 * server/discover, then a `_meta` envelope on every request). A pinned client never falls back, so a
 * server that only spoke 2025 would fail its connect.
 */
import {
  Client as ClientV2,
  StreamableHTTPClientTransport as TransportV2,
} from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export const REVISIONS = ['2025-11-25', '2026-07-28'] as const;
export type Revision = (typeof REVISIONS)[number];

export interface ToolResult {
  readonly content: unknown;
  readonly isError?: boolean | undefined;
  readonly _meta?: Record<string, unknown> | undefined;
}

export interface TestClient {
  readonly revision: Revision;
  /** What the connection negotiated, as the SDK reports it. */
  readonly negotiated: string | undefined;
  listTools(): Promise<{ tools: { name: string; annotations?: Record<string, unknown> | undefined }[] }>;
  callTool(params: {
    name: string;
    arguments: Record<string, unknown>;
    _meta?: Record<string, unknown>;
  }): Promise<ToolResult>;
  close(): Promise<void>;
}

export async function connectClient(url: string, token: string, revision: Revision): Promise<TestClient> {
  const requestInit = { headers: { Authorization: `Bearer ${token}` } };
  if (revision === '2025-11-25') {
    const client = new ClientV1({ name: 'netward-test', version: '1.0.0' });
    await client.connect(new TransportV1(new URL(url), { requestInit }));
    return {
      revision,
      negotiated: client.getServerVersion() ? revision : undefined,
      listTools: () => client.listTools(),
      callTool: (p) => client.callTool(p) as Promise<ToolResult>,
      close: () => client.close(),
    };
  }
  const client = new ClientV2(
    { name: 'netward-test', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: revision } } },
  );
  await client.connect(new TransportV2(new URL(url), { requestInit }));
  return {
    revision,
    negotiated: client.getNegotiatedProtocolVersion(),
    listTools: () => client.listTools(),
    callTool: (p) => client.callTool(p) as Promise<ToolResult>,
    close: () => client.close(),
  };
}
