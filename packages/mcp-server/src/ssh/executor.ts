/**
 * Run one command on one device with one certificate: connect, exec, close. This is the whole of
 * per-call mode's SSH part, exported for the lab and the root benchmark.
 */
import type { DeviceConnection, ExecResult } from './connection.ts';
import { connectDevice } from './connection.ts';
import type { HostKeyPolicy } from './host-key.ts';
import type { EphemeralKey } from './keys.ts';

export interface DeviceTarget {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly hostKeyPolicy: HostKeyPolicy;
}

export interface RunDeviceCommandOptions {
  readonly device: DeviceTarget;
  /** Device account = certificate principal (the role). */
  readonly username: string;
  readonly key: EphemeralKey;
  readonly certificate: string;
  readonly command: string;
  /** MCP_USER, MCP_SID, MCP_REQUEST_ID, MCP_TOOL (encodeSshEnv). */
  readonly env: Readonly<Record<string, string>>;
  readonly connectTimeoutMs: number;
  readonly execTimeoutMs: number;
  readonly maxOutputBytes: number;
  /** Filled with `connect` and `exec` milliseconds as the steps finish. */
  readonly timings?: Record<string, number>;
}

export function connectTarget(
  device: DeviceTarget,
  username: string,
  key: EphemeralKey,
  certificate: string,
  connectTimeoutMs: number,
): Promise<DeviceConnection> {
  return connectDevice({
    host: device.address,
    port: device.port,
    username,
    hostNames: [device.name, device.address],
    hostKeyPolicy: device.hostKeyPolicy,
    key,
    certificate,
    connectTimeoutMs,
  });
}

export async function runDeviceCommand(options: RunDeviceCommandOptions): Promise<ExecResult> {
  const t0 = performance.now();
  const conn = await connectTarget(
    options.device,
    options.username,
    options.key,
    options.certificate,
    options.connectTimeoutMs,
  );
  const t1 = performance.now();
  if (options.timings) options.timings['connect'] = round(t1 - t0);
  try {
    return await conn.exec(options.command, {
      env: options.env,
      timeoutMs: options.execTimeoutMs,
      maxOutputBytes: options.maxOutputBytes,
    });
  } finally {
    if (options.timings) options.timings['exec'] = round(performance.now() - t1);
    conn.close();
  }
}

export function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
