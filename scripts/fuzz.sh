#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (AddressSanitizer and UBSan) into
# build-fuzz/ and runs each for FUZZ_SECONDS (default 30) on its checked-in
# corpus. New inputs go to a scratch folder; a crash leaves its input in
# build-fuzz/crashes/ — copy it to fuzz/regressions/TARGET/ once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-30}"
targets=(canal_message debezium_message maxwell_message auto_message config_text checkpoint_payload promql_expr)

echo "fuzz: building with clang into build-fuzz/"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DTXMON_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fsanitize=fuzzer-no-link -fno-omit-frame-pointer" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]/%/_fuzzer}"

mkdir -p build-fuzz/crashes
for target in "${targets[@]}"; do
  scratch="build-fuzz/corpus-$target"
  log="build-fuzz/$target.log"
  mkdir -p "$scratch"
  # Inputs that once crashed are replayed first, under the sanitizers.
  corpora=("$scratch" "fuzz/corpus/$target")
  [[ -d "fuzz/regressions/$target" ]] && corpora+=("fuzz/regressions/$target")
  echo "fuzz: $target for ${seconds}s"
  status=0
  UBSAN_OPTIONS=halt_on_error=1 "build-fuzz/fuzz/${target}_fuzzer" -max_total_time="$seconds" \
    -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="build-fuzz/crashes/$target-" "${corpora[@]}" >"$log" 2>&1 ||
    status=$?
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb)|ERROR|SUMMARY" "$log" || true
  if [[ $status -ne 0 ]]; then
    echo "fuzz: $target failed (exit $status); see $log and build-fuzz/crashes/"
    tail -30 "$log"
    exit 1
  fi
done
echo "fuzz: no crashes"
