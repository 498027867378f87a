#!/usr/bin/env bash
# Installs what txmon needs to build and test on Debian 12, and the browser
# test's npm packages. Idempotent: when every package is already installed it
# touches nothing (and needs no root).
#
# The Debian server packages (prometheus, prometheus-alertmanager) try to start
# their service on install. The tests start these binaries themselves on free
# loopback ports, so no packaged daemon may be left running or listening.
set -euo pipefail

packages=(
  # toolchain
  build-essential g++ cmake pkg-config git clang-format
  # libraries
  libgtest-dev libgmock-dev libbenchmark-dev prometheus-cpp-dev librdkafka-dev
  libmariadb-dev libyaml-cpp-dev libcivetweb-dev libcurl4-openssl-dev libsimdjson-dev zlib1g-dev libre2-dev libsnappy-dev
  libprotobuf-dev protobuf-compiler
  rapidjson-dev
  # servers the integration tests start, and tools the scripts use
  prometheus prometheus-alertmanager mariadb-server ca-certificates procps curl iproute2 systemd clang libclang-rt-14-dev
  # the live page's browser test (Chromium driven by playwright-core from npm),
  # the scrape-load benchmark, certificates and password hashes for the TLS and
  # basic-auth tests
  chromium nodejs wrk openssl apache2-utils libcrypt-dev libssl-dev
)
# Service users of the packaged daemons; their processes can only have been
# started by the packages' own scripts.
service_users=(prometheus)

log() { echo "setup: $*"; }

missing_packages() {
  local package
  for package in "${packages[@]}"; do
    if [[ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" != "install ok installed" ]]; then
      echo "$package"
    fi
  done
}

# Keeps package scripts from starting services while apt runs.
block_service_starts() {
  if [[ -e /usr/sbin/policy-rc.d ]]; then
    return
  fi
  log "blocking service starts during install (/usr/sbin/policy-rc.d)"
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
}

stop_packaged_daemons() {
  local user pids
  for user in "${service_users[@]}"; do
    id "$user" >/dev/null 2>&1 || continue
    pids="$(pgrep -u "$user" || true)"
    if [[ -n "$pids" ]]; then
      log "stopping daemons started by package scripts (user $user): $(echo "$pids" | tr '\n' ' ')"
      # shellcheck disable=SC2086
      kill $pids 2>/dev/null || true
      sleep 1
      # shellcheck disable=SC2086
      kill -9 $pids 2>/dev/null || true
    fi
  done
}

check_nothing_listens() {
  local listeners
  listeners="$(ss -ltnpH 2>/dev/null | grep -E 'prometheus|alertmanager|node_exporter' || true)"
  if [[ -n "$listeners" ]]; then
    log "packaged daemons are still listening:"
    echo "$listeners"
    exit 1
  fi
  log "no packaged daemon is listening"
}

# The browser test's npm packages (tests/browser: playwright-core, pinned by
# package-lock.json; it drives the Chromium installed above and downloads no
# browser). Skipped while node_modules matches the lock file.
install_browser_test_packages() {
  local dir stamp lock_hash
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
  stamp="$dir/node_modules/.txmon-package-lock.sha256"
  lock_hash="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$lock_hash" ]]; then
    log "tests/browser npm packages are current"
    return
  fi
  log "npm ci in tests/browser"
  (cd "$dir" && npm ci --no-audit --no-fund)
  echo "$lock_hash" >"$stamp"
}

main() {
  install_packages
  install_browser_test_packages
}

install_packages() {
  local missing
  mapfile -t missing < <(missing_packages)
  if [[ ${#missing[@]} -eq 0 ]]; then
    log "all ${#packages[@]} packages are installed"
    return
  fi
  log "missing packages: ${missing[*]}"
  if [[ "$(id -u)" -ne 0 ]]; then
    log "run as root to install them"
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  block_service_starts
  log "apt-get update"
  apt-get update
  log "apt-get install ${missing[*]}"
  apt-get install -y --no-install-recommends "${missing[@]}"
  stop_packaged_daemons
  check_nothing_listens
  log "done"
}

main "$@"
