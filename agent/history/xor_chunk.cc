#include "agent/history/xor_chunk.h"

#include <bit>
#include <cstring>

namespace txmon {

namespace {

uint64_t Bits(double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

double FromBits(uint64_t bits) {
  double value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// Prometheus' bitRange: whether x fits the signed `bits`-wide field.
bool FitsBits(int64_t x, int bits) {
  return -((int64_t{1} << (bits - 1)) - 1) <= x && x <= (int64_t{1} << (bits - 1));
}

class BitReader {
 public:
  explicit BitReader(const std::vector<uint8_t>& bytes) : bytes_(bytes) {}
  bool Bit() {
    bool bit = (bytes_[position_ / 8] >> (7 - position_ % 8)) & 1;
    ++position_;
    return bit;
  }
  uint64_t Bits(int count) {
    uint64_t value = 0;
    for (int i = 0; i < count; ++i) value = (value << 1) | static_cast<uint64_t>(Bit());
    return value;
  }
  // A `count`-bit field written by WriteTimeDelta, sign restored.
  int64_t Signed(int count) {
    auto value = static_cast<int64_t>(Bits(count));
    if (count < 64 && value > (int64_t{1} << (count - 1))) value -= int64_t{1} << count;
    return value;
  }

 private:
  const std::vector<uint8_t>& bytes_;
  size_t position_ = 0;
};

}  // namespace

void XorChunk::WriteBit(bool bit) {
  if (free_bits_ == 0) {
    bytes_.push_back(0);
    free_bits_ = 8;
  }
  --free_bits_;
  if (bit) bytes_.back() |= static_cast<uint8_t>(1u << free_bits_);
}

void XorChunk::WriteBits(uint64_t value, int count) {
  for (int i = count - 1; i >= 0; --i) WriteBit((value >> i) & 1);
}

void XorChunk::WriteTimeDelta(int64_t dod) {
  if (dod == 0) {
    WriteBit(false);
  } else if (FitsBits(dod, 14)) {
    WriteBits(0b10, 2);
    WriteBits(static_cast<uint64_t>(dod), 14);
  } else if (FitsBits(dod, 17)) {
    WriteBits(0b110, 3);
    WriteBits(static_cast<uint64_t>(dod), 17);
  } else if (FitsBits(dod, 20)) {
    WriteBits(0b1110, 4);
    WriteBits(static_cast<uint64_t>(dod), 20);
  } else {
    WriteBits(0b1111, 4);
    WriteBits(static_cast<uint64_t>(dod), 64);
  }
}

// Prometheus' xorWrite: 0 for the same value; 10 and the meaningful bits
// inside the previous window; 11, 5 bits of leading zeros, 6 of length and
// the bits, for a new window.
void XorChunk::WriteValue(uint64_t bits) {
  uint64_t delta = bits ^ value_bits_;
  if (delta == 0) {
    WriteBit(false);
    return;
  }
  WriteBit(true);
  auto leading = static_cast<uint8_t>(std::countl_zero(delta));
  auto trailing = static_cast<uint8_t>(std::countr_zero(delta));
  if (leading >= 32) leading = 31;  // fits the 5-bit field
  if (leading_ != 0xff && leading >= leading_ && trailing >= trailing_) {
    WriteBit(false);
    WriteBits(delta >> trailing_, 64 - leading_ - trailing_);
    return;
  }
  leading_ = leading;
  trailing_ = trailing;
  WriteBit(true);
  WriteBits(leading, 5);
  int significant = 64 - leading - trailing;  // 64 is written as 0
  WriteBits(static_cast<uint64_t>(significant & 63), 6);
  WriteBits(delta >> trailing, significant);
}

void XorChunk::Append(int64_t timestamp_ms, double value) {
  uint64_t bits = Bits(value);
  if (count_ == 0) {
    WriteBits(static_cast<uint64_t>(timestamp_ms), 64);
    WriteBits(bits, 64);
    min_time_ = timestamp_ms;
  } else {
    int64_t delta = timestamp_ms - time_;
    WriteTimeDelta(delta - delta_);
    WriteValue(bits);
    delta_ = delta;
  }
  time_ = timestamp_ms;
  value_bits_ = bits;
  ++count_;
}

void XorChunk::Decode(int64_t min_ms, int64_t max_ms, std::vector<Point>* out) const {
  if (count_ == 0 || time_ < min_ms || min_time_ > max_ms) return;
  BitReader in(bytes_);
  auto t = static_cast<int64_t>(in.Bits(64));
  uint64_t value = in.Bits(64);
  int64_t delta = 0;
  uint8_t leading = 0, trailing = 0;
  for (uint16_t i = 0;; ++i) {
    if (t > max_ms) return;
    if (t >= min_ms) out->push_back(Point{t, FromBits(value)});
    if (i + 1 == count_) return;
    int64_t dod = 0;
    if (in.Bit()) {
      if (!in.Bit()) {
        dod = in.Signed(14);
      } else if (!in.Bit()) {
        dod = in.Signed(17);
      } else if (!in.Bit()) {
        dod = in.Signed(20);
      } else {
        dod = in.Signed(64);
      }
    }
    delta += dod;
    t += delta;
    if (in.Bit()) {
      if (in.Bit()) {
        leading = static_cast<uint8_t>(in.Bits(5));
        int significant = static_cast<int>(in.Bits(6));
        if (significant == 0) significant = 64;
        trailing = static_cast<uint8_t>(64 - leading - significant);
      }
      value ^= in.Bits(64 - leading - trailing) << trailing;
    }
  }
}

}  // namespace txmon
