#!/bin/sh
# The image contrib/container/Containerfile describes, built without a container engine's
# build step or a registry: mmdebstrap makes the same Debian 12 root file system from Debian
# packages (the same packages, the same postgres user and uid, no main cluster), and
# `podman import` turns it into an image with the same user, working directory, entrypoint and
# command. CI uses it (tests/container.rs) because no engine can build there and no registry
# is reachable; keep the two recipes equivalent (tests/container.rs checks that they name the
# same packages, user, uid, entrypoint and command).
#
#   contrib/container/rootfs.sh build BRIDGEREST_DEB ROOTFS_TAR
#   contrib/container/rootfs.sh import ROOTFS_TAR IMAGE
#
# As root (mmdebstrap's root mode). Packages come from deb.debian.org's bookworm,
# bookworm-updates and bookworm-security (mmdebstrap's default for a stable suite, and what
# debian:bookworm-slim's sources list).
set -eu
usage() { echo "usage: $0 build BRIDGEREST_DEB ROOTFS_TAR | import ROOTFS_TAR IMAGE" >&2; exit 2; }
[ $# -eq 3 ] || usage

# The packages the image holds besides bridgerest's own (and what they depend on).
packages="postgresql-15 pgbackrest ca-certificates"

case "$1" in
build)
  deb=$(realpath "$2")
  [ -f "$deb" ] || { echo "$2: no such file" >&2; exit 2; }
  # postgres gets a fixed uid and gid (999, as contrib/kubernetes/ runs it) before
  # postgresql-common would make one; no main cluster is created (a drill makes its own
  # copy). The essential hook runs before passwd is in the chroot: the host's groupadd and
  # useradd write the chroot's files (--root). The file-mirror-automount hook shows the local
  # .deb to dpkg inside the chroot at the same path.
  mmdebstrap --variant=minbase --mode=root --format=tar \
    --aptopt='APT::Install-Recommends "false"' \
    --include="$(echo "$packages" | tr ' ' ',')" \
    --include="$deb" \
    --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
    --essential-hook='groupadd --root "$1" --system --gid 999 postgres' \
    --essential-hook='useradd --root "$1" --system --uid 999 --gid postgres --home-dir /var/lib/postgresql --shell /bin/bash postgres' \
    --essential-hook='mkdir -p "$1/etc/postgresql-common/createcluster.d" && echo "create_main_cluster = false" >"$1/etc/postgresql-common/createcluster.d/no-main-cluster.conf"' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    bookworm "$3"
  ;;
import)
  podman import \
    --change 'USER=postgres' \
    --change 'WORKDIR=/var/lib/postgresql' \
    --change 'ENTRYPOINT=["/usr/bin/bridgerest"]' \
    --change 'CMD=["drill","--all"]' \
    "$2" "$3"
  ;;
*) usage ;;
esac
