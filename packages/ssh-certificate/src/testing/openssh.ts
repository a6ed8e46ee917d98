import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Fails (never skips) when an OpenSSH program the test relies on is missing. */
export function requireProgram(path: string): string {
  if (!existsSync(path)) {
    throw new Error(
      `${path} is missing: install openssh-server and openssh-client (apt-get install openssh-server)`,
    );
  }
  return path;
}

export const SSH_KEYGEN = '/usr/bin/ssh-keygen';

export function sshKeygen(args: string[], input?: string): string {
  requireProgram(SSH_KEYGEN);
  return execFileSync(SSH_KEYGEN, args, {
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC' },
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(input === undefined ? {} : { input }),
  });
}

/** `ssh-keygen -L -f file` parsed into its labelled fields. */
export interface KeygenListing {
  type: string;
  publicKey: string;
  signingCa: string;
  keyId: string;
  serial: string;
  valid: string;
  principals: string[];
  criticalOptions: string[];
  extensions: string[];
}

export function listCertificate(file: string): KeygenListing {
  const out = sshKeygen(['-L', '-f', file]);
  const lines = out.split('\n');
  const field = (label: string) => {
    const l = lines.find((x) => x.trimStart().startsWith(`${label}:`));
    if (l === undefined) throw new Error(`ssh-keygen -L printed no ${label}:\n${out}`);
    return l.slice(l.indexOf(':') + 1).trim();
  };
  const block = (label: string) => {
    const start = lines.findIndex((x) => x.trimStart().startsWith(`${label}:`));
    const items: string[] = [];
    if (field(label) === '(none)') return items;
    for (let i = start + 1; i < lines.length; i++) {
      const l = lines[i]!;
      if (!/^\s{9,}\S/.test(l)) break;
      items.push(l.trim());
    }
    return items;
  };
  return {
    type: field('Type'),
    publicKey: field('Public key'),
    signingCa: field('Signing CA'),
    keyId: field('Key ID'),
    serial: field('Serial'),
    valid: field('Valid'),
    principals: block('Principals'),
    criticalOptions: block('Critical Options'),
    extensions: block('Extensions'),
  };
}
