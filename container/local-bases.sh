#!/usr/bin/env bash
# Makes, from Debian's own packages, the two base images the Dockerfile names by build
# argument, for machines that reach no container registry (podman import, no daemon):
#
#   localhost/rookery-base/debian:bookworm-slim   debootstrap --variant=minbase bookworm
#   localhost/rookery-base/rust:bookworm          the same + gcc/libc6-dev + this machine's
#                                                 Rust toolchain (Debian's rustc is older
#                                                 than the workspace's rust-version) and
#                                                 this machine's CA bundle
#
# Idempotent: an image that exists is kept (REBUILD=1 makes them again). Needs root,
# debootstrap and podman. Work files go to $WORK (default /var/tmp/rookery-container).
set -euo pipefail
WORK=${WORK:-/var/tmp/rookery-container}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
RUNTIME_BASE=localhost/rookery-base/debian:bookworm-slim
BUILD_BASE=localhost/rookery-base/rust:bookworm
mkdir -p "$WORK"

have() { [ "${REBUILD:-0}" != 1 ] && podman image exists "$1"; }

rootfs() { # rootfs DIR PACKAGES: a minimal bookworm tree (kept between runs)
  local dir=$1 include=$2
  if [ ! -x "$dir/bin/sh" ]; then
    rm -rf "$dir"
    debootstrap --variant=minbase ${include:+--include="$include"} bookworm "$dir" "$MIRROR"
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  fi
}

if ! have "$RUNTIME_BASE"; then
  rootfs "$WORK/rootfs-slim" ""
  tar -C "$WORK/rootfs-slim" -c . | podman import \
    --change 'CMD ["/bin/bash"]' - "$RUNTIME_BASE"
fi

if ! have "$BUILD_BASE"; then
  rootfs "$WORK/rootfs-rust" "ca-certificates,gcc,libc6-dev"
  sysroot=$(rustc --print sysroot)
  rm -rf "$WORK/rootfs-rust/usr/local/rust"
  mkdir -p "$WORK/rootfs-rust/usr/local/rust"
  cp -a "$sysroot/bin" "$sysroot/lib" "$WORK/rootfs-rust/usr/local/rust/"
  # Trust what this machine trusts: where package registries are reached through an
  # intercepting proxy, its CA is only in the host's bundle, and cargo needs it.
  cp /etc/ssl/certs/ca-certificates.crt "$WORK/rootfs-rust/etc/ssl/certs/ca-certificates.crt"
  tar -C "$WORK/rootfs-rust" -c . | podman import \
    --change 'ENV PATH=/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV CARGO_HOME=/usr/local/cargo' \
    --change 'CMD ["/bin/bash"]' - "$BUILD_BASE"
fi
podman image ls --filter reference='localhost/rookery-base/*'
