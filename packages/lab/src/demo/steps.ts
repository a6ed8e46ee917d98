import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { readJsonLog } from '../audit/sources.ts';
import { restartService, startLabService, stopLabService } from '../lab.ts';
import type { LabLayout } from '../layout.ts';
import { writeMcpConfig } from '../services/configs.ts';
import { replicaNames } from '../topology/replicas.ts';
import { type AgentSession, connectAgent, loginAs, type ToolOutcome } from './client.ts';

/** One row of the demo's table. */
export interface StepResult {
  readonly step: string;
  readonly who: string;
  readonly action: string;
  readonly expected: string;
  readonly got: string;
  readonly pass: boolean;
  /** The request id of the call shown in this row, when one reached the MCP server. */
  readonly requestId?: string;
  readonly output?: string;
}

export interface Agent extends AgentSession {
  readonly user: string;
  readonly sid: string;
}

export async function agentFor(layout: LabLayout, user: string): Promise<Agent> {
  const login = await loginAs(layout, user);
  const sid = String(decodeJwt(login.accessToken)['sid'] ?? '');
  const session = await connectAgent(layout, login.accessToken, `netward-lab-agent-${user}`);
  return Object.assign(session, { user, sid });
}

/** The read-only tools of the policy's viewer scope (the unsafe tool is off by default). */
export const READ_TOOLS = ['list_devices', 'show_bgp_summary', 'show_interfaces', 'show_ip_route'];

/** The error object the MCP server puts in a tool error's text: { error: { code, request_id, ... } }. */
export function toolError(o: ToolOutcome): { code?: string; request_id?: string; device_message?: string } {
  try {
    const parsed = JSON.parse(o.text) as { error?: Record<string, string> };
    return parsed.error ?? {};
  } catch {
    return o.code !== undefined ? { code: o.code } : {};
  }
}

/**
 * The request id the MCP server gave a call: from a tool error directly, otherwise from the server's
 * `tool_call_end` record for that user, tool and device since the call was sent (successful results
 * carry only output). The record may reach the log a moment after the result: polled for 3 s.
 */
export async function requestIdOf(
  layout: LabLayout,
  o: ToolOutcome,
  match: { user: string; tool: string; device?: string },
): Promise<string | undefined> {
  const fromError = toolError(o).request_id;
  if (fromError) return fromError;
  for (let i = 0; i < 30; i++) {
    const found = replicaNames(layout, 'mcp-server')
      .flatMap((name) => readJsonLog(join(layout.paths.logs, `${name}.log`)))
      .filter(
        (e) =>
          e.event === 'tool_call_end' &&
          e.time >= o.startedAt &&
          e.user === match.user &&
          e.tool === match.tool &&
          (match.device === undefined || e.device === match.device),
      )
      .sort((a, b) => a.time.localeCompare(b.time));
    if (found.length > 0) return found.at(-1)?.requestId;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

/** FRR's summary lists a neighbor's prefix count in State/PfxRcd once it is Established. */
export function establishedNeighbors(summary: string): string[] {
  const out: string[] = [];
  for (const line of summary.split('\n')) {
    const m = /^(\S*?\(?(\d+\.\d+\.\d+\.\d+)\)?)\s+4\s+(\d+)\s+.*\s(\d+)\s+(\d+)\s+(\S+)\s*$/.exec(
      line.trim(),
    );
    if (m) out.push(m[2] as string);
  }
  return out;
}

const row = (r: Omit<StepResult, 'requestId'> & { requestId?: string | undefined }): StepResult => {
  const { requestId, ...rest } = r;
  return requestId === undefined ? rest : { ...rest, requestId };
};

/** 1. alice (viewer) sees only read tools and reads spine-a's BGP summary: both leaves Established. */
export async function stepViewer(layout: LabLayout): Promise<StepResult[]> {
  const alice = await agentFor(layout, 'alice');
  try {
    const tools = await alice.listTools();
    const onlyRead = tools.every((t) => READ_TOOLS.includes(t)) && tools.includes('show_bgp_summary');
    const r1 = row({
      step: '1',
      who: 'alice (net-viewer)',
      action: 'tools/list',
      expected: 'read tools only',
      got: tools.join(', '),
      pass: onlyRead,
    });
    const out = await alice.call('show_bgp_summary', { device: 'spine-a' });
    const up = establishedNeighbors(out.text);
    const spine = layout.devices.find((d) => d.name === 'spine-a');
    const wanted = (spine?.links ?? []).map((l) => l.peerAddress.split('/')[0] as string);
    const r2 = row({
      step: '1',
      who: 'alice (net-viewer)',
      action: 'show_bgp_summary spine-a',
      expected: 'FRR output, both leaves Established',
      got: out.ok
        ? `ok, Established: ${up.join(', ') || 'none'}`
        : `error ${toolError(out).code ?? out.text.slice(0, 60)}`,
      pass: out.ok && wanted.every((w) => up.includes(w)),
      requestId: await requestIdOf(layout, out, {
        user: 'alice',
        tool: 'show_bgp_summary',
        device: 'spine-a',
      }),
      output: out.text,
    });
    return [r1, r2];
  } finally {
    await alice.close();
  }
}

/** 2. bob (operator) pings leaf-1's loopback from spine-a; show_running_config is hidden and refused. */
export async function stepOperator(layout: LabLayout): Promise<StepResult[]> {
  const bob = await agentFor(layout, 'bob');
  const leaf1 = layout.devices.find((d) => d.name === 'leaf-1');
  try {
    const ping = await bob.call('ping', {
      device: 'spine-a',
      destination: leaf1?.loopback ?? '10.1.0.11',
      count: 3,
    });
    const r1 = row({
      step: '2',
      who: 'bob (net-operator)',
      action: `ping ${leaf1?.loopback} from spine-a`,
      expected: '3 echo replies',
      got: ping.ok ? (/(\d+) received/.exec(ping.text)?.[0] ?? 'ok') : `error ${toolError(ping).code}`,
      pass: ping.ok && /\b3 received\b/.test(ping.text),
      requestId: await requestIdOf(layout, ping, { user: 'bob', tool: 'ping', device: 'spine-a' }),
      output: ping.text,
    });
    const tools = await bob.listTools();
    const refused = await bob.call('show_running_config', { device: 'spine-a' });
    const r2 = row({
      step: '2',
      who: 'bob (net-operator)',
      action: 'show_running_config spine-a',
      expected: 'not listed, refused',
      got: `${tools.includes('show_running_config') ? 'LISTED' : 'not listed'}, ${
        refused.ok ? 'ANSWERED' : `refused (${refused.httpStatus ?? toolError(refused).code ?? 'error'})`
      }`,
      pass: !tools.includes('show_running_config') && !refused.ok,
    });
    return [r1, r2];
  } finally {
    await bob.close();
  }
}

async function withMcpUnsafe<T>(layout: LabLayout, fn: () => Promise<T>): Promise<T> {
  writeMcpConfig(layout, { unsafeRawCommandTool: true });
  await restartService(layout, 'mcp-server');
  try {
    return await fn();
  } finally {
    writeMcpConfig(layout, { unsafeRawCommandTool: false });
    await restartService(layout, 'mcp-server');
  }
}

/**
 * 3. The seed's scenario: the mis-scoped raw command tool is switched on, bob (operator) may call it
 * (the MCP layer lets the call through: its scope is wrong), sends `configure terminal` to spine-a, and
 * the device denies it: with the default policy the validator's grammar refuses it before TACACS+ is
 * asked (ERR_FC_GRAMMAR); with `--policy design` TACACS+ answers FAIL.
 */
export async function stepRawCommand(layout: LabLayout): Promise<StepResult[]> {
  return withMcpUnsafe(layout, async () => {
    const bob = await agentFor(layout, 'bob');
    try {
      const tools = await bob.listTools();
      const out = await bob.call('run_raw_command_on_device', {
        device: 'spine-a',
        command: 'configure terminal',
      });
      const err = toolError(out);
      const requestId = err.request_id;
      const denial = requestId ? findDenial(layout, requestId) : undefined;
      return [
        row({
          step: '3',
          who: 'bob (net-operator)',
          action: "raw tool: 'configure terminal' on spine-a",
          expected: 'tool listed (bad scope), device denies (grammar or TACACS+), logged',
          got: `${tools.includes('run_raw_command_on_device') ? 'listed' : 'NOT LISTED'}, ${
            out.ok ? 'EXECUTED' : `denied (${err.code ?? '?'})`
          }${denial ? `, logged: ${denial}` : ', NO DENY RECORD'}`,
          pass: tools.includes('run_raw_command_on_device') && !out.ok && denial !== undefined,
          requestId,
          output: err.device_message ?? out.text,
        }),
      ];
    } finally {
      await bob.close();
    }
  });
}

/** The validator's and TACACS+ server's deny records of one request, summarised. */
export function findDenial(layout: LabLayout, requestId: string): string | undefined {
  const found: string[] = [];
  const tacacs = readJsonLog(join(layout.paths.logs, 'tacacs.log')).find(
    (e) => e.requestId === requestId && /deny|fail/i.test(`${e.decision} ${e.summary}`),
  );
  if (tacacs) found.push('TACACS+ FAIL');
  for (const d of layout.devices) {
    const v = readJsonLog(join(layout.paths.logs, `forcecommand-${d.name}.jsonl`), d.name).find(
      (e) => e.requestId === requestId && e.decision === 'deny',
    );
    const code = v === undefined ? undefined : /ERR_FC_[A-Z_]+/.exec(v.summary)?.[0];
    if (v) found.push(`validator deny${code === undefined ? '' : ` (${code})`} on ${d.name}`);
  }
  return found.length > 0 ? found.join(' + ') : undefined;
}

/** 4. TACACS+ stopped: bob's next call is denied (fail-closed); restarted: it works again. */
export async function stepFailClosed(layout: LabLayout): Promise<StepResult[]> {
  const bob = await agentFor(layout, 'bob');
  const args = { device: 'leaf-1' };
  try {
    await stopLabService(layout, 'tacacs');
    let down: ToolOutcome;
    try {
      down = await bob.call('show_bgp_summary', args);
    } finally {
      await startLabService(layout, 'tacacs');
    }
    const up = await bob.call('show_bgp_summary', args);
    return [
      row({
        step: '4',
        who: 'bob (net-operator)',
        action: 'show_bgp_summary leaf-1, TACACS+ stopped',
        expected: 'denied (fail-closed)',
        got: down.ok ? 'ANSWERED' : `denied (${toolError(down).code ?? '?'})`,
        pass: !down.ok && toolError(down).code === 'ERR_MCP_DEVICE_DENIED',
        requestId: await requestIdOf(layout, down, {
          user: 'bob',
          tool: 'show_bgp_summary',
          device: 'leaf-1',
        }),
        output: toolError(down).device_message ?? down.text,
      }),
      row({
        step: '4',
        who: 'bob (net-operator)',
        action: 'show_bgp_summary leaf-1, TACACS+ restarted',
        expected: 'works again',
        got: up.ok ? 'ok' : `error ${toolError(up).code}`,
        pass: up.ok,
        requestId: await requestIdOf(layout, up, { user: 'bob', tool: 'show_bgp_summary', device: 'leaf-1' }),
      }),
    ];
  } finally {
    await bob.close();
  }
}

/** 5. carol (admin) reads spine-a's running configuration. */
export async function stepAdmin(layout: LabLayout): Promise<StepResult[]> {
  const carol = await agentFor(layout, 'carol');
  try {
    const out = await carol.call('show_running_config', { device: 'spine-a' });
    const spine = layout.devices.find((d) => d.name === 'spine-a');
    return [
      row({
        step: '5',
        who: 'carol (net-admin)',
        action: 'show_running_config spine-a',
        expected: 'the running configuration',
        got: out.ok
          ? (/router bgp \d+/.exec(out.text)?.[0] ?? 'ok, no router bgp')
          : `error ${toolError(out).code}`,
        pass: out.ok && out.text.includes(`router bgp ${spine?.asn}`),
        requestId: await requestIdOf(layout, out, {
          user: 'carol',
          tool: 'show_running_config',
          device: 'spine-a',
        }),
        output: out.text,
      }),
    ];
  } finally {
    await carol.close();
  }
}
