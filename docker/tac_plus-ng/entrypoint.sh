#!/bin/bash
# Starts tac_plus-ng with the configuration rendered from the policy. The file holds no key: its device
# block says key = "${NETWARD_TACACS_KEY}", which tac_plus-ng substitutes from the environment.
set -euo pipefail

cfg=/etc/tac_plus-ng/tac_plus-ng.cfg
key=${NETWARD_TACACS_KEY:?NETWARD_TACACS_KEY must be set}
# The same rule as the devices apply to the key file they are given (docker/device-frr/device-lib.sh).
if [[ ! $key =~ ^[A-Za-z0-9._+-]{8,64}$ ]]; then
  echo "netward-tac_plus-ng: NETWARD_TACACS_KEY must be 8-64 characters of [A-Za-z0-9._+-]" >&2
  exit 64
fi

install -d -m 0700 /run/tac_plus-ng
# Parse only (-P) first, so a bad configuration fails here with tac_plus-ng's own message.
/usr/local/sbin/tac_plus-ng -P "$cfg"
echo "netward-tac_plus-ng: tac_plus-ng $(cat /usr/local/share/tac_plus-ng.revision) starting" >&2
exec /usr/local/sbin/tac_plus-ng "$cfg"
