/**
 * Host certificates: POST /v1/ssh/sign-host (operator only, signed by the host CA) and
 * GET /v1/ssh/host-ca.pub (the line for `@cert-authority` in the MCP server's known_hosts).
 */
import type { KeyObject } from 'node:crypto';
import {
  fingerprint,
  parseCertificate,
  parseKeyLine,
  parsePublicKey,
  verifyCertificateSignature,
} from '@netward/ssh-certificate';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CaBrokerError } from '../errors.ts';
import type { Decision } from '../plugins/audit.ts';
import type { SigningBackend } from '../signers/types.ts';
import { parseBody } from './body.ts';
import type { RouteDeps } from './deps.ts';

const OPERATOR_REALM = 'netward-ca-broker-operator';

// Host names and addresses as they appear in known_hosts patterns, without wildcards or negation.
const HOST_PRINCIPAL = /^[A-Za-z0-9]([A-Za-z0-9.:_-]{0,252})$/;

const signHostBody = z.strictObject({
  public_key: z.string().min(1).max(8192),
  principals: z.array(z.string().regex(HOST_PRINCIPAL)).min(1).max(64),
  validity_days: z.int().min(1).optional(),
  key_id: z
    .string()
    .regex(/^[\x21-\x7e]{1,128}$/)
    .optional(),
});

export async function hostRoutes(app: FastifyInstance, deps: RouteDeps): Promise<void> {
  const { config, backend, trail, authentication } = deps;

  if (!authentication.operatorConfigured) {
    // Host signing is off: the endpoint answers 404, as an unknown path does.
    app.post('/v1/ssh/sign-host', async () => {
      throw new CaBrokerError('ERR_CA_NOT_FOUND', 'not found');
    });
  } else {
    app.post(
      '/v1/ssh/sign-host',
      { config: { certificate: 'host', auth: 'operator', realm: OPERATOR_REALM } },
      async (req, reply) => {
        const d = trail.decision(req) as Decision;
        const body = parseBody(signHostBody, req.body);
        const days = body.validity_days ?? config.hostSigning.maxValidityDays;
        if (days > config.hostSigning.maxValidityDays) {
          throw new CaBrokerError('ERR_CA_BAD_REQUEST', 'validity_days above the configured maximum');
        }
        const key = parsePublicKey(body.public_key);
        d.keyFingerprint = fingerprint(key.blob);
        d.ttl = days * 86_400;
        const keyId = body.key_id ?? `host:${body.principals[0]}`;
        const line = await signHostCertificate(backend, {
          publicKey: key.raw,
          blob: key.blob,
          principals: body.principals,
          keyId,
          validitySeconds: d.ttl,
          backdateSeconds: config.certificate.backdateSeconds,
        });
        const cert = parseCertificate(line);
        d.certSerial = cert.serial.toString();
        trail.decide(req);
        return reply.header('cache-control', 'no-store').send({
          certificate: line.trim(),
          serial: d.certSerial,
          key_id: keyId,
          principals: cert.principals,
          valid_after: new Date(Number(cert.validAfter) * 1000).toISOString(),
          valid_before: new Date(Number(cert.validBefore) * 1000).toISOString(),
        });
      },
    );
  }

  app.get('/v1/ssh/host-ca.pub', async (_req, reply) => {
    let line: string | undefined;
    try {
      line = await backend.hostCaPublicKey();
    } catch (err) {
      throw new CaBrokerError('ERR_CA_BACKEND_UNAVAILABLE', 'signing backend unavailable', { cause: err });
    }
    if (line === undefined) throw new CaBrokerError('ERR_CA_NOT_FOUND', 'no host CA configured');
    return reply.type('text/plain; charset=utf-8').send(`${line}\n`);
  });
}

/** Signs and checks a host certificate (shared by the HTTP endpoint and the offline CLI). */
export async function signHostCertificate(
  backend: SigningBackend,
  req: {
    publicKey: KeyObject | Uint8Array;
    blob: Buffer;
    principals: readonly string[];
    keyId: string;
    validitySeconds: number;
    backdateSeconds: number;
  },
): Promise<string> {
  let line: string;
  try {
    line = await backend.signHost({
      publicKey: req.publicKey,
      publicKeyLine: `ssh-ed25519 ${req.blob.toString('base64')}`,
      principals: req.principals,
      keyId: req.keyId,
      validitySeconds: req.validitySeconds,
      backdateSeconds: req.backdateSeconds,
    });
  } catch (err) {
    if (err instanceof CaBrokerError && err.code === 'ERR_CA_BACKEND_UNAVAILABLE') throw err;
    throw new CaBrokerError('ERR_CA_BACKEND_UNAVAILABLE', 'signing backend unavailable', { cause: err });
  }
  const cert = parseCertificate(line);
  const hostCa = await backend.hostCaPublicKey();
  if (
    cert.type !== 'host' ||
    !cert.publicKeyBlob.equals(req.blob) ||
    cert.principals.join(',') !== req.principals.join(',') ||
    hostCa === undefined ||
    !cert.signatureKey.equals(parseKeyLine(hostCa).blob) ||
    !verifyCertificateSignature(cert)
  ) {
    throw new CaBrokerError(
      'ERR_CA_BACKEND_UNAVAILABLE',
      'signing backend returned an unexpected host certificate',
    );
  }
  return line.trim();
}
