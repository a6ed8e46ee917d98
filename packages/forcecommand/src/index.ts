// The public API of @netward/forcecommand. Anything exported here is public; everything else is not.
export { type AgentOptions, type RunningAgent, startAgent } from './agent.ts';
export { agentSocketPath } from './agent-protocol.ts';
export { type AuditOptions, type AuditSink, createAuditSink } from './audit.ts';
export {
  type Authorizer,
  type AuthzAnswer,
  createAgentAuthorizer,
  createAuthorizer,
  createLocalAuthorizer,
  createRulesAuthorizer,
  createTacacsAuthorizer,
  readAgentAnswer,
  readTacacsAnswer,
} from './authorize.ts';
export {
  type ConfigInput,
  checkFileSafety,
  configSchema,
  type ForceCommandConfig,
  loadConfig,
  parseConfigText,
  validateConfig,
} from './config.ts';
export {
  buildSnapshot,
  DEBIAN_TOOLS,
  DEFAULT_ACCOUNT_GROUP,
  DEFAULT_ACCOUNTS,
  DEFAULT_AGENT_SOCKET_DIR,
  type DeviceConfigOptions,
  deviceConfigObject,
  type EnsureAccountsOptions,
  ensureAccounts,
  type ForceCommandLineOptions,
  FRR_GROUP,
  forceCommandLine,
  type InstallOptions,
  type InstallResult,
  installDevice,
  renderDeviceConfig,
  renderPrincipals,
  renderSshdConfig,
  type SshdConfigOptions,
} from './deploy.ts';
export { HOSTILE_NAMES, HOSTILE_PREFIXES, hostileVariables, renderEnvGuard } from './environment.ts';
export {
  clientMessage,
  FC_ERROR_CODES,
  ForceCommandError,
  type ForceCommandErrorCode,
  isForceCommandError,
  type Stage,
} from './errors.ts';
export { CHILD_PATH, childEnvironment, type ExecuteResult, execute, type SpawnFunction } from './execute.ts';
export { type Identity, type PartialIdentity, readIdentity } from './identity.ts';
export { ALLOWED_CHARACTERS, checkInput, DEFAULT_MAX_COMMAND_LENGTH, splitWords } from './input.ts';
export {
  type AuthzRequest,
  baseName,
  type CliRouting,
  DEFAULT_WRAPPERS,
  type ExecutableSpec,
  type ExecutionPlan,
  type NormalizeOptions,
  normalize,
  requestString,
} from './normalize.ts';
export { formatSyslog, type SyslogMessage, type SyslogTarget } from './syslog.ts';
export { runValidator, type ValidatorDeps } from './validator.ts';
