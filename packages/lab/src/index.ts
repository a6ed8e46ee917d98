// The public API of @netward/lab. Anything exported here is public; everything else is not.
export { type AuditEvent, readLabEvents } from './audit/sources.ts';
export {
  type Chain,
  classify,
  formatChain,
  isComplete,
  LINKS,
  requestIdsFor,
  TRACE_WIDTH,
  traceRequest,
} from './audit/trace.ts';
export { exchangeForBroker, type IssuedCertificate, requestCertificate } from './demo/certificates.ts';
export { AGENT_SCOPE, type AgentSession, connectAgent, loginAs, type ToolOutcome } from './demo/client.ts';
export { runDemo } from './demo/demo.ts';
export {
  type Agent,
  agentFor,
  establishedNeighbors,
  findDenial,
  READ_TOOLS,
  requestIdOf,
  type StepResult,
  stepAdmin,
  stepFailClosed,
  stepOperator,
  stepRawCommand,
  stepViewer,
  toolError,
} from './demo/steps.ts';
export { LAB_ERRORS, LabError, type LabErrorCode } from './errors.ts';
export { type IdpConfig, parseIdpConfig } from './idp/config.ts';
export {
  type ExchangeOptions,
  exchangeToken,
  type LoginOptions,
  type LoginResult,
  loginWithPkce,
} from './idp/login.ts';
export { createIdp, type LabIdp } from './idp/provider.ts';
export { type RunningIdp, startIdp } from './idp/server.ts';
export {
  labDown,
  labServiceNames,
  labStatus,
  labUp,
  loadLab,
  type Progress,
  restartService,
  SERVICE_ORDER,
  serviceChildPid,
  startLabService,
  stopLabService,
  useValidators,
} from './lab.ts';
export {
  DEFAULT_LAB_DIR,
  DEFAULT_OPTIONS,
  type DeviceLayout,
  deviceByName,
  type LabLayout,
  type LabOptions,
  labLayout,
} from './layout.ts';
export { brokerConfigObject, FILES, mcpConfigObject, writeMcpConfig } from './services/configs.ts';
export { parseSyslog5424, splitTcpFrames, startSyslogReceiver, syslogToRecord } from './services/syslog.ts';
export { startLabTacacs } from './services/tacacs.ts';
export { cacheDir, KEYCLOAK, OPENBAO } from './stack/downloads.ts';
export { keycloakLogin, type RealmSecrets, stackRealm } from './stack/keycloak.ts';
export { openBaoRequests } from './stack/openbao.ts';
export { stackEndpoints, stackSite } from './stack/site.ts';
export {
  residentServiceName,
  residentServiceNames,
  residentSocket,
} from './topology/resident.ts';
export { devicePaths } from './topology/sshd.ts';
