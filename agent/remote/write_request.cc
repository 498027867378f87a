#include "agent/remote/write_request.h"

#include <snappy.h>

#include <cstring>

namespace txmon {

namespace {

size_t VarintSize(uint64_t value) {
  size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++size;
  }
  return size;
}

void PutVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

// Tag bytes: field number << 3 | wire type (0 varint, 1 fixed64, 2 bytes).
constexpr char kTimeseriesTag = (1 << 3) | 2;
constexpr char kLabelsTag = (1 << 3) | 2;
constexpr char kSamplesTag = (2 << 3) | 2;
constexpr char kNameTag = (1 << 3) | 2;
constexpr char kValueStringTag = (2 << 3) | 2;
constexpr char kValueDoubleTag = (1 << 3) | 1;
constexpr char kTimestampTag = (2 << 3) | 0;

size_t BytesFieldSize(size_t length) { return 1 + VarintSize(length) + length; }

size_t LabelSize(const Label& label) {
  return BytesFieldSize(label.name.size()) + BytesFieldSize(label.value.size());
}

size_t SampleSize(const Point& point) {
  // A zero value or timestamp is omitted by proto3 encoders; sending it is
  // equally valid and keeps every sample the same shape.
  return 1 + 8 + 1 + VarintSize(static_cast<uint64_t>(point.timestamp_ms));
}

size_t SeriesSize(const WriteSeries& series) {
  size_t size = 0;
  for (const Label& label : *series.labels) size += BytesFieldSize(LabelSize(label));
  for (const Point& point : series.samples) size += BytesFieldSize(SampleSize(point));
  return size;
}

void PutString(char tag, const std::string& text, std::string* out) {
  out->push_back(tag);
  PutVarint(text.size(), out);
  out->append(text);
}

}  // namespace

void EncodeWriteRequest(std::span<const WriteSeries> series, std::string* out) {
  size_t total = 0;
  for (const WriteSeries& s : series) total += BytesFieldSize(SeriesSize(s));
  out->reserve(out->size() + total);
  for (const WriteSeries& s : series) {
    out->push_back(kTimeseriesTag);
    PutVarint(SeriesSize(s), out);
    for (const Label& label : *s.labels) {
      out->push_back(kLabelsTag);
      PutVarint(LabelSize(label), out);
      PutString(kNameTag, label.name, out);
      PutString(kValueStringTag, label.value, out);
    }
    for (const Point& point : s.samples) {
      out->push_back(kSamplesTag);
      PutVarint(SampleSize(point), out);
      out->push_back(kValueDoubleTag);
      char bytes[8];
      std::memcpy(bytes, &point.value, sizeof bytes);  // little-endian, as protobuf's fixed64
      out->append(bytes, sizeof bytes);
      out->push_back(kTimestampTag);
      PutVarint(static_cast<uint64_t>(point.timestamp_ms), out);
    }
  }
}

void SnappyCompress(std::string_view raw, std::string* out) {
  out->clear();
  snappy::Compress(raw.data(), raw.size(), out);
}

}  // namespace txmon
