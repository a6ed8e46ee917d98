#!/usr/bin/env node
/**
 * tacacs-plus: the operator's tool for a TACACS+ server.
 *
 *   tacacs-plus authorize --host H [--port P] (--key-file F | env TACACS_KEY | --tls ...) --user U
 *                         [--rem-addr A] [--nas-port ssh] [--priv-lvl 1] [--service shell]
 *                         [--arg attr=value ...] [--timeout MS] [--deadline MS] [--json] -- show bgp summary
 *   tacacs-plus account ... --type start|stop|watchdog --user U [--task-id T] [-- command words]
 *   tacacs-plus authenticate ... [--type pap|ascii] --user U (--password-file F | env TACACS_PASSWORD)
 *   tacacs-plus serve [--host 127.0.0.1] [--port 49] (--key-file F | env TACACS_KEY | --tls ...)
 *                     (--permit-all | --deny-all) [--idle-timeout MS]
 *
 * Exit status of authorize: 0 permitted, 1 denied (FAIL or FOLLOW), 2 error (no decodable reply, the
 * server's ERROR status, bad usage). The shared key is read from a file or the environment, never argv.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { TacacsServerAddress } from './client.ts';
import { createTacacsServer, readKeyFile, TacacsClient, TacacsError } from './index.ts';

const USAGE = `usage:
  tacacs-plus authorize CONNECTION --user U [--rem-addr A] [--nas-port ssh] [--priv-lvl 1] [--service shell]
                        [--arg attr=value ...] [--json] -- command words...
  tacacs-plus account CONNECTION --type start|stop|watchdog --user U [--task-id T] [--rem-addr A] [--json] [-- command words...]
  tacacs-plus authenticate CONNECTION [--type pap|ascii] --user U (--password-file F | env TACACS_PASSWORD) [--json]
  tacacs-plus serve [--host 127.0.0.1] [--port 49] (--key-file F | env TACACS_KEY | --tls-ca F --tls-cert F --tls-key F)
                    (--permit-all | --deny-all) [--idle-timeout MS]
CONNECTION: --host H [--host H2 ...] [--port P] (--key-file F | env TACACS_KEY | --tls-ca F --tls-cert F --tls-key F
            [--tls-servername N]) [--timeout MS] [--deadline MS] [--single-connection]
exit status: 0 permitted / recorded / authenticated, 1 denied (FAIL, FOLLOW), 2 error or no decision`;

class UsageError extends Error {}

const TLS_OPTIONS = {
  tls: { type: 'boolean' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-servername': { type: 'string' },
  'key-file': { type: 'string' },
} as const;

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function err(line: string): void {
  process.stderr.write(`${line}\n`);
}

function int(v: string | undefined, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max)
    throw new UsageError(`--${name} must be ${min}-${max}`);
  return Number(v);
}

type Protection = { key: Buffer } | { tls: { ca: Buffer; cert: Buffer; key: Buffer; servername?: string } };

/** Key or TLS files, from options and the environment; never a key on the command line. */
function protection(values: Record<string, string | boolean | string[] | undefined>): Protection {
  const files = ['tls-ca', 'tls-cert', 'tls-key'].filter((k) => values[k] !== undefined);
  if (values['tls'] || files.length > 0) {
    if (files.length !== 3) throw new UsageError('TLS needs --tls-ca, --tls-cert and --tls-key');
    if (values['key-file'] !== undefined)
      throw new UsageError('--key-file is not used with TLS (RFC 9887: no MD5 inside TLS)');
    const read = (k: string) => readFileSync(values[k] as string);
    const servername = values['tls-servername'];
    return {
      tls: {
        ca: read('tls-ca'),
        cert: read('tls-cert'),
        key: read('tls-key'),
        ...(typeof servername === 'string' ? { servername } : {}),
      },
    };
  }
  if (typeof values['key-file'] === 'string') return { key: readKeyFile(values['key-file']) };
  const env = process.env['TACACS_KEY'];
  if (env !== undefined && env !== '') return { key: Buffer.from(env, 'utf8') };
  throw new UsageError('no key: give --key-file F or set TACACS_KEY (a key on the command line is refused)');
}

function refuseKeyInArgv(args: string[]): void {
  for (const a of args) {
    if (a === '--') return;
    if (/^--(key|secret|password)(=|$)/.test(a)) {
      throw new UsageError(
        'a secret on the command line is visible to every user of the machine: use --key-file/TACACS_KEY or --password-file/TACACS_PASSWORD',
      );
    }
  }
}

const CLIENT_OPTIONS = {
  host: { type: 'string', multiple: true },
  port: { type: 'string' },
  user: { type: 'string' },
  'rem-addr': { type: 'string' },
  'nas-port': { type: 'string' },
  'priv-lvl': { type: 'string' },
  timeout: { type: 'string' },
  deadline: { type: 'string' },
  'single-connection': { type: 'boolean' },
  json: { type: 'boolean' },
  ...TLS_OPTIONS,
} as const;

type Values = Record<string, string | boolean | string[] | undefined>;

function clientFrom(values: Values): TacacsClient {
  const hosts = values['host'];
  if (!Array.isArray(hosts) || hosts.length === 0) throw new UsageError('--host is required');
  const port = int(values['port'] as string | undefined, 'port', 1, 65535);
  const prot = protection(values);
  const servers: TacacsServerAddress[] = hosts.map((host) => ({ host, ...(port ? { port } : {}), ...prot }));
  const timeoutMs = int(values['timeout'] as string | undefined, 'timeout', 1, 600_000);
  const deadlineMs = int(values['deadline'] as string | undefined, 'deadline', 1, 600_000);
  return new TacacsClient({
    servers,
    ...(timeoutMs ? { timeoutMs } : {}),
    ...(deadlineMs ? { deadlineMs } : {}),
    singleConnection: values['single-connection'] === true,
  });
}

/** The request fields every subcommand shares. */
function common(values: Values): { user: string; remAddr?: string; port?: string; privLvl?: number } {
  const user = values['user'];
  if (typeof user !== 'string') throw new UsageError('--user is required');
  const privLvl = int(values['priv-lvl'] as string | undefined, 'priv-lvl', 0, 15);
  const remAddr = values['rem-addr'];
  const port = values['nas-port'];
  return {
    user,
    ...(typeof remAddr === 'string' ? { remAddr } : {}),
    ...(typeof port === 'string' ? { port } : {}),
    ...(privLvl !== undefined ? { privLvl } : {}),
  };
}

/** The words after `--`; words before it are a usage error (they would be mistaken for options). */
function commandWords(positionals: string[], tokens: { kind: string }[]): string[] {
  const terminator = tokens.findIndex((t) => t.kind === 'option-terminator');
  if (tokens.some((t, i) => t.kind === 'positional' && (terminator < 0 || i < terminator))) {
    throw new UsageError('put the command after --, e.g. -- show bgp summary');
  }
  return positionals;
}

interface Printable {
  readonly status: string;
  readonly server?: string;
  readonly errorCode?: string;
  readonly serverMsg: string;
  readonly data?: string;
  readonly args?: readonly string[];
  readonly reason?: string;
}

/** Prints a result and returns the exit status: 0 yes, 1 a decoded no, 2 no decision. */
function report(
  r: Printable,
  yes: boolean,
  words: [string, string],
  denied: readonly string[],
  json: boolean,
): number {
  const code = yes ? 0 : denied.includes(r.status) ? 1 : 2;
  if (json) {
    out(JSON.stringify(r));
    return code;
  }
  const where = r.server ? ` from ${r.server}` : '';
  out(`${yes ? words[0] : words[1]} ${r.status}${where}${r.errorCode ? ` ${r.errorCode}` : ''}`);
  if (r.serverMsg) out(`server-msg: ${r.serverMsg}`);
  if (r.data) out(`data: ${r.data}`);
  for (const a of r.args ?? []) out(`arg: ${a}`);
  if (r.reason && code === 2) err(`tacacs-plus: ${r.reason}`);
  return code;
}

async function authorize(argv: string[]): Promise<number> {
  const { values, positionals, tokens } = parseArgs({
    args: argv,
    allowPositionals: true,
    tokens: true,
    options: { ...CLIENT_OPTIONS, service: { type: 'string' }, arg: { type: 'string', multiple: true } },
  });
  const [cmd, ...args] = commandWords(positionals, tokens);
  if (cmd === undefined || cmd === '') throw new UsageError('no command: give the words after --');
  const base = common(values);
  const client = clientFrom(values);
  try {
    const r = await client.authorize({
      ...base,
      cmd,
      args,
      ...(values.service !== undefined ? { service: values.service } : {}),
      ...(values.arg ? { extraArgs: values.arg } : {}),
    });
    return report(r, r.permitted, ['permit', 'deny'], ['FAIL', 'FOLLOW'], values.json === true);
  } finally {
    await client.close();
  }
}

async function account(argv: string[]): Promise<number> {
  const { values, positionals, tokens } = parseArgs({
    args: argv,
    allowPositionals: true,
    tokens: true,
    options: {
      ...CLIENT_OPTIONS,
      type: { type: 'string' },
      'task-id': { type: 'string' },
      service: { type: 'string' },
      arg: { type: 'string', multiple: true },
    },
  });
  const type = values.type;
  if (type !== 'start' && type !== 'stop' && type !== 'watchdog') {
    throw new UsageError('--type must be start, stop or watchdog');
  }
  const [cmd, ...args] = commandWords(positionals, tokens);
  const base = common(values);
  const client = clientFrom(values);
  try {
    const r = await client.account({
      ...base,
      type,
      ...(cmd !== undefined ? { cmd, args } : {}),
      ...(values['task-id'] !== undefined ? { taskId: values['task-id'] } : {}),
      ...(values.service !== undefined ? { service: values.service } : {}),
      ...(values.arg ? { extraArgs: values.arg } : {}),
    });
    return report(r, r.recorded, ['recorded', 'not-recorded'], [], values.json === true);
  } finally {
    await client.close();
  }
}

async function authenticate(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { ...CLIENT_OPTIONS, type: { type: 'string' }, 'password-file': { type: 'string' } },
  });
  const type = values.type ?? 'pap';
  if (type !== 'pap' && type !== 'ascii') throw new UsageError('--type must be pap or ascii');
  // Like the key: from a file or the environment, never argv.
  let password: string | undefined;
  if (values['password-file'] !== undefined) {
    // The same rules as a key file: mode 0600 or stricter, one trailing newline trimmed.
    password = readKeyFile(values['password-file']).toString('utf8');
  } else password = process.env['TACACS_PASSWORD'];
  if (password === undefined)
    throw new UsageError('no password: give --password-file F or set TACACS_PASSWORD');
  const base = common(values);
  const client = clientFrom(values);
  try {
    const r = await client.authenticate({ ...base, type, password });
    return report(r, r.authenticated, ['pass', 'fail'], ['FAIL', 'FOLLOW', 'RESTART'], values.json === true);
  } finally {
    await client.close();
  }
}

async function serve(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'permit-all': { type: 'boolean' },
      'deny-all': { type: 'boolean' },
      'idle-timeout': { type: 'string' },
      ...TLS_OPTIONS,
    },
  });
  if (values['permit-all'] === values['deny-all']) {
    throw new UsageError(
      'give exactly one of --permit-all and --deny-all (a smoke-test server; embed createTacacsServer for rules)',
    );
  }
  const status = values['permit-all'] ? 'PASS_ADD' : 'FAIL';
  const prot = protection(values);
  const idleTimeoutMs = int(values['idle-timeout'], 'idle-timeout', 1, 86_400_000);
  const port = int(values.port, 'port', 0, 65535);
  const server = createTacacsServer({
    ...prot,
    ...(idleTimeoutMs ? { idleTimeoutMs } : {}),
    handlers: {
      authorize: () => ({ status }),
      account: () => ({ status: 'SUCCESS' }),
      authenticate: () => ({ status: status === 'PASS_ADD' ? 'PASS' : 'FAIL' }),
    },
  });
  await server.listen({ host: values.host ?? '127.0.0.1', ...(port !== undefined ? { port } : {}) });
  await new Promise<void>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
  });
  await server.close();
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    refuseKeyInArgv(rest);
    if (sub === 'authorize') return await authorize(rest);
    if (sub === 'account') return await account(rest);
    if (sub === 'authenticate') return await authenticate(rest);
    if (sub === 'serve') return await serve(rest);
    if (sub === '--help' || sub === '-h' || sub === 'help') {
      out(USAGE);
      return 0;
    }
    throw new UsageError(sub === undefined ? 'no subcommand' : `unknown subcommand ${sub}`);
  } catch (e) {
    if (
      e instanceof UsageError ||
      (e instanceof Error && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      err(`tacacs-plus: ${e.message}`);
      err(USAGE);
    } else if (e instanceof TacacsError || e instanceof TypeError) {
      err(`tacacs-plus: ${e.message}`);
    } else {
      err(`tacacs-plus: ${e instanceof Error ? e.message : String(e)}`);
    }
    return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
