// Bounds-checked reading of binlog bytes, and the text arena the binlog
// decoder formats values into. Internal to agent/decode/.
//
// Every read checks the remaining length first and reports failure instead of
// reading past the end, so a truncated or corrupt event can never make the
// decoder read outside the payload.
// Threading: plain values; one owner each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace txmon::binlog {

class ByteReader {
 public:
  ByteReader() = default;
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  size_t remaining() const { return size_ - pos_; }
  const uint8_t* position() const { return data_ + pos_; }

  bool Skip(size_t n) {
    if (n > remaining()) return false;
    pos_ += n;
    return true;
  }
  bool Bytes(size_t n, const uint8_t** out) {
    if (n > remaining()) return false;
    *out = data_ + pos_;
    pos_ += n;
    return true;
  }
  bool U8(uint8_t* out) {
    if (remaining() < 1) return false;
    *out = data_[pos_++];
    return true;
  }
  // Little-endian unsigned integer of `bytes` (1..8) bytes.
  bool UInt(size_t bytes, uint64_t* out) {
    if (bytes > 8 || bytes > remaining()) return false;
    *out = LittleEndian(data_ + pos_, bytes);
    pos_ += bytes;
    return true;
  }
  // MySQL's length-encoded integer (1, 3, 4 or 9 bytes); 0xFB (NULL) and
  // 0xFF are refused.
  bool PackedInt(uint64_t* out) {
    uint8_t first = 0;
    if (!U8(&first)) return false;
    if (first < 0xFB) {
      *out = first;
      return true;
    }
    switch (first) {
      case 0xFC:
        return UInt(2, out);
      case 0xFD:
        return UInt(3, out);
      case 0xFE:
        return UInt(8, out);
      default:
        return false;
    }
  }
  // A packed length followed by that many bytes.
  bool PackedString(std::string_view* out) {
    uint64_t length = 0;
    const uint8_t* bytes = nullptr;
    if (!PackedInt(&length) || length > remaining() || !Bytes(length, &bytes)) return false;
    *out = {reinterpret_cast<const char*>(bytes), static_cast<size_t>(length)};
    return true;
  }

  static uint64_t LittleEndian(const uint8_t* p, size_t bytes) {
    uint64_t value = 0;
    for (size_t i = bytes; i > 0; --i) value = (value << 8) | p[i - 1];
    return value;
  }
  static uint64_t BigEndian(const uint8_t* p, size_t bytes) {
    uint64_t value = 0;
    for (size_t i = 0; i < bytes; ++i) value = (value << 8) | p[i];
    return value;
  }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t pos_ = 0;
};

// Text storage for one Decode call: chunks that are never moved, so a view
// handed out stays valid while more text is added; Reset() reuses them.
// Once the chunks have grown to the largest event seen, nothing allocates.
class TextArena {
 public:
  static constexpr size_t kChunkBytes = 64 * 1024;

  void Reset() {
    current_ = 0;
    used_ = 0;
  }

  // `n` writable bytes that stay put until Reset().
  char* Allocate(size_t n) {
    while (current_ < chunks_.size()) {
      Chunk& chunk = chunks_[current_];
      if (chunk.size - used_ >= n) {
        char* out = chunk.data.get() + used_;
        used_ += n;
        return out;
      }
      ++current_;
      used_ = 0;
    }
    const size_t size = n > kChunkBytes ? n : kChunkBytes;
    chunks_.push_back({std::make_unique<char[]>(size), size});
    current_ = chunks_.size() - 1;
    used_ = n;
    return chunks_.back().data.get();
  }

  // Gives back the unused tail of the last Allocate(n) that used `used` bytes.
  void Shrink(size_t n, size_t used) { used_ -= n - used; }

 private:
  struct Chunk {
    std::unique_ptr<char[]> data;
    size_t size = 0;
  };
  std::vector<Chunk> chunks_;
  size_t current_ = 0;
  size_t used_ = 0;
};

}  // namespace txmon::binlog
