// Decoding one demo-shop `orders` row change per format, as each tool
// publishes it: Debezium without and with the schema envelope (the envelope
// makes the message ~3 KB), Maxwell, and the same through `auto`, next to
// Canal's flat message. items_per_second counts row changes. Decode only:
// bench/pipeline_bench.cc measures decode → map → store for Canal.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "agent/decode/decoder_factory.h"

namespace txmon {
namespace {

// An `orders` row as Debezium writes it: typed values, DECIMAL(12,2) in
// precise mode ("Aewm" = 1259.90 unscaled), DATETIME as epoch ms.
constexpr std::string_view kDebeziumAfter =
    R"({"id":1000042,"order_no":"SO202403151030001000042","user_id":880042,)"
    R"("channel":"mini_program","province":"Guangdong","payment_method":"wechat_pay",)"
    R"("amount":"Aewm","status":"paid","created_at":1710498600000,)"
    R"("paid_at":1710498667000,"updated_at":1710498667000})";
constexpr std::string_view kDebeziumBefore =
    R"({"id":1000042,"order_no":"SO202403151030001000042","user_id":880042,)"
    R"("channel":"mini_program","province":"Guangdong","payment_method":null,)"
    R"("amount":"Aewm","status":"created","created_at":1710498600000,)"
    R"("paid_at":null,"updated_at":1710498600000})";
constexpr std::string_view kDebeziumSource =
    R"({"version":"2.7.3.Final","connector":"mysql","name":"shop","ts_ms":1710498667000,)"
    R"("ts_us":1710498667000000,"ts_ns":1710498667000000000,"snapshot":"false","db":"shop",)"
    R"("sequence":null,"table":"orders","server_id":1,"gtid":null,"file":"mysql-bin.000003",)"
    R"("pos":48213,"row":0,"thread":12,"query":null})";

std::string DebeziumPayload() {
  return R"({"before":)" + std::string(kDebeziumBefore) + R"(,"after":)" +
         std::string(kDebeziumAfter) + R"(,"source":)" + std::string(kDebeziumSource) +
         R"(,"transaction":null,"op":"u","ts_ms":1710498667412,"ts_us":1710498667412000})";
}

std::string RowSchema(std::string_view field) {
  return R"({"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"},)"
         R"({"type":"string","optional":false,"field":"order_no"},)"
         R"({"type":"int64","optional":false,"field":"user_id"},)"
         R"({"type":"string","optional":true,"field":"channel"},)"
         R"({"type":"string","optional":true,"field":"province"},)"
         R"({"type":"string","optional":true,"field":"payment_method"},)"
         R"({"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal",)"
         R"("version":1,"parameters":{"scale":"2","connect.decimal.precision":"12"},)"
         R"("field":"amount"},{"type":"string","optional":false,"field":"status"},)"
         R"({"type":"int64","optional":false,"name":"io.debezium.time.Timestamp","version":1,)"
         R"("field":"created_at"},{"type":"int64","optional":true,)"
         R"("name":"io.debezium.time.Timestamp","version":1,"field":"paid_at"},)"
         R"({"type":"int64","optional":false,"name":"io.debezium.time.Timestamp","version":1,)"
         R"("field":"updated_at"}],"optional":true,"name":"shop.shop.orders.Value","field":")" +
         std::string(field) + R"("})";
}

std::string DebeziumEnvelope() {
  std::string source_fields;
  for (std::string_view name : {"version", "connector", "name", "snapshot", "db", "sequence",
                                "table", "gtid", "file", "query"}) {
    source_fields += R"({"type":"string","optional":true,"field":")" + std::string(name) + "\"},";
  }
  for (std::string_view name : {"ts_ms", "ts_us", "ts_ns", "server_id", "pos", "row", "thread"}) {
    source_fields += R"({"type":"int64","optional":true,"field":")" + std::string(name) + "\"},";
  }
  source_fields.pop_back();
  const std::string schema =
      R"({"type":"struct","fields":[)" + RowSchema("before") + "," + RowSchema("after") +
      R"(,{"type":"struct","fields":[)" + source_fields +
      R"(],"optional":false,"name":"io.debezium.connector.mysql.Source","field":"source"},)"
      R"({"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},)"
      R"({"type":"int64","optional":false,"field":"total_order"},)"
      R"({"type":"int64","optional":false,"field":"data_collection_order"}],"optional":true,)"
      R"("name":"event.block","version":1,"field":"transaction"},)"
      R"({"type":"string","optional":false,"field":"op"},)"
      R"({"type":"int64","optional":true,"field":"ts_ms"},)"
      R"({"type":"int64","optional":true,"field":"ts_us"}],"optional":false,)"
      R"("name":"shop.shop.orders.Envelope","version":2})";
  return R"({"schema":)" + schema + R"(,"payload":)" + DebeziumPayload() + "}";
}

std::string MaxwellMessage() {
  return R"({"database":"shop","table":"orders","type":"update","ts":1710498667,"xid":7152,)"
         R"("commit":true,"data":{"id":1000042,"order_no":"SO202403151030001000042",)"
         R"("user_id":880042,"channel":"mini_program","province":"Guangdong",)"
         R"("payment_method":"wechat_pay","amount":1259.90,"status":"paid",)"
         R"("created_at":"2024-03-15 10:30:00","paid_at":"2024-03-15 10:31:07",)"
         R"("updated_at":"2024-03-15 10:31:07"},"old":{"payment_method":null,)"
         R"("status":"created","paid_at":null,"updated_at":"2024-03-15 10:30:00"}})";
}

std::string CanalMessage() {
  return R"({"data":[{"id":"1000042","order_no":"SO202403151030001000042","user_id":"880042",)"
         R"("channel":"mini_program","province":"Guangdong","payment_method":"wechat_pay",)"
         R"("amount":"1259.90","status":"paid","created_at":"2024-03-15 10:30:00",)"
         R"("paid_at":"2024-03-15 10:31:07","updated_at":"2024-03-15 10:31:07"}],)"
         R"("database":"shop","es":1710498667000,"id":48213,"isDdl":false,"mysqlType":null,)"
         R"("old":[{"payment_method":null,"status":"created","paid_at":null,)"
         R"("updated_at":"2024-03-15 10:30:00"}],"pkNames":["id"],"sql":"","sqlType":null,)"
         R"("table":"orders","ts":1710498667412,"type":"UPDATE"})";
}

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

void DecodeRepeatedly(benchmark::State& state, std::string_view format,
                      const std::string& payload) {
  const DecodeSchema schema = ShopSchema();
  std::unique_ptr<Decoder> decoder;
  if (!CreateDecoder(format, schema, &decoder).ok()) {
    state.SkipWithError("no such format");
    return;
  }
  SourceMessage message;
  message.payload = payload;
  message.position = {"shop.orders", 0, 0};
  size_t rows_per_message = 0;
  for (auto _ : state) {
    const DecodeResult result = decoder->Decode(message);
    benchmark::DoNotOptimize(result);
    if (result.error != DecodeError::kNone || result.rows.size() != 1) {
      state.SkipWithError(std::string(result.detail).c_str());
      return;
    }
    rows_per_message = result.rows.size();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * rows_per_message));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * payload.size()));
  state.counters["message_bytes"] = static_cast<double>(payload.size());
}

void BM_CanalOrderUpdate(benchmark::State& state) {
  DecodeRepeatedly(state, "canal", CanalMessage());
}
BENCHMARK(BM_CanalOrderUpdate);

void BM_DebeziumOrderUpdateNoSchema(benchmark::State& state) {
  DecodeRepeatedly(state, "debezium", DebeziumPayload());
}
BENCHMARK(BM_DebeziumOrderUpdateNoSchema);

void BM_DebeziumOrderUpdateWithSchema(benchmark::State& state) {
  DecodeRepeatedly(state, "debezium", DebeziumEnvelope());
}
BENCHMARK(BM_DebeziumOrderUpdateWithSchema);

void BM_MaxwellOrderUpdate(benchmark::State& state) {
  DecodeRepeatedly(state, "maxwell", MaxwellMessage());
}
BENCHMARK(BM_MaxwellOrderUpdate);

void BM_AutoDebeziumWithSchema(benchmark::State& state) {
  DecodeRepeatedly(state, "auto", DebeziumEnvelope());
}
BENCHMARK(BM_AutoDebeziumWithSchema);

void BM_AutoMaxwell(benchmark::State& state) { DecodeRepeatedly(state, "auto", MaxwellMessage()); }
BENCHMARK(BM_AutoMaxwell);

}  // namespace
}  // namespace txmon

BENCHMARK_MAIN();
