#!/usr/bin/env node
/**
 * tacacs-plus: the operator's tool for a TACACS+ server.
 *
 *   tacacs-plus authorize --host H [--port P] (--key-file F | env TACACS_KEY | --tls ...) --user U
 *                         [--rem-addr A] [--nas-port ssh] [--priv-lvl 1] [--service shell]
 *                         [--arg attr=value ...] [--timeout MS] [--deadline MS] [--json] -- show bgp summary
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
  tacacs-plus authorize --host H [--host H2 ...] [--port P] (--key-file F | env TACACS_KEY | --tls-ca F --tls-cert F --tls-key F [--tls-servername N])
                        --user U [--rem-addr A] [--nas-port ssh] [--priv-lvl 1] [--service shell] [--arg attr=value ...]
                        [--timeout MS] [--deadline MS] [--single-connection] [--json] -- command words...
  tacacs-plus serve [--host 127.0.0.1] [--port 49] (--key-file F | env TACACS_KEY | --tls-ca F --tls-cert F --tls-key F)
                    (--permit-all | --deny-all) [--idle-timeout MS]
exit status of authorize: 0 permitted, 1 denied, 2 error`;

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
    if (a === '--key' || a.startsWith('--key=') || a === '--secret' || a.startsWith('--secret=')) {
      throw new UsageError(
        'a key on the command line is visible to every user of the machine: use --key-file or TACACS_KEY',
      );
    }
  }
}

async function authorize(argv: string[]): Promise<number> {
  const { values, positionals, tokens } = parseArgs({
    args: argv,
    allowPositionals: true,
    tokens: true,
    options: {
      host: { type: 'string', multiple: true },
      port: { type: 'string' },
      user: { type: 'string' },
      'rem-addr': { type: 'string' },
      'nas-port': { type: 'string' },
      'priv-lvl': { type: 'string' },
      service: { type: 'string' },
      arg: { type: 'string', multiple: true },
      timeout: { type: 'string' },
      deadline: { type: 'string' },
      'single-connection': { type: 'boolean' },
      json: { type: 'boolean' },
      ...TLS_OPTIONS,
    },
  });
  const terminator = tokens.findIndex((t) => t.kind === 'option-terminator');
  const before = tokens.filter((t, i) => t.kind === 'positional' && (terminator < 0 || i < terminator));
  if (before.length > 0) throw new UsageError('put the command after --, e.g. -- show bgp summary');
  const [cmd, ...args] = positionals;
  if (cmd === undefined || cmd === '') throw new UsageError('no command: give the words after --');
  if (!values.host || values.host.length === 0) throw new UsageError('--host is required');
  if (values.user === undefined) throw new UsageError('--user is required');
  const port = int(values.port, 'port', 1, 65535);
  const prot = protection(values);
  const servers: TacacsServerAddress[] = values.host.map((host) => ({
    host,
    ...(port ? { port } : {}),
    ...prot,
  }));
  const timeoutMs = int(values.timeout, 'timeout', 1, 600_000);
  const deadlineMs = int(values.deadline, 'deadline', 1, 600_000);
  const privLvl = int(values['priv-lvl'], 'priv-lvl', 0, 15);
  const client = new TacacsClient({
    servers,
    ...(timeoutMs ? { timeoutMs } : {}),
    ...(deadlineMs ? { deadlineMs } : {}),
    singleConnection: values['single-connection'] === true,
  });
  try {
    const r = await client.authorize({
      user: values.user,
      cmd,
      args,
      ...(values['rem-addr'] !== undefined ? { remAddr: values['rem-addr'] } : {}),
      ...(values['nas-port'] !== undefined ? { port: values['nas-port'] } : {}),
      ...(values.service !== undefined ? { service: values.service } : {}),
      ...(privLvl !== undefined ? { privLvl } : {}),
      ...(values.arg ? { extraArgs: values.arg } : {}),
    });
    const code = r.permitted ? 0 : r.status === 'FAIL' || r.status === 'FOLLOW' ? 1 : 2;
    if (values.json) out(JSON.stringify(r));
    else {
      const where = r.server ? ` from ${r.server}` : '';
      out(`${r.permitted ? 'permit' : 'deny'} ${r.status}${where}${r.errorCode ? ` ${r.errorCode}` : ''}`);
      if (r.serverMsg) out(`server-msg: ${r.serverMsg}`);
      if (r.data) out(`data: ${r.data}`);
      for (const a of r.args) out(`arg: ${a}`);
      if (r.reason && code === 2) err(`tacacs-plus: ${r.reason}`);
    }
    return code;
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
