#!/usr/bin/env bash
# Every package's benchmark (`pnpm bench`) on the same Node.js as the tests and the lab.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. scripts/node-env.sh
exec pnpm -s bench "$@"
