/**
 * Where `--stack keycloak` runs Keycloak and OpenBao in a native lab, as the compose renderers' site
 * (src/compose/site.ts): both listen on the lab's host management address, which every lab has to
 * itself (its own /24), so the fixed ports below never collide between two labs on one machine. The
 * devices reach that address too, as they reach Keycloak and OpenBao on the compose lab's network.
 */
import { join } from 'node:path';
import { CLIENTS, issuerOf, jwksUrlOf, type StackSite, tokenEndpointOf } from '../compose/site.ts';
import type { LabLayout } from '../layout.ts';

/** Keycloak's HTTP port, its management port (health), OpenBao's API port: the products' defaults. */
export const KEYCLOAK_PORT = 8080;
export const KEYCLOAK_MANAGEMENT_PORT = 9000;
export const OPENBAO_PORT = 8200;

export { CLIENTS as STACK_CLIENTS };

export function stackSite(layout: LabLayout): StackSite {
  return Object.freeze({
    keycloakUrl: `http://${layout.hostMgmtAddress}:${KEYCLOAK_PORT}`,
    mcpResource: layout.urls.mcp,
    baoAddr: `http://${layout.hostMgmtAddress}:${OPENBAO_PORT}`,
    brokerListen: Object.freeze({ host: '127.0.0.1', port: layout.ports.broker }),
    devices: Object.freeze(layout.devices.map((d) => d.name)),
  });
}

export interface StackEndpoints {
  readonly issuer: string;
  readonly jwksUri: string;
  readonly tokenEndpoint: string;
  readonly keycloakHealth: string;
  readonly baoAddr: string;
}

export function stackEndpoints(layout: LabLayout): StackEndpoints {
  const site = stackSite(layout);
  return Object.freeze({
    issuer: issuerOf(site),
    jwksUri: jwksUrlOf(site),
    tokenEndpoint: tokenEndpointOf(site),
    keycloakHealth: `http://${layout.hostMgmtAddress}:${KEYCLOAK_MANAGEMENT_PORT}/health/ready`,
    baoAddr: site.baoAddr,
  });
}

/** Files of the stack inside the lab directory; secrets under state/ (0700), root only. */
export function stackPaths(layout: LabLayout) {
  return Object.freeze({
    keycloakAdminPassword: join(layout.paths.state, 'keycloak-admin.password'),
    keycloakLog: join(layout.paths.logs, 'keycloak.log'),
    baoConfig: join(layout.paths.config, 'openbao.hcl'),
    baoLog: join(layout.paths.logs, 'openbao.log'),
    baoAudit: join(layout.paths.logs, 'openbao-audit.log'),
  });
}
