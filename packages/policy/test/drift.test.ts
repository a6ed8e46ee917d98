// check catches each kind of drift: cross-layer disagreements (warnings) and deployed artifacts that no
// longer match the policy (mismatches with a readable diff).
import { describe, expect, it } from 'vitest';
import { checkDeployed, checkDrift } from '../src/drift.ts';
import {
  parsePolicy,
  renderBrokerRoles,
  renderIdp,
  renderLocalRules,
  renderMcpTools,
  renderTacPlusNg,
} from '../src/index.ts';
import { renderKeycloakRealm } from '../src/render/services.ts';
import { designPolicy } from './helpers/design.ts';

function policyWith(rolesYaml: string, toolsYaml: string) {
  return parsePolicy(`version: 1\nroles:\n${rolesYaml}\ntools:\n${toolsYaml}\n`, 'drift.yaml');
}

describe('cross-layer drift warnings', () => {
  it('finds exactly the expected warnings in the design policy', () => {
    expect(checkDrift(designPolicy()).map((w) => [w.kind, w.role, w.tool, w.ruleIndex])).toEqual([
      // every permit pattern of the seed is unanchored (see the lint tests below)
      ['unanchored-permit', 'net-viewer', null, 2],
      ['unanchored-permit', 'net-viewer', null, 3],
      ['unanchored-permit', 'net-viewer', null, 4],
      // the seed's rules let viewers and operators run "show running-config", which their scopes refuse
      ['denied-tool-permitted-command', 'net-viewer', 'show_running_config', 2],
      ['unsafe-tool-granted', 'net-viewer', 'run_raw_command_on_device', null],
      ['unanchored-permit', 'net-operator', null, 2],
      ['unanchored-permit', 'net-operator', null, 3],
      ['unanchored-permit', 'net-operator', null, 4],
      ['unanchored-permit', 'net-operator', null, 5],
      ['denied-tool-permitted-command', 'net-operator', 'show_running_config', 2],
      ['unsafe-tool-granted', 'net-operator', 'run_raw_command_on_device', null],
      ['unsafe-tool-granted', 'net-admin', 'run_raw_command_on_device', null],
    ]);
  });

  it('warns when a role is granted a tool whose command its rules deny', () => {
    const p = policyWith(
      `  - name: r
    scopes: [mcp:diag:run]
    certificate: { ttlSeconds: 60, maxTtlSeconds: 60, extensions: [] }
    rules: [{ action: permit, match: '^show' }]`,
      `  - { name: ping, scope: 'mcp:diag:run', description: d, command: ping -c 3 192.0.2.1 }`,
    );
    const [w, ...rest] = checkDrift(p);
    expect(rest).toEqual([]);
    expect(w).toMatchObject({
      kind: 'granted-tool-denied-command',
      role: 'r',
      tool: 'ping',
      scope: 'mcp:diag:run',
      command: 'ping -c 3 192.0.2.1',
      ruleIndex: null,
    });
    expect(w?.message).toContain('default deny');
  });

  it('warns when a role is denied a tool whose command its rules permit', () => {
    const p = policyWith(
      `  - name: r
    scopes: []
    certificate: { ttlSeconds: 60, maxTtlSeconds: 60, extensions: [] }
    rules: [{ action: deny, match: configure }, { action: permit }]`,
      `  - { name: cfg, scope: 'mcp:config:write', description: d, command: configure terminal }
  - { name: reboot, scope: 'mcp:config:write', description: d, command: reload }`,
    );
    expect(checkDrift(p).map((w) => [w.kind, w.tool, w.ruleIndex])).toEqual([
      ['denied-tool-permitted-command', 'reboot', 1],
    ]);
  });

  it('warns when an unsafe tool is reachable, and skips command checks for tools without a command', () => {
    const p = policyWith(
      `  - name: r
    scopes: [a:read]
    certificate: { ttlSeconds: 60, maxTtlSeconds: 60, extensions: [] }
    rules: []`,
      `  - { name: raw, scope: 'a:read', description: d, unsafe: true }
  - { name: list, scope: 'a:read', description: d }
  - { name: other, scope: 'b:write', description: d, unsafe: true }`,
    );
    expect(checkDrift(p).map((w) => [w.kind, w.tool])).toEqual([['unsafe-tool-granted', 'raw']]);
  });

  it('is silent when scopes and rules agree', () => {
    const p = policyWith(
      `  - name: r
    scopes: [a:read]
    certificate: { ttlSeconds: 60, maxTtlSeconds: 60, extensions: [] }
    rules: [{ action: permit, match: '^show ' }]`,
      `  - { name: s, scope: 'a:read', description: d, command: show x }
  - { name: w, scope: 'a:write', description: d, command: write x }`,
    );
    expect(checkDrift(p)).toEqual([]);
  });
});

describe('deployed artifacts', () => {
  const p = designPolicy();

  it('match when freshly rendered, whatever the deployment options or JSON layout', () => {
    const tac = renderTacPlusNg(p, {
      key: 'other',
      listen: { address: '10.0.0.1', port: 49 },
      logDir: '/srv/log',
    });
    expect(checkDeployed(p, 'tac_plus-ng', tac, 'tac.cfg')).toEqual({
      target: 'tac_plus-ng',
      file: 'tac.cfg',
      matches: true,
      diff: '',
    });
    const compact = JSON.stringify(JSON.parse(renderLocalRules(p)));
    expect(checkDeployed(p, 'local-rules', compact, 'rules.json').matches).toBe(true);
    expect(checkDeployed(p, 'broker', renderBrokerRoles(p), 'b.json').matches).toBe(true);
    expect(checkDeployed(p, 'mcp', renderMcpTools(p), 'm.json').matches).toBe(true);
    expect(checkDeployed(p, 'idp', renderIdp(p), 'i.json').matches).toBe(true);
  });

  it('tac_plus-ng: an edited profile rule shows as a diff at its line in the deployed file', () => {
    const deployed = renderTacPlusNg(p).replace('/(^|\\/)ip addr($| )/', '/(^|\\/)ip (addr|link)($| )/');
    const r = checkDeployed(p, 'tac_plus-ng', deployed, 'tac.cfg');
    expect(r.matches).toBe(false);
    const line = deployed.split('\n').findIndex((l) => l.includes('ip (addr|link)')) + 1;
    expect(r.diff).toContain(`-\t\t\t\tif (cmd =~ /(^|\\/)ip (addr|link)($| )/) permit`);
    expect(r.diff).toContain(`+\t\t\t\tif (cmd =~ /(^|\\/)ip addr($| )/) permit`);
    expect(r.diff).toMatch(new RegExp(`@@ deployed line ${line - 3},`));
  });

  it('tac_plus-ng: removing regex-match-case is drift (matching would turn case-insensitive)', () => {
    const deployed = renderTacPlusNg(p).replace('\tregex-match-case = yes\n', '');
    expect(checkDeployed(p, 'tac_plus-ng', deployed, 'tac.cfg').diff).toContain('+\tregex-match-case = yes');
  });

  it('tac_plus-ng: a file without the netward markers is refused', () => {
    expect(() => checkDeployed(p, 'tac_plus-ng', 'id = tac_plus-ng { }\n', 'hand.cfg')).toThrow(
      expect.objectContaining({ code: 'ERR_POLICY_MISMATCH', file: 'hand.cfg' }),
    );
  });

  it('local rules: an added rule is drift', () => {
    const data = JSON.parse(renderLocalRules(p));
    data.roles['net-viewer'].rules.unshift({ action: 'permit', match: 'reboot' });
    const r = checkDeployed(p, 'local-rules', JSON.stringify(data), 'rules.json');
    expect(r.matches).toBe(false);
    expect(r.diff).toContain('-          "match": "reboot"');
  });

  it('IdP export: a scope granted outside the policy is drift', () => {
    const data = JSON.parse(renderIdp(p));
    data.roles[0].scopes.push('mcp:config:write');
    const r = checkDeployed(p, 'idp', JSON.stringify(data), 'idp.json');
    expect(r.matches).toBe(false);
    expect(r.diff).toContain('-        "mcp:config:write"');
  });

  it('broker map: a longer certificate TTL is drift', () => {
    const r = checkDeployed(
      p,
      'broker',
      renderBrokerRoles(p).replace('"ttlSeconds": 60', '"ttlSeconds": 3600'),
      'b.json',
    );
    expect(r.diff).toContain('-      "ttlSeconds": 3600,');
    expect(r.diff).toContain('+      "ttlSeconds": 60,');
  });

  it('MCP map: a re-scoped tool is drift', () => {
    const text = renderMcpTools(p).replace(
      /("show_running_config": \{\n\s+"scope": )"mcp:config:read"/,
      '$1"mcp:ctrl-plane:read"',
    );
    expect(text).toContain('"mcp:ctrl-plane:read"');
    expect(checkDeployed(p, 'mcp', text, 'm.json').matches).toBe(false);
  });

  it("Keycloak realm: a role added to a scope mapping is drift; the realm name is the deployment's", () => {
    const realm = JSON.parse(renderKeycloakRealm(p, { realm: 'prod' }));
    expect(checkDeployed(p, 'keycloak-realm', JSON.stringify(realm), 'realm.json').matches).toBe(true);
    realm.scopeMappings[0].roles.push('net-viewer');
    const r = checkDeployed(p, 'keycloak-realm', JSON.stringify(realm), 'realm.json');
    expect(r.matches).toBe(false);
    expect(r.diff).toContain('-        "net-viewer"');
  });

  it('a JSON target that is not JSON is refused', () => {
    expect(() => checkDeployed(p, 'idp', 'roles: []', 'idp.yaml')).toThrow(
      expect.objectContaining({ code: 'ERR_POLICY_MISMATCH' }),
    );
  });
});
