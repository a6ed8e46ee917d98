/**
 * The tool pipeline's steps one at a time (src/pipeline/steps.ts), each with only what it needs. The
 * SSH step is exercised against a real sshd in mcp-client.test.ts and session-mode.test.ts; here the
 * steps before and after it.
 */
import { createAuditContext } from '@netward/audit-context';
import type { BrokerClient, SignedUserCertificate } from '@netward/ca-broker/client';
import { thrownCode } from '@netward/kit/testing';
import { defaultPolicy, roleByName } from '@netward/policy';
import { describe, expect, it } from 'vitest';
import type { Identity } from '../src/auth/token.ts';
import { McpServerError } from '../src/errors.ts';
import type { InventoryDevice } from '../src/pipeline/inventory.ts';
import {
  authorizeScope,
  getCertificate,
  outcomeOf,
  resolveDevice,
  type ToolCall,
} from '../src/pipeline/steps.ts';

const policy = defaultPolicy();
const toolScopes = new Map(policy.tools.map((t) => [t.name, t.scope]));
const device: InventoryDevice = {
  name: 'spine-a',
  address: '127.0.0.1',
  port: 22,
  vendor: 'frr',
  hostKeyPolicy: { kind: 'ca', caBlobs: [] },
};

function call(roleName: string, tool: string, scopes?: string[]): ToolCall {
  const role = roleByName(policy, roleName)!;
  const identity: Identity = {
    user: 'bob',
    sub: 'bob',
    sid: 'fd9e4bdc77df2fa8',
    role,
    scopes: scopes ?? role.scopes,
    clientId: undefined,
    expiresAt: 0,
    token: 'not-a-real-token',
  };
  const requestId = '0123456789abcdef0123456789abcdef';
  return {
    identity,
    tool,
    args: {},
    requestId,
    ctx: createAuditContext({ user: 'bob', sid: identity.sid, role: role.name, requestId }),
    timings: {},
  };
}

const codeOf = (fn: () => unknown) => thrownCode(fn, McpServerError);

describe('authorizeScope', () => {
  it('admits a tool the scopes cover and refuses the rest with its code', () => {
    expect(
      codeOf(() => authorizeScope(call('net-viewer', 'list_devices'), toolScopes, false)),
    ).toBeUndefined();
    expect(codeOf(() => authorizeScope(call('net-viewer', 'ping'), toolScopes, false))).toBe(
      'ERR_MCP_INSUFFICIENT_SCOPE',
    );
    expect(codeOf(() => authorizeScope(call('net-admin', 'no_such_tool'), toolScopes, false))).toBe(
      'ERR_MCP_UNKNOWN_TOOL',
    );
    const raw = call('net-admin', 'run_raw_command_on_device');
    expect(codeOf(() => authorizeScope(raw, toolScopes, false))).toBe('ERR_MCP_UNKNOWN_TOOL');
    expect(codeOf(() => authorizeScope(raw, toolScopes, true))).toBeUndefined();
  });
});

describe('resolveDevice', () => {
  it('returns the device for a device tool, and refuses a missing device or a non-device tool', () => {
    expect(resolveDevice(call('net-operator', 'show_bgp_summary'), device)).toBe(device);
    expect(codeOf(() => resolveDevice(call('net-operator', 'show_bgp_summary'), undefined))).toBe(
      'ERR_MCP_UNKNOWN_DEVICE',
    );
    expect(codeOf(() => resolveDevice(call('net-operator', 'list_devices'), device))).toBe(
      'ERR_MCP_UNKNOWN_TOOL',
    );
  });
});

describe('getCertificate', () => {
  const requests: Parameters<BrokerClient['sign']>[0][] = [];
  // A broker answering with a chosen principal: the real one never issues for another role, so this
  // stand-in is the only way to reach the check.
  const signed = (principal: string): BrokerClient => ({
    sign: async (req) => {
      requests.push(req);
      return {
        certificate: 'ssh-ed25519-cert-v01@openssh.com AAAA',
        serial: '42',
        keyId: 'k',
        principal,
        validAfter: new Date(0),
        validBefore: new Date(60_000),
      } as SignedUserCertificate;
    },
  });

  it('accepts the role or the per-device principal, and times the key and the signing', async () => {
    for (const principal of ['net-operator', 'net-operator@spine-a']) {
      const c = call('net-operator', 'show_bgp_summary');
      const cred = await getCertificate(c, device, 'exchanged', signed(principal));
      expect(cred.serial).toBe('42');
      expect(cred.key.publicKeyLine).toMatch(/^ssh-ed25519 /);
      expect(Object.keys(c.timings).sort()).toEqual(['key', 'sign']);
      expect(requests.at(-1)).toMatchObject({
        token: 'exchanged',
        publicKey: cred.key.publicKeyLine,
        requestId: c.requestId,
        role: 'net-operator',
        device: 'spine-a',
      });
    }
  });

  it('refuses a certificate for another principal (ERR_MCP_BROKER_BAD_RESPONSE)', async () => {
    for (const principal of ['net-admin', 'net-operator@leaf-1']) {
      await expect(
        getCertificate(call('net-operator', 'show_bgp_summary'), device, 'exchanged', signed(principal)),
      ).rejects.toMatchObject({ code: 'ERR_MCP_BROKER_BAD_RESPONSE' });
    }
  });
});

describe('outcomeOf', () => {
  const exec = (exitCode: number, stdout: string, stderr = '', truncated = false) => ({
    exitCode,
    signal: null,
    stdout,
    stderr,
    truncated,
  });

  it('a non-zero exit is ERR_MCP_DEVICE_DENIED carrying the device message, control sequences removed', () => {
    const { result, failure } = outcomeOf(
      call('net-operator', 'show_bgp_summary'),
      device,
      exec(126, '', '\x1b[31mdenied\x1b[0m: not allowed\x07'),
      1000,
    );
    expect(failure?.code).toBe('ERR_MCP_DEVICE_DENIED');
    expect(result.isError).toBe(true);
    expect(JSON.parse(result.content[0]!.text).error).toMatchObject({
      code: 'ERR_MCP_DEVICE_DENIED',
      device_message: 'denied: not allowed',
    });
  });

  it('an empty success says so, and a truncated output says where it was cut', () => {
    const c = call('net-admin', 'set_interface_description');
    expect(outcomeOf(c, device, exec(0, '  \n'), 1000).result.content[0]!.text).toBe(
      'set_interface_description on spine-a: done (exit 0, no output)',
    );
    expect(outcomeOf(c, device, exec(0, 'abc', '', true), 3).result.content[0]!.text).toBe(
      'abc\n[output truncated at 3 bytes]',
    );
  });
});
