#!/bin/bash
# Healthy = sshd accepts connections and BGP has installed at least one route learned from a peer
# (docs/frr.md: wait for routes, not only for Established sessions).
set -euo pipefail
exec 3<>/dev/tcp/127.0.0.1/22
head -c 4 <&3 | grep -q '^SSH-'
vtysh -c 'show ip route bgp' | grep -q '^B>\*'
