// Decoding binlog WRITE_ROWS events of the demo shop's `orders` table
// (docs/demo-shop-schema.md, the 11 columns of bench/canal_decoder_bench.cc)
// as MariaDB writes them with binlog_row_metadata=FULL. The events are built
// here byte by byte, in the server's formats, so the figure needs no server.
// items_per_second counts row changes.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/decode/binlog_decoder.h"

namespace txmon {
namespace {

constexpr uint64_t kTableId = 42;

void PutLittleEndian(std::string* out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

void PutBigEndian(std::string* out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

void PutPackedString(std::string* out, std::string_view text) {
  out->push_back(static_cast<char>(text.size()));  // all short here
  out->append(text);
}

// The common header, event_size counting the checksum the source removed.
std::string Event(uint8_t type, const std::string& body) {
  std::string event;
  PutLittleEndian(&event, 1710469867, 4);
  event.push_back(static_cast<char>(type));
  PutLittleEndian(&event, 1, 4);
  PutLittleEndian(&event, 19 + body.size() + 4, 4);
  PutLittleEndian(&event, 0, 4);
  PutLittleEndian(&event, 0, 2);
  return event + body;
}

struct OrderColumn {
  std::string_view name;
  uint8_t type;
  std::string metadata;
};

const std::vector<OrderColumn>& OrderColumns() {
  static const std::vector<OrderColumn> columns = {
      {"id", 8, ""},
      {"order_no", 15, std::string("\x80\x00", 2)},  // VARCHAR(32) utf8mb4: 128 bytes
      {"user_id", 8, ""},
      {"channel", 15, std::string("\x40\x00", 2)},
      {"province", 15, std::string("\x80\x00", 2)},
      {"payment_method", 15, std::string("\x40\x00", 2)},
      {"amount", 246, std::string("\x0C\x02", 2)},  // DECIMAL(12,2)
      {"status", 15, std::string("\x40\x00", 2)},
      {"created_at", 18, std::string("\x00", 1)},  // DATETIME2, fsp 0
      {"paid_at", 18, std::string("\x00", 1)},
      {"updated_at", 18, std::string("\x00", 1)},
  };
  return columns;
}

std::string TableMapEvent() {
  std::string body;
  PutLittleEndian(&body, kTableId, 6);
  PutLittleEndian(&body, 1, 2);
  PutPackedString(&body, "shop");
  body.push_back('\0');
  PutPackedString(&body, "orders");
  body.push_back('\0');
  const std::vector<OrderColumn>& columns = OrderColumns();
  body.push_back(static_cast<char>(columns.size()));
  std::string metadata;
  for (const OrderColumn& column : columns) {
    body.push_back(static_cast<char>(column.type));
    metadata += column.metadata;
  }
  body.push_back(static_cast<char>(metadata.size()));
  body += metadata;
  body += std::string("\x20\x02", 2);      // payment_method and paid_at may be NULL
  body += std::string("\x01\x01\x00", 3);  // SIGNEDNESS: id, user_id, amount signed
  body += std::string("\x02\x01\x2D", 3);  // DEFAULT_CHARSET utf8mb4_general_ci
  std::string names;
  for (const OrderColumn& column : columns) PutPackedString(&names, column.name);
  body.push_back(4);  // COLUMN_NAME
  body.push_back(static_cast<char>(names.size()));
  body += names;
  return Event(19, body);
}

void PutDatetime2(std::string* out, int year, int month, int day, int hour, int minute,
                  int second) {
  const uint64_t ymd = (uint64_t(year) * 13 + month) << 5 | day;
  const uint64_t hms = uint64_t(hour) << 12 | minute << 6 | second;
  PutBigEndian(out, (ymd << 17 | hms) + (uint64_t{1} << 39), 5);
}

// DECIMAL(12,2): 1 leading integral digit (1 byte), 9 digits (4 bytes), 2
// fractional digits (1 byte); the sign bit set for positive values.
void PutAmount(std::string* out, uint64_t cents) {
  const uint64_t integral = cents / 100;
  std::string bytes;
  PutBigEndian(&bytes, integral / 1'000'000'000, 1);
  PutBigEndian(&bytes, integral % 1'000'000'000, 4);
  PutBigEndian(&bytes, cents % 100, 1);
  bytes[0] = static_cast<char>(bytes[0] | 0x80);
  *out += bytes;
}

void PutVarchar(std::string* out, std::string_view text) { PutPackedString(out, text); }

void PutOrderRow(std::string* out, int64_t id) {
  out->push_back(static_cast<char>(0x20));  // NULLs: payment_method (bit 5)
  out->push_back(static_cast<char>(0x02));  // and paid_at (bit 9)
  PutLittleEndian(out, id, 8);
  PutVarchar(out, "SO20240315103000" + std::to_string(id));
  PutLittleEndian(out, 880000 + id % 997, 8);
  PutVarchar(out, "mini_program");
  PutVarchar(out, "Guangdong");
  PutAmount(out, 125990);
  PutVarchar(out, "created");
  PutDatetime2(out, 2024, 3, 15, 10, 30, 0);
  PutDatetime2(out, 2024, 3, 15, 10, 31, 7);
}

std::string WriteRowsEvent(int rows) {
  std::string body;
  PutLittleEndian(&body, kTableId, 6);
  PutLittleEndian(&body, 1, 2);  // STMT_END_F
  body.push_back(static_cast<char>(OrderColumns().size()));
  body += std::string("\xFF\x07", 2);  // every column present
  for (int i = 0; i < rows; ++i) PutOrderRow(&body, 1000042 + i);
  return Event(23, body);
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

// Decodes `events` in turn, over and over, as one stream.
void DecodeRepeatedly(benchmark::State& state, const std::vector<std::string>& events) {
  BinlogDecoder decoder(ShopSchema());
  int64_t rows = 0;
  size_t bytes = 0;
  for (auto _ : state) {
    for (const std::string& event : events) {
      const DecodeResult result = decoder.Decode(SourceMessage{event, {"binlog", 0, 0}});
      benchmark::DoNotOptimize(result);
      if (result.error != DecodeError::kNone) {
        state.SkipWithError(std::string(result.detail).c_str());
        return;
      }
      rows += static_cast<int64_t>(result.rows.size());
      bytes += event.size();
    }
  }
  state.SetItemsProcessed(rows);
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

// A single-row transaction's TABLE_MAP and WRITE_ROWS, as a live shop sends.
void BM_BinlogDecodeOrderInsert(benchmark::State& state) {
  DecodeRepeatedly(state, {TableMapEvent(), WriteRowsEvent(1)});
}
BENCHMARK(BM_BinlogDecodeOrderInsert);

// A backlog of multi-row INSERTs: one TABLE_MAP per 50 rows.
void BM_BinlogDecodeOrderInsert50Rows(benchmark::State& state) {
  DecodeRepeatedly(state, {TableMapEvent(), WriteRowsEvent(50)});
}
BENCHMARK(BM_BinlogDecodeOrderInsert50Rows);

}  // namespace
}  // namespace txmon

BENCHMARK_MAIN();
