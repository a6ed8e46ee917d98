# Sourced by every script that runs project code (setup.sh, lab.sh, test.sh, bench.sh): puts the
# project-local Node.js that setup.sh installs first on PATH, so `node` and pnpm's scripts run on it.
# Without it (a machine whose own node is 22.19+ or 24), nothing changes.
# shellcheck shell=bash
NETWARD_NODE_VERSION=24.22.3
NETWARD_NODE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.cache/node-v$NETWARD_NODE_VERSION"
if [ -x "$NETWARD_NODE_DIR/bin/node" ]; then
  case ":$PATH:" in
    *":$NETWARD_NODE_DIR/bin:"*) ;;
    *) export PATH="$NETWARD_NODE_DIR/bin:$PATH" ;;
  esac
fi
