// The public API of @netward/mcp-server. Anything exported here is public; everything else is not.
export { type AppDeps, buildApp, PRM_PATH, SERVER_NAME, SERVER_VERSION } from './app.ts';
export { createTokenVerifier, type Identity, remoteJwks, type TokenVerifier } from './auth/token.ts';
export {
  type Config,
  type ConfigFile,
  configSchema,
  type DeviceEntry,
  type Limits,
  loadConfig,
  parseConfig,
} from './config.ts';
export { isMcpServerError, McpServerError, type McpServerErrorCode, PUBLIC_MESSAGES } from './errors.ts';
export {
  createTokenExchanger,
  type ExchangedToken,
  GRANT_TYPE_TOKEN_EXCHANGE,
  TOKEN_TYPE_ACCESS_TOKEN,
  type TokenExchanger,
} from './exchange.ts';
export {
  buildInventory,
  createToolRunner,
  type InventoryDevice,
  REQUEST_ID_META,
  type ToolResult,
  type ToolRunner,
} from './pipeline.ts';
export { type RunningServer, startServer } from './server.ts';
export { SessionPool } from './session-pool.ts';
export {
  type ConnectOptions,
  connectDevice,
  type DeviceConnection,
  type ExecOptions,
  type ExecResult,
} from './ssh/connection.ts';
export { type DeviceTarget, type RunDeviceCommandOptions, runDeviceCommand } from './ssh/executor.ts';
export { type HostKeyPolicy, verifyHostKey } from './ssh/host-key.ts';
export { certificateAuthKey, type EphemeralKey, generateEphemeralKey } from './ssh/keys.ts';
export { type DeviceToolName, deviceCommands, vtysh } from './tools/commands.ts';
