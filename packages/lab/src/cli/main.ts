import { parseArgs } from 'node:util';
import { LabError } from '../errors.ts';
import { DEFAULT_LAB_DIR, type LabLayout, type LabOptions } from '../layout.ts';

const USAGE = `usage: netward-lab <command> [options]   (netward-lab --help: this text)

  up       bring the lab up (idempotent): namespaces, FRR, sshd, IdP, TACACS+, CA broker, MCP server
  down     stop everything and remove namespaces, veths and the bridge
  status   what runs (--json for machine-readable)
  demo     the five steps of the demo through a real MCP client, then one call's audit trail
  token    log a user in (authorization code + PKCE) and print the MCP access token: token <user>
           (valid 15 minutes; log in again for a new one)
  trace    the audit chain of a request id, certificate serial, sid or user: trace <id>

options (all commands):
  --dir D            lab directory (default ${DEFAULT_LAB_DIR}, or $NETWARD_LAB_DIR)
options of up:
  --prefix P         prefix for namespaces, FRR pathspaces and host interfaces (e.g. "t1-")
  --mgmt-net A.B.C   management /24 (default 10.255.0)
  --port-base N      IdP N, CA broker N+1, MCP server N+2 on 127.0.0.1 (default 9400)
  --tacacs-port N    TACACS+ port on the management address (default 49)
  --syslog-port N    syslog port, UDP and TCP (default 514)
  --tacacs embedded|tac_plus-ng   which TACACS+ server (default embedded; tac_plus-ng from PATH)
  --cert-ttl S       certificate lifetime in seconds (default 60)
  --session-mode     MCP server reuses a certificate and connection per session and device
  --stack embedded|keycloak   IdP and SSH CA: the lab IdP and the broker's local CA (default), or
                     Keycloak and OpenBao (downloaded once into .cache/stack/; needs Java 17+)
  --policy NAME      default (command grammars) or design (the design's tac_plus-ng profiles,
                     exactly: unsafe, for comparison; see packages/policy/README.md)
  --replicas 1|2     2: two TACACS+ servers, and two CA brokers and two MCP servers behind HAProxy
                     on the broker's and MCP server's usual ports (their own: N+3 to N+6)
  --validators resident|per-process   resident (default): one supervised validator per device and
                     account serves per-call commands through the shim; per-process: a node
                     process per command, as the shim's fallback does
`;

function labDir(values: { dir?: string | undefined }): string {
  return values.dir ?? process.env['NETWARD_LAB_DIR'] ?? DEFAULT_LAB_DIR;
}

function int(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new LabError('ERR_LAB_USAGE', `--${name} must be a number, not "${value}"`);
  return Number(value);
}

const COMMANDS = ['up', 'down', 'status', 'demo', 'token', 'trace', 'help'];
const INTERNAL = ['serve-logstamp', 'serve-idp', 'serve-syslog', 'serve-tacacs', 'supervise'];

function printProgress() {
  const pending: string[] = [];
  return (e: { step: string; state: 'start' | 'done' | 'info'; detail?: string; ms?: number }) => {
    if (e.state === 'start') {
      process.stdout.write(`${process.stdout.isTTY ? '\u001b[1m==>\u001b[0m' : '==>'} ${e.step} ... `);
    } else if (e.state === 'info') {
      if (e.detail) pending.push(e.detail);
    } else {
      process.stdout.write(
        `ok (${e.ms} ms)${pending.length === 1 && pending[0] && pending[0].length < 40 ? `, ${pending.pop()}` : ''}\n`,
      );
      for (const d of pending.splice(0)) process.stdout.write(`      ${d}\n`);
    }
  };
}

async function main(argv: string[]): Promise<number> {
  const command = argv[0];
  if (command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (command === undefined) throw new LabError('ERR_LAB_USAGE', 'no command given');
  if (command.startsWith('-'))
    throw new LabError('ERR_LAB_USAGE', `the command comes first, not "${command}"`);
  if (!COMMANDS.includes(command) && !INTERNAL.includes(command))
    throw new LabError('ERR_LAB_USAGE', `unknown command "${command}"`);
  if (command === 'supervise') {
    const { supervise } = await import('../services/supervise.ts');
    const spec = argv[1];
    if (spec === undefined) throw new LabError('ERR_LAB_USAGE', 'supervise needs the spec file');
    return supervise(spec);
  }
  if (command === 'trace') {
    // Its own argument reading: a request id may start with '-'.
    const { runTrace } = await import('./audit.ts');
    return runTrace(argv);
  }
  let parsed: ReturnType<typeof parseLabArgs>;
  try {
    parsed = parseLabArgs(argv.slice(1));
  } catch (err) {
    // util.parseArgs's messages are already one line ("Unknown option '--x'. ...").
    throw new LabError('ERR_LAB_USAGE', (err as Error).message.split('\n')[0] ?? String(err));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const dir = labDir(values);
  if (command === 'token') {
    const user = positionals[0];
    const { loadLab } = await import('../lab.ts');
    const layout = loadLab(dir);
    const { loadUsers } = await import('../idp/config.ts');
    const users = Object.keys(loadUsers(layout.paths.usersFile)).sort();
    if (user === undefined || !users.includes(user))
      throw new LabError(
        'ERR_LAB_USAGE',
        `${user === undefined ? 'token needs a user' : `no lab user "${user}"`}; the lab's users are ${users.join(', ')}`,
      );
    const { loginAs } = await import('../demo/client.ts');
    const token = await loginAs(layout, user);
    console.log(token.accessToken);
    return 0;
  }
  if (positionals.length > 0 && command !== 'serve-logstamp')
    throw new LabError('ERR_LAB_USAGE', `${command} takes no argument "${positionals[0]}"`);
  return runCommand(command, dir, values, positionals);
}

function parseLabArgs(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      config: { type: 'string' },
      log: { type: 'string' },
      prefix: { type: 'string' },
      'mgmt-net': { type: 'string' },
      'port-base': { type: 'string' },
      'tacacs-port': { type: 'string' },
      'syslog-port': { type: 'string' },
      tacacs: { type: 'string' },
      'cert-ttl': { type: 'string' },
      'session-mode': { type: 'boolean' },
      policy: { type: 'string' },
      stack: { type: 'string' },
      replicas: { type: 'string' },
      validators: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

async function runCommand(
  command: string,
  dir: string,
  values: LabArgs,
  positionals: string[],
): Promise<number> {
  switch (command) {
    case 'up':
      return commandUp(dir, values);
    case 'down': {
      const { labDown } = await import('../lab.ts');
      const had = await labDown(dir, printProgress());
      console.log(had ? 'lab down: no namespace, process or veth left' : `no lab in ${dir}: nothing to do`);
      return 0;
    }
    case 'status':
      return commandStatus(dir, values.json === true);
    case 'demo': {
      const { runDemo } = await import('../demo/demo.ts');
      const ok = await runDemo(dir, (line) => console.log(line));
      return ok ? 0 : 1;
    }
    case 'serve-logstamp': {
      const log = values.log;
      if (log === undefined || positionals.length === 0)
        throw new LabError('ERR_LAB_CONFIG', 'serve-logstamp --log F -- cmd args');
      const { runStamped } = await import('../services/logstamp.ts');
      return runStamped(log, positionals[0] as string, positionals.slice(1));
    }
    case 'serve-idp':
    case 'serve-syslog':
    case 'serve-tacacs': {
      if (values.config === undefined) throw new LabError('ERR_LAB_CONFIG', `${command} needs --config`);
      const serve = await import('../services/serve.ts');
      if (command === 'serve-idp') await serve.serveIdp(values.config);
      else if (command === 'serve-syslog') await serve.serveSyslog(values.config);
      else await serve.serveTacacs(values.config);
      return 0;
    }
    default:
      throw new LabError('ERR_LAB_USAGE', `unknown command "${command}"`);
  }
}

type LabArgs = ReturnType<typeof parseLabArgs>['values'];

/** `up`: the options given, checked, then the lab brought up and what runs where printed. */
async function commandUp(dir: string, values: LabArgs): Promise<number> {
  const { labUp } = await import('../lab.ts');
  const tacacs = values.tacacs;
  if (tacacs !== undefined && tacacs !== 'embedded' && tacacs !== 'tac_plus-ng') {
    throw new LabError('ERR_LAB_USAGE', '--tacacs must be embedded or tac_plus-ng');
  }
  if (values.policy !== undefined && values.policy !== 'default' && values.policy !== 'design') {
    throw new LabError('ERR_LAB_USAGE', '--policy must be default or design');
  }
  const validators = values.validators;
  if (validators !== undefined && validators !== 'resident' && validators !== 'per-process') {
    throw new LabError('ERR_LAB_USAGE', '--validators must be resident or per-process');
  }
  const options: Partial<LabOptions> = {
    dir,
    ...(values.prefix !== undefined ? { prefix: values.prefix } : {}),
    ...(values['mgmt-net'] !== undefined ? { mgmtNet: values['mgmt-net'] } : {}),
    ...(values['port-base'] !== undefined
      ? { portBase: int(values['port-base'], 'port-base') as number }
      : {}),
    ...(values['tacacs-port'] !== undefined
      ? { tacacsPort: int(values['tacacs-port'], 'tacacs-port') as number }
      : {}),
    ...(values['syslog-port'] !== undefined
      ? { syslogPort: int(values['syslog-port'], 'syslog-port') as number }
      : {}),
    ...(tacacs !== undefined ? { tacacs } : {}),
    ...(values['cert-ttl'] !== undefined ? { certTtl: int(values['cert-ttl'], 'cert-ttl') as number } : {}),
    ...(values['session-mode'] ? { sessionMode: true } : {}),
    ...(values.policy !== undefined ? { policy: values.policy as LabOptions['policy'] } : {}),
    ...(values.stack !== undefined ? { stack: values.stack as LabOptions['stack'] } : {}),
    ...(values.replicas !== undefined
      ? { replicas: int(values.replicas, 'replicas') as LabOptions['replicas'] }
      : {}),
    ...(validators !== undefined ? { validators } : {}),
  };
  const t0 = Date.now();
  const layout = await labUp(options, printProgress());
  console.log(`\nlab up in ${((Date.now() - t0) / 1000).toFixed(1)} s, directory ${layout.paths.root}`);
  await printUp(layout, dir);
  return 0;
}

/** Where each service of a lab just brought up listens, and what to run next. */
async function printUp(layout: LabLayout, dir: string): Promise<void> {
  if (layout.options.stack === 'keycloak') {
    const { stackEndpoints } = await import('../stack/site.ts');
    const s = stackEndpoints(layout);
    console.log(`  Keycloak    ${s.issuer}   (users alice, bob, carol: ${layout.paths.usersFile})`);
    console.log(`  OpenBao     ${s.baoAddr}   (SSH CA, JWT auth)`);
  } else {
    console.log(`  IdP         ${layout.urls.idp}   (users alice, bob, carol: ${layout.paths.usersFile})`);
  }
  console.log(`  CA broker   ${layout.urls.broker}`);
  console.log(`  MCP server  ${layout.urls.mcp}`);
  console.log(
    `  TACACS+     ${layout.hostMgmtAddress}:${layout.options.tacacsPort} (${layout.options.tacacs})`,
  );
  const { describeReplicas } = await import('../topology/replicas.ts');
  const replicas = describeReplicas(layout);
  if (replicas !== undefined) console.log(`  replicas    ${replicas}`);
  console.log(
    `  syslog      ${layout.hostMgmtAddress}:${layout.options.syslogPort} udp+tcp → ${layout.paths.syslogOut}`,
  );
  for (const d of layout.devices) {
    console.log(
      `  ${d.name.padEnd(10)}  ssh ${d.mgmtAddress}:22  netns ${d.ns}  AS${d.asn}  lo ${d.loopback}`,
    );
  }
  console.log(`next: netward-lab demo${dir === DEFAULT_LAB_DIR ? '' : ` --dir ${dir}`}`);
}

/** `status`: every service, namespace and the bridge; exit 1 when anything is down. */
async function commandStatus(dir: string, json: boolean): Promise<number> {
  const { labStatus } = await import('../lab.ts');
  const s = await labStatus(dir);
  if (json) {
    console.log(JSON.stringify(s, null, 2));
  } else {
    console.log(`lab ${s.dir}`);
    for (const [name, up] of Object.entries(s.services)) console.log(`  ${up ? 'up  ' : 'DOWN'}  ${name}`);
    for (const [name, up] of Object.entries(s.namespaces)) {
      console.log(
        `  ${up && s.frr[name] ? 'up  ' : 'DOWN'}  ${name}: netns ${up ? 'yes' : 'no'}, FRR ${s.frr[name] ? 'yes' : 'no'}, B>* ${(s.routes[name] ?? []).join(' ') || '-'}`,
      );
    }
    console.log(`  ${s.bridge ? 'up  ' : 'DOWN'}  management bridge`);
  }
  const allUp = Object.values(s.services).every(Boolean) && Object.values(s.frr).every(Boolean) && s.bridge;
  return allUp ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const e = err as { code?: string; message?: string; cause?: unknown };
    if (e.code === 'ERR_LAB_USAGE') console.error(`netward-lab: ${e.message} (netward-lab --help for usage)`);
    else console.error(`netward-lab: ${e.code ?? 'error'}: ${e.message ?? String(err)}`);
    if (process.env['NETWARD_DEBUG'] && e.cause) console.error(e.cause);
    // The lab's own codes carry their exit status (usage: 2); any other failure is 1.
    process.exitCode = err instanceof LabError ? err.exitStatus : 1;
  },
);
