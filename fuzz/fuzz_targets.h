// Entry points shared by the libFuzzer targets (fuzz/*_fuzzer.cc, built with
// clang by scripts/fuzz.sh) and by tests/fuzz_corpus_test.cc, which replays
// every corpus and regression input in the ordinary test run.
//
// Each function must accept any bytes without crashing, hanging or leaking,
// and returns a short description of the outcome for the corpus test.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace txmon::fuzz {

// A Canal message through the decoder (and, when it decodes, the mappings
// and the store), with the shipped txmon.yml's schema.
std::string CanalMessage(const uint8_t* data, size_t size);
// The same through the Debezium, the Maxwell and the `auto` decoders.
std::string DebeziumMessage(const uint8_t* data, size_t size);
std::string MaxwellMessage(const uint8_t* data, size_t size);
std::string AutoMessage(const uint8_t* data, size_t size);
// A txmon.yml text through the config loader and mapping compiler.
std::string ConfigText(const uint8_t* data, size_t size);
// A checkpoint payload through its decoder and a store restore.
std::string CheckpointPayload(const uint8_t* data, size_t size);
// A PromQL expression through the rule parser and, when it parses, the
// engine over a small sample history.
std::string PromqlExpr(const uint8_t* data, size_t size);

}  // namespace txmon::fuzz
