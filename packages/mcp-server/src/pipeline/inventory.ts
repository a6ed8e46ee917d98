/** The devices this server knows, from the config, each with how its host key is checked. */
import type { DeviceEntry } from '../config.ts';
import type { DeviceTarget } from '../ssh/executor.ts';
import type { HostKeyPolicy } from '../ssh/host-key.ts';

export interface InventoryDevice extends DeviceTarget {
  readonly vendor: string;
  readonly site?: string;
  readonly tenant?: string;
}

export function buildInventory(
  entries: readonly DeviceEntry[],
  hostCaKeys: readonly Buffer[],
): Map<string, InventoryDevice> {
  const out = new Map<string, InventoryDevice>();
  for (const d of entries) {
    const hostKeyPolicy: HostKeyPolicy = d.hostKeys
      ? {
          kind: 'pinned',
          keyBlobs: d.hostKeys.map((l) => Buffer.from(l.trim().split(/\s+/)[1] ?? '', 'base64')),
        }
      : { kind: 'ca', caBlobs: hostCaKeys };
    out.set(
      d.name,
      Object.freeze({
        name: d.name,
        address: d.address,
        port: d.port,
        vendor: d.vendor,
        ...(d.site === undefined ? {} : { site: d.site }),
        ...(d.tenant === undefined ? {} : { tenant: d.tenant }),
        hostKeyPolicy,
      }),
    );
  }
  return out;
}
