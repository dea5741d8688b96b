#!/usr/bin/env bash
# Build a local Debian bookworm base image with Python 3.11, without pulling from a registry.
#
# Why: the project image's base is a build argument (infra/Dockerfile). On a laptop the public
# python:3.11-slim-bookworm serves; on machines that reach Debian's package mirror but no image
# registry (CI here), this script makes an equivalent base from a `debootstrap --variant=minbase`
# root file system and `docker import`s it. The root file system is cached as a tarball, so a
# rerun (or a new engine on the same checkout) only re-imports it.
#
# Usage: infra/scripts/make-base-image.sh [TAG]      (root: debootstrap needs it)
#
# Environment:
#   LIBRA_BASE_IMAGE      tag to build (default libra-guard-base:bookworm; TAG wins)
#   LIBRA_IMAGE_CACHE     folder for the cached root file system (default .libra/image-cache)
#   LIBRA_DEBIAN_MIRROR   Debian mirror (default http://deb.debian.org/debian)
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tag=${1:-${LIBRA_BASE_IMAGE:-libra-guard-base:bookworm}}
cache_dir=${LIBRA_IMAGE_CACHE:-$repo_root/.libra/image-cache}
mirror=${LIBRA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
# python3 is 3.11 on bookworm; python3-venv brings ensurepip, which the Dockerfile's venv uses;
# wget serves KubeRay's pod probes.
packages=python3,python3-venv,ca-certificates,wget

say() { printf 'make-base-image: %s\n' "$*"; }
fail() {
  printf 'make-base-image: ERROR: %s\n' "$*" >&2
  exit 1
}

command -v docker >/dev/null 2>&1 || fail "no docker client; install Docker (infra/scripts/start-docker.sh)"
docker info >/dev/null 2>&1 || fail "no Docker engine answers; run infra/scripts/start-docker.sh"

# The key names what went into the root file system; a changed package list makes a new one.
key=$(printf '%s %s %s' "$suite" "$packages" "minbase" | sha256sum | cut -c1-16)
current=$(docker image inspect --format '{{index .Config.Labels "org.libra-guard.base-key"}}' \
  "$tag" 2>/dev/null || true)
if [[ $current == "$key" ]]; then
  say "$tag exists (key $key); nothing to do"
  exit 0
fi

mkdir -p "$cache_dir"
tarball=$cache_dir/rootfs-$suite-$key.tar
if [[ ! -s $tarball ]]; then
  [[ $(id -u) -eq 0 ]] || fail "debootstrap needs root; rerun as root, or build with the public base: docker build --build-arg BASE_IMAGE=python:3.11-slim-bookworm ..."
  command -v debootstrap >/dev/null 2>&1 || fail "debootstrap is missing; apt-get install -y debootstrap (start-docker.sh installs it)"
  work=$(mktemp -d "${TMPDIR:-/tmp}/libra-rootfs.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  say "debootstrap $suite ($packages) from $mirror"
  started=$SECONDS
  debootstrap --variant=minbase --include="$packages" "$suite" "$work/root" "$mirror" \
    >"$work/debootstrap.log" 2>&1 || {
    tail -n 30 "$work/debootstrap.log" >&2
    fail "debootstrap failed (log above); check that $mirror is reachable"
  }
  # Package caches, lists and documentation are dead weight in an image.
  rm -rf "$work"/root/var/cache/apt/archives/*.deb "$work"/root/var/lib/apt/lists/* \
    "$work"/root/usr/share/doc/* "$work"/root/usr/share/man/* "$work"/root/var/log/*
  tar --numeric-owner -C "$work/root" -cf "$tarball.partial" .
  mv "$tarball.partial" "$tarball"
  say "root file system cached: $tarball ($((SECONDS - started))s)"
fi

say "importing $tarball as $tag"
docker import \
  --change "LABEL org.libra-guard.base-key=$key" \
  --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV LANG=C.UTF-8" \
  --change 'CMD ["/bin/bash"]' \
  "$tarball" "$tag" >/dev/null
say "built $tag"
