// The one place that turns `source.format` into a Decoder, so that the
// agent's start, a config reload, benchmarks and tests build decoders the
// same way, and a new format is one entry in decoder_factory.cc.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/base/status.h"
#include "agent/decode/decoder.h"

namespace txmon {

// The formats CreateDecoder accepts, in the order `--help` and errors list them.
const std::vector<std::string_view>& DecoderFormats();
// "canal", or "canal, debezium" as an error message lists them.
std::string DecoderFormatList();

// Builds the decoder for `format` over `schema`. Refuses an unknown format,
// naming the supported ones.
Status CreateDecoder(std::string_view format, const DecodeSchema& schema,
                     std::unique_ptr<Decoder>* out);

}  // namespace txmon
