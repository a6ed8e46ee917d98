#!/usr/bin/env bash
# The one command that runs every check: setup, typecheck, lint, build, then every test (unit, real
# peers, and the end-to-end lab suite). Prints a closing "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
# docker-compose (v1, client only) validates compose.yaml without an engine: only the tests need it.
NETWARD_EXTRA_DEBS=docker-compose bash scripts/setup.sh

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
say "typecheck"; pnpm -s typecheck
say "lint";      pnpm -s lint
say "build";     pnpm -s build

say "tests"
report=$(mktemp -d)/vitest.json
status=0
pnpm -s exec vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
node scripts/summary.mjs "$report" || status=1
exit "$status"
