#!/usr/bin/env bash
# Puts every program a package declares in its package.json "bin" on PATH: one small wrapper per
# program in $NETWARD_BIN_DIR (default /usr/local/bin) that runs this checkout's built file with node.
# Wrappers rather than symlinks: the bundles carry no shebang or execute bit, and a wrapper names the
# checkout it belongs to. Safe to run again; the last checkout set up wins.
set -euo pipefail
cd "$(dirname "$0")/.."
bin_dir=${NETWARD_BIN_DIR:-/usr/local/bin}
root=$(pwd -P)
mkdir -p "$bin_dir"
node -e '
  const fs = require("fs");
  for (const pkg of fs.readdirSync("packages")) {
    let bin;
    try { bin = JSON.parse(fs.readFileSync(`packages/${pkg}/package.json`, "utf8")).bin; } catch { continue; }
    for (const [name, file] of Object.entries(bin ?? {})) console.log(`${name} packages/${pkg}/${file}`);
  }
' | while read -r name file; do
  tmp=$(mktemp "$bin_dir/.$name.XXXXXX")
  printf '#!/bin/sh\n# netward: %s of the checkout %s (scripts/link-bins.sh)\nexec node %q "$@"\n' \
    "$name" "$root" "$root/$file" >"$tmp"
  chmod 0755 "$tmp"
  mv -f "$tmp" "$bin_dir/$name"
done
