// The remote write 1.0 body: a protobuf `prometheus.WriteRequest` (only its
// `timeseries` field: labels and float samples) in snappy's block format,
// as https://prometheus.io/docs/concepts/remote_write_spec/ asks.
//
//   message WriteRequest { repeated TimeSeries timeseries = 1; }
//   message TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//   message Label        { string name = 1; string value = 2; }
//   message Sample       { double value = 1; int64 timestamp = 2; }
//
// The encoder is ours (four messages, no generated code at run time);
// tests decode its output with libprotobuf to hold it to the schema.
//
// Threading: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "agent/promql/labels.h"
#include "agent/promql/series_storage.h"

namespace txmon {

struct WriteSeries {
  const Labels* labels;            // sorted by name, as Labels keeps them
  std::span<const Point> samples;  // in time order
};

// Appends the protobuf encoding of WriteRequest{timeseries: series} to `out`.
void EncodeWriteRequest(std::span<const WriteSeries> series, std::string* out);

// snappy block compression of `raw` into `out` (replaced).
void SnappyCompress(std::string_view raw, std::string* out);

}  // namespace txmon
