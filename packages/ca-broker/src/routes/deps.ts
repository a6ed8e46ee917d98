import type { Policy } from '@netward/policy';
import type { BrokerConfig } from '../config.ts';
import type { AuditTrail } from '../plugins/audit.ts';
import type { Authentication } from '../plugins/authenticate.ts';
import type { ReplayCache } from '../replay.ts';
import type { SigningBackend } from '../signers/types.ts';

/** What the route modules share, built once by buildApp. */
export interface RouteDeps extends Record<string, unknown> {
  readonly config: BrokerConfig;
  readonly backend: SigningBackend;
  readonly policy: Policy;
  readonly replay: ReplayCache;
  readonly trail: AuditTrail;
  readonly authentication: Authentication;
  /** Clock, ms since the epoch. */
  readonly now: () => number;
}
