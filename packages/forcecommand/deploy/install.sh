#!/bin/sh
# Sets up a Debian device for netward (run as root). Copies the built validator to
# /usr/local/lib/netward and runs its `install` command with the arguments given, e.g.
#
#   ./install.sh --device spine-a --ca-pub user_ca.pub --frr --frr-pathspace spine-a \
#       --tacacs 10.0.0.5 --tacacs-key-file ./tacacs.key --syslog 10.0.0.9 [--snapshot]
#
# then: sshd -t && systemctl reload ssh
set -eu
here=$(dirname "$0")
lib=/usr/local/lib/netward
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root" >&2; exit 1; }
command -v node >/dev/null || { echo "install.sh: node (>= 20) is required" >&2; exit 1; }
install -d -o root -g root -m 0755 "$lib"
install -o root -g root -m 0644 "$here/../dist/netward-forcecommand.js" "$lib/netward-forcecommand.js"
install -o root -g root -m 0644 "$here/../dist/netward-forcecommand-snapshot.cjs" "$lib/netward-forcecommand-snapshot.cjs"
exec node "$lib/netward-forcecommand.js" install --script "$lib/netward-forcecommand.js" "$@"
