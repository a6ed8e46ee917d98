// Renders every configuration file of the compose lab from the policy, or checks that the committed
// files still match it.
//
//   pnpm -s render-compose                          # write the files
//   pnpm -s render-compose --check                  # exit 1, with a diff, if any file differs
//   pnpm -s render-compose --policy my-policy.yaml [--check]
//
// (`render-compose` at the root runs this file with tsx and the netward-source condition.)
//
// Paths are relative to the repository root. The policy comes from @netward/policy (its default policy
// unless --policy is given); the compose lab's addresses and names from ./site.ts.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  defaultPolicy,
  lineDiff,
  loadPolicy,
  type Policy,
  renderBrokerRoles,
  renderGrammar,
  renderIdp,
  renderLocalRules,
  renderMcpTools,
  renderTacPlusNg,
} from '@netward/policy';
import { repoRoot } from '../system/packages.ts';
import { renderAuditDashboard } from './grafana.ts';
import { formatJson } from './json.ts';
import { renderComposeRealm } from './keycloak-realm.ts';
import { renderOpenBao } from './openbao.ts';
import { renderBrokerConfig, renderMcpConfig, renderValidatorConfig } from './services.ts';
import { DEVICES, MGMT_SUBNET, TACACS_PORT } from './site.ts';

export const REPO_ROOT = repoRoot();

/** Re-formats JSON text the policy package renders (JSON.stringify style) the way Biome wants it. */
const reformat = (text: string) => formatJson(JSON.parse(text));

/** Every rendered file: path relative to the repository root → content. Pure: reads nothing. */
export function renderAll(policy: Policy): Map<string, string> {
  const files = new Map<string, string>();

  // Identity: the Keycloak realm, and the policy's IdP map it projects (what `netward-policy check --idp`
  // compares).
  files.set('docker/keycloak/netward-realm.json', formatJson(renderComposeRealm(policy)));
  files.set('docker/keycloak/idp-roles.json', reformat(renderIdp(policy)));

  // SSH CA: OpenBao's JWT roles, SSH roles and policies, applied by docker/openbao-init/init.sh.
  const bao = renderOpenBao(policy);
  for (const [path, value] of bao.json) files.set(`docker/openbao-init/${path}`, formatJson(value));
  for (const [path, text] of bao.hcl) files.set(`docker/openbao-init/${path}`, text);

  // TACACS+: tac_plus-ng listening on the management network for every device's validator. No key
  // option: the file takes it from NETWARD_TACACS_KEY at load time.
  files.set(
    'docker/tac_plus-ng/tac_plus-ng.cfg',
    renderTacPlusNg(policy, {
      listen: { address: '0.0.0.0', port: TACACS_PORT },
      device: { name: 'netward-devices', address: MGMT_SUBNET },
      logDir: '/var/log/tac_plus-ng',
      pidFile: '/run/tac_plus-ng/tac_plus-ng.pid',
    }),
  );

  // CA broker and MCP server: their configuration and, for `netward-policy check`, the policy's maps.
  files.set('docker/ca-broker/ca-broker.json', formatJson(renderBrokerConfig()));
  files.set('docker/ca-broker/broker-roles.json', reformat(renderBrokerRoles(policy)));
  files.set(
    'docker/mcp-server/config/mcp-server.json',
    formatJson(renderMcpConfig({ unsafeRawCommandTool: false })),
  );
  files.set(
    'docker/mcp-server/config/mcp-server-unsafe.json',
    formatJson(renderMcpConfig({ unsafeRawCommandTool: true })),
  );
  files.set('docker/mcp-server/mcp-tools.json', reformat(renderMcpTools(policy)));

  // Devices: one validator configuration per device, and the local rules (the fallback without TACACS+).
  for (const device of DEVICES) {
    const folder = device.vendor === 'frr' ? 'device-frr' : 'device-vyos';
    files.set(`docker/${folder}/validator/${device.name}.json`, formatJson(renderValidatorConfig(device)));
  }
  files.set('docker/device-frr/validator/local-rules.json', reformat(renderLocalRules(policy)));
  // The command grammars every validator parses requests against (FRR and VyOS devices alike).
  files.set('docker/device-frr/validator/grammar.json', reformat(renderGrammar(policy)));

  // Audit: the Grafana dashboard.
  files.set('docker/grafana/dashboards/netward-audit.json', formatJson(renderAuditDashboard()));

  return files;
}

/** Files whose committed content differs from `rendered` (missing files count), with a diff each. */
export function compareWithDisk(
  rendered: Map<string, string>,
  root = REPO_ROOT,
): Array<{ path: string; diff: string }> {
  const out: Array<{ path: string; diff: string }> = [];
  for (const [path, expected] of rendered) {
    const file = join(root, path);
    if (!existsSync(file)) {
      out.push({ path, diff: `${path}: missing` });
      continue;
    }
    const actual = readFileSync(file, 'utf8');
    if (actual !== expected) {
      out.push({
        path,
        diff: lineDiff(actual, expected, { fromLabel: `${path} (committed)`, toLabel: `${path} (rendered)` }),
      });
    }
  }
  return out;
}

function main(argv: string[]): number {
  const check = argv.includes('--check');
  const p = argv.indexOf('--policy');
  const policyFile = p === -1 ? undefined : argv[p + 1];
  if (p !== -1 && policyFile === undefined) {
    process.stderr.write('usage: render-all.ts [--policy FILE] [--check]\n');
    return 2;
  }
  const policy = policyFile === undefined ? defaultPolicy() : loadPolicy(policyFile);
  const rendered = renderAll(policy);
  if (check) {
    const drift = compareWithDisk(rendered);
    for (const d of drift) process.stderr.write(`${d.diff}\n`);
    process.stderr.write(
      drift.length === 0
        ? `compose lab: ${rendered.size} rendered files match ${policy.source}\n`
        : `compose lab: ${drift.length} of ${rendered.size} files differ from ${policy.source}; run pnpm -s render-compose\n`,
    );
    return drift.length === 0 ? 0 : 1;
  }
  for (const [path, content] of rendered) {
    const file = join(REPO_ROOT, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  process.stderr.write(`compose lab: wrote ${rendered.size} files from ${policy.source}\n`);
  return 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
