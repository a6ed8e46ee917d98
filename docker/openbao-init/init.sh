#!/bin/sh
# One-shot configuration of OpenBao for the compose lab, from the files rendered next to this script
# (packages/lab/src/compose/openbao.ts): JWT auth against Keycloak, the user and host SSH CAs, one signing role
# and one policy per net role, and a token that lets devices sign their own host key.
# Safe to run again against the same server: existing mounts and CA keys are kept.
set -eu

dir=$(dirname "$0")
bootstrap=${NETWARD_BOOTSTRAP_DIR:-/bootstrap}
say() { echo "openbao-init: $*" >&2; }

# mounted PATH TYPE: true when a secrets engine (or, with "auth", an auth method) is mounted at PATH.
mounted() {
  if [ "$2" = auth ]; then bao auth list -format=json | grep -q "\"$1/\""
  else bao secrets list -format=json | grep -q "\"$1/\""; fi
}

say "waiting for OpenBao at ${BAO_ADDR}"
i=0
until bao status >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -lt 60 ] || { say "OpenBao not ready"; exit 1; }
  sleep 1
done

# ---- SSH CAs: users (one role per net role) and device hosts ----
for mount in ssh ssh-host; do
  if ! mounted "$mount" secrets; then
    bao secrets enable -path="$mount" ssh >/dev/null
    say "enabled the SSH engine at $mount/"
  fi
  if ! bao read -field=public_key "$mount/config/ca" >/dev/null 2>&1; then
    bao write "$mount/config/ca" generate_signing_key=true key_type=ed25519 >/dev/null
    say "generated the $mount CA key (Ed25519)"
  fi
done

for f in "$dir"/ssh-roles/*.json; do
  role=$(basename "$f" .json)
  bao write "ssh/roles/$role" @"$f" >/dev/null
  say "signing role ssh/roles/$role"
done
bao write ssh-host/roles/device-host @"$dir/ssh-host-role.json" >/dev/null

# ---- policies ----
for f in "$dir"/policies/*.hcl; do
  bao policy write "$(basename "$f" .hcl)" "$f" >/dev/null
  say "policy $(basename "$f" .hcl)"
done

# ---- JWT auth: the exchanged token the CA broker holds logs in to the role named by its net_role ----
mounted jwt auth || bao auth enable jwt >/dev/null
bao write auth/jwt/config @"$dir/jwt-config.json" >/dev/null
for f in "$dir"/jwt-roles/*.json; do
  role=$(basename "$f" .json)
  bao write "auth/jwt/role/$role" @"$f" >/dev/null
  say "JWT login role auth/jwt/role/$role"
done

# ---- audit: declared in the server's configuration (docker/openbao/audit.hcl), since OpenBao 2.x
# refuses to enable audit devices over the API; checked here so a missing one is said, not silent ----
bao audit list 2>/dev/null | grep -q '^stdout/' || { say "no stdout/ audit device: docker/openbao/audit.hcl not loaded"; exit 1; }

# ---- the devices' host-signing token (periodic, orphan, one policy) ----
umask 077
bao token create -orphan -period=24h -policy=device-host-signer -display-name=device-host-signer \
  -field=token > "$bootstrap/device-host-signer.token.tmp"
mv "$bootstrap/device-host-signer.token.tmp" "$bootstrap/device-host-signer.token"
say "device host-signing token written"

say "user CA: $(bao read -field=public_key ssh/config/ca)"
say "host CA: $(bao read -field=public_key ssh-host/config/ca)"
say "done"
