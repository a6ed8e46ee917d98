import type { BrokerConfig } from '../config.ts';
import { createLocalBackend } from './local.ts';
import type { SigningBackend } from './types.ts';
import { createVaultBackend } from './vault.ts';

/** The backend a configuration names. Local keys are loaded (or created) here, so a bad key file
 *  stops the broker at startup rather than at the first request. */
export function createBackend(config: BrokerConfig): SigningBackend {
  const b = config.backend;
  if (b.type === 'vault') return createVaultBackend(b);
  return createLocalBackend({
    stateDir: b.stateDir,
    userCaKeyFile: b.userCaKeyFile,
    hostCaKeyFile: b.hostCaKeyFile,
  });
}
