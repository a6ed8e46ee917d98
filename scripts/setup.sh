#!/usr/bin/env bash
# Installs what netward needs on a fresh Debian 12 machine (as root, or with sudo): the Debian packages
# of the native lab and its tests, pnpm, and the workspace's dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: real sshd, FRR, namespaces, the tools the validator may run, openssl for test
# certificates. Extra packages only the tests need are named by the caller (scripts/test.sh adds
# docker-compose, whose Python dependencies the lab itself does not need).
DEBS=(openssh-server openssh-client frr iproute2 iputils-ping traceroute procps psmisc ca-certificates openssl)
DEBS+=(${NETWARD_EXTRA_DEBS:-})
missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  # FRR's and sshd's maintainer scripts try to start services; there is no init system to start them in.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "netward needs Node.js 20.19 or newer (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

want_pnpm=$(node -p 'require("./package.json").packageManager.split("@")[1]')
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "$want_pnpm" ]; then
  say "installing pnpm $want_pnpm"
  as_root npm install -g --silent "pnpm@$want_pnpm"
fi

say "installing workspace dependencies"
pnpm install --frozen-lockfile --reporter=silent

# netward-lab, netward-audit, netward-policy, ... on PATH (wrappers in /usr/local/bin; built by `pnpm build`).
say "putting the programs on PATH (${NETWARD_BIN_DIR:-/usr/local/bin})"
as_root env NETWARD_BIN_DIR="${NETWARD_BIN_DIR:-/usr/local/bin}" bash scripts/link-bins.sh
