#include "fuzz/fuzz_targets.h"

#include <memory>
#include <string_view>

#include "agent/checkpoint/checkpoint_file.h"
#include "agent/config/agent_config.h"
#include "agent/decode/decoder_factory.h"
#include "agent/history/sample_history.h"
#include "agent/map/row_mapper.h"
#include "agent/pipeline/pipeline.h"
#include "agent/promql/promql_engine.h"
#include "agent/promql/promql_parser.h"
#include "agent/store/metric_store.h"

namespace txmon::fuzz {

namespace {

// The shipped mappings, compiled once: decoding then mapping each input is
// exactly what the pipeline does with a message.
struct ShippedPipeline {
  explicit ShippedPipeline(std::string_view format) {
    AgentConfig config;
    if (!LoadConfigFile(TXMON_SOURCE_DIR "/txmon.yml", &config).ok() ||
        !metrics.Register(store).ok() || !RowMapper::Compile(config.metrics, store, &mapper).ok()) {
      abort();
    }
    DecodeSchema schema = mapper->decode_schema();
    schema.max_message_bytes = 64 * 1024;
    if (!CreateDecoder(format, schema, &decoder).ok()) abort();
    processor = std::make_unique<MessageProcessor>(*decoder, *mapper, metrics);
  }
  MetricStore store;
  PipelineMetrics metrics;
  std::unique_ptr<RowMapper> mapper;
  std::unique_ptr<Decoder> decoder;
  std::unique_ptr<MessageProcessor> processor;
};

std::string_view AsText(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// One message through `pipeline`'s decoder, then its mappings and store.
std::string DecodeAndApply(ShippedPipeline* pipeline, const uint8_t* data, size_t size) {
  SourceMessage message{AsText(data, size), {"fuzz", 0, 0}};
  DecodeResult result = pipeline->decoder->Decode(message);
  if (result.error != DecodeError::kNone) {
    return std::string(DecodeErrorReason(result.error));
  }
  pipeline->processor->Process(message, 1731254400000);
  return "rows:" + std::to_string(result.rows.size());
}

}  // namespace

std::string CanalMessage(const uint8_t* data, size_t size) {
  static ShippedPipeline* pipeline = new ShippedPipeline("canal");
  return DecodeAndApply(pipeline, data, size);
}

std::string DebeziumMessage(const uint8_t* data, size_t size) {
  static ShippedPipeline* pipeline = new ShippedPipeline("debezium");
  return DecodeAndApply(pipeline, data, size);
}

std::string MaxwellMessage(const uint8_t* data, size_t size) {
  static ShippedPipeline* pipeline = new ShippedPipeline("maxwell");
  return DecodeAndApply(pipeline, data, size);
}

std::string AutoMessage(const uint8_t* data, size_t size) {
  static ShippedPipeline* pipeline = new ShippedPipeline("auto");
  return DecodeAndApply(pipeline, data, size);
}

std::string ConfigText(const uint8_t* data, size_t size) {
  AgentConfig config;
  Status s = ParseConfig(std::string(AsText(data, size)), "fuzz.yml", &config);
  if (!s.ok()) return "refused";
  MetricStore store;
  std::unique_ptr<RowMapper> mapper;
  return RowMapper::Compile(config.metrics, store, &mapper).ok() ? "compiled" : "not compiled";
}

std::string CheckpointPayload(const uint8_t* data, size_t size) {
  Checkpoint checkpoint;
  // Every readable version, newest first (older ones lack trailing sections).
  bool decoded = false;
  for (uint32_t version = kCheckpointFormatVersion;
       !decoded && version >= kOldestReadableCheckpointVersion; --version) {
    decoded = DecodeCheckpoint(AsText(data, size), &checkpoint, version).ok();
  }
  if (!decoded) return "refused";
  MetricStore store;
  PipelineMetrics metrics;  // so that some names in the input match
  if (!metrics.Register(store).ok()) abort();
  std::vector<std::string> skipped;
  store.Restore(checkpoint.store, &skipped);
  store.Merge(checkpoint.store, &skipped);  // a retired agent's counts, adopted
  return "decoded";
}

std::string PromqlExpr(const uint8_t* data, size_t size) {
  ExprPtr expr;
  if (!ParseExpr(AsText(data, size), &expr).ok()) return "refused";
  static SampleHistory* history = [] {
    auto* h = new SampleHistory();
    for (int i = 0; i < 10; ++i) {
      h->Append(Labels{{"__name__", "orders_total"}, {"channel", i % 2 ? "app" : "web"}},
                1'000'000 + i * 15'000, i * 3.0);
    }
    return h;
  }();
  QueryResult result;
  return PromqlEngine().Eval(*expr, 1'200'000, *history, &result).ok() ? "evaluated"
                                                                       : "runtime error";
}

}  // namespace txmon::fuzz
