#!/usr/bin/env bash
# Installs what netward needs on a fresh Debian 12 machine (as root, or with sudo): the Debian packages
# of the native lab and its tests, pnpm, and the workspace's dependencies. Safe to run again.
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
