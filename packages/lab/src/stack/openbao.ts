/**
 * OpenBao as the lab's SSH CA: the pinned `bao` binary (downloads.ts), one server per lab with
 * in-memory storage, then the configuration the compose lab's docker/openbao-init/init.sh applies,
 * from the same rendered data (src/compose/openbao.ts): the user and host SSH engines with Ed25519
 * CA keys, one 60-second signing role and one policy per net role, JWT auth against this lab's
 * Keycloak, and a file audit device. The user CA's public key then goes to every device's sshd.
 *
 * The root token: `bao server -dev` prints it on its standard output, which the lab keeps as a log,
 * and takes a chosen one only in argv (`-dev-root-token-id`). So the server runs from a configuration
 * file instead (the same in-memory storage dev mode uses) and the lab initialises it over the API
 * (`sys/init`, one key share): the unseal key and the root token exist only in this process's memory,
 * are used to configure the server, and the root token is revoked at the end. Nothing after that holds
 * a privileged OpenBao token: the broker logs in per call with the exchanged Keycloak token.
 * The cost: a restarted OpenBao is empty and sealed (its storage is memory) until `netward-lab up` runs
 * again, which gives it a new CA key and the devices the new public key.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import type { Policy } from '@netward/policy';
import { renderOpenBao } from '../compose/openbao.ts';
import { SSH_HOST_MOUNT, SSH_USER_MOUNT } from '../compose/site.ts';
import { LabError } from '../errors.ts';
import type { LabLayout } from '../layout.ts';
import type { ServiceSpec } from '../services/supervisor.ts';
import { tcpOpen } from '../system/probe.ts';
import { OPENBAO_PORT, stackEndpoints, stackPaths, stackSite } from './site.ts';

export function writeOpenBaoConfig(layout: LabLayout): void {
  const p = stackPaths(layout);
  const text = [
    '# netward native lab (--stack keycloak): in-memory storage, as `bao server -dev` uses;',
    '# initialised and configured by `netward-lab up` over the API (packages/lab/src/stack/openbao.ts).',
    'storage "inmem" {}',
    'listener "tcp" {',
    `  address = "${layout.hostMgmtAddress}:${OPENBAO_PORT}"`,
    "  # Lab only: plain HTTP on the lab's own management network.",
    '  tls_disable = true',
    '}',
    '# No mlock: the lab runs without CAP_IPC_LOCK limits raised; production keeps mlock on.',
    'disable_mlock = true',
    'ui = false',
    // Audit devices are declared in the configuration: OpenBao 2.x no longer enables them over the API.
    'audit "file" "file" {',
    '  options {',
    `    file_path = "${p.baoAudit}"`,
    '  }',
    '}',
    '',
  ].join('\n');
  writeFileSync(p.baoConfig, text, { mode: 0o600 });
  chmodSync(p.baoConfig, 0o600);
}

export function openBaoSpec(layout: LabLayout, bao: string): ServiceSpec {
  const p = stackPaths(layout);
  return {
    name: 'openbao',
    command: bao,
    args: ['server', `-config=${p.baoConfig}`],
    // Nothing of the caller's environment that bao reads (BAO_TOKEN, VAULT_TOKEN, BAO_ADDR) matters
    // to a server, but none is passed on either.
    env: { BAO_TOKEN: '', VAULT_TOKEN: '' },
    log: p.baoLog,
    ready: () => tcpOpen(layout.hostMgmtAddress, OPENBAO_PORT),
    readyTimeoutMs: 60_000,
  };
}

interface BaoCall {
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly path: string;
  readonly body?: unknown;
}

async function bao(layout: LabLayout, call: BaoCall, token?: string): Promise<unknown> {
  const res = await fetch(`${stackEndpoints(layout).baoAddr}/v1/${call.path}`, {
    method: call.method,
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { 'x-vault-token': token }),
    },
    ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (!res.ok) {
    // OpenBao's error strings name the path and the reason, never a token.
    let errors = '';
    try {
      errors = ((JSON.parse(text) as { errors?: string[] }).errors ?? []).join('; ');
    } catch {
      errors = text.slice(0, 200);
    }
    throw new LabError(
      'ERR_LAB_SERVICE',
      `openbao: ${call.method} /v1/${call.path}: HTTP ${res.status} ${errors}`,
    );
  }
  return text.length === 0 ? undefined : text.startsWith('{') ? JSON.parse(text) : text;
}

/**
 * The requests that apply the rendered configuration, in init.sh's order. Pure, so the parity test
 * can hold it against init.sh and the rendered files.
 */
export function openBaoRequests(policy: Policy, layout: LabLayout): BaoCall[] {
  const { json, hcl } = renderOpenBao(policy, stackSite(layout));
  const calls: BaoCall[] = [];
  for (const mount of [SSH_USER_MOUNT, SSH_HOST_MOUNT]) {
    calls.push({ method: 'POST', path: `sys/mounts/${mount}`, body: { type: 'ssh' } });
    calls.push({
      method: 'POST',
      path: `${mount}/config/ca`,
      body: { generate_signing_key: true, key_type: 'ed25519' },
    });
  }
  for (const [file, body] of json) {
    const role = /^ssh-roles\/(.+)\.json$/.exec(file);
    if (role) calls.push({ method: 'POST', path: `${SSH_USER_MOUNT}/roles/${role[1]}`, body });
  }
  calls.push({
    method: 'POST',
    path: `${SSH_HOST_MOUNT}/roles/device-host`,
    body: json.get('ssh-host-role.json'),
  });
  for (const [file, text] of hcl) {
    const name = /^policies\/(.+)\.hcl$/.exec(file)?.[1];
    if (name) calls.push({ method: 'PUT', path: `sys/policies/acl/${name}`, body: { policy: text } });
  }
  calls.push({ method: 'POST', path: 'sys/auth/jwt', body: { type: 'jwt' } });
  calls.push({ method: 'POST', path: 'auth/jwt/config', body: json.get('jwt-config.json') });
  for (const [file, body] of json) {
    const role = /^jwt-roles\/(.+)\.json$/.exec(file);
    if (role) calls.push({ method: 'POST', path: `auth/jwt/role/${role[1]}`, body });
  }
  return calls;
}

/**
 * Initialises, unseals and configures a fresh OpenBao; on one already initialised (an `up` run again
 * while it runs) only reads the CA key. Returns the user CA's public key line.
 */
export async function configureOpenBao(layout: LabLayout, policy: Policy): Promise<string> {
  const status = (await bao(layout, { method: 'GET', path: 'sys/init' })) as { initialized: boolean };
  if (!status.initialized) {
    const init = (await bao(layout, {
      method: 'PUT',
      path: 'sys/init',
      body: { secret_shares: 1, secret_threshold: 1 },
    })) as { keys_base64: string[]; root_token: string };
    const unseal = (await bao(layout, {
      method: 'PUT',
      path: 'sys/unseal',
      body: { key: init.keys_base64[0] },
    })) as { sealed: boolean };
    if (unseal.sealed) throw new LabError('ERR_LAB_SERVICE', 'openbao: still sealed after unseal');
    const root = init.root_token;
    try {
      for (const call of openBaoRequests(policy, layout)) await bao(layout, call, root);
    } finally {
      await bao(layout, { method: 'POST', path: 'auth/token/revoke-self' }, root).catch(() => undefined);
    }
  }
  const pub = await bao(layout, { method: 'GET', path: `${SSH_USER_MOUNT}/public_key` });
  if (typeof pub !== 'string' || !pub.startsWith('ssh-ed25519 ')) {
    throw new LabError('ERR_LAB_SERVICE', 'openbao: no Ed25519 user CA key at ssh/public_key');
  }
  return pub.trim();
}
