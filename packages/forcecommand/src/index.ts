// The public API of @netward/forcecommand: what the lab and operators' code call (the device's
// configuration, sshd lines, accounts, the agent, the snapshot) and the error catalogue. The validator's
// stages are reached only through the program; tests import them from src/ directly. The session
// framing shared with the MCP server is its own package, @netward/session-protocol.
export { type AgentOptions, type RunningAgent, startAgent } from './agent.ts';
export { agentSocketPath } from './agent-protocol.ts';
export { type ConfigInput, type ForceCommandConfig, validateConfig } from './config.ts';
export {
  buildSnapshot,
  DEFAULT_RESIDENT_SOCKET_DIR,
  type DeviceConfigOptions,
  deviceConfigObject,
  type EnsureAccountsOptions,
  ensureAccounts,
  type ForceCommandLineOptions,
  forceCommandLine,
  type InstallOptions,
  type InstallResult,
  installDevice,
  prepareResidentSockets,
  renderDeviceConfig,
  renderPrincipals,
  renderSshdConfig,
  residentSocketPath,
  type SshdConfigOptions,
} from './deploy.ts';
export { renderEnvGuard } from './environment.ts';
export { FC_ERRORS, ForceCommandError, type ForceCommandErrorCode, type Stage } from './errors.ts';
export { type ResidentOptions, type RunningResident, startResident } from './resident.ts';
export { MAX_SOCKET_PATH, renderResidentShim } from './shim.ts';
export { formatSyslog } from './syslog.ts';
