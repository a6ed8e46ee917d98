#!/usr/bin/env bash
# The main job: set up this machine, bring the native lab up and run its demo (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The Node.js setup.sh chose (project-local Node 24 when the machine's is older).
. scripts/node-env.sh
if [ ! -f packages/lab/src/cli.ts ]; then
  echo "The native lab is not built yet: packages/lab is still a placeholder." >&2
  exit 1
fi
pnpm -s build
node packages/lab/dist/cli.js up
node packages/lab/dist/cli.js demo
