import { parseArgs } from 'node:util';
import { LabError } from '../errors.ts';
import { DEFAULT_LAB_DIR, type LabOptions } from '../layout.ts';

const USAGE = `usage: netward-lab <command> [options]

  up       bring the lab up (idempotent): namespaces, FRR, sshd, IdP, TACACS+, CA broker, MCP server
  down     stop everything and remove namespaces, veths and the bridge
  status   what runs (--json for machine-readable)
  demo     the five steps of the demo through a real MCP client, then one call's audit trail
  token    log a user in (authorization code + PKCE) and print the MCP access token: token <user>
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
  --policy NAME      default (the design's tac_plus-ng profiles, exactly) or hardened (permits
                     anchored at the start of the command; see packages/policy/README.md)
`;

function labDir(values: { dir?: string | undefined }): string {
  return values.dir ?? process.env['NETWARD_LAB_DIR'] ?? DEFAULT_LAB_DIR;
}

function int(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new LabError('ERR_LAB_CONFIG', `--${name} must be a number`);
  return Number(value);
}

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
  if (command === 'trace') {
    // Its own argument reading: a request id may start with '-'.
    const { runTrace } = await import('./audit.ts');
    return runTrace(argv);
  }
  const { values, positionals } = parseArgs({
    args: argv.slice(1),
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
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || command === undefined || command === 'help') {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  const dir = labDir(values);

  switch (command) {
    case 'up': {
      const { labUp } = await import('../lab.ts');
      const tacacs = values.tacacs;
      if (tacacs !== undefined && tacacs !== 'embedded' && tacacs !== 'tac_plus-ng') {
        throw new LabError('ERR_LAB_CONFIG', '--tacacs must be embedded or tac_plus-ng');
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
        ...(values['cert-ttl'] !== undefined
          ? { certTtl: int(values['cert-ttl'], 'cert-ttl') as number }
          : {}),
        ...(values['session-mode'] ? { sessionMode: true } : {}),
        ...(values.policy !== undefined ? { policy: values.policy as LabOptions['policy'] } : {}),
        ...(values.stack !== undefined ? { stack: values.stack as LabOptions['stack'] } : {}),
      };
      const t0 = Date.now();
      const layout = await labUp(options, printProgress());
      console.log(`\nlab up in ${((Date.now() - t0) / 1000).toFixed(1)} s, directory ${layout.paths.root}`);
      if (layout.options.stack === 'keycloak') {
        const { stackEndpoints } = await import('../stack/site.ts');
        const s = stackEndpoints(layout);
        console.log(`  Keycloak    ${s.issuer}   (users alice, bob, carol: ${layout.paths.usersFile})`);
        console.log(`  OpenBao     ${s.baoAddr}   (SSH CA, JWT auth)`);
      } else {
        console.log(
          `  IdP         ${layout.urls.idp}   (users alice, bob, carol: ${layout.paths.usersFile})`,
        );
      }
      console.log(`  CA broker   ${layout.urls.broker}`);
      console.log(`  MCP server  ${layout.urls.mcp}`);
      console.log(
        `  TACACS+     ${layout.hostMgmtAddress}:${layout.options.tacacsPort} (${layout.options.tacacs})`,
      );
      console.log(
        `  syslog      ${layout.hostMgmtAddress}:${layout.options.syslogPort} udp+tcp → ${layout.paths.syslogOut}`,
      );
      for (const d of layout.devices) {
        console.log(
          `  ${d.name.padEnd(10)}  ssh ${d.mgmtAddress}:22  netns ${d.ns}  AS${d.asn}  lo ${d.loopback}`,
        );
      }
      console.log(`next: netward-lab demo${dir === DEFAULT_LAB_DIR ? '' : ` --dir ${dir}`}`);
      return 0;
    }
    case 'down': {
      const { labDown } = await import('../lab.ts');
      await labDown(dir, printProgress());
      console.log('lab down: no namespace, process or veth left');
      return 0;
    }
    case 'status': {
      const { labStatus } = await import('../lab.ts');
      const s = await labStatus(dir);
      if (values.json) {
        console.log(JSON.stringify(s, null, 2));
      } else {
        console.log(`lab ${s.dir}`);
        for (const [name, up] of Object.entries(s.services))
          console.log(`  ${up ? 'up  ' : 'DOWN'}  ${name}`);
        for (const [name, up] of Object.entries(s.namespaces)) {
          console.log(
            `  ${up && s.frr[name] ? 'up  ' : 'DOWN'}  ${name}: netns ${up ? 'yes' : 'no'}, FRR ${s.frr[name] ? 'yes' : 'no'}, B>* ${(s.routes[name] ?? []).join(' ') || '-'}`,
          );
        }
        console.log(`  ${s.bridge ? 'up  ' : 'DOWN'}  management bridge`);
      }
      const allUp =
        Object.values(s.services).every(Boolean) && Object.values(s.frr).every(Boolean) && s.bridge;
      return allUp ? 0 : 1;
    }
    case 'demo': {
      const { runDemo } = await import('../demo/demo.ts');
      const ok = await runDemo(dir, (line) => console.log(line));
      return ok ? 0 : 1;
    }
    case 'token': {
      const user = positionals[0];
      if (user === undefined) throw new LabError('ERR_LAB_CONFIG', 'usage: netward-lab token <user>');
      const { loadLab } = await import('../lab.ts');
      const { loginAs } = await import('../demo/client.ts');
      const token = await loginAs(loadLab(dir), user);
      console.log(token.accessToken);
      return 0;
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
      console.error(USAGE);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const e = err as { code?: string; message?: string; cause?: unknown };
    console.error(`netward-lab: ${e.code ?? 'error'}: ${e.message ?? String(err)}`);
    if (process.env['NETWARD_DEBUG'] && e.cause) console.error(e.cause);
    process.exitCode = 1;
  },
);
