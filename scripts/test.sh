#!/usr/bin/env bash
# The test command: installs what is missing, builds with warnings as errors,
# checks formatting, runs every test (unit and integration) with ctest, then
# runs each fuzz target for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh

echo "test: clang-format check"
# Tracked files and new ones not yet committed; .gitignore keeps build trees out.
git ls-files -z --cached --others --exclude-standard -- '*.h' '*.cc' |
  xargs -0 -r clang-format --dry-run -Werror

echo "test: ctest"
ctest --test-dir build --output-on-failure -j2 --timeout "${TXMON_TEST_TIMEOUT:-600}"

echo "test: fuzzing (${FUZZ_SECONDS:-30}s per target)"
FUZZ_SECONDS="${FUZZ_SECONDS:-30}" scripts/fuzz.sh
