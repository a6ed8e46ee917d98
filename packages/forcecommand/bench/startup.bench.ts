// Wall time of one permitted command through the validator (local rules; TACACS+ against our server)
// next to the same command run directly, all in the same run, as a service account with the clean
// environment sshd gives a ForceCommand. Prints figures and ratios; asserts nothing.
//
//   pnpm bench          (builds dist/ first; needs root for the account switch)
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '@netward/audit-context';
import { defaultPolicy, renderGrammar, renderLocalRules } from '@netward/policy';
import { createTacacsServer, TacacsClient } from '@netward/tacacs-plus';
import { startAgent } from '../src/agent.ts';
import { buildSnapshot, ensureAccounts, prepareResidentSockets } from '../src/deploy.ts';
import { renderEnvGuard } from '../src/environment.ts';
import { renderResidentShim } from '../src/shim.ts';
import { authInfo, certLine } from '../test/helpers.ts';
import { BUNDLE, SNAPSHOT_SCRIPT, spawnResident } from '../test/sshd-harness.ts';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 40);
const ACCOUNT = 'net-viewer';
const COMMAND = ['ip', 'addr', 'show', 'lo'];

if (process.getuid?.() !== 0) {
  console.error('bench: run as root (the validator runs as a service account)');
  process.exit(2);
}
ensureAccounts();
const passwd = (await import('node:fs'))
  .readFileSync('/etc/passwd', 'utf8')
  .split('\n')
  .find((l) => l.startsWith(`${ACCOUNT}:`))
  ?.split(':');
const uid = Number(passwd?.[2]);
// The account's own group: spawn() sets one gid and no supplementary groups, and the agent's socket
// directory is root:<account's group> 0710. The bench's audit file and key belong to it too.
const gid = Number(passwd?.[3]);

const dir = mkdtempSync('/run/netward-fc-bench-');
chmodSync(dir, 0o755);
const f = (n: string) => join(dir, n);
// Valid for the whole run: the validator checks the certificate's validity on every command.
writeFileSync(f('auth'), authInfo(certLine({ validForSeconds: 3600 })), { mode: 0o644 });
writeFileSync(f('rules.json'), renderLocalRules(defaultPolicy()), { mode: 0o644 });
writeFileSync(f('grammar.json'), renderGrammar(defaultPolicy()), { mode: 0o644 });
writeFileSync(f('tacacs.key'), 'bench-secret\n', { mode: 0o640 });
chownSync(f('tacacs.key'), 0, gid);
writeFileSync(f('audit.log'), '', { mode: 0o620 });
chownSync(f('audit.log'), 0, gid);
chmodSync(f('audit.log'), 0o620);

const server = createTacacsServer({
  key: 'bench-secret',
  logger: createLogger({ component: 'tacacs-server', destination: { write() {} } }),
  handlers: { authorize: () => ({ status: 'PASS_ADD' }) },
});
const { port } = await server.listen({ host: '127.0.0.1', port: 0 });

// The device's authorization agent, in this process (root), with a warm single-connection session.
const agent = await startAgent({
  device: 'bench',
  socketDir: f('agent'),
  accounts: [ACCOUNT],
  client: new TacacsClient({
    servers: [{ host: '127.0.0.1', port, key: Buffer.from('bench-secret') }],
    singleConnection: true,
  }),
  accounting: false,
  logger: createLogger({ component: 'forcecommand-agent', destination: { write() {} } }),
});
writeFileSync(f('netward-env-guard'), renderEnvGuard(), { mode: 0o755 });
// The validator runs on the node the project runs on (scripts/node-env.sh: Node 24), copied where the
// account can reach it, as the lab copies it into its bin/: Debian 12's /usr/bin/node is Node 20, which
// the project does not support. (With the bench's clean environment both start `-e 0` in ~35 ms; Node 20
// only looks slower from a shell that sets NODE_EXTRA_CA_CERTS, which it reads at start.)
const NODE = f('node');
copyFileSync(process.execPath, NODE);
chmodSync(NODE, 0o755);

const base = {
  device: 'bench',
  // The direct TACACS+ variant reads the key through the group it is shared with (see gid above).
  accountGroup: ACCOUNT,
  executables: { ip: { path: '/usr/sbin/ip' } },
  audit: { file: f('audit.log') },
  // The default policy: every request parsed against the role's grammar before the rules.
  grammarFile: f('grammar.json'),
};
writeFileSync(
  f('local.json'),
  JSON.stringify({ ...base, authorization: { mode: 'local', rulesFile: f('rules.json') } }),
  { mode: 0o644 },
);
// The same without the grammar stage, to show what the stage itself costs.
const { grammarFile: _, ...withoutGrammar } = base;
writeFileSync(
  f('local-no-grammar.json'),
  JSON.stringify({ ...withoutGrammar, authorization: { mode: 'local', rulesFile: f('rules.json') } }),
  { mode: 0o644 },
);
writeFileSync(
  f('tacacs.json'),
  JSON.stringify({
    ...base,
    authorization: { mode: 'tacacs', servers: [{ host: '127.0.0.1', port }], keyFile: f('tacacs.key') },
  }),
  { mode: 0o644 },
);
writeFileSync(
  f('agent.json'),
  JSON.stringify({
    ...base,
    accounts: [ACCOUNT],
    authorization: {
      mode: 'tacacs',
      servers: [{ host: '127.0.0.1', port }],
      keyFile: f('tacacs.key'),
      agent: { socketDir: f('agent') },
    },
  }),
  { mode: 0o644 },
);
writeFileSync(
  f('local.yaml'),
  `device: bench\nexecutables:\n  ip: { path: /usr/sbin/ip }\naudit:\n  file: ${f('audit.log')}\ngrammarFile: ${f('grammar.json')}\nauthorization:\n  mode: local\n  rulesFile: ${f('rules.json')}\n`,
  { mode: 0o644 },
);

// As the installer builds it: with the device's config, whose local rules are then parsed in the heap.
// fc-plain.blob is built without, to show what that saves.
buildSnapshot({
  node: NODE,
  snapshotScript: SNAPSHOT_SCRIPT,
  blob: f('fc.blob'),
  config: f('local.json'),
});
buildSnapshot({ node: NODE, snapshotScript: SNAPSHOT_SCRIPT, blob: f('fc-plain.blob') });
// The snapshot as it was built before, beside it: from the unminified script (scripts/bundle-snapshot.mjs
// minifies), with the device's config.
execFileSync(
  process.execPath,
  ['scripts/bundle-snapshot.mjs', '--unminified', f('snapshot-unminified.cjs')],
  { cwd: join(import.meta.dirname, '..'), stdio: 'pipe' },
);
execFileSync(
  NODE,
  ['--snapshot-blob', f('fc-before.blob'), '--build-snapshot', f('snapshot-unminified.cjs')],
  {
    cwd: dir,
    env: { PATH: '/usr/bin:/bin', NETWARD_FC_SNAPSHOT_CONFIG: f('local.json') },
    stdio: 'pipe',
  },
);
// node alone from a snapshot holding nothing of ours: the floor of any start-up snapshot.
writeFileSync(f('empty.cjs'), 'globalThis.empty = true;\n');
buildSnapshot({ node: NODE, snapshotScript: f('empty.cjs'), blob: f('empty.blob') });
const blobSizes = ['fc.blob', 'fc-before.blob', 'empty.blob'].map((b) => `${b} ${statSync(f(b)).size}`);

// The deployed path: guard, then the perl shim, which hands the command to the account's resident
// validator (one per config here: local rules, and TACACS+ through the agent), with the per-process
// validator behind it as the fallback it never needs while the resident process is up.
writeFileSync(f('netward-resident'), renderResidentShim(), { mode: 0o755 });
const residentSockets = {
  local: prepareResidentSockets(f('resident-local'), [ACCOUNT])[ACCOUNT] as string,
  agent: prepareResidentSockets(f('resident-agent'), [ACCOUNT])[ACCOUNT] as string,
};
const residents = await Promise.all(
  (['local', 'agent'] as const).map((name) =>
    spawnResident({
      node: NODE,
      bundle: BUNDLE,
      config: f(`${name}.json`),
      socket: residentSockets[name],
      account: ACCOUNT,
    }),
  ),
);
const throughResident = (name: 'local' | 'agent') => () =>
  run(
    f('netward-env-guard'),
    [
      f('netward-resident'),
      residentSockets[name],
      NODE,
      '--snapshot-blob',
      f('fc.blob'),
      '--',
      '--config',
      f(`${name}.json`),
    ],
    sshdEnv(name),
  );
const DEPLOYED = 'guard + shim + resident, local rules';

function run(file: string, args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(file, args, { uid, gid, env, stdio: ['ignore', 'ignore', 'pipe'], cwd: '/' });
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`${file} ${args.join(' ')} exited ${code}: ${err}`));
      else resolve(performance.now() - t0);
    });
  });
}

const sshdEnv = (config: string) => ({
  PATH: '/usr/bin:/bin',
  SSH_ORIGINAL_COMMAND: COMMAND.join(' '),
  SSH_USER_AUTH: f('auth'),
  _CONFIG: config,
});

const variants: Record<string, () => Promise<number>> = {
  direct: () => run('/usr/sbin/ip', COMMAND.slice(1), { PATH: '/usr/bin:/bin' }),
  'node -e 0': () => run(NODE, ['-e', '0'], { PATH: '/usr/bin:/bin' }),
  'perl -e 1': () => run('/usr/bin/perl', ['-e', '1'], { PATH: '/usr/bin:/bin' }),
  'node from an empty snapshot': () =>
    run(NODE, ['--snapshot-blob', f('empty.blob')], { PATH: '/usr/bin:/bin' }),
  'validator, local rules (JSON config)': () =>
    run(NODE, [BUNDLE, '--config', f('local.json')], sshdEnv('local')),
  'validator, local rules (YAML config)': () =>
    run(NODE, [BUNDLE, '--config', f('local.yaml')], sshdEnv('yaml')),
  'validator, TACACS+ (our server, loopback)': () =>
    run(NODE, [BUNDLE, '--config', f('tacacs.json')], sshdEnv('tacacs')),
  'snapshot, local rules (JSON config)': () =>
    run(NODE, ['--snapshot-blob', f('fc.blob'), '--', '--config', f('local.json')], sshdEnv('local')),
  'snapshot, unminified script (as before)': () =>
    run(NODE, ['--snapshot-blob', f('fc-before.blob'), '--', '--config', f('local.json')], sshdEnv('local')),
  'snapshot without config, local rules': () =>
    run(NODE, ['--snapshot-blob', f('fc-plain.blob'), '--', '--config', f('local.json')], sshdEnv('local')),
  'snapshot, local rules, no grammar stage': () =>
    run(
      NODE,
      ['--snapshot-blob', f('fc.blob'), '--', '--config', f('local-no-grammar.json')],
      sshdEnv('local'),
    ),
  'snapshot, TACACS+ (our server, loopback)': () =>
    run(NODE, ['--snapshot-blob', f('fc.blob'), '--', '--config', f('tacacs.json')], sshdEnv('tacacs')),
  'validator, TACACS+ through the agent': () =>
    run(NODE, [BUNDLE, '--config', f('agent.json')], sshdEnv('agent')),
  'snapshot, TACACS+ through the agent': () =>
    run(NODE, ['--snapshot-blob', f('fc.blob'), '--', '--config', f('agent.json')], sshdEnv('agent')),
  // What the installer and the lab deploy: the environment guard in front of node.
  'guard + snapshot, local rules': () =>
    run(
      f('netward-env-guard'),
      [NODE, '--snapshot-blob', f('fc.blob'), '--', '--config', f('local.json')],
      sshdEnv('local'),
    ),
  'guard + snapshot, TACACS+ through the agent': () =>
    run(
      f('netward-env-guard'),
      [NODE, '--snapshot-blob', f('fc.blob'), '--', '--config', f('agent.json')],
      sshdEnv('agent'),
    ),
  [DEPLOYED]: throughResident('local'),
  'guard + shim + resident, TACACS+ through the agent': throughResident('agent'),
};

const times: Record<string, number[]> = {};
for (const name of Object.keys(variants)) times[name] = [];
// Warm-up, then interleaved rounds so that load from other users of the machine hits every variant alike.
for (const v of Object.values(variants)) await v();
for (let i = 0; i < RUNS; i++) {
  for (const [name, v] of Object.entries(variants)) times[name]?.push(await v());
}

// Where the time of one command goes, from the validator's own records (`timings` of the decision
// record: node's start with the snapshot deserialised, config, identity, stages 1-2, grammar, the
// authorizer's set-up and answers; the completed record adds the audit write, spawn and the run).
// A resident validator records `frame` (connection accepted to CALL frame read) instead of node's start
// and the config; its durations count from the frame.
const STAGE_RUNS = Math.max(10, Math.floor(RUNS / 2));
const stages: Record<string, Record<string, number[]>> = {};
for (const name of [
  'snapshot, local rules (JSON config)',
  'snapshot, unminified script (as before)',
  'snapshot without config, local rules',
  'snapshot, TACACS+ through the agent',
  DEPLOYED,
  'guard + shim + resident, TACACS+ through the agent',
]) {
  writeFileSync(f('audit.log'), '');
  for (let i = 0; i < STAGE_RUNS; i++) await variants[name]?.();
  const byStage: Record<string, number[]> = {};
  const add = (k: string, v: number) => {
    byStage[k] = [...(byStage[k] ?? []), v];
  };
  const records = readFileSync(f('audit.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { event: string; duration_ms: number; timings?: Record<string, number> });
  for (const r of records) {
    if (r.event === 'decision') {
      for (const [k, v] of Object.entries(r.timings ?? {})) add(k, v);
      add('decision (since config or frame)', r.duration_ms);
    }
    if (r.event === 'completed') add('completed (since config or frame)', r.duration_ms);
  }
  stages[name] = byStage;
}

for (const r of residents) await r.stop();
await agent.close();
await server.close();
rmSync(dir, { recursive: true, force: true });

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};
const direct = pct(times['direct'] as number[], 50);
console.log(
  `forcecommand startup bench: ${RUNS} runs each, command "${COMMAND.join(' ')}" as ${ACCOUNT}, node ${process.version}`,
);
console.log(
  'variant'.padEnd(46),
  'min ms'.padStart(8),
  'p50 ms'.padStart(8),
  'p90 ms'.padStart(8),
  'added p50'.padStart(10),
  'ratio'.padStart(7),
);
for (const [name, xs] of Object.entries(times)) {
  const p50 = pct(xs, 50);
  console.log(
    name.padEnd(46),
    Math.min(...xs)
      .toFixed(1)
      .padStart(8),
    p50.toFixed(1).padStart(8),
    pct(xs, 90).toFixed(1).padStart(8),
    (p50 - direct).toFixed(1).padStart(10),
    `${(p50 / direct).toFixed(1)}x`.padStart(7),
  );
}
const added = (name: string) => pct(times[name] as number[], 50) - direct;
console.log(
  `target: at most 60 ms added at the median with local rules, on the deployed path (${DEPLOYED}): ` +
    `${added(DEPLOYED).toFixed(1)} ms, ${added(DEPLOYED) <= 60 ? 'met' : 'NOT met'} ` +
    `(per process, guard + snapshot: ${added('guard + snapshot, local rules').toFixed(1)} ms)`,
);
console.log(`blob sizes (bytes): ${blobSizes.join(', ')}`);
console.log(`\nper stage, from the validator's records (p50 ms, ${STAGE_RUNS} runs each):`);
const stageNames = [...new Set(Object.values(stages).flatMap((byStage) => Object.keys(byStage)))];
console.log('stage'.padEnd(28), ...Object.keys(stages).map((n) => n.padStart(38)));
for (const stage of stageNames) {
  console.log(
    stage.padEnd(28),
    ...Object.values(stages).map((byStage) => {
      const xs = byStage[stage];
      return (xs?.length ? pct(xs, 50).toFixed(2) : '-').padStart(38);
    }),
  );
}
console.log(
  `load average during the run: ${(await import('node:os'))
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
