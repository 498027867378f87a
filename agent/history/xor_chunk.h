// XorChunk: up to kMaxSamples samples of one series, encoded as Prometheus'
// XOR chunks are (tsdb/chunkenc/xor.go, after Facebook's Gorilla paper):
// timestamps as delta-of-deltas in 1, 16, 20, 24 or 68 bits, values XOR'd
// with the previous one, writing only the meaningful bits. A series sampled
// at a steady resolution whose value does not move costs 2 bits a sample; a
// moving counter typically 1-3 bytes.
//
// The first sample is written in full (64-bit time and value), so a chunk
// decodes on its own.
//
// Threading: none; SampleHistory guards its chunks.
#pragma once

#include <cstdint>
#include <vector>

#include "agent/promql/series_storage.h"

namespace txmon {

class XorChunk {
 public:
  // Prometheus' chunk length: past it a series starts a new chunk, which is
  // also the unit the history trims and drops.
  static constexpr uint16_t kMaxSamples = 120;

  // Appends a sample newer than max_time() (the caller checks).
  void Append(int64_t timestamp_ms, double value);
  bool full() const { return count_ >= kMaxSamples; }
  uint16_t count() const { return count_; }
  int64_t min_time() const { return min_time_; }
  int64_t max_time() const { return time_; }

  // Appends the samples with timestamps in [min_ms, max_ms] to `out`.
  void Decode(int64_t min_ms, int64_t max_ms, std::vector<Point>* out) const;

  // Releases the spare capacity of a chunk that will take no more samples.
  void Seal() { bytes_.shrink_to_fit(); }
  // Memory it holds: the encoded bytes (capacity) and the object itself.
  size_t memory_bytes() const { return bytes_.capacity() + sizeof(XorChunk); }

 private:
  void WriteBit(bool bit);
  void WriteBits(uint64_t value, int count);
  void WriteTimeDelta(int64_t delta_of_delta);
  void WriteValue(uint64_t bits);

  std::vector<uint8_t> bytes_;
  uint8_t free_bits_ = 0;  // unused low bits of bytes_.back()
  uint16_t count_ = 0;
  int64_t min_time_ = 0;
  int64_t time_ = 0;  // the newest sample's
  int64_t delta_ = 0;
  uint64_t value_bits_ = 0;
  uint8_t leading_ = 0xff;  // 0xff: no window yet
  uint8_t trailing_ = 0;
};

}  // namespace txmon
