// Prometheus's histogram_quantile over one histogram's buckets: shared by
// the PromQL engine and the live board, so both compute p95 the same way.
#pragma once

#include <vector>

namespace txmon {

struct HistogramBucket {
  double upper_bound;  // "le"; the last one must be +Inf
  double count;        // cumulative, as Prometheus exposes it
};

// The q-quantile (0..1) by linear interpolation inside the bucket holding
// the rank, exactly as Prometheus 2.x's bucketQuantile: NaN without a +Inf
// bucket or without observations, the highest finite bound when the rank
// falls in +Inf, -Inf/+Inf for q outside 0..1. Buckets in any order.
double BucketQuantile(double q, std::vector<HistogramBucket> buckets);

}  // namespace txmon
