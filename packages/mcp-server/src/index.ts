// The public API of @netward/mcp-server. Anything exported here is public; everything else is not.
// Callers start the server (the lab runs the program; tests and embedders call buildApp/startServer),
// read its configuration, and branch on its error codes.
export { type AppDeps, buildApp } from './app.ts';
export type { Identity } from './auth/token.ts';
export {
  type Config,
  type ConfigFile,
  configSchema,
  type DeviceEntry,
  type Limits,
  loadConfig,
  parseConfig,
} from './config.ts';
export { MCP_SERVER_ERRORS, McpServerError, type McpServerErrorCode } from './errors.ts';
export { SERVER_NAME, SERVER_VERSION } from './http/mcp-sdk.ts';
export { PRM_PATH } from './http/protected-resource.ts';
export { REQUEST_ID_META, type ToolResult } from './pipeline/result.ts';
export { type RunningServer, startServer } from './server.ts';
