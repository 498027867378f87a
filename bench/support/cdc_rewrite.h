// Rewrites a Canal flat message as Debezium or Maxwell would publish the
// same change (the C++ twin of tests/golden/rewrite_canal.py), so that the
// benchmarks run one shop workload through every decoder.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace txmon::bench {

enum class CdcFormat {
  kDebeziumBare,      // schemas.enable=false: DECIMAL precise (base64), DATETIME epoch ms
  kDebeziumEnvelope,  // the same with the {"schema":…,"payload":…} envelope (~3 KB)
  kMaxwell,           // typed values, DECIMAL as a bare number; one xid per Canal message
};

// Appends the messages `format` writes for `canal` (one per row; a DDL
// becomes one schema-change / table-alter message). `xid` numbers Maxwell's
// transaction. Returns false if `canal` is not a Canal flat message.
bool RewriteCanalMessage(std::string_view canal, CdcFormat format, long xid,
                         std::vector<std::string>* out);

}  // namespace txmon::bench
