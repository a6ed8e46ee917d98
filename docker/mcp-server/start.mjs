// Starts the MCP server with the compose lab's configuration. Before that, on the tmpfs:
// - the devices' host CA as a known_hosts line: device host keys are verified against it (no trust on
//   first use);
// - the token-exchange client secret, from the environment into the file the configuration names.
import { writeFileSync } from 'node:fs';

const bao = process.env.NETWARD_BAO_ADDR ?? 'http://openbao:8200';
const config = process.env.NETWARD_MCP_CONFIG ?? '/etc/netward/config/mcp-server.json';

async function fetchHostCa() {
  for (let attempt = 1; attempt <= 30; attempt++) {
    try {
      const res = await fetch(`${bao}/v1/ssh-host/public_key`, { signal: AbortSignal.timeout(2000) });
      const text = (await res.text()).trim();
      if (res.ok && text.startsWith('ssh-')) return text;
    } catch {
      // OpenBao not answering yet: retry below.
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  throw new Error(`host CA not available from ${bao}/v1/ssh-host/public_key`);
}

const secret = process.env.NETWARD_MCP_CLIENT_SECRET;
if (secret === undefined || secret === '') throw new Error('NETWARD_MCP_CLIENT_SECRET is not set');
writeFileSync('/run/netward/mcp-client-secret', `${secret}\n`, { mode: 0o600 });
// Out of the environment: nothing the server starts inherits it.
delete process.env.NETWARD_MCP_CLIENT_SECRET;

writeFileSync('/run/netward/known_hosts', `@cert-authority * ${await fetchHostCa()}\n`, { mode: 0o644 });

process.argv = [process.argv[0], '/app/netward-mcp-server.js', 'serve', '--config', config];
await import('/app/netward-mcp-server.js');
