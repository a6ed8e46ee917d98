// The findings of issue 12 through a real sshd, with real certificates, as each role: the design's rules
// (what the lab shipped) let them through; the default policy's grammar refuses every one before the
// rules are asked, with ERR_FC_GRAMMAR (exit 115), and nothing runs.
import { join } from 'node:path';
import { createLogger } from '@netward/audit-context';
import { commandString, decide, defaultPolicy, loadPolicy } from '@netward/policy';
import { createTacacsServer } from '@netward/tacacs-plus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientMessage, FC_ERRORS } from '../src/errors.ts';
import { BASE_EXECUTABLES, buildBundle, type Harness, PKG, startSshd } from './sshd-harness.ts';

const KEY_ID = 'sid=grammarsess01,user=erin,req=grammarrequest0000001';
const ROLES = ['net-viewer', 'net-operator', 'net-admin'] as const;
type Role = (typeof ROLES)[number];
const BELOW_ADMIN: readonly Role[] = ['net-viewer', 'net-operator'];
const DESIGN = loadPolicy(join(PKG, '..', 'policy', 'policy', 'design.yaml'));

let h: Harness;

const executables = {
  ...BASE_EXECUTABLES,
  traceroute: { path: '/usr/sbin/traceroute' },
  vtysh: { path: '/usr/bin/vtysh', args: ['--config_dir', '/etc/frr'], style: 'vtysh' as const },
};
const cli = { executable: 'vtysh', commands: ['show', 'configure', 'write', 'clear'] };

function designConfig(): void {
  h.writeConfig({ executables, cli });
}

function defaultConfig(): void {
  h.writeConfig({
    executables,
    cli,
    authorization: { mode: 'local', rulesFile: h.defaultRulesFile },
    grammarFile: h.grammarFile,
  });
}

function records(since: number) {
  return h.auditRecords().slice(since);
}

beforeAll(async () => {
  buildBundle();
  h = await startSshd();
  h.sign({ keyId: KEY_ID, principals: [...ROLES], serial: 4242 });
}, 60_000);

afterAll(async () => {
  await h?.stop();
});

// [finding, command (as the client sends it), roles that must be refused]
function findings(): [string, string, readonly Role[]][] {
  return [
    ['reads the TACACS+ key with ip -b', `ip -b ${h.keyFile} /show`, ROLES],
    ['reads the TACACS+ key with ip -batch', `ip -batch ${h.keyFile}`, ROLES],
    ['reads a file with ip -force -batch', `ip -force -batch ${h.keyFile}`, ROLES],
    ['adds a route', 'ip route add 10.99.0.0/16 dev lo', BELOW_ADMIN],
    ['flushes addresses', 'ip addr flush dev lo', BELOW_ADMIN],
    ['takes a link down', 'ip link set dev lo down', BELOW_ADMIN],
    ['enters another namespace with ip netns exec', 'ip netns exec other sh', ROLES],
    ['runs ip in another namespace with -n', 'ip -n other link show', ROLES],
    ['floods with ping -f', 'ping -c 1 -W 1 -f 127.0.0.1', ROLES],
    ['floods with ping -i 0', 'ping -c 1 -W 1 -i 0 127.0.0.1', ROLES],
    ['preloads with ping -l', 'ping -c 1 -W 1 -l 65536 127.0.0.1', ROLES],
    ['pings broadcast with ping -b', 'ping -c 1 -W 1 -b 127.255.255.255', ROLES],
    // The same flood without -b: every node of the link answers (kept on lo here).
    ['pings every node of a link (IPv6 multicast ff02::1)', 'ping -c 1 -W 1 -I lo ff02::1', ROLES],
    ['pings an IPv4 multicast group', 'ping -c 1 -W 1 -I lo 224.0.0.1', ROLES],
    ['reads the running configuration without mcp:config:read', 'show running-config', BELOW_ADMIN],
  ];
}

describe('issue 12 findings through sshd', () => {
  it('were let through by the design rules (the old default): the validator permitted them', async () => {
    designConfig();
    for (const [finding, command, roles] of findings()) {
      const [cmd, ...args] = command.split(' ');
      const permitting = roles.filter(
        (r) => decide(DESIGN, r, commandString(cmd as string, args)).decision === 'permit',
      );
      expect(
        permitting.length,
        `${finding}: no role was permitted it under the design rules`,
      ).toBeGreaterThan(0);
      for (const role of permitting) {
        const since = h.auditRecords().length;
        const r = await h.ssh(role, command);
        const decision = records(since).find((x) => x['event'] === 'decision');
        expect(decision?.['decision'], `${role}: ${command}`).toBe('permit');
        expect(r.code).not.toBe(FC_ERRORS.ERR_FC_NOT_AUTHORIZED.exit);
      }
    }
  }, 120_000);

  it.each(ROLES)(
    'are refused to %s by the default grammar, before the rules, and nothing runs',
    async (role) => {
      defaultConfig();
      for (const [finding, command, roles] of findings()) {
        if (!roles.includes(role)) continue;
        const since = h.auditRecords().length;
        const r = await h.ssh(role, command);
        expect(r.code, `${role} ${finding}: ${r.stderr}`).toBe(FC_ERRORS.ERR_FC_GRAMMAR.exit);
        expect(r.code).toBe(115);
        expect(r.stderr).toBe(clientMessage('ERR_FC_GRAMMAR'));
        expect(r.stdout).toBe('');
        expect(r.stderr).not.toContain('lab-shared-secret');
        const recs = records(since);
        expect(recs.map((x) => x['event'])).toEqual(['decision']);
        expect(recs[0]).toMatchObject({
          decision: 'deny',
          stage: 'grammar',
          code: 'ERR_FC_GRAMMAR',
          role,
          user: 'erin',
          cert_serial: '4242',
        });
        // the operator learns why; no rules were asked
        expect(typeof (recs[0]?.['detail'] as { reason?: unknown })?.reason).toBe('string');
        expect(recs[0]?.['authz']).toBeUndefined();
      }
    },
    120_000,
  );
});

describe('what each role may still do through sshd', () => {
  it('runs the commands of its MCP tools and records the grammar entry that admitted them', async () => {
    defaultConfig();
    for (const [role, command] of [
      ['net-viewer', 'ip addr show lo'],
      ['net-operator', 'ping -c 1 -W 1 127.0.0.1'],
      ['net-operator', 'ping -c 1 -I lo 127.0.0.1'],
      ['net-admin', 'ip -4 route show'],
    ] as const) {
      const since = h.auditRecords().length;
      const r = await h.ssh(role, command);
      expect(r.code, `${role}: ${command}: ${r.stderr}`).toBe(0);
      const [decision, completed] = records(since);
      expect(decision).toMatchObject({ decision: 'permit', stage: 'authorize', role });
      const admitted = decision?.['grammar'] as { command: string }[] | undefined;
      expect(admitted?.[0]?.command).toBe(command);
      expect(completed).toMatchObject({ event: 'completed', exit_status: 0 });
    }
  }, 60_000);

  it('refuses an interface that is not on the device', async () => {
    defaultConfig();
    const since = h.auditRecords().length;
    const r = await h.ssh('net-operator', 'ping -c 1 -I wg9 127.0.0.1');
    expect(r.code).toBe(115);
    expect(records(since)[0]?.['detail']).toMatchObject({ reason: 'interface "wg9" is not on this device' });
  });

  it('denies with ERR_FC_CONFIG when the grammar file is missing (fail closed)', async () => {
    h.writeConfig({
      executables,
      cli,
      authorization: { mode: 'local', rulesFile: h.defaultRulesFile },
      grammarFile: join(h.dir, 'no-such-grammar.json'),
    });
    const r = await h.ssh('net-viewer', 'ip addr show lo');
    expect(r.code).toBe(FC_ERRORS.ERR_FC_CONFIG.exit);
    expect(r.stdout).toBe('');
  });
});

describe('TACACS+ and local rules decide alike behind the grammar', () => {
  it('gives the same answer to each role for admitted, refused and look-alike commands', async () => {
    // Our RFC 8907 server answering from the default policy's rendered rules, as the lab's does.
    const policy = defaultPolicy();
    const asked: string[] = [];
    const server = createTacacsServer({
      key: 'lab-shared-secret',
      logger: createLogger({ component: 'tacacs-server', destination: { write() {} } }),
      handlers: {
        authorize(req) {
          const command = commandString(req.cmd ?? '', req.args);
          asked.push(command);
          return decide(policy, req.user, command).decision === 'permit'
            ? { status: 'PASS_ADD' }
            : { status: 'FAIL', serverMsg: 'denied' };
        },
      },
    });
    const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
    try {
      const cases: [Role, string][] = [
        ['net-viewer', 'ip addr show lo'],
        ['net-viewer', 'ip -6 route'],
        ['net-viewer', 'ping -c 1 127.0.0.1'],
        ['net-viewer', 'ip link set dev lo down /show'],
        ['net-operator', 'ping -c 1 -W 1 127.0.0.1'],
        ['net-operator', 'ping -c 9 127.0.0.1'],
        ['net-operator', 'ip -b /etc/hostname'],
        ['net-admin', 'ip link show dev lo'],
        ['net-admin', 'ip route save'],
      ];
      const codes = async (config: () => void) => {
        config();
        const out: number[] = [];
        for (const [role, command] of cases) out.push((await h.ssh(role, command)).code);
        return out;
      };
      const local = await codes(defaultConfig);
      asked.length = 0;
      const tacacs = await codes(() =>
        h.writeConfig({
          executables,
          cli,
          grammarFile: h.grammarFile,
          authorization: {
            mode: 'tacacs',
            servers: [{ host: '127.0.0.1', port }],
            keyFile: h.keyFile,
            timeoutMs: 1000,
            deadlineMs: 2000,
          },
        }),
      );
      expect(tacacs).toEqual(local);
      // refused ones never reached TACACS+; admitted ones were asked and permitted
      expect(local.filter((c) => c === 115)).toHaveLength(5);
      expect(asked).toEqual([
        'ip addr show lo',
        'ip -6 route',
        'ping -c 1 -W 1 127.0.0.1',
        'ip link show dev lo',
      ]);
    } finally {
      await server.close();
    }
  }, 60_000);
});
