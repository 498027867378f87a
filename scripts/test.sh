#!/usr/bin/env bash
# The test command: installs what is missing, builds with warnings as errors,
# checks formatting, and runs every test (unit and integration) with ctest.
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
