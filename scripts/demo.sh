#!/usr/bin/env bash
# Installs what is missing, builds, and runs the built-in demo shop.
# Arguments go to `txmon demo`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh
exec build/txmon demo "$@"
