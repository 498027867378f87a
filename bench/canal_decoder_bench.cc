// Decoding Canal flat messages for the demo shop's `orders` table
// (docs/demo-shop-schema.md) as Canal publishes them: all 13 fields of a
// FlatMessage in fastjson's alphabetical order, mysqlType and sqlType for the
// 11 columns. items_per_second counts row changes.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "agent/decode/canal_decoder.h"

namespace txmon {
namespace {

constexpr std::string_view kOrdersMysqlType =
    R"js({"id":"bigint(20)","order_no":"varchar(32)","user_id":"bigint(20)",)js"
    R"js("channel":"varchar(16)","province":"varchar(32)","payment_method":"varchar(16)",)js"
    R"js("amount":"decimal(12,2)","status":"varchar(16)","created_at":"datetime",)js"
    R"js("paid_at":"datetime","updated_at":"datetime"})js";

constexpr std::string_view kOrdersSqlType =
    R"({"id":-5,"order_no":12,"user_id":-5,"channel":12,"province":12,"payment_method":12,)"
    R"("amount":3,"status":12,"created_at":93,"paid_at":93,"updated_at":93})";

// One `orders` row as Canal writes it: every value a string, NULL as null.
std::string OrderRow(int64_t id, std::string_view status, std::string_view payment_method,
                     std::string_view paid_at) {
  const std::string quoted_method =
      payment_method.empty() ? "null" : "\"" + std::string(payment_method) + "\"";
  const std::string quoted_paid_at = paid_at.empty() ? "null" : "\"" + std::string(paid_at) + "\"";
  return R"({"id":")" + std::to_string(id) + R"(","order_no":"SO20240315103000)" +
         std::to_string(id) + R"(","user_id":")" + std::to_string(880000 + id % 997) +
         R"(","channel":"mini_program","province":"Guangdong","payment_method":)" + quoted_method +
         R"(,"amount":"1259.90","status":")" + std::string(status) +
         R"(","created_at":"2024-03-15 10:30:00","paid_at":)" + quoted_paid_at +
         R"(,"updated_at":"2024-03-15 10:31:07"})";
}

std::string CanalMessage(std::string_view type, const std::vector<std::string>& rows,
                         std::string_view old) {
  std::string data;
  for (const std::string& row : rows) data += (data.empty() ? "" : ",") + row;
  return R"({"data":[)" + data + R"(],"database":"shop","es":1710469867000,"id":48213,)" +
         R"("isDdl":false,"mysqlType":)" + std::string(kOrdersMysqlType) + R"(,"old":)" +
         std::string(old) + R"(,"pkNames":["id"],"sql":"","sqlType":)" +
         std::string(kOrdersSqlType) + R"(,"table":"orders","ts":1710469867412,"type":")" +
         std::string(type) + R"("})";
}

std::string NewOrdersMessage(int rows) {
  std::vector<std::string> images;
  for (int i = 0; i < rows; ++i) images.push_back(OrderRow(1000042 + i, "created", "", ""));
  return CanalMessage("INSERT", images, "null");
}

// created -> paid: the UPDATE that drives the status-transition metrics.
std::string PaidOrderMessage() {
  return CanalMessage(
      "UPDATE", {OrderRow(1000042, "paid", "wechat_pay", "2024-03-15 10:31:07")},
      R"([{"payment_method":null,"status":"created","paid_at":null,"updated_at":"2024-03-15 10:30:00"}])");
}

// The columns a shop mapping reads, and the shop's tables.
DecodeSchema ShopSchema() {
  DecodeSchema schema;
  schema.tables = {
      {"shop", "orders"}, {"shop", "payments"}, {"shop", "refunds"}, {"shop", "users"}};
  for (std::string_view column : {"id", "user_id", "channel", "province", "payment_method",
                                  "amount", "status", "created_at", "paid_at", "updated_at"}) {
    schema.columns.Add(column);
  }
  return schema;
}

void DecodeRepeatedly(benchmark::State& state, const std::string& payload) {
  const DecodeSchema schema = ShopSchema();
  CanalDecoder decoder(schema);
  SourceMessage message;
  message.payload = payload;
  message.position = {"shop.orders", 0, 0};
  size_t rows_per_message = 0;
  for (auto _ : state) {
    const DecodeResult result = decoder.Decode(message);
    benchmark::DoNotOptimize(result);
    if (result.error != DecodeError::kNone) {
      state.SkipWithError(std::string(result.detail).c_str());
      return;
    }
    rows_per_message = result.rows.size();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * rows_per_message));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * payload.size()));
  state.counters["message_bytes"] = static_cast<double>(payload.size());
}

void BM_CanalDecodeOrderInsert(benchmark::State& state) {
  DecodeRepeatedly(state, NewOrdersMessage(1));
}
BENCHMARK(BM_CanalDecodeOrderInsert);

void BM_CanalDecodeOrderInsert3Rows(benchmark::State& state) {
  DecodeRepeatedly(state, NewOrdersMessage(3));
}
BENCHMARK(BM_CanalDecodeOrderInsert3Rows);

void BM_CanalDecodeOrderPaidUpdate(benchmark::State& state) {
  DecodeRepeatedly(state, PaidOrderMessage());
}
BENCHMARK(BM_CanalDecodeOrderPaidUpdate);

// The floor under any On-Demand decoder: copy into a padded buffer, index
// the message (stage 1) and step over every top-level field without reading
// it. The gap to the benchmarks above is what decoding itself costs.
void BM_SimdjsonWalkOnlyFloor(benchmark::State& state) {
  const std::string payload = NewOrdersMessage(1);
  simdjson::ondemand::parser parser;
  std::vector<char> padded(payload.size() + simdjson::SIMDJSON_PADDING);
  for (auto _ : state) {
    std::memcpy(padded.data(), payload.data(), payload.size());
    simdjson::ondemand::document document;
    simdjson::ondemand::object message;
    int fields = 0;
    if (parser.iterate(padded.data(), payload.size(), padded.size()).get(document) ||
        document.get_object().get(message)) {
      state.SkipWithError("the message does not parse");
      return;
    }
    for (auto field : message) {
      if (field.error()) break;
      ++fields;
    }
    benchmark::DoNotOptimize(fields);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SimdjsonWalkOnlyFloor);

}  // namespace
}  // namespace txmon

BENCHMARK_MAIN();
