// JsonWriter: documents are well-formed with escaping done by RapidJSON,
// numbers are the exact shortest text, and GoFloat matches Go's
// encoding/json, which the Prometheus API's durations are written with.
#include "agent/base/json_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>

namespace txmon {
namespace {

std::string GoFloatText(double value) {
  JsonWriter json;
  json.GoFloat(value);
  return json.Take();
}

TEST(JsonWriterTest, WritesNestedDocumentsWithEscapedStrings) {
  JsonWriter json;
  json.BeginObject()
      .Field("name", "a \"quoted\"\nline")
      .Field("count", 3.0)
      .Key("list")
      .BeginArray()
      .Int(-7)
      .Bool(true)
      .Null()
      .Number(std::optional<double>())
      .EndArray()
      .EndObject();
  EXPECT_EQ(json.Take(), R"({"name":"a \"quoted\"\nline","count":3,"list":[-7,true,null,null]})");
}

TEST(JsonWriterTest, NumbersAreTheShortestTextAndNullWhenNotFinite) {
  JsonWriter json;
  json.BeginArray().Number(0.1 + 0.2).Number(8652242.44).Number(NAN).Number(INFINITY).EndArray();
  EXPECT_EQ(json.Take(), "[0.30000000000000004,8652242.44,null,null]");
}

// Outputs of Go's json.Marshal(float64) for the same values.
TEST(JsonWriterTest, GoFloatWritesWhatGoEncodingJsonWrites) {
  EXPECT_EQ(GoFloatText(0), "0");
  EXPECT_EQ(GoFloatText(60), "60");
  EXPECT_EQ(GoFloatText(0.5), "0.5");
  EXPECT_EQ(GoFloatText(0.000123456), "0.000123456");
  EXPECT_EQ(GoFloatText(0.000001), "0.000001");
  EXPECT_EQ(GoFloatText(1e-7), "1e-7");
  EXPECT_EQ(GoFloatText(2.5e-12), "2.5e-12");
  EXPECT_EQ(GoFloatText(123456789012345680000.0), "123456789012345680000");
  EXPECT_EQ(GoFloatText(1e21), "1e+21");
  EXPECT_EQ(GoFloatText(-3.25), "-3.25");
  EXPECT_EQ(GoFloatText(NAN), "0");
}

}  // namespace
}  // namespace txmon
