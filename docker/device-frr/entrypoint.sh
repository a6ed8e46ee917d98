#!/bin/bash
# Start of an FRR device container: trust, host certificate, validator config, FRR, then sshd.
set -euo pipefail
: "${NETWARD_DEVICE:?NETWARD_DEVICE must be set}"
# shellcheck source=device-lib.sh
. /usr/local/lib/netward/device-lib.sh

fetch_user_ca
write_principals
sign_host_key
write_validator_config
start_authorization_agent

# FRR: the vtysh sockets must be group frrvty (frrinit creates the directory frr:frr, which locks the
# service accounts out; see docs/frr.md).
install -d -o frr -g frrvty -m 0750 /var/run/frr
install -o frr -g frr -m 0640 /etc/netward/frr.conf /etc/frr/frr.conf
/usr/lib/frr/frrinit.sh start
chgrp frrvty /var/run/frr && chmod 0750 /var/run/frr
say "FRR started"

exec_sshd
