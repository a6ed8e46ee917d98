import { readFileSync } from 'node:fs';
import { newRequestId } from '@netward/audit-context';
import { LabError } from '../errors.ts';
import { exchangeToken } from '../idp/login.ts';
import type { LabLayout } from '../layout.ts';
import { brokerAudience, exchangeClient } from '../services/configs.ts';

/**
 * What the MCP server does before it connects, done by hand: the RFC 8693 exchange as the MCP
 * server's client (its secret from the lab's state), then POST /v1/ssh/sign at the broker. Used by
 * the end-to-end tests (expired and mismatched certificates against real sshd) and the benchmark.
 */
export async function exchangeForBroker(layout: LabLayout, userAccessToken: string): Promise<string> {
  const { accessToken } = await exchangeToken({
    ...exchangeClient(layout),
    clientSecret: readFileSync(layout.paths.exchangeSecret, 'utf8').trim(),
    subjectToken: userAccessToken,
    audience: brokerAudience(layout),
  });
  return accessToken;
}

export interface IssuedCertificate {
  readonly certificate: string;
  readonly serial: string;
  readonly requestId: string;
}

export async function requestCertificate(
  layout: LabLayout,
  userAccessToken: string,
  publicKeyLine: string,
  requestId: string = newRequestId(),
  /** The device the certificate is for: the lab's broker binds each certificate to one device. */
  device?: string,
): Promise<IssuedCertificate> {
  const brokerToken = await exchangeForBroker(layout, userAccessToken);
  const res = await fetch(`${layout.urls.broker}/v1/ssh/sign`, {
    method: 'POST',
    headers: { authorization: `Bearer ${brokerToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      public_key: publicKeyLine.trim(),
      request_id: requestId,
      ...(device === undefined ? {} : { device }),
    }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as { certificate?: string; serial?: string; error?: { code?: string } };
  if (!res.ok || typeof body.certificate !== 'string') {
    throw new LabError('ERR_LAB_DEMO', `broker refused: ${body.error?.code ?? res.status}`);
  }
  return { certificate: body.certificate, serial: String(body.serial), requestId };
}
