#!/usr/bin/env bash
# The compose lab's demo, from the operator's machine, through a real MCP client (the MCP Inspector's
# CLI). Run after `docker compose up -d --build` reports every service healthy:
#
#   bash docker/demo.sh
#
# Needs: docker compose, curl, Node.js 22.19+ or 24 (npx fetches @modelcontextprotocol/inspector).
# Tokens come from Keycloak's token endpoint with the lab's direct grant (netward-agent client); a real
# agent uses the authorization code flow with PKCE on the same client.
set -euo pipefail
cd "$(dirname "$0")/.."

KEYCLOAK=${KEYCLOAK:-http://localhost:8080}
MCP=${MCP:-http://localhost:8000/mcp}
PASSWORD=${NETWARD_DEMO_PASSWORD:-netward-lab}
INSPECTOR=(npx -y @modelcontextprotocol/inspector@2.12.0 --cli "$MCP" --transport http)

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

token() {
  curl -fsS "$KEYCLOAK/realms/netward/protocol/openid-connect/token" \
    -d grant_type=password -d client_id=netward-agent -d scope=openid \
    --data-urlencode "username=$1" --data-urlencode "password=$PASSWORD" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).access_token))'
}

# claims TOKEN: the access token's payload, for the reader (the signature is the servers' business).
claims() {
  node -e 'const p=JSON.parse(Buffer.from(process.argv[1].split(".")[1],"base64url"));
    console.log(JSON.stringify({sub:p.sub,preferred_username:p.preferred_username,sid:p.sid,net_role:p.net_role,aud:p.aud,scope:p.scope}))' "$1"
}

# call USER_TOKEN TOOL [ARG=VALUE...]: one tools/call; prints the result, never fails the script.
call() {
  local t=$1 tool=$2; shift 2
  local args=()
  for a in "$@"; do args+=(--tool-arg "$a"); done
  "${INSPECTOR[@]}" --header "Authorization: Bearer $t" --method tools/call --tool-name "$tool" "${args[@]}" || true
}

list() {
  "${INSPECTOR[@]}" --header "Authorization: Bearer $1" --method tools/list |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).tools.map(t=>t.name).join(" ")))' || true
}

step "tokens from Keycloak (realm netward)"
ALICE=$(token alice); BOB=$(token bob); CAROL=$(token carol)
claims "$ALICE"; claims "$BOB"; claims "$CAROL"

step "1. alice (net-viewer) lists her tools and reads BGP on spine-a"
list "$ALICE"
call "$ALICE" show_bgp_summary device=spine-a

step "2. bob (net-operator) pings leaf-1's loopback from spine-a; show_running_config is not his"
call "$BOB" ping device=spine-a destination=10.255.0.11
list "$BOB"
call "$BOB" show_running_config device=spine-a

step "3. the seed's scenario: the mis-scoped raw-command tool switched on, bob tries to configure"
NETWARD_MCP_PROFILE=mcp-server-unsafe docker compose up -d --wait mcp-server
BOB=$(token bob)
call "$BOB" run_raw_command_on_device device=spine-a "command=vtysh -c 'configure terminal'"
docker compose up -d --wait mcp-server

step "4. TACACS+ stopped: bob's next call is denied (fail-closed); restarted: it works again"
docker compose stop tac_plus-ng
BOB=$(token bob)
call "$BOB" show_bgp_summary device=spine-a
docker compose start tac_plus-ng
sleep 2
call "$BOB" show_bgp_summary device=spine-a

step "5. carol (net-admin) reads the running configuration"
call "$CAROL" show_running_config device=spine-a

step "audit trail"
echo "Grafana: http://localhost:3000/d/netward-audit (admin / \${NETWARD_GRAFANA_ADMIN_PASSWORD:-netward-lab-admin})"
echo "Paste a request_id, cert_serial, sid or user from the lines above or from:"
echo "  docker compose logs mcp-server | grep request_id | tail -1"
