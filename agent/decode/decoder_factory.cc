#include "agent/decode/decoder_factory.h"

#include <functional>

#include "agent/decode/canal_decoder.h"

namespace txmon {

namespace {

struct DecoderEntry {
  std::string_view format;
  std::function<std::unique_ptr<Decoder>(const DecodeSchema&)> make;
};

const std::vector<DecoderEntry>& Entries() {
  static const std::vector<DecoderEntry> entries = {
      {"canal", [](const DecodeSchema& schema) { return std::make_unique<CanalDecoder>(schema); }},
  };
  return entries;
}

}  // namespace

const std::vector<std::string_view>& DecoderFormats() {
  static const std::vector<std::string_view> formats = [] {
    std::vector<std::string_view> out;
    for (const DecoderEntry& entry : Entries()) out.push_back(entry.format);
    return out;
  }();
  return formats;
}

std::string DecoderFormatList() {
  std::string out;
  for (std::string_view format : DecoderFormats()) {
    out += (out.empty() ? "" : ", ") + std::string(format);
  }
  return out;
}

Status CreateDecoder(std::string_view format, const DecodeSchema& schema,
                     std::unique_ptr<Decoder>* out) {
  for (const DecoderEntry& entry : Entries()) {
    if (entry.format == format) {
      *out = entry.make(schema);
      return Status::Ok();
    }
  }
  return Status::Error("unsupported format \"" + std::string(format) +
                       "\" (supported: " + DecoderFormatList() + ")");
}

}  // namespace txmon
