#!/bin/bash
# Imports a VyOS ISO's root filesystem as the local image the vyos-1 service builds on:
#
#   bash docker/device-vyos/import-image.sh vyos-1.5-rolling-generic-amd64.iso [netward/vyos-base:local]
#
# VyOS publishes ISO images, not container images; their documentation runs VyOS in Docker this way.
# Needs: docker, bsdtar (libarchive-tools) and unsquashfs (squashfs-tools).
set -euo pipefail
iso=${1:?usage: import-image.sh VYOS.iso [TAG]}
tag=${2:-netward/vyos-base:local}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bsdtar -xf "$iso" -C "$work" live/filesystem.squashfs
unsquashfs -q -d "$work/rootfs" "$work/live/filesystem.squashfs"
tar -C "$work/rootfs" -c . | docker import - "$tag"
echo "imported $iso as $tag"
