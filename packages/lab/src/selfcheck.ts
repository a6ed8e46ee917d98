import { readLabEvents } from './audit/sources.ts';
import { isComplete, traceRequest } from './audit/trace.ts';
import { agentFor, requestIdOf, toolError } from './demo/steps.ts';
import { LabError } from './errors.ts';
import type { LabLayout } from './layout.ts';

/**
 * The last step of `up`: one real tool call through the whole chain, on every device: alice logs in
 * through the IdP (PKCE), calls show_bgp_summary through the MCP server (token exchange, broker
 * certificate, device sshd, validator, TACACS+), and each call's audit trail must be complete.
 * A lab whose processes all answer can still refuse every certificate (a lab directory sshd's
 * StrictModes rejects, a validator the accounts cannot read): only a call shows that.
 */
export async function selfCheck(
  layout: LabLayout,
): Promise<{ device: string; requestId: string; ms: number }[]> {
  const alice = await agentFor(layout, 'alice');
  const out: { device: string; requestId: string; ms: number }[] = [];
  try {
    for (const d of layout.devices) {
      const r = await alice.call('show_bgp_summary', { device: d.name });
      const requestId = await requestIdOf(layout, r, {
        user: 'alice',
        tool: 'show_bgp_summary',
        device: d.name,
      });
      if (!r.ok || requestId === undefined) {
        throw new LabError(
          'ERR_LAB_SELF_CHECK',
          `show_bgp_summary on ${d.name} as alice failed (${toolError(r).code ?? r.text.slice(0, 120)}); see logs/mcp-server.log and logs/sshd-${d.name}.log`,
        );
      }
      out.push({ device: d.name, requestId, ms: Math.round(r.ms) });
    }
  } finally {
    await alice.close();
  }
  // Records reach the logs asynchronously (the syslog copy over UDP, buffered writers): up to 5 s.
  for (const { device, requestId } of out) {
    let chain = traceRequest(readLabEvents(layout.paths.logs), requestId);
    for (let i = 0; i < 50 && !isComplete(chain); i++) {
      await new Promise((r) => setTimeout(r, 100));
      chain = traceRequest(readLabEvents(layout.paths.logs), requestId);
    }
    if (!isComplete(chain)) {
      const what = [...chain.missing.map((m) => `missing ${m.label}`), ...(chain.inconsistent ?? [])];
      throw new LabError(
        'ERR_LAB_SELF_CHECK',
        `the audit trail of the self-check call on ${device} (${requestId}) is not complete: ${what.join('; ')}`,
      );
    }
  }
  return out;
}
