#!/usr/bin/env bash
# Build the project image from infra/Dockerfile (what `make image` runs).
#
# Why a script: it offers the build the same local wheels and CA bundle this machine's pip uses
# (PIP_FIND_LINKS, PIP_CERT), so the CPU build needs no pytorch.org and works behind a
# TLS-intercepting proxy; it can make the base image locally; and it builds with host networking,
# which an engine started without a bridge (start-docker.sh) needs. Reruns reuse Docker's layer
# cache: only changed sources rebuild the small project layer.
#
# Usage: infra/scripts/build-image.sh [TAG]
#
# Environment:
#   LIBRA_IMAGE            tag (default: the image the pipeline names, components.PROJECT_IMAGE,
#                          so a kind-loaded build runs the checked-in pipeline as is)
#   LIBRA_IMAGE_VARIANT    cpu (default) or gpu
#   LIBRA_BASE_IMAGE       base image (default python:3.11-slim-bookworm); "local" builds and
#                          uses libra-guard-base:bookworm (make-base-image.sh, no registry)
#   LIBRA_WHEELS_DIR       a folder of wheels to offer pip (default: PIP_FIND_LINKS if a folder)
#   LIBRA_BUILD_CA_BUNDLE  PEM bundle for pip inside the build (default: PIP_CERT if set)
#   LIBRA_BUILD_NETWORK    docker build --network (default host)
#   TORCH_INDEX_URL        passed on as the build argument of that name when set
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tag=${1:-${LIBRA_IMAGE:-ghcr.io/libra-guard/libra-guard:0.1.0}}
variant=${LIBRA_IMAGE_VARIANT:-cpu}
base=${LIBRA_BASE_IMAGE:-python:3.11-slim-bookworm}
wheels=${LIBRA_WHEELS_DIR:-${PIP_FIND_LINKS:-}}
ca_bundle=${LIBRA_BUILD_CA_BUNDLE:-${PIP_CERT:-}}
network=${LIBRA_BUILD_NETWORK:-host}
inputs=$repo_root/.libra/image-inputs

say() { printf 'build-image: %s\n' "$*"; }
fail() {
  printf 'build-image: ERROR: %s\n' "$*" >&2
  exit 1
}

[[ $variant == cpu || $variant == gpu ]] || fail "LIBRA_IMAGE_VARIANT must be cpu or gpu, got '$variant'"
command -v docker >/dev/null 2>&1 || fail "no docker client; install Docker"
docker info >/dev/null 2>&1 || fail "no Docker engine answers; start Docker (infra/scripts/start-docker.sh as root)"

if [[ $base == local ]]; then
  base=libra-guard-base:bookworm
  "$repo_root/infra/scripts/make-base-image.sh" "$base"
fi

# Build inputs: hard links where possible, so the context costs no copy; the Dockerfile reads
# them in its build stages only, none reach the final image.
rm -rf "$inputs"
mkdir -p "$inputs/wheels" "$inputs/certs"
if [[ -n $wheels && -d $wheels ]]; then
  for wheel in "$wheels"/*.whl; do
    [[ -e $wheel ]] || continue
    ln -f "$wheel" "$inputs/wheels/" 2>/dev/null || cp -p "$wheel" "$inputs/wheels/"
  done
  say "offering $(find "$inputs/wheels" -name '*.whl' | wc -l) local wheel(s) from $wheels"
fi
if [[ -n $ca_bundle ]]; then
  [[ -s $ca_bundle ]] || fail "CA bundle $ca_bundle (LIBRA_BUILD_CA_BUNDLE/PIP_CERT) is missing or empty"
  cp -p "$ca_bundle" "$inputs/certs/ca-bundle.pem"
fi

args=(--network "$network" -f "$repo_root/infra/Dockerfile"
  --build-arg "BASE_IMAGE=$base" --build-arg "VARIANT=$variant")
if [[ -n ${TORCH_INDEX_URL:-} ]]; then
  args+=(--build-arg "TORCH_INDEX_URL=$TORCH_INDEX_URL")
fi

say "building $tag ($variant, base $base)"
started=$SECONDS
# The dependency stage gets a tag of its own: the classic builder keeps a stage's layer cache
# only in untagged images, which `docker image prune` deletes, and rebuilding it takes minutes.
docker build "${args[@]}" --target deps -t "libra-guard-build-cache:deps-$variant" "$repo_root"
docker build "${args[@]}" -t "$tag" "$repo_root"
size=$(docker image inspect --format '{{.Size}}' "$tag")
say "built $tag in $((SECONDS - started))s, $((size / 1024 / 1024)) MiB"
