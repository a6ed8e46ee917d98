import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { buildSnapshot, renderEnvGuard, renderPrincipals } from '@netward/forcecommand';
import type { Policy } from '@netward/policy';
import { LabError } from './errors.ts';
import { DEFAULT_OPTIONS, type LabLayout, type LabOptions, labLayout, ROLES } from './layout.ts';
import {
  ACCOUNT_GROUP,
  ensureSecrets,
  FILES,
  writeBrokerConfig,
  writeForcecommandConfig,
  writeIdpConfig,
  writeMcpConfig,
  writePolicy,
  writeSyslogConfig,
  writeTacacsConfig,
} from './services/configs.ts';
import { HAPROXY_BINARY, writeHaproxyConfig } from './services/haproxy.ts';
import { replicatedSpecs } from './services/replicated.ts';
import {
  childPid,
  type ServiceSpec,
  serviceRunning,
  startService,
  stopService,
} from './services/supervisor.ts';
import { baoBinary, cacheDir, ensureBao, ensureKeycloak, keycloakHome } from './stack/downloads.ts';
import { importRealm, keycloakSpec } from './stack/keycloak.ts';
import { configureOpenBao, openBaoSpec, writeOpenBaoConfig } from './stack/openbao.ts';
import { ensureAccounts, groupId } from './system/accounts.ts';
import { run } from './system/exec.ts';
import { checkLabDir } from './system/labdir.ts';
import { programPath, programPathLazy } from './system/packages.ts';
import { httpOk, sshBanner, tcpOpen } from './system/probe.ts';
import { agentServiceName, agentSpec } from './topology/agent.ts';
import {
  frrRunning,
  removeFrrConfig,
  startFrr,
  stopFrr,
  waitForRoutes,
  writeFrrConfig,
} from './topology/frr.ts';
import { createNetwork, destroyNetwork, networkStatus } from './topology/network.ts';
import { behindProxy, withReplicas } from './topology/replicas.ts';
import {
  deviceForceCommand,
  installResidentShim,
  prepareResidentDirs,
  residentServiceName,
  residentServiceNames,
  residentSpec,
} from './topology/resident.ts';
import { devicePaths, renderSshdConfig, sshdCommand, validatorNode } from './topology/sshd.ts';

export type Progress = (event: {
  step: string;
  state: 'start' | 'done' | 'info';
  detail?: string;
  ms?: number;
}) => void;

const quiet: Progress = () => {};

async function step<T>(progress: Progress, name: string, fn: () => Promise<T> | T): Promise<T> {
  const t0 = Date.now();
  progress({ step: name, state: 'start' });
  const value = await fn();
  progress({ step: name, state: 'done', ms: Date.now() - t0 });
  return value;
}

/**
 * lab.json: the options a lab was brought up with, and whether it is up. `down` keeps the options
 * (state "down"), so that `up --dir D` brings the same names, addresses and ports back instead of the
 * defaults, which on a shared machine may be another lab's.
 */
interface LabFile {
  readonly options: LabOptions;
  readonly state?: 'up' | 'down';
}

function readLabFile(dir: string): LabFile | undefined {
  const file = join(dir, 'lab.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as LabFile;
}

function writeLabFile(layout: LabLayout, state: 'up' | 'down'): void {
  writeFileSync(layout.paths.labFile, `${JSON.stringify({ options: layout.options, state }, null, 2)}\n`);
}

/** Reads the options a lab was brought up with (lab.json in its directory); the lab must be up. */
export function loadLab(dir: string): LabLayout {
  const saved = readLabFile(dir);
  if (saved === undefined)
    throw new LabError('ERR_LAB_NOT_RUNNING', `no lab in ${dir} (no lab.json): run \`netward-lab up\``);
  if (saved.state === 'down')
    throw new LabError(
      'ERR_LAB_NOT_RUNNING',
      `the lab in ${dir} is down: run \`netward-lab up${dir === DEFAULT_OPTIONS.dir ? '' : ` --dir ${dir}`}\``,
    );
  return labLayout({ ...saved.options, dir });
}

/** The options a lab directory remembers, up or down (undefined when it never held a lab). */
export function savedOptions(dir: string): LabOptions | undefined {
  return readLabFile(dir)?.options;
}

function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new LabError('ERR_LAB_NOT_ROOT', 'the lab needs root: network namespaces, sshd, FRR and accounts');
  }
}

function requirePeers(layout: LabLayout): void {
  const missing = [
    ...(behindProxy(layout) ? [[HAPROXY_BINARY, 'haproxy']] : []),
    ['/usr/sbin/sshd', 'openssh-server'],
    ['/usr/bin/ssh-keygen', 'openssh-client'],
    ['/usr/lib/frr/frrinit.sh', 'frr'],
    ['/usr/bin/vtysh', 'frr'],
    ['/usr/bin/ip', 'iproute2'],
    ['/usr/bin/ping', 'iputils-ping'],
    ['/usr/bin/traceroute.db', 'traceroute'],
  ].filter(([path]) => !existsSync(path as string));
  if (missing.length > 0) {
    throw new LabError(
      'ERR_LAB_MISSING_PEER',
      `missing: ${missing.map(([p, d]) => `${p} (${d})`).join(', ')}; run scripts/setup.sh or apt-get install them`,
    );
  }
}

function mkdir(path: string, mode: number): void {
  mkdirSync(path, { recursive: true, mode });
  chmodSync(path, mode);
  chownSync(path, 0, 0);
}

export function prepareDirectories(layout: LabLayout): void {
  const p = layout.paths;
  // The lab dir is traversed by the device accounts (validator bundle, its config, audit files) and
  // sshd's StrictModes checks every component of the principals files' paths: root-owned, not
  // group/world-writable. Secrets live under state/, 0700.
  mkdir(p.root, 0o755);
  for (const d of [p.logs, p.run, p.bin, p.config, p.devices]) mkdir(d, 0o755);
  for (const d of [p.state, p.ca, p.idp]) mkdir(d, 0o700);
  // sshd's privilege separation directory (there is no init system to create it).
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  for (const d of layout.devices) {
    mkdir(d.dir, 0o755);
    mkdir(devicePaths(d, layout).principalsDir, 0o755);
  }
}

async function ensureKey(file: string, comment: string): Promise<void> {
  if (existsSync(file)) return;
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  chmodSync(file, 0o600);
}

function broker(): string {
  return programPath('@netward/ca-broker', 'netward-ca-broker');
}

/**
 * The broker's two CAs (distinct Ed25519 keys, 0600 in state/ca), created once by the broker itself
 * (`netward-ca-broker init`); their public halves in config/ for sshd (user CA) and the MCP server
 * (host CA).
 */
export async function ensureCas(layout: LabLayout): Promise<void> {
  const node = process.execPath;
  await run(node, [broker(), 'init', '--state-dir', layout.paths.ca]);
  const user = await run(node, [broker(), 'ca-pub', '--state-dir', layout.paths.ca]);
  const host = await run(node, [broker(), 'ca-pub', '--state-dir', layout.paths.ca, '--host']);
  writeFileSync(layout.paths.userCaPub, `${user.stdout.trim()}\n`, { mode: 0o644 });
  writeFileSync(layout.paths.hostCaPub, `${host.stdout.trim()}\n`, { mode: 0o644 });
}

/**
 * Per device: host key, host certificate from the broker's host CA (`netward-ca-broker sign-host`,
 * principals: inventory name, management address, namespace), principals files, validator config,
 * audit file, sshd_config (checked with `sshd -t`).
 */
export async function prepareDevice(layout: LabLayout, device: LabLayout['devices'][number]): Promise<void> {
  const p = devicePaths(device, layout);
  await ensureKey(p.hostKey, `${device.name} host key`);
  await run(process.execPath, [
    broker(),
    'sign-host',
    '--state-dir',
    layout.paths.ca,
    '--host-key',
    `${p.hostKey}.pub`,
    '--principals',
    [device.name, device.mgmtAddress, device.ns].join(','),
    '--key-id',
    `host:${device.name}`,
    '--out',
    p.hostCert,
  ]);
  // `restrict <role>@<device>`: every certificate is bound to the device of its call, by the broker's
  // local CA and by OpenBao's signing roles alike (their allowed_users list `<role>@<device>`).
  for (const role of ROLES)
    writeFileSync(join(p.principalsDir, role), renderPrincipals(role, device.name), { mode: 0o644 });
  if (!existsSync(p.auditFile)) writeFileSync(p.auditFile, '', { mode: 0o620 });
  // forcecommand opens it O_APPEND without O_CREAT: root:<accounts group> 0620 (its README).
  chownSync(p.auditFile, 0, groupId(ACCOUNT_GROUP));
  chmodSync(p.auditFile, 0o620);
  writeForcecommandConfig(device, layout);
  await writeSshdConfig(layout, device, layout.options.validators);
}

/** A device's sshd_config with the ForceCommand of `validators`, checked with `sshd -t`. */
async function writeSshdConfig(
  layout: LabLayout,
  device: LabLayout['devices'][number],
  validators: LabOptions['validators'],
): Promise<void> {
  const p = devicePaths(device, layout);
  writeFileSync(
    p.sshdConfig,
    renderSshdConfig(device, layout, deviceForceCommand(device, layout, validators)),
    {
      mode: 0o644,
    },
  );
  await run('/usr/sbin/sshd', ['-t', '-f', p.sshdConfig]);
}

/**
 * Puts a running lab's device sshds on the resident line or the per-process one (the tool-call bench
 * measures both on one lab): each sshd_config rewritten and its sshd restarted. The resident validators
 * keep running either way; `resident` needs a lab brought up with them.
 */
export async function useValidators(layout: LabLayout, validators: LabOptions['validators']): Promise<void> {
  if (validators === 'resident' && layout.options.validators !== 'resident')
    throw new LabError('ERR_LAB_CONFIG', 'this lab runs no resident validators (up --validators resident)');
  const specs = serviceSpecs(layout);
  await Promise.all(
    layout.devices.map(async (d) => {
      await writeSshdConfig(layout, d, validators);
      await stopService(layout.paths.run, `sshd-${d.name}`);
      await startService(layout.paths.run, specs[`sshd-${d.name}`] as ServiceSpec);
    }),
  );
}

/**
 * The validator starts once per SSH command, so its start-up is in every tool call. forcecommand's
 * recommended deployment is a V8 start-up snapshot built with the device's own node (its README: it
 * roughly halves the start-up, ~170 → ~80 ms here). Built when the bundle changed; when the snapshot
 * script is missing or the build fails, the lab falls back to the plain bundle.
 */
function installValidatorNode(layout: LabLayout): void {
  const target = validatorNode(layout);
  const source = statSync(process.execPath);
  const have = existsSync(target) ? statSync(target) : undefined;
  if (have !== undefined && have.size === source.size && have.mtimeMs >= source.mtimeMs) return;
  // Copied beside and renamed over: a validator starting meanwhile runs the old binary or the new one.
  copyFileSync(process.execPath, `${target}.tmp`);
  chmodSync(`${target}.tmp`, 0o755);
  renameSync(`${target}.tmp`, target);
}

function prepareValidatorSnapshot(layout: LabLayout): string | undefined {
  // The start-up snapshot script is built beside the validator's program (no bin of its own).
  const program = programPathLazy('@netward/forcecommand', 'netward-forcecommand');
  const script = join(dirname(program), 'netward-forcecommand-snapshot.cjs');
  const blob = layout.paths.forcecommandBlob;
  rmSync(`${blob}.failed`, { force: true });
  if (!existsSync(script)) {
    rmSync(blob, { force: true });
    return undefined;
  }
  const copy = join(layout.paths.bin, 'netward-forcecommand-snapshot.cjs');
  // A snapshot only loads into the node binary that built it: rebuilt when either changed.
  const fresh =
    existsSync(blob) &&
    existsSync(copy) &&
    readFileSync(copy).equals(readFileSync(script)) &&
    statSync(blob).mtimeMs >= statSync(validatorNode(layout)).mtimeMs;
  if (!fresh) {
    copyFileSync(script, copy);
    try {
      buildSnapshot({ node: validatorNode(layout), snapshotScript: copy, blob });
    } catch (err) {
      rmSync(blob, { force: true });
      writeFileSync(`${blob}.failed`, `${String((err as Error).message)}\n`);
      return undefined;
    }
  }
  return blob;
}

export function labProgram(): string {
  return programPath('@netward/lab', 'netward-lab');
}

/** The service definitions of a lab; `mcpOptions` lets the demo restart the MCP server differently. */
export function serviceSpecs(layout: LabLayout): Record<string, ServiceSpec> {
  const logs = layout.paths.logs;
  const node = process.execPath;
  const specs: Record<string, ServiceSpec> = {
    syslog: {
      name: 'syslog',
      command: node,
      args: [labProgram(), 'serve-syslog', '--config', FILES.syslogConfig(layout)],
      log: join(logs, 'syslog-receiver.log'),
      ready: () => tcpOpen(layout.hostMgmtAddress, layout.options.syslogPort),
    },
    idp: {
      name: 'idp',
      command: node,
      args: [labProgram(), 'serve-idp', '--config', FILES.idpConfig(layout)],
      log: join(logs, 'idp.log'),
      ready: () => httpOk(`${layout.urls.idp}/.well-known/openid-configuration`),
    },
    // TACACS+, CA broker and MCP server: one of each, or two (and HAProxy) with --replicas 2.
    ...replicatedSpecs(layout),
  };
  if (layout.options.stack === 'keycloak') {
    delete specs['idp'];
    specs['keycloak'] = keycloakSpec(layout, keycloakHome());
    specs['openbao'] = openBaoSpec(layout, baoBinary());
  }
  for (const d of layout.devices) {
    const p = devicePaths(d, layout);
    specs[`sshd-${d.name}`] = {
      name: `sshd-${d.name}`,
      command: node,
      args: [labProgram(), 'serve-logstamp', '--log', p.sshdLog, '--', ...sshdCommand(d, layout)],
      log: join(logs, `sshd-${d.name}.stderr.log`),
      ready: () => sshBanner(d.mgmtAddress, 22),
    };
    specs[agentServiceName(d)] = agentSpec(d, layout);
    if (layout.options.validators === 'resident')
      for (const account of ROLES) specs[residentServiceName(d, account)] = residentSpec(d, layout, account);
  }
  return specs;
}

/** Order of start; `down` stops in parallel. */
export const SERVICE_ORDER = ['syslog', 'tacacs', 'idp', 'ca-broker', 'mcp-server'] as const;
/** With `--stack keycloak`: Keycloak before OpenBao (its JWT auth reads Keycloak's keys). */
export const KEYCLOAK_SERVICE_ORDER = [
  'syslog',
  'tacacs',
  'keycloak',
  'openbao',
  'ca-broker',
  'mcp-server',
] as const;

export function serviceOrder(layout: LabLayout): readonly string[] {
  return withReplicas(layout, layout.options.stack === 'keycloak' ? KEYCLOAK_SERVICE_ORDER : SERVICE_ORDER);
}

async function writeTacPlusNgConfig(layout: LabLayout): Promise<void> {
  const { renderTacPlusNg, loadPolicy } = await import('@netward/policy');
  const which = await run('sh', ['-c', 'command -v tac_plus-ng'], { allowFailure: true });
  if (which.code !== 0)
    throw new LabError('ERR_LAB_MISSING_PEER', '--tacacs tac_plus-ng: no tac_plus-ng on PATH');
  const logDir = join(layout.paths.logs, 'tac_plus-ng');
  mkdir(logDir, 0o755);
  const text = renderTacPlusNg(loadPolicy(FILES.policy(layout)), {
    listen: { address: layout.hostMgmtAddress, port: layout.options.tacacsPort },
    logDir,
    device: { name: 'lab-devices', address: `${layout.options.mgmtNet}.0/24` },
    pidFile: join(layout.paths.run, 'tac_plus-ng.pid'),
  });
  writeFileSync(join(layout.paths.config, 'tac_plus-ng.cfg'), text, { mode: 0o600 });
}

/**
 * `up` on a lab directory that already holds a lab reuses its options (the prefix, addresses and
 * ports are what `down` will look for); an option given explicitly must agree with a running lab.
 */
async function mergeSavedOptions(options: Partial<LabOptions>): Promise<Partial<LabOptions>> {
  const dir = options.dir ?? DEFAULT_OPTIONS.dir;
  const saved = readLabFile(dir)?.options;
  if (saved === undefined) return options;
  const running = (await networkStatus(labLayout({ ...saved, dir }))).bridge;
  if (running) {
    for (const [k, v] of Object.entries(options) as [keyof LabOptions, unknown][]) {
      if (k !== 'dir' && v !== undefined && saved[k] !== v) {
        throw new LabError(
          'ERR_LAB_CONFIG',
          `the lab in ${dir} runs with ${k}=${JSON.stringify(saved[k])}; run \`netward-lab down\` before changing it`,
        );
      }
    }
  }
  return { ...saved, ...options, dir };
}

/**
 * Brings the whole chain up, idempotently: what already runs and answers is kept.
 * Order: accounts → network → FRR (converges in the background) → CAs and configs → services →
 * device sshds → BGP routes installed.
 */
export async function labUp(
  options: Partial<LabOptions> & { readonly selfCheck?: boolean } = {},
  progress: Progress = quiet,
): Promise<LabLayout> {
  requireRoot();
  const { selfCheck: _selfCheck, ...labOptions } = options;
  const dir = checkLabDir(labOptions.dir ?? DEFAULT_OPTIONS.dir);
  const layout = labLayout(await mergeSavedOptions({ ...labOptions, dir }));
  const forcecommandBundle = await checkBeforeUp(layout, progress);
  await prepareHost(layout, progress);
  // Keycloak takes the longest to start (14 s idle, much more on busy cores): it starts now and the
  // rest of the lab is prepared meanwhile; the services below wait for it.
  let keycloakStarted: Promise<KeycloakStart> | undefined;
  if (layout.options.stack === 'keycloak') {
    const spec = keycloakSpec(layout, keycloakHome());
    const t0 = Date.now();
    keycloakStarted = startService(layout.paths.run, spec).then((r) => ({ ...r, ms: Date.now() - t0 }));
    keycloakStarted.catch(() => undefined);
  }
  await step(progress, 'FRR instances (one pathspace per namespace)', async () => {
    for (const d of layout.devices) writeFrrConfig(d, layout);
    await Promise.all(layout.devices.map((d) => startFrr(d)));
  });
  const policy = await step(progress, 'policy, CAs, service configurations', () => writeConfigs(layout));
  const specs = serviceSpecs(layout);
  await step(progress, 'validator bundle and start-up snapshot, host certificates, sshd configs', () =>
    prepareValidators(layout, forcecommandBundle, progress),
  );
  await startServices(layout, specs, policy, keycloakStarted, progress);
  await step(progress, deviceStep(layout), async () => {
    await Promise.all(
      layout.devices.map(async (d) => {
        // The authorization agent and the device's resident validators before sshd: the validators
        // ask the agent from the first command on, and the first call is already served by a
        // resident one. A resident validator asks the agent only per request, so they start together.
        const first = [agentServiceName(d), ...ROLES.map((account) => residentServiceName(d, account))];
        await Promise.all(
          first.map((name) => {
            const spec = specs[name];
            return spec === undefined ? undefined : startService(layout.paths.run, spec);
          }),
        );
        const spec = specs[`sshd-${d.name}`];
        if (spec !== undefined) await startService(layout.paths.run, spec);
      }),
    );
  });
  await step(progress, 'BGP routes installed on every device', async () => {
    const routes = await waitForRoutes(layout);
    for (const [device, prefixes] of Object.entries(routes)) {
      progress({ step: 'routes', state: 'info', detail: `${device}: B>* ${prefixes.join(' ')}` });
    }
  });
  if (options.selfCheck !== false) await runSelfCheck(layout, progress);
  return layout;
}

function deviceStep(layout: LabLayout): string {
  return layout.options.validators === 'resident'
    ? 'device sshd and resident validators (one sshd per namespace, one validator per account)'
    : 'device sshd (one per namespace; a validator process per command)';
}

type KeycloakStart = { pid: number; started: boolean; ms: number };

/**
 * What must hold before anything changes on the machine: the peers, the build outputs, tac_plus-ng
 * when asked for, and the stack's downloads (first run only). Returns the validator bundle's path.
 */
async function checkBeforeUp(layout: LabLayout, progress: Progress): Promise<string> {
  requirePeers(layout);
  labProgram();
  programPath('@netward/ca-broker', 'netward-ca-broker');
  programPath('@netward/mcp-server', 'netward-mcp-server');
  const forcecommandBundle = programPath('@netward/forcecommand', 'netward-forcecommand');
  if (layout.options.tacacs === 'tac_plus-ng') {
    const which = await run('sh', ['-c', 'command -v tac_plus-ng'], { allowFailure: true });
    if (which.code !== 0)
      throw new LabError('ERR_LAB_MISSING_PEER', '--tacacs tac_plus-ng: no tac_plus-ng on PATH');
  }
  if (layout.options.stack === 'keycloak') {
    const say = (detail: string) => progress({ step: 'stack', state: 'info', detail });
    await step(progress, `Keycloak and OpenBao (cached in ${cacheDir()})`, async () => {
      await ensureKeycloak(say);
      await ensureBao(say);
    });
  }
  return forcecommandBundle;
}

/** The lab directory and its secrets, the device accounts, namespaces, veths and the bridge. */
async function prepareHost(layout: LabLayout, progress: Progress): Promise<void> {
  await step(progress, 'lab directory and secrets', () => {
    prepareDirectories(layout);
    writeLabFile(layout, 'up');
  });
  await step(progress, 'device accounts net-viewer, net-operator, net-admin', () =>
    ensureAccounts(ROLES, ['frrvty', ACCOUNT_GROUP]),
  );
  ensureSecrets(layout);
  await step(
    progress,
    `namespaces, veths, management bridge ${layout.bridge} ${layout.hostMgmtAddress}/24`,
    () => createNetwork(layout),
  );
}

/** The policy, the CAs and every service's configuration file; the policy as written. */
async function writeConfigs(layout: LabLayout): Promise<Policy> {
  const policy = writePolicy(layout);
  await ensureCas(layout);
  writeIdpConfig(layout, policy);
  writeBrokerConfig(layout);
  writeMcpConfig(layout);
  writeTacacsConfig(layout);
  writeSyslogConfig(layout);
  if (behindProxy(layout)) writeHaproxyConfig(layout);
  if (layout.options.tacacs === 'tac_plus-ng') await writeTacPlusNgConfig(layout);
  return policy;
}

/** The validator's bundle, node and env guard in the lab's bin/, its snapshot, and each device's files. */
async function prepareValidators(layout: LabLayout, bundle: string, progress: Progress): Promise<void> {
  copyFileSync(bundle, layout.paths.forcecommand);
  chmodSync(layout.paths.forcecommand, 0o755);
  installValidatorNode(layout);
  // ForceCommand starts node through it: NODE_OPTIONS and the like never reach node.
  writeFileSync(join(layout.paths.bin, 'netward-env-guard'), renderEnvGuard(), { mode: 0o755 });
  chmodSync(join(layout.paths.bin, 'netward-env-guard'), 0o755);
  if (layout.options.validators === 'resident') {
    installResidentShim(layout);
    for (const d of layout.devices) prepareResidentDirs(d, layout);
  }
  const snapshot = prepareValidatorSnapshot(layout);
  progress({
    step: 'validator',
    state: 'info',
    detail: snapshot
      ? `validator from a V8 start-up snapshot (${snapshot})`
      : 'validator from the plain bundle',
  });
  await Promise.all(layout.devices.map((d) => prepareDevice(layout, d)));
}

/** The services in their order; Keycloak (already starting) gets its realm, OpenBao its configuration. */
async function startServices(
  layout: LabLayout,
  specs: Record<string, ServiceSpec>,
  policy: Policy,
  keycloakStarted: Promise<KeycloakStart> | undefined,
  progress: Progress,
): Promise<void> {
  for (const name of serviceOrder(layout)) {
    const spec = specs[name];
    if (spec === undefined) continue;
    if (name === 'keycloak') {
      await step(progress, 'service keycloak, realm from the policy', async () => {
        const r = (await keycloakStarted) as KeycloakStart;
        const realm = await importRealm(layout, policy);
        progress({
          step: 'service keycloak',
          state: 'info',
          detail: `${r.started ? `started in ${(r.ms / 1000).toFixed(1)} s` : 'already running'}, pid ${r.pid}, realm ${realm}`,
        });
      });
    } else if (name === 'openbao') {
      await step(progress, 'service openbao, SSH CA and JWT auth', () =>
        startOpenBao(layout, spec, policy, progress),
      );
    } else {
      await step(progress, `service ${name}`, async () => {
        const { pid, started } = await startService(layout.paths.run, spec);
        progress({
          step: `service ${name}`,
          state: 'info',
          detail: `${started ? 'started' : 'already running'}, pid ${pid}`,
        });
      });
    }
  }
}

/** OpenBao started and configured from the policy; the devices trust its user CA. */
async function startOpenBao(
  layout: LabLayout,
  spec: ServiceSpec,
  policy: Policy,
  progress: Progress,
): Promise<void> {
  writeOpenBaoConfig(layout);
  const { pid, started } = await startService(layout.paths.run, spec);
  let userCa: string;
  try {
    userCa = await configureOpenBao(layout, policy);
  } catch (err) {
    // Its storage is memory: stopped, the next `up` starts it afresh instead of half-configured.
    await stopService(layout.paths.run, 'openbao');
    throw err;
  }
  // Devices trust OpenBao's user CA; host certificates still come from the lab's host CA.
  writeFileSync(layout.paths.userCaPub, `${userCa}\n`, { mode: 0o644 });
  progress({
    step: 'service openbao',
    state: 'info',
    detail: `${started ? 'started' : 'already running'}, pid ${pid}, user CA ${userCa.slice(0, 40)}…`,
  });
}

/** The end of `up`: alice calls show_bgp_summary on every device and the audit trail is complete. */
async function runSelfCheck(layout: LabLayout, progress: Progress): Promise<void> {
  await step(
    progress,
    'self-check: alice calls show_bgp_summary on every device, audit trail complete',
    async () => {
      const { selfCheck } = await import('./selfcheck.ts');
      for (const c of await selfCheck(layout)) {
        progress({
          step: 'self-check',
          state: 'info',
          detail: `${c.device}: ok in ${c.ms} ms, request ${c.requestId}`,
        });
      }
    },
  );
}

/**
 * Stops everything in parallel and removes namespaces, veths, bridge and FRR instance files. Idempotent:
 * a lab already down is checked for leftovers again (every step is a no-op when nothing is left), and a
 * directory that never held a lab is nothing to do. Returns false in that last case.
 */
export async function labDown(dir: string, progress: Progress = quiet): Promise<boolean> {
  requireRoot();
  if (!existsSync(join(dir, 'lab.json')) && existsSync(join(dir, 'run'))) {
    // An `up` interrupted before it recorded its options, or a lab.json removed by hand: the pid
    // files still say what was started.
    const names = readdirSync(join(dir, 'run'))
      .filter((f) => f.endsWith('.pid') && !f.endsWith('.sshd.pid'))
      .map((f) => f.slice(0, -'.pid'.length));
    await Promise.all(names.map((n) => stopService(join(dir, 'run'), n)));
    if (names.length > 0) return true;
  }
  const saved = readLabFile(dir);
  if (saved === undefined) return false;
  const layout = labLayout({ ...saved.options, dir });
  const names = labServiceNames(layout);
  await step(progress, 'stop services, sshd and FRR (in parallel)', async () => {
    await Promise.all([
      ...names.map((n) => stopService(layout.paths.run, n)),
      ...layout.devices.map((d) => stopFrr(d)),
    ]);
  });
  await step(progress, 'remove namespaces, veths and bridge', () => destroyNetwork(layout));
  for (const d of layout.devices) removeFrrConfig(d);
  writeLabFile(layout, 'down');
  return true;
}

/** Every supervised process of a lab: the services, then per device its sshd, agent and resident validators. */
export function labServiceNames(layout: LabLayout): string[] {
  return [
    ...serviceOrder(layout),
    ...layout.devices.flatMap((d) => [`sshd-${d.name}`, agentServiceName(d)]),
    ...residentServiceNames(layout),
  ];
}

export interface LabStatus {
  readonly dir: string;
  readonly services: Record<string, boolean>;
  readonly namespaces: Record<string, boolean>;
  readonly frr: Record<string, boolean>;
  readonly bridge: boolean;
  readonly routes: Record<string, string[]>;
}

export async function labStatus(dir: string): Promise<LabStatus> {
  const layout = loadLab(dir);
  const services: Record<string, boolean> = {};
  for (const name of labServiceNames(layout)) {
    services[name] = serviceRunning(layout.paths.run, name);
  }
  const net = await networkStatus(layout);
  const frr: Record<string, boolean> = {};
  const routes: Record<string, string[]> = {};
  const { installedBgpRoutes } = await import('./topology/frr.ts');
  for (const d of layout.devices) {
    frr[d.name] = await frrRunning(d);
    routes[d.name] = frr[d.name] ? await installedBgpRoutes(d) : [];
  }
  return { dir, services, namespaces: net.namespaces, frr, bridge: net.bridge, routes };
}

/** Restarts one service (the demo stops TACACS+ and restarts the MCP server with the unsafe tool). */
export async function restartService(layout: LabLayout, name: string): Promise<void> {
  const spec = serviceSpecs(layout)[name];
  if (spec === undefined) throw new LabError('ERR_LAB_CONFIG', `no service ${name}`);
  await stopService(layout.paths.run, name);
  await startService(layout.paths.run, spec);
}

/** The pid of a lab service's own process (not its supervisor's), for fault experiments. */
export function serviceChildPid(layout: LabLayout, name: string): number | undefined {
  return childPid(layout.paths.run, name);
}

export async function stopLabService(layout: LabLayout, name: string): Promise<void> {
  await stopService(layout.paths.run, name);
}

export async function startLabService(layout: LabLayout, name: string): Promise<void> {
  const spec = serviceSpecs(layout)[name];
  if (spec === undefined) throw new LabError('ERR_LAB_CONFIG', `no service ${name}`);
  await startService(layout.paths.run, spec);
}
