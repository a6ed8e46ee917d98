// @netward/lab/compose: the compose lab's configuration, rendered from the policy. The native lab's
// `--stack keycloak` renders its realm, OpenBao and broker configuration with the same functions for its
// own addresses; test/compose checks the committed files against them.
export { CORRELATIONS, correlationQuery, renderAuditDashboard } from './grafana.ts';
export { formatJson } from './json.ts';
export { renderComposeRealm } from './keycloak-realm.ts';
export { renderOpenBao } from './openbao.ts';
export { compareWithDisk, renderAll } from './render-all.ts';
export { renderBrokerConfig, renderMcpConfig, renderValidatorConfig } from './services.ts';
export {
  CLIENTS,
  COMPOSE_SITE,
  DEVICES,
  ISSUER,
  KEYCLOAK_ENV,
  MCP_PORT,
  MCP_RESOURCE,
  type StackSite,
  SYSLOG_ADDRESS,
  TACACS_ADDRESS,
} from './site.ts';
