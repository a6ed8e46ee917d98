import type { ConnectionOptions, TlsOptions } from 'node:tls';

/**
 * node:tls, loaded on first use rather than at import: a program that only speaks plain TCP (the
 * ForceCommand validator) can then be put in a V8 start-up snapshot, which node 20.20 cannot build from
 * a script that has loaded node:tls ("Unknown external reference").
 */
export function nodeTls(): typeof import('node:tls') {
  return process.getBuiltinModule('node:tls');
}

/** Certificate material for TACACS+ over TLS (RFC 9887): PEM text or the bytes of a PEM file. */
export interface TacacsTlsFiles {
  /** Trust anchors for the peer's certificate. Only these: the system store is not consulted. */
  readonly ca: string | Buffer;
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

export interface TacacsClientTls extends TacacsTlsFiles {
  /** Name checked against the server certificate and sent as SNI; default the server's host. */
  readonly servername?: string;
}

/**
 * RFC 9887 section 3.2: TLS 1.3 and nothing older; section 3.1: both sides present certificates.
 * Node never sends 0-RTT data on its own, which section 5.1.2 forbids.
 */
export function clientTlsOptions(tls: TacacsClientTls, host: string, port: number): ConnectionOptions {
  const options: ConnectionOptions = {
    host,
    port,
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    rejectUnauthorized: true,
  };
  // SNI carries host names only (RFC 6066 section 3); for an address the certificate's IP SAN is checked.
  const servername = tls.servername ?? (isIpAddress(host) ? undefined : host);
  if (servername !== undefined) options.servername = servername;
  return options;
}

export function serverTlsOptions(tls: TacacsTlsFiles): TlsOptions {
  return {
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    requestCert: true,
    rejectUnauthorized: true,
  };
}

function isIpAddress(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(':');
}
