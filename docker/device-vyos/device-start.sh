#!/bin/bash
# Started by systemd inside the VyOS container (netward-device.service).
set -euo pipefail
: "${NETWARD_DEVICE:?NETWARD_DEVICE must be set}"
# shellcheck source=../device-frr/device-lib.sh
. /usr/local/lib/netward/device-lib.sh

fetch_user_ca
write_principals
sign_host_key
write_validator_config
start_authorization_agent
exec_sshd -f /etc/netward/sshd_config
