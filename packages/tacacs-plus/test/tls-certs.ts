import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pki {
  dir: string;
  ca: Buffer;
  serverCert: Buffer;
  serverKey: Buffer;
  clientCert: Buffer;
  clientKey: Buffer;
  /** A second CA and a client certificate it signed: trusted by nobody here. */
  rogueCa: Buffer;
  rogueClientCert: Buffer;
  rogueClientKey: Buffer;
  rogueServerCert: Buffer;
  rogueServerKey: Buffer;
  cleanup(): void;
}

function openssl(dir: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(
      `openssl ${args[0]} failed (is the openssl CLI installed?): ${(e as { stderr?: Buffer }).stderr}`,
    );
  }
}

/** A throw-away PKI made with the openssl CLI: P-256 keys, one-day certificates. */
export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'tacacs-tls-'));
  const ca = (name: string) => {
    openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
    openssl(dir, [
      'req',
      '-x509',
      '-new',
      '-key',
      `${name}.key`,
      '-subj',
      `/CN=${name}`,
      '-days',
      '1',
      '-out',
      `${name}.pem`,
    ]);
  };
  const leaf = (name: string, issuer: string, ext: string) => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
    openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`]);
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${issuer}.pem`,
      '-CAkey',
      `${issuer}.key`,
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    ]);
  };
  const serverExt = 'subjectAltName=IP:127.0.0.1,DNS:tacacs.test\nextendedKeyUsage=serverAuth\n';
  const clientExt = 'extendedKeyUsage=clientAuth\n';
  ca('ca');
  ca('rogue');
  leaf('server', 'ca', serverExt);
  leaf('client', 'ca', clientExt);
  leaf('rogue-client', 'rogue', clientExt);
  leaf('rogue-server', 'rogue', serverExt);
  const r = (f: string) => readFileSync(join(dir, f));
  return {
    dir,
    ca: r('ca.pem'),
    serverCert: r('server.pem'),
    serverKey: r('server.key'),
    clientCert: r('client.pem'),
    clientKey: r('client.key'),
    rogueCa: r('rogue.pem'),
    rogueClientCert: r('rogue-client.pem'),
    rogueClientKey: r('rogue-client.key'),
    rogueServerCert: r('rogue-server.pem'),
    rogueServerKey: r('rogue-server.key'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
