// createTacacsServer's options checked and resolved once, into the frozen settings every connection reads.
import { createLogger, type Logger } from '@netward/audit-context';
import { DEFAULT_MAX_BODY_LENGTH } from '../protocol/constants.ts';
import type { Protection } from '../protocol/packet.ts';
import type { TacacsServerHandlers, TacacsServerOptions } from './types.ts';

export interface ServerConfig {
  readonly protection: Protection;
  readonly handlers: TacacsServerHandlers;
  readonly logger: Logger;
  readonly maxSessions: number;
  readonly maxBodyLength: number;
  readonly handlerTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly singleConnection: boolean;
  readonly maxConnections: number;
}

/** Throws TypeError for options that cannot make a server, before anything listens. */
export function resolveServerConfig(options: TacacsServerOptions): ServerConfig {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  if ((options.key === undefined) === (options.tls === undefined)) {
    throw new TypeError('give exactly one of key (plain TCP) and tls (RFC 9887: no MD5 inside TLS)');
  }
  if (options.handlers === null || typeof options.handlers !== 'object')
    throw new TypeError('handlers must be an object');
  let protection: Protection;
  if (options.key !== undefined) {
    const key = typeof options.key === 'string' ? Buffer.from(options.key, 'utf8') : options.key;
    if (!Buffer.isBuffer(key) || key.length === 0)
      throw new TypeError('key must be a non-empty string or Buffer');
    protection = { kind: 'key', key: Buffer.from(key) };
  } else {
    protection = { kind: 'tls' };
  }
  const limits = options.limits ?? {};
  return Object.freeze({
    protection,
    handlers: options.handlers,
    logger: options.logger ?? createLogger({ component: 'tacacs-server' }),
    maxSessions: positive(limits.maxSessionsPerConnection, 64, 'limits.maxSessionsPerConnection'),
    maxBodyLength: positive(limits.maxBodyLength, DEFAULT_MAX_BODY_LENGTH, 'limits.maxBodyLength'),
    handlerTimeoutMs: positive(limits.handlerTimeoutMs, 5000, 'limits.handlerTimeoutMs'),
    idleTimeoutMs: positive(options.idleTimeoutMs, 30_000, 'idleTimeoutMs'),
    singleConnection: options.singleConnection !== false,
    maxConnections: positive(limits.maxConnections, 1024, 'limits.maxConnections'),
  });
}

function positive(v: number | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v <= 0) throw new TypeError(`${name} must be a positive integer`);
  return v;
}
