// The binlog replica's parts, built from source.binlog: the source, the
// column-name catalog, and the binlog decoder that asks it. Kept apart from
// agent.cc so the decoder choice stays one call there and at reload.
//
// Threading: called on the thread that builds or reloads the agent; the
// decoder and the catalog then run on the pipeline thread.
#pragma once

#include <memory>
#include <string_view>

#include "agent/base/status.h"
#include "agent/config/agent_config.h"
#include "agent/decode/decoder.h"
#include "agent/source/binlog_columns.h"
#include "agent/source/source.h"

namespace txmon {

// The decoder for the running source: the binlog decoder when `binlog` (the
// running source.binlog) is not null (column names from `*catalog`, created
// at the first call and shared by later reloads), else the decoder factory's
// for `format`.
Status MakeDecoder(std::string_view format, const DecodeSchema& schema, const BinlogConfig* binlog,
                   std::shared_ptr<BinlogColumnCatalog>* catalog, std::unique_ptr<Decoder>* out);

// A BinlogSource for source.binlog.
Status CreateBinlogSource(const AgentConfig& config, std::unique_ptr<Source>* source);

}  // namespace txmon
