/** What a tool call answers: MCP CallToolResult with text content, and the coded error shape. */
import type { McpServerError } from '../errors.ts';

/** The `_meta` key under which every tool result carries the call's request id. */
export const REQUEST_ID_META = 'netward/request_id';

/** What tools/call returns (MCP CallToolResult, text content only). */
export interface ToolResult {
  [key: string]: unknown;
  content: { type: 'text'; text: string }[];
  isError?: boolean;
}

export function textResult(text: string): ToolResult {
  return { content: [{ type: 'text', text }] };
}

/** Device output an agent may see: printable text, bounded. */
export function deviceText(s: string, max: number): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping terminal control sequences is the point
  const clean = s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, '');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

export function errorResult(err: McpServerError, requestId: string, deviceMessage?: string): ToolResult {
  const error: Record<string, string> = { code: err.code, message: err.publicMessage, request_id: requestId };
  if (deviceMessage !== undefined && deviceMessage !== '') error['device_message'] = deviceMessage;
  return { content: [{ type: 'text', text: JSON.stringify({ error }) }], isError: true };
}

/** W3C Trace Context section 3.2: version 00, 32-hex trace id, 16-hex parent id, 2-hex flags; the
 *  all-zero ids are invalid. Anything else is dropped, never logged. */
export function parseTraceparent(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/.exec(value);
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined;
  return value;
}
