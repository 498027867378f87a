// JsonWriter: the one way txmon writes JSON documents (API answers, the
// live screen's frames, Alertmanager alerts, JSON log lines). A thin layer
// over RapidJSON's streaming Writer (Debian's rapidjson-dev): it keeps the
// nesting, commas and string escaping right, writes straight into one
// buffer with no document tree, and adds what RapidJSON lacks for us:
// string_view everywhere, and numbers in the exact shortest text of
// base/float_text.h (RapidJSON would write 1.0 for a count of 1).
//
// Threading: one writer per document; not thread-safe.
#pragma once

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace txmon {

class JsonWriter {
 public:
  JsonWriter() : writer_(buffer_) {}

  JsonWriter& BeginObject() {
    writer_.StartObject();
    return *this;
  }
  JsonWriter& EndObject() {
    writer_.EndObject();
    return *this;
  }
  JsonWriter& BeginArray() {
    writer_.StartArray();
    return *this;
  }
  JsonWriter& EndArray() {
    writer_.EndArray();
    return *this;
  }
  JsonWriter& Key(std::string_view key) {
    writer_.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    return *this;
  }
  JsonWriter& String(std::string_view text) {
    writer_.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
    return *this;
  }
  JsonWriter& Int(int64_t value) {
    writer_.Int64(value);
    return *this;
  }
  JsonWriter& Bool(bool value) {
    writer_.Bool(value);
    return *this;
  }
  JsonWriter& Null() {
    writer_.Null();
    return *this;
  }
  // A value already spelled as JSON, written as it is (a number's exact
  // text such as "730.00", or a document made earlier). The caller vouches
  // for it being one valid JSON value.
  JsonWriter& Raw(std::string_view json) {
    writer_.RawValue(json.data(), json.size(), rapidjson::kObjectType);
    return *this;
  }
  // The shortest text that reads back as `value`; null when not finite
  // (JSON has no NaN or infinity).
  JsonWriter& Number(double value);
  // Go's encoding/json text of a float64, as the Prometheus API writes
  // durations and evaluation times: plain decimals, an exponent only below
  // 1e-6 or from 1e21 ("1e-7", "1e+21"); 0 when not finite.
  JsonWriter& GoFloat(double value);
  // A number, or null when absent.
  JsonWriter& Number(std::optional<double> value) { return value ? Number(*value) : Null(); }
  // Key and value in one call, the common case.
  template <typename T>
  JsonWriter& Field(std::string_view key, const T& value) {
    Key(key);
    if constexpr (std::is_convertible_v<const T&, std::string_view>) {
      return String(value);
    } else {
      return Number(value);
    }
  }

  // The document so far (complete once every Begin has its End).
  std::string_view View() const { return {buffer_.GetString(), buffer_.GetSize()}; }
  std::string Take() const { return std::string(View()); }

 private:
  rapidjson::StringBuffer buffer_;
  rapidjson::Writer<rapidjson::StringBuffer> writer_;
};

}  // namespace txmon
