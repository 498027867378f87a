#include "agent/main/binlog_wiring.h"

#include "agent/base/log.h"
#include "agent/decode/binlog_decoder.h"
#include "agent/decode/decoder_factory.h"
#include "agent/source/binlog_source.h"

namespace txmon {

namespace {

MysqlEndpoint EndpointOf(const BinlogConfig& binlog) {
  MysqlEndpoint endpoint;
  endpoint.address = binlog.address;
  endpoint.user = binlog.user;
  endpoint.password = binlog.password;
  endpoint.tls_ca_file = binlog.tls_ca_file;
  endpoint.tls_cert_file = binlog.tls_cert_file;
  endpoint.tls_key_file = binlog.tls_key_file;
  return endpoint;
}

// The binlog decoder, told to forget its table maps after a DDL query in the
// stream so the column names are asked again (the catalog forgets too).
class SchemaWatchingDecoder : public Decoder {
 public:
  SchemaWatchingDecoder(const DecodeSchema& schema, std::shared_ptr<BinlogColumnCatalog> catalog)
      : catalog_(std::move(catalog)), decoder_(schema, Options(catalog_.get())) {}

  DecodeResult Decode(const SourceMessage& message) override {
    if (catalog_->ObserveEvent(message.payload)) decoder_.ForgetTables();
    return decoder_.Decode(message);
  }
  std::vector<std::string> TableColumns(const SourceMessage& message, std::string_view database,
                                        std::string_view table) override {
    return decoder_.TableColumns(message, database, table);
  }

 private:
  static BinlogDecoderOptions Options(BinlogColumnCatalog* catalog) {
    BinlogDecoderOptions options;
    options.column_names = [catalog](std::string_view database, std::string_view table) {
      return catalog->Columns(database, table);
    };
    return options;
  }

  std::shared_ptr<BinlogColumnCatalog> catalog_;
  BinlogDecoder decoder_;
};

}  // namespace

Status MakeDecoder(std::string_view format, const DecodeSchema& schema, const BinlogConfig* binlog,
                   std::shared_ptr<BinlogColumnCatalog>* catalog, std::unique_ptr<Decoder>* out) {
  if (binlog == nullptr) return CreateDecoder(format, schema, out);
  if (!*catalog) *catalog = std::make_shared<BinlogColumnCatalog>(EndpointOf(*binlog));
  *out = std::make_unique<SchemaWatchingDecoder>(schema, *catalog);
  return Status::Ok();
}

Status CreateBinlogSource(const AgentConfig& config, std::unique_ptr<Source>* source) {
  const BinlogConfig& binlog = config.source.binlog;
  BinlogSourceOptions options;
  options.endpoint = EndpointOf(binlog);
  options.server_id = binlog.server_id;
  options.databases = binlog.databases;
  if (binlog.start == "earliest") {
    options.start = BinlogSourceOptions::Start::kEarliest;
  } else if (binlog.start == "file") {
    options.start = BinlogSourceOptions::Start::kFilePosition;
    options.start_position = {binlog.start_file, binlog.start_pos};
  } else if (binlog.start == "gtid") {
    options.start = BinlogSourceOptions::Start::kGtid;
    options.start_gtid = binlog.start_gtid;
  }
  std::unique_ptr<BinlogSource> created;
  if (Status s = BinlogSource::Create(std::move(options), &created); !s.ok()) {
    return Status::Error(config.file + ": source.binlog: " + s.message());
  }
  Log(LogLevel::kInfo, "source", "reading the binlog as a replica",
      {{"address", binlog.address},
       {"user", binlog.user},
       {"server_id", std::to_string(binlog.server_id)},
       {"start", binlog.start}});
  *source = std::move(created);
  return Status::Ok();
}

}  // namespace txmon
