#!/usr/bin/env bash
# Configures and builds txmon, its tests and benchmarks into ./build with
# warnings as errors. TXMON_BUILD_TYPE overrides the build type.
set -euo pipefail
cd "$(dirname "$0")/.."

build_type="${TXMON_BUILD_TYPE:-RelWithDebInfo}"
echo "build: configuring build/ ($build_type, -DTXMON_WERROR=ON)"
cmake -S . -B build -DCMAKE_BUILD_TYPE="$build_type" -DTXMON_WERROR=ON
echo "build: compiling with $(nproc) jobs"
cmake --build build -j"$(nproc)"
