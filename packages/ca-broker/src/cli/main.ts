#!/usr/bin/env node
/**
 * netward-ca-broker: the broker service and its offline operations.
 *
 *   serve     --config F                      run the service
 *   init      --state-dir D                   create the user and host CA keys (0600) if missing
 *   ca-pub    --state-dir D [--host]          print the user (or host) CA public key line
 *   sign-host --state-dir D --host-key F.pub --principals a,b [--validity-days N] [--key-id X] --out F
 *                                             sign a device host key with the host CA, offline
 *
 * Exit codes: 0 done, 1 refused or failed (message names the error code), 2 usage.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isNetwardError } from '@netward/errors';
import { parseCertificate, parsePublicKey } from '@netward/ssh-certificate';
import { loadConfig } from '../config.ts';
import { signHostCertificate } from '../routes/host.ts';
import { startServer } from '../server.ts';
import { createLocalBackend } from '../signers/local.ts';

const USAGE = `usage:
  netward-ca-broker serve --config FILE
  netward-ca-broker init --state-dir DIR
  netward-ca-broker ca-pub --state-dir DIR [--host]
  netward-ca-broker sign-host --state-dir DIR --host-key FILE.pub --principals a,b [--validity-days N] [--key-id ID] --out FILE`;

class UsageError extends Error {}

function option(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v.length === 0) throw new UsageError(`--${name} is required`);
  return v;
}

/** `sign-host`: a host certificate from the local host CA, written to --out. */
async function signHost(values: Record<string, unknown>): Promise<number> {
  const principals = option(values, 'principals')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (principals.length === 0 || principals.some((p) => !/^[A-Za-z0-9][A-Za-z0-9.:_-]{0,252}$/.test(p))) {
    throw new UsageError('--principals must be host names or addresses separated by commas');
  }
  const days = Number(values['validity-days'] ?? '365');
  if (!Number.isInteger(days) || days < 1 || days > 3650)
    throw new UsageError('--validity-days must be 1..3650');
  const backend = createLocalBackend({ stateDir: option(values, 'state-dir'), create: false });
  const key = parsePublicKey(readFileSync(option(values, 'host-key'), 'utf8'));
  const keyId = typeof values['key-id'] === 'string' ? values['key-id'] : `host:${principals[0]}`;
  const line = await signHostCertificate(backend, {
    publicKey: key.key,
    blob: key.blob,
    principals,
    keyId,
    validitySeconds: days * 86_400,
    backdateSeconds: 300,
  });
  const out = option(values, 'out');
  writeFileSync(out, `${line}\n`, { mode: 0o644 });
  const cert = parseCertificate(line);
  console.log(`${out}: host certificate serial ${cert.serial} for ${principals.join(',')}, ${days} days`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // The convention of every netward program: --help, -h and help print the usage and exit 0.
  if (
    command === '--help' ||
    command === '-h' ||
    command === 'help' ||
    rest.includes('--help') ||
    rest.includes('-h')
  ) {
    console.log(USAGE);
    return 0;
  }
  const { values } = parseArgs({
    args: rest,
    strict: true,
    allowPositionals: false,
    options: {
      config: { type: 'string' },
      'state-dir': { type: 'string' },
      host: { type: 'boolean' },
      'host-key': { type: 'string' },
      principals: { type: 'string' },
      'validity-days': { type: 'string' },
      'key-id': { type: 'string' },
      out: { type: 'string' },
    },
  });
  switch (command) {
    case 'serve': {
      const config = loadConfig(option(values, 'config'));
      const broker = await startServer(config);
      const stop = () => {
        broker.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      return -1; // keep running
    }
    case 'init': {
      const backend = createLocalBackend({ stateDir: option(values, 'state-dir'), create: true });
      console.log(await backend.userCaPublicKey());
      console.log(await backend.hostCaPublicKey());
      return 0;
    }
    case 'ca-pub': {
      const backend = createLocalBackend({ stateDir: option(values, 'state-dir'), create: false });
      console.log(values.host ? await backend.hostCaPublicKey() : await backend.userCaPublicKey());
      return 0;
    }
    case 'sign-host':
      return signHost(values);
    default:
      throw new UsageError(command ? `unknown command ${command}` : 'no command');
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      // One line saying what was wrong; the usage is one --help away.
      console.error(
        `netward-ca-broker: ${(err as Error).message.split('\n')[0]} (netward-ca-broker --help for usage)`,
      );
      process.exitCode = 2;
      return;
    }
    if (isNetwardError(err)) {
      console.error(`netward-ca-broker: ${err.code}: ${err.message}`);
    } else {
      console.error(`netward-ca-broker: ${(err as Error)?.message ?? String(err)}`);
    }
    process.exitCode = 1;
  },
);
