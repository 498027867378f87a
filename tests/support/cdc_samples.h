// Helpers for the decoder tests over the real CDC samples in tests/data/:
// reading a sample line by its README number, building a DecodeSchema and
// reading a column of a row image as text.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/decode/decoder.h"

namespace txmon::test {

// The non-empty lines of tests/data/`dir`/`file`.
inline std::vector<std::string> ReadSampleLines(std::string_view dir, std::string_view file) {
  const std::string path =
      std::string(TXMON_SOURCE_DIR) + "/tests/data/" + std::string(dir) + "/" + std::string(file);
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// Line `number` (1-based, as the README counts) of a sample file.
inline std::string SampleLine(std::string_view dir, std::string_view file, size_t number) {
  const std::vector<std::string> lines = ReadSampleLines(dir, file);
  if (number == 0 || number > lines.size()) {
    ADD_FAILURE() << file << " has no line " << number;
    return "";
  }
  return lines[number - 1];
}

// `text` with its only occurrence of `from` replaced by `to`.
inline std::string ReplaceOnce(std::string text, std::string_view from, std::string_view to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "no " << from << " in " << text;
  if (at == std::string::npos) return text;
  EXPECT_EQ(text.find(from, at + 1), std::string::npos) << from << " occurs twice";
  return text.replace(at, from.size(), to);
}

inline DecodeSchema MakeSchema(std::vector<DecodeSchema::Table> tables,
                               std::initializer_list<std::string_view> columns) {
  DecodeSchema schema;
  schema.tables = std::move(tables);
  for (std::string_view column : columns) schema.columns.Add(column);
  return schema;
}

inline SourceMessage Message(std::string_view payload, int64_t offset = 0) {
  SourceMessage message;
  message.payload = payload;
  message.position = {"cdc-topic", 1, offset};
  return message;
}

// The value of `column` in `image` as text: "<null>", "<absent>" or the text.
inline std::string TextOf(std::span<const ColumnValue> image, const DecodeSchema& schema,
                          std::string_view column) {
  const int slot = schema.columns.Find(column);
  EXPECT_GE(slot, 0) << column << " is not in the schema";
  if (slot < 0 || static_cast<size_t>(slot) >= image.size()) return "<absent>";
  const ColumnValue& value = image[slot];
  if (value.is_null()) return "<null>";
  if (value.is_absent()) return "<absent>";
  return std::string(value.text);
}

inline uint64_t SlotBit(const DecodeSchema& schema, std::string_view column) {
  return uint64_t{1} << schema.columns.Find(column);
}

}  // namespace txmon::test
