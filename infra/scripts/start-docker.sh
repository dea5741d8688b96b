#!/usr/bin/env bash
# Make sure a Docker engine answers, starting one if this machine has none running.
#
# Why: CI machines (and this project's build machines) carry only the docker client. Debian's
# `docker.io` engine starts there without systemd, but the sandbox offers no bridge networking
# and no iptables, so the engine runs with both off; builds then use `--network host`
# (make-base-image.sh and the image test do). The same script is harmless on a laptop whose
# engine already answers: it checks and exits.
#
# Usage: infra/scripts/start-docker.sh        (idempotent; run as root to install/start)
#
# Environment:
#   LIBRA_DOCKERD_LOG     where the engine's log goes (default /tmp/libra-dockerd.log)
#   LIBRA_DOCKERD_WAIT_S  seconds to wait for the engine to answer (default 60)
set -euo pipefail

log_file=${LIBRA_DOCKERD_LOG:-/tmp/libra-dockerd.log}
wait_s=${LIBRA_DOCKERD_WAIT_S:-60}

say() { printf 'start-docker: %s\n' "$*"; }
fail() {
  printf 'start-docker: ERROR: %s\n' "$*" >&2
  exit 1
}

engine_answers() { docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && engine_answers; then
  say "a Docker engine already answers ($(docker info --format '{{.ServerVersion}}'))"
  exit 0
fi

is_root() { [[ $(id -u) -eq 0 ]]; }

# The engine (docker.io, which brings containerd and runc) and debootstrap, which
# make-base-image.sh uses to build a base image without pulling one.
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if ((${#missing[@]})); then
  is_root || fail "missing ${missing[*]}; run this script as root, or: sudo apt-get install -y ${missing[*]}"
  command -v apt-get >/dev/null 2>&1 || fail "missing ${missing[*]} and no apt-get to install them; install a Docker engine"
  say "installing ${missing[*]} (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" ca-certificates >/dev/null
fi

pid_file=/var/run/docker.pid
if ! pgrep -x dockerd >/dev/null 2>&1; then
  is_root || fail "no Docker engine answers and only root can start one; start Docker (e.g. sudo systemctl start docker) and retry"
  # An engine that was killed leaves its pid file, and a new dockerd refuses to start while
  # it exists ("pid file found, ensure docker is not running"). No dockerd runs: it is stale.
  if [[ -f $pid_file ]]; then
    say "removing the stale $pid_file (pid $(cat "$pid_file"), no dockerd running)"
    rm -f "$pid_file"
  fi
  say "starting dockerd (no bridge, no iptables); log: $log_file"
  # setsid + nohup detach it from this shell, so it outlives the CI step that started it.
  setsid nohup dockerd --bridge=none --iptables=false --ip6tables=false \
    >"$log_file" 2>&1 </dev/null &
fi

for ((i = 0; i < wait_s; i++)); do
  if engine_answers; then
    say "Docker engine answers ($(docker info --format '{{.ServerVersion}} {{.Driver}}'))"
    exit 0
  fi
  sleep 1
done
tail -n 20 "$log_file" >&2 2>/dev/null || true
fail "the Docker engine did not answer within ${wait_s}s; see $log_file"
