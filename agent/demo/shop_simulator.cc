#include "agent/demo/shop_simulator.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <climits>
#include <cmath>
#include <ctime>
#include <optional>
#include <queue>
#include <span>
#include <string_view>
#include <unordered_map>

#include "agent/base/json_writer.h"
#include "agent/base/wall_clock.h"

namespace txmon {

namespace {

// ---------------------------------------------------------------------------
// Randomness of our own (xoshiro256**), so a seed means the same shop with any
// standard library.

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class Random {
 public:
  explicit Random(uint64_t seed) {
    for (uint64_t& word : state_) word = SplitMix64(seed);
  }

  uint64_t Next() {
    const uint64_t result = Rotate(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotate(state_[3], 45);
    return result;
  }

  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }  // [0, 1)
  int UniformInt(int low, int high) {                                         // inclusive
    return low + static_cast<int>(Next() % static_cast<uint64_t>(high - low + 1));
  }
  double Exponential(double mean) { return -mean * std::log1p(-Uniform()); }
  double Normal() {  // Box-Muller
    const double radius = std::sqrt(-2.0 * std::log(1.0 - Uniform()));
    return radius * std::cos(2.0 * M_PI * Uniform());
  }
  double LogNormal(double median, double sigma) { return median * std::exp(sigma * Normal()); }

 private:
  static uint64_t Rotate(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<uint64_t, 4> state_;
};

struct Weighted {
  std::string_view value;
  double weight;
};

int Pick(Random& random, std::span<const Weighted> choices) {
  double total = 0;
  for (const Weighted& choice : choices) total += choice.weight;
  double point = random.Uniform() * total;
  for (size_t i = 0; i < choices.size(); ++i) {
    point -= choices[i].weight;
    if (point < 0) return static_cast<int>(i);
  }
  return static_cast<int>(choices.size()) - 1;
}

// ---------------------------------------------------------------------------
// The shop's habits.

constexpr Weighted kChannels[] = {{"app", 45}, {"mini_program", 30}, {"web", 15}, {"h5", 10}};
constexpr Weighted kProvinces[] = {
    {"Guangdong", 20}, {"Zhejiang", 15}, {"Jiangsu", 13}, {"Shanghai", 10}, {"Beijing", 9},
    {"Shandong", 8},   {"Sichuan", 7},   {"Henan", 7},    {"Hubei", 6},     {"Fujian", 5}};
constexpr std::string_view kMethods[] = {"alipay", "wechat_pay", "union_pay", "credit_card"};
// A WeChat mini program pays with WeChat; elsewhere Alipay leads.
constexpr Weighted kMiniProgramMethods[] = {
    {"alipay", 0}, {"wechat_pay", 92}, {"union_pay", 5}, {"credit_card", 3}};
constexpr Weighted kOtherMethods[] = {
    {"alipay", 55}, {"wechat_pay", 33}, {"union_pay", 7}, {"credit_card", 5}};
constexpr Weighted kRefundReasons[] = {{"quality_issue", 30},
                                       {"changed_mind", 30},
                                       {"not_as_described", 20},
                                       {"late_delivery", 10},
                                       {"wrong_item", 10}};
// A healthy shop: about 1 payment attempt in 9 fails (declined cards,
// timeouts), more often in checkouts that end up cancelled. The shipped
// ShopPaymentFailureRatioHigh pages above 1 in 5, so the demo is calm until
// its staged outage (payment_outage_*).
constexpr Weighted kFailuresBeforePaying[] = {{"0", 94}, {"1", 5}, {"2", 1}};
constexpr Weighted kFailuresBeforeCancelling[] = {{"0", 75}, {"1", 18}, {"2", 7}};

constexpr double kPaidShare = 0.85;
constexpr double kRefundShare = 0.04;
constexpr double kManualCancelShare = 0.4;  // the rest time out
constexpr double kAmountMedianYuan = 150;
constexpr double kAmountSigma = 0.85;
constexpr double kPaymentDelayMedianSeconds = 40;
constexpr double kPaymentDelaySigma = 1.0;
constexpr double kCancelTimeoutSeconds = 15 * 60;
constexpr double kShipDelayMedianSeconds = 20 * 60;
constexpr double kCompleteDelayMedianSeconds = 60 * 60;
constexpr double kRefundBeforeShippingMedianSeconds = 10 * 60;
constexpr double kRefundAfterShippingMedianSeconds = 30 * 60;
constexpr int kCanalDelayMinMs = 2;  // binlog commit to Canal's conversion
constexpr int kCanalDelayMaxMs = 20;

const char* const kStatusNames[] = {"created",   "paid",      "shipped",
                                    "completed", "cancelled", "refunded"};
enum class OrderStatus : uint8_t { kCreated, kPaid, kShipped, kCompleted, kCancelled, kRefunded };

struct DdlStatement {
  std::string_view table;
  std::string_view type;
  std::string_view sql;
};
constexpr DdlStatement kDdlStatements[] = {
    {"orders", "ALTER",
     "ALTER TABLE `orders` ADD INDEX `idx_status_updated` (`status`, `updated_at`)"},
    {"payments", "ALTER", "ALTER TABLE `payments` COMMENT = 'payment attempts'"},
    {"orders", "ALTER", "ALTER TABLE `orders` DROP INDEX `idx_status_updated`"},
    {"orders_archive", "CREATE", "CREATE TABLE IF NOT EXISTS `orders_archive` LIKE `orders`"},
};

// ---------------------------------------------------------------------------
// Tables as Canal describes them.

struct Column {
  std::string_view name;
  std::string_view mysql_type;
  int sql_type;  // java.sql.Types
};

constexpr int kBigint = -5;
constexpr int kVarchar = 12;
constexpr int kDecimal = 3;
constexpr int kDatetime = 93;

constexpr Column kOrderColumns[] = {
    {"id", "bigint(20)", kBigint},         {"order_no", "varchar(32)", kVarchar},
    {"user_id", "bigint(20)", kBigint},    {"channel", "varchar(16)", kVarchar},
    {"province", "varchar(32)", kVarchar}, {"payment_method", "varchar(16)", kVarchar},
    {"amount", "decimal(12,2)", kDecimal}, {"status", "varchar(16)", kVarchar},
    {"created_at", "datetime", kDatetime}, {"paid_at", "datetime", kDatetime},
    {"updated_at", "datetime", kDatetime}};
constexpr Column kPaymentColumns[] = {
    {"id", "bigint(20)", kBigint},       {"order_id", "bigint(20)", kBigint},
    {"method", "varchar(16)", kVarchar}, {"amount", "decimal(12,2)", kDecimal},
    {"result", "varchar(16)", kVarchar}, {"created_at", "datetime", kDatetime}};
constexpr Column kRefundColumns[] = {{"id", "bigint(20)", kBigint},
                                     {"order_id", "bigint(20)", kBigint},
                                     {"amount", "decimal(12,2)", kDecimal},
                                     {"reason", "varchar(32)", kVarchar},
                                     {"created_at", "datetime", kDatetime}};
constexpr Column kUserColumns[] = {{"id", "bigint(20)", kBigint},
                                   {"channel", "varchar(16)", kVarchar},
                                   {"province", "varchar(32)", kVarchar},
                                   {"created_at", "datetime", kDatetime}};

struct TableSchema {
  std::string_view name;
  std::span<const Column> columns;

  TableSchema(std::string_view table_name, std::span<const Column> table_columns)
      : name(table_name), columns(table_columns) {}

  // {"id":"bigint(20)",...}
  void WriteMysqlTypes(JsonWriter& json) const {
    json.BeginObject();
    for (const Column& column : columns) json.Field(column.name, column.mysql_type);
    json.EndObject();
  }
  // {"id":-5,...}
  void WriteSqlTypes(JsonWriter& json) const {
    json.BeginObject();
    for (const Column& column : columns) json.Key(column.name).Int(column.sql_type);
    json.EndObject();
  }
};

// A row's values in column order; nullopt is SQL NULL.
using Row = std::vector<std::optional<std::string>>;

void WriteRowObject(JsonWriter& json, const TableSchema& table, const Row& row,
                    const std::vector<bool>* only) {
  json.BeginObject();
  for (size_t i = 0; i < table.columns.size(); ++i) {
    if (only != nullptr && !(*only)[i]) continue;
    json.Key(table.columns[i].name);
    if (row[i]) {
      json.String(*row[i]);
    } else {
      json.Null();
    }
  }
  json.EndObject();
}

std::string FormatCents(int64_t cents) {
  char text[32];
  std::snprintf(text, sizeof text, "%lld.%02lld", static_cast<long long>(cents / 100),
                static_cast<long long>(cents % 100));
  return text;
}

// "decimal(12,2)" -> 12 and 2; "varchar(16)" -> 16 and -1; no "(": -1, -1.
void TypeArguments(std::string_view mysql_type, int* first, int* second) {
  *first = -1;
  *second = -1;
  const size_t open = mysql_type.find('(');
  if (open == std::string_view::npos) return;
  std::string_view rest = mysql_type.substr(open + 1);
  auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), *first);
  if (error != std::errc()) return;
  if (end < rest.data() + rest.size() && *end == ',') {
    std::from_chars(end + 1, rest.data() + rest.size(), *second);
  }
}

int DecimalScale(const Column& column) {
  int precision, scale;
  TypeArguments(column.mysql_type, &precision, &scale);
  return std::max(0, scale);
}

// Base64 (RFC 4648, padded), as Kafka Connect's JsonConverter writes bytes.
std::string Base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{static_cast<uint8_t>(bytes[i])} << 16) |
                       (uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 8) |
                       static_cast<uint8_t>(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  const size_t left = bytes.size() - i;
  if (left > 0) {
    uint32_t v = uint32_t{static_cast<uint8_t>(bytes[i])} << 16;
    if (left == 2) v |= uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += left == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Debezium's `precise` DECIMAL: "129.90" at scale 2 is the unscaled 12990
// as big-endian two's complement, shortest form (BigInteger.toByteArray),
// in base64.
std::string DecimalPreciseBase64(std::string_view text, int scale) {
  const bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  int64_t unscaled = 0;
  int fraction_digits = -1;
  for (char c : text) {
    if (c == '.') {
      fraction_digits = 0;
      continue;
    }
    if (fraction_digits >= scale) break;  // the simulator never writes more
    unscaled = unscaled * 10 + (c - '0');
    if (fraction_digits >= 0) ++fraction_digits;
  }
  for (int i = std::max(0, fraction_digits); i < scale; ++i) unscaled *= 10;
  if (negative) unscaled = -unscaled;
  std::string bytes;
  for (int i = 7; i >= 0; --i) bytes += static_cast<char>((unscaled >> (8 * i)) & 0xff);
  while (bytes.size() > 1 && ((bytes[0] == 0 && (bytes[1] & 0x80) == 0) ||
                              (bytes[0] == static_cast<char>(0xff) && (bytes[1] & 0x80) != 0))) {
    bytes.erase(0, 1);
  }
  return Base64(bytes);
}

// io.debezium.time.Timestamp of a DATETIME: its wall clock read as UTC, in
// epoch milliseconds (Debezium never shifts DATETIME by a zone).
int64_t WallClockAsUtcMs(std::string_view text) {
  auto number = [&](size_t at, size_t length) {
    int value = 0;
    std::from_chars(text.data() + at, text.data() + at + length, value);
    return value;
  };
  if (text.size() < 19) return 0;
  // Days from civil (Howard Hinnant's algorithm).
  int year = number(0, 4);
  const int month = number(5, 2);
  const int day = number(8, 2);
  year -= month <= 2;
  const int era = (year >= 0 ? year : year - 399) / 400;
  const int year_of_era = year - era * 400;
  const int day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  const int64_t days = static_cast<int64_t>(era) * 146097 + day_of_era - 719468;
  return ((days * 24 + number(11, 2)) * 60 + number(14, 2)) * 60000 + number(17, 2) * 1000;
}

// A value of `column` as Debezium or Maxwell types it.
void WriteTypedValue(JsonWriter& json, const Column& column,
                     const std::optional<std::string>& value, ShopFormat format) {
  if (!value) {
    json.Null();
    return;
  }
  switch (column.sql_type) {
    case kBigint:
      json.Raw(*value);
      return;
    case kDecimal:
      if (format == ShopFormat::kMaxwell) {
        json.Raw(*value);  // BigDecimal's text: the scale's trailing zeros stay
      } else {
        json.String(DecimalPreciseBase64(*value, DecimalScale(column)));
      }
      return;
    case kDatetime:
      if (format == ShopFormat::kMaxwell) {
        json.String(*value);
      } else {
        json.Int(WallClockAsUtcMs(*value));
      }
      return;
    default:
      json.String(*value);
      return;
  }
}

// The Connect schema of one column, as the Debezium MySQL connector
// declares it.
void WriteConnectColumnSchema(JsonWriter& json, const Column& column) {
  json.BeginObject();
  switch (column.sql_type) {
    case kBigint:
      json.Field("type", "int64").Key("optional").Bool(column.name != "id");
      break;
    case kDecimal: {
      int precision, scale;
      TypeArguments(column.mysql_type, &precision, &scale);
      json.Field("type", "bytes").Key("optional").Bool(true);
      json.Field("name", "org.apache.kafka.connect.data.Decimal").Key("version").Int(1);
      json.Key("parameters").BeginObject();
      json.Field("scale", std::to_string(std::max(0, scale)));
      json.Field("connect.decimal.precision", std::to_string(precision));
      json.EndObject();
      break;
    }
    case kDatetime:
      json.Field("type", "int64").Key("optional").Bool(true);
      json.Field("name", "io.debezium.time.Timestamp").Key("version").Int(1);
      break;
    default:
      json.Field("type", "string").Key("optional").Bool(true);
      break;
  }
  json.Field("field", column.name).EndObject();
}

// The io.debezium.connector.mysql.Source struct's schema.
void WriteConnectSourceSchema(JsonWriter& json) {
  struct Field {
    std::string_view type, field;
    bool optional;
  };
  static constexpr Field kFields[] = {
      {"string", "version", false}, {"string", "connector", false}, {"string", "name", false},
      {"int64", "ts_ms", false},    {"string", "snapshot", true},   {"string", "db", false},
      {"string", "sequence", true}, {"string", "table", true},      {"int64", "server_id", false},
      {"string", "gtid", true},     {"string", "file", false},      {"int64", "pos", false},
      {"int32", "row", false},      {"int64", "thread", true},      {"string", "query", true}};
  json.BeginObject().Field("type", "struct").Key("fields").BeginArray();
  for (const Field& field : kFields) {
    json.BeginObject().Field("type", field.type).Key("optional").Bool(field.optional);
    if (field.field == "snapshot") {
      json.Field("name", "io.debezium.data.Enum").Key("version").Int(1);
      json.Key("parameters").BeginObject().Field("allowed", "true,last,false,incremental");
      json.EndObject().Key("default").String("false");
    }
    json.Field("field", field.field).EndObject();
  }
  json.EndArray().Key("optional").Bool(false);
  json.Field("name", "io.debezium.connector.mysql.Source").Field("field", "source").EndObject();
}

// The schemas.enable=true schema of a table's change events.
std::string DebeziumRowSchema(const TableSchema& table, std::string_view database) {
  const std::string prefix =
      std::string(database) + "." + std::string(database) + "." + std::string(table.name);
  JsonWriter json;
  json.BeginObject().Field("type", "struct").Key("fields").BeginArray();
  for (std::string_view image : {"before", "after"}) {
    json.BeginObject().Field("type", "struct").Key("fields").BeginArray();
    for (const Column& column : table.columns) WriteConnectColumnSchema(json, column);
    json.EndArray().Key("optional").Bool(true).Field("name", prefix + ".Value");
    json.Field("field", image).EndObject();
  }
  WriteConnectSourceSchema(json);
  json.BeginObject().Field("type", "string").Key("optional").Bool(false).Field("field", "op");
  json.EndObject();
  json.BeginObject().Field("type", "int64").Key("optional").Bool(true).Field("field", "ts_ms");
  json.EndObject();
  json.BeginObject().Field("type", "struct").Key("fields").BeginArray();
  json.BeginObject().Field("type", "string").Key("optional").Bool(false).Field("field", "id");
  json.EndObject();
  json.BeginObject().Field("type", "int64").Key("optional").Bool(false);
  json.Field("field", "total_order").EndObject();
  json.BeginObject().Field("type", "int64").Key("optional").Bool(false);
  json.Field("field", "data_collection_order").EndObject();
  json.EndArray().Key("optional").Bool(true).Field("name", "event.block").Key("version").Int(1);
  json.Field("field", "transaction").EndObject();
  json.EndArray().Key("optional").Bool(false).Field("name", prefix + ".Envelope");
  json.Key("version").Int(1).EndObject();
  return json.Take();
}

// The schemas.enable=true schema of the schema-change topic's events
// (io.debezium.connector.mysql.SchemaChangeValue); tableChanges' items are
// declared as the connector does, column by column.
std::string DebeziumSchemaChangeSchema() {
  JsonWriter json;
  json.BeginObject().Field("type", "struct").Key("fields").BeginArray();
  WriteConnectSourceSchema(json);
  json.BeginObject().Field("type", "int64").Key("optional").Bool(false).Field("field", "ts_ms");
  json.EndObject();
  json.BeginObject().Field("type", "string").Key("optional").Bool(true);
  json.Field("field", "databaseName").EndObject();
  json.BeginObject().Field("type", "string").Key("optional").Bool(true);
  json.Field("field", "schemaName").EndObject();
  json.BeginObject().Field("type", "string").Key("optional").Bool(true).Field("field", "ddl");
  json.EndObject();
  json.BeginObject().Field("type", "array").Key("items").BeginObject();
  json.Field("type", "struct").Key("fields").BeginArray();
  json.BeginObject().Field("type", "string").Key("optional").Bool(false).Field("field", "type");
  json.EndObject();
  json.BeginObject().Field("type", "string").Key("optional").Bool(false).Field("field", "id");
  json.EndObject();
  json.BeginObject().Field("type", "struct").Key("fields").BeginArray().EndArray();
  json.Key("optional").Bool(true).Field("name", "io.debezium.connector.schema.Table");
  json.Key("version").Int(1).Field("field", "table").EndObject();
  json.EndArray().Key("optional").Bool(false);
  json.Field("name", "io.debezium.connector.schema.Change").Key("version").Int(1);
  json.EndObject().Key("optional").Bool(false).Field("field", "tableChanges").EndObject();
  json.EndArray().Key("optional").Bool(false);
  json.Field("name", "io.debezium.connector.mysql.SchemaChangeValue").Key("version").Int(1);
  json.EndObject();
  return json.Take();
}

int32_t PartitionKeyForUser(int64_t user_id) {
  uint64_t state = static_cast<uint64_t>(user_id);
  return static_cast<int32_t>(SplitMix64(state) >> 33);  // 31 bits: never negative
}

// ---------------------------------------------------------------------------
// The simulation's state.

struct Order {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string order_no;
  int channel = 0;
  int province = 0;
  int method = -1;  // -1: NULL until paid
  int64_t amount_cents = 0;
  OrderStatus status = OrderStatus::kCreated;
  int64_t created_ms = 0;
  int64_t paid_ms = -1;
  int64_t updated_ms = 0;
  bool refund = false;
  bool refund_after_shipping = false;
};

// The orders one checkout created; they are paid or cancelled together.
struct Checkout {
  std::vector<int64_t> order_ids;
  int channel = 0;
  int32_t partition_key = 0;
};

enum class EventKind : uint8_t {
  kCheckout,
  kRegistration,
  kDdl,
  kFailedPayment,
  kPayment,
  kCancel,
  kShip,
  kComplete,
  kRefund,
};

struct Event {
  int64_t time_ms;
  uint64_t sequence;  // ties keep scheduling order
  EventKind kind;
  int64_t subject;  // checkout id or order id
  int method;
};

struct LaterFirst {
  bool operator()(const Event& a, const Event& b) const {
    if (a.time_ms != b.time_ms) return a.time_ms > b.time_ms;
    return a.sequence > b.sequence;
  }
};

// One binlog transaction: its messages share Canal's batch id and clocks.
struct Transaction {
  int64_t commit_ms;
  int64_t batch_id;
  int64_t canal_ts;
  int32_t partition_key;
};

// Options that would break the arithmetic fall back to sane values.
ShopSimulatorOptions Sanitized(ShopSimulatorOptions options) {
  if (!(options.time_scale > 0)) options.time_scale = 1.0;
  options.multi_order_checkout_fraction =
      std::clamp(options.multi_order_checkout_fraction, 0.0, 1.0);
  if (!(options.surge_multiplier >= 0)) options.surge_multiplier = 1.0;
  return options;
}

}  // namespace

std::string_view ShopFormatName(ShopFormat format) {
  switch (format) {
    case ShopFormat::kCanal:
      return "canal";
    case ShopFormat::kDebezium:
      return "debezium";
    case ShopFormat::kDebeziumNoSchema:
      return "debezium-noschema";
    case ShopFormat::kMaxwell:
      return "maxwell";
  }
  return "canal";
}

bool ParseShopFormat(std::string_view name, ShopFormat* format) {
  for (ShopFormat candidate : {ShopFormat::kCanal, ShopFormat::kDebezium,
                               ShopFormat::kDebeziumNoSchema, ShopFormat::kMaxwell}) {
    if (name == ShopFormatName(candidate)) {
      *format = candidate;
      return true;
    }
  }
  return false;
}

std::string_view SourceFormatOf(ShopFormat format) {
  return format == ShopFormat::kDebeziumNoSchema ? "debezium" : ShopFormatName(format);
}

class ShopSimulator::Impl {
 public:
  explicit Impl(ShopSimulatorOptions options)
      : options_(Sanitized(std::move(options))),
        random_(options_.seed),
        orders_table_("orders", kOrderColumns),
        payments_table_("payments", kPaymentColumns),
        refunds_table_("refunds", kRefundColumns),
        users_table_("users", kUserColumns),
        now_ms_(options_.start_time_ms),
        max_user_id_(std::max<int64_t>(1, options_.initial_users)) {
    next_checkout_at_ =
        static_cast<double>(options_.start_time_ms - std::max<int64_t>(0, options_.warm_up_ms));
    next_registration_at_ = next_checkout_at_;
    if (options_.format == ShopFormat::kDebezium) {
      for (const TableSchema* table :
           {&orders_table_, &payments_table_, &refunds_table_, &users_table_}) {
        debezium_schemas_[std::string(table->name)] = DebeziumRowSchema(*table, options_.database);
      }
      debezium_schema_change_schema_ = DebeziumSchemaChangeSchema();
    }
    if (options_.emit_ddl) Schedule(options_.start_time_ms, EventKind::kDdl, 0);
    ScheduleNextCheckout();
    ScheduleNextRegistration();
    WarmUp();
  }

  void AdvanceTo(int64_t now_ms, std::vector<CanalMessageOut>& out) {
    while (!events_.empty() && events_.top().time_ms <= now_ms) {
      const Event event = events_.top();
      events_.pop();
      now_ms_ = std::max(now_ms_, event.time_ms);
      Handle(event, out);
    }
    now_ms_ = std::max(now_ms_, now_ms);
  }

  // Lives the warm-up (everything before start_time_ms) and forgets what it
  // emitted, keeping only the orders, users and events still to come.
  void WarmUp() {
    std::vector<CanalMessageOut> discarded;
    while (!events_.empty() && events_.top().time_ms < options_.start_time_ms) {
      const Event event = events_.top();
      events_.pop();
      Handle(event, discarded);
      discarded.clear();
    }
    truth_ = ShopTruth();
  }

  int64_t now_ms() const { return now_ms_; }
  int64_t next_event_ms() const { return events_.empty() ? INT64_MAX : events_.top().time_ms; }
  const ShopTruth& truth() const { return truth_; }
  const ShopSimulatorOptions& options() const { return options_; }

 private:
  // One event is one transaction: its rows are written once it has all of
  // them (Maxwell marks the last one).
  void Handle(const Event& event, std::vector<CanalMessageOut>& out) {
    Dispatch(event, out);
    WritePendingRows(out);
  }

  void Dispatch(const Event& event, std::vector<CanalMessageOut>& out) {
    switch (event.kind) {
      case EventKind::kCheckout:
        return HandleCheckout(event, out);
      case EventKind::kRegistration:
        return HandleRegistration(event, out);
      case EventKind::kDdl:
        return HandleDdl(event, out);
      case EventKind::kFailedPayment:
        return HandleFailedPayment(event, out);
      case EventKind::kPayment:
        return HandlePayment(event, out);
      case EventKind::kCancel:
        return HandleCancel(event, out);
      case EventKind::kShip:
        return HandleShip(event, out);
      case EventKind::kComplete:
        return HandleComplete(event, out);
      case EventKind::kRefund:
        return HandleRefund(event, out);
    }
  }

  // --- arrivals -------------------------------------------------------------

  double SurgeFactorAt(double time_ms) const {
    if (options_.surge_duration_ms <= 0) return 1.0;
    const double begin = static_cast<double>(options_.start_time_ms + options_.surge_start_ms);
    const double end = begin + static_cast<double>(options_.surge_duration_ms);
    return time_ms >= begin && time_ms < end ? options_.surge_multiplier : 1.0;
  }

  double NextRateChangeAfter(double time_ms) const {
    if (options_.surge_duration_ms <= 0) return INFINITY;
    const double begin = static_cast<double>(options_.start_time_ms + options_.surge_start_ms);
    const double end = begin + static_cast<double>(options_.surge_duration_ms);
    if (time_ms < begin) return begin;
    if (time_ms < end) return end;
    return INFINITY;
  }

  // Next arrival of a Poisson process whose rate is piecewise constant:
  // memorylessness lets us restart the draw at each rate change.
  double NextArrival(double from_ms, double base_per_second) {
    double time = from_ms;
    for (;;) {
      const double per_ms = base_per_second * SurgeFactorAt(time) / 1000.0;
      const double change = NextRateChangeAfter(time);
      if (per_ms > 0) {
        const double candidate = time + random_.Exponential(1.0 / per_ms);
        if (candidate < change) return candidate;
      }
      if (std::isinf(change)) return INFINITY;
      time = change;
    }
  }

  void ScheduleNextCheckout() {
    const double orders_per_checkout = 1.0 + 2.0 * options_.multi_order_checkout_fraction;
    next_checkout_at_ =
        NextArrival(next_checkout_at_, options_.orders_per_second / orders_per_checkout);
    if (!std::isinf(next_checkout_at_)) {
      Schedule(static_cast<int64_t>(std::floor(next_checkout_at_)), EventKind::kCheckout, 0);
    }
  }

  void ScheduleNextRegistration() {
    next_registration_at_ = NextArrival(
        next_registration_at_, options_.orders_per_second * options_.registrations_per_order);
    if (!std::isinf(next_registration_at_)) {
      Schedule(static_cast<int64_t>(std::floor(next_registration_at_)), EventKind::kRegistration,
               0);
    }
  }

  // --- handlers -------------------------------------------------------------

  void HandleCheckout(const Event& event, std::vector<CanalMessageOut>& out) {
    ScheduleNextCheckout();
    const int order_count =
        random_.Uniform() < options_.multi_order_checkout_fraction ? random_.UniformInt(2, 4) : 1;
    const int64_t user_id = 1 + static_cast<int64_t>(random_.Next() % max_user_id_);
    Checkout checkout;
    checkout.channel = Pick(random_, kChannels);
    checkout.partition_key = PartitionKeyForUser(user_id);
    const int province = Pick(random_, kProvinces);

    const Transaction tx = BeginTransaction(event.time_ms, checkout.partition_key);
    std::vector<Row> rows;
    for (int i = 0; i < order_count; ++i) {
      Order order;
      order.id = next_order_id_++;
      order.user_id = user_id;
      order.channel = checkout.channel;
      order.province = province;
      order.amount_cents = DrawAmountCents();
      order.created_ms = event.time_ms;
      order.updated_ms = event.time_ms;
      order.order_no = OrderNumber(order);
      rows.push_back(OrderRow(order));
      CountCreated(order);
      checkout.order_ids.push_back(order.id);
      orders_.emplace(order.id, std::move(order));
    }
    EmitRows(tx, orders_table_, "INSERT", rows, nullptr, out);
    const int64_t checkout_id = next_checkout_id_++;
    PlanPayment(checkout_id, checkout, event.time_ms);
    checkouts_.emplace(checkout_id, std::move(checkout));
  }

  // Decides now how the checkout ends (paid or cancelled) and schedules the
  // failed attempts before that end.
  void PlanPayment(int64_t checkout_id, const Checkout& checkout, int64_t created_ms) {
    const bool pays = random_.Uniform() < kPaidShare;
    const int64_t timeout_ms = DelayMs(kCancelTimeoutSeconds);
    int64_t end_ms;
    if (pays) {
      const double delay =
          std::min(random_.LogNormal(kPaymentDelayMedianSeconds, kPaymentDelaySigma),
                   0.9 * kCancelTimeoutSeconds);
      end_ms = created_ms + DelayMs(delay);
    } else if (random_.Uniform() < kManualCancelShare) {
      end_ms = created_ms + static_cast<int64_t>(timeout_ms * (0.05 + 0.85 * random_.Uniform()));
    } else {
      end_ms = created_ms + timeout_ms;
    }
    const int failures = Pick(random_, pays ? std::span<const Weighted>(kFailuresBeforePaying)
                                            : std::span<const Weighted>(kFailuresBeforeCancelling));
    std::vector<int64_t> failure_times;
    for (int i = 0; i < failures; ++i) {
      failure_times.push_back(created_ms +
                              static_cast<int64_t>((end_ms - created_ms) * random_.Uniform()));
    }
    std::sort(failure_times.begin(), failure_times.end());
    for (int64_t time : failure_times) {
      Schedule(time, EventKind::kFailedPayment, checkout_id, PickMethod(checkout.channel));
    }
    if (pays) {
      Schedule(end_ms, EventKind::kPayment, checkout_id, PickMethod(checkout.channel));
    } else {
      Schedule(end_ms, EventKind::kCancel, checkout_id);
    }
  }

  void HandleFailedPayment(const Event& event, std::vector<CanalMessageOut>& out) {
    const Checkout& checkout = checkouts_.at(event.subject);
    const Transaction tx = BeginTransaction(event.time_ms, checkout.partition_key);
    std::vector<Row> rows;
    for (int64_t order_id : checkout.order_ids) {
      rows.push_back(PaymentRow(orders_.at(order_id), event.method, "failed", event.time_ms));
    }
    EmitRows(tx, payments_table_, "INSERT", rows, nullptr, out);
    truth_.payments_failed[std::string(kMethods[event.method])] +=
        static_cast<int64_t>(rows.size());
  }

  bool InPaymentOutage(int64_t time_ms) const {
    const int64_t start = options_.start_time_ms + options_.payment_outage_start_ms;
    return options_.payment_outage_duration_ms > 0 && time_ms >= start &&
           time_ms < start + options_.payment_outage_duration_ms;
  }

  void HandlePayment(const Event& event, std::vector<CanalMessageOut>& out) {
    if (InPaymentOutage(event.time_ms)) {
      // The attempt fails; the customer tries again once payments work.
      HandleFailedPayment(event, out);
      const int64_t outage_end = options_.start_time_ms + options_.payment_outage_start_ms +
                                 options_.payment_outage_duration_ms;
      Schedule(outage_end + static_cast<int64_t>(5000 * random_.Uniform()), EventKind::kPayment,
               event.subject, event.method);
      return;
    }
    const Checkout checkout = std::move(checkouts_.at(event.subject));
    checkouts_.erase(event.subject);
    const Transaction tx = BeginTransaction(event.time_ms, checkout.partition_key);
    std::vector<Row> payments;
    std::vector<Row> before;
    std::vector<Row> after;
    for (int64_t order_id : checkout.order_ids) {
      Order& order = orders_.at(order_id);
      payments.push_back(PaymentRow(order, event.method, "success", event.time_ms));
      before.push_back(OrderRow(order));
      order.method = event.method;
      order.paid_ms = event.time_ms;
      order.status = OrderStatus::kPaid;
      order.updated_ms = event.time_ms;
      after.push_back(OrderRow(order));
    }
    EmitRows(tx, payments_table_, "INSERT", payments, nullptr, out);
    EmitRows(tx, orders_table_, "UPDATE", after, &before, out);
    for (int64_t order_id : checkout.order_ids) {
      Order& order = orders_.at(order_id);
      CountPaid(order);
      PlanFulfilment(order);
    }
  }

  void PlanFulfilment(Order& order) {
    order.refund = random_.Uniform() < kRefundShare;
    order.refund_after_shipping = order.refund && random_.Uniform() < 0.5;
    if (order.refund && !order.refund_after_shipping) {
      Schedule(order.paid_ms + DelayMs(random_.LogNormal(kRefundBeforeShippingMedianSeconds, 0.7)),
               EventKind::kRefund, order.id);
    } else {
      Schedule(order.paid_ms + DelayMs(random_.LogNormal(kShipDelayMedianSeconds, 0.6)),
               EventKind::kShip, order.id);
    }
  }

  void HandleCancel(const Event& event, std::vector<CanalMessageOut>& out) {
    const Checkout checkout = std::move(checkouts_.at(event.subject));
    checkouts_.erase(event.subject);
    const Transaction tx = BeginTransaction(event.time_ms, checkout.partition_key);
    std::vector<Row> before;
    std::vector<Row> after;
    for (int64_t order_id : checkout.order_ids) {
      Order& order = orders_.at(order_id);
      before.push_back(OrderRow(order));
      ChangeStatus(order, OrderStatus::kCancelled, event.time_ms);
      after.push_back(OrderRow(order));
    }
    EmitRows(tx, orders_table_, "UPDATE", after, &before, out);
    truth_.orders_cancelled[std::string(kChannels[checkout.channel].value)] +=
        static_cast<int64_t>(checkout.order_ids.size());
    for (int64_t order_id : checkout.order_ids) orders_.erase(order_id);
  }

  void HandleShip(const Event& event, std::vector<CanalMessageOut>& out) {
    Order& order = orders_.at(event.subject);
    UpdateOrderStatus(order, OrderStatus::kShipped, event.time_ms, out);
    if (order.refund) {
      Schedule(event.time_ms + DelayMs(random_.LogNormal(kRefundAfterShippingMedianSeconds, 0.7)),
               EventKind::kRefund, order.id);
    } else {
      Schedule(event.time_ms + DelayMs(random_.LogNormal(kCompleteDelayMedianSeconds, 0.5)),
               EventKind::kComplete, order.id);
    }
  }

  void HandleComplete(const Event& event, std::vector<CanalMessageOut>& out) {
    Order& order = orders_.at(event.subject);
    UpdateOrderStatus(order, OrderStatus::kCompleted, event.time_ms, out);
    orders_.erase(event.subject);
  }

  void HandleRefund(const Event& event, std::vector<CanalMessageOut>& out) {
    Order& order = orders_.at(event.subject);
    const Transaction tx = BeginTransaction(event.time_ms, PartitionKeyForUser(order.user_id));
    Row refund = {std::to_string(next_refund_id_++), std::to_string(order.id),
                  FormatCents(order.amount_cents),
                  std::string(kRefundReasons[Pick(random_, kRefundReasons)].value),
                  DateTimeText(event.time_ms)};
    EmitRows(tx, refunds_table_, "INSERT", {refund}, nullptr, out);
    const std::vector<Row> before = {OrderRow(order)};
    ChangeStatus(order, OrderStatus::kRefunded, event.time_ms);
    EmitRows(tx, orders_table_, "UPDATE", {OrderRow(order)}, &before, out);
    truth_.refunds += 1;
    truth_.refund_amount_cents += order.amount_cents;
    orders_.erase(event.subject);
  }

  void HandleRegistration(const Event& event, std::vector<CanalMessageOut>& out) {
    ScheduleNextRegistration();
    const int64_t user_id = ++max_user_id_;
    const int channel = Pick(random_, kChannels);
    const int province = Pick(random_, kProvinces);
    const Transaction tx = BeginTransaction(event.time_ms, PartitionKeyForUser(user_id));
    Row user = {std::to_string(user_id), std::string(kChannels[channel].value),
                std::string(kProvinces[province].value), DateTimeText(event.time_ms)};
    EmitRows(tx, users_table_, "INSERT", {user}, nullptr, out);
    truth_.user_registrations[std::string(kChannels[channel].value)] += 1;
  }

  void HandleDdl(const Event& event, std::vector<CanalMessageOut>& out) {
    const DdlStatement& ddl = kDdlStatements[ddl_count_++ % std::size(kDdlStatements)];
    if (options_.ddl_interval_ms > 0) {
      Schedule(event.time_ms + options_.ddl_interval_ms, EventKind::kDdl, 0);
    }
    const Transaction tx = BeginTransaction(event.time_ms, 0);
    truth_.ddl_messages += 1;
    const int64_t position = NextBinlogPosition(1);
    switch (options_.format) {
      case ShopFormat::kCanal:
        break;
      case ShopFormat::kDebezium:
      case ShopFormat::kDebeziumNoSchema:
        return WriteDebeziumSchemaChange(tx, ddl, position, out);
      case ShopFormat::kMaxwell:
        return WriteMaxwellDdl(tx, ddl, position, out);
    }
    CanalMessageOut& message = StartMessage(tx, ddl.type, out);
    JsonWriter json;
    json.BeginObject().Key("data").Null().Field("database", options_.database);
    WriteClockAndId(json, tx);
    json.Key("isDdl").Bool(true).Key("mysqlType").Null().Key("old").Null();
    json.Key("pkNames").Null().Field("sql", ddl.sql).Key("sqlType").Null();
    json.Field("table", ddl.table);
    WriteTsAndType(json, tx, ddl.type);
    message.json = json.Take();
  }

  // --- order changes --------------------------------------------------------

  void ChangeStatus(Order& order, OrderStatus to, int64_t time_ms) {
    truth_.status_transitions[{kStatusNames[static_cast<int>(order.status)],
                               kStatusNames[static_cast<int>(to)]}] += 1;
    order.status = to;
    order.updated_ms = time_ms;
  }

  void UpdateOrderStatus(Order& order, OrderStatus to, int64_t time_ms,
                         std::vector<CanalMessageOut>& out) {
    const Transaction tx = BeginTransaction(time_ms, PartitionKeyForUser(order.user_id));
    std::vector<Row> before = {OrderRow(order)};
    ChangeStatus(order, to, time_ms);
    EmitRows(tx, orders_table_, "UPDATE", {OrderRow(order)}, &before, out);
  }

  void CountCreated(const Order& order) {
    truth_.orders_created[{std::string(kChannels[order.channel].value),
                           std::string(kProvinces[order.province].value)}] += 1;
    if (options_.record_each_order) truth_.order_amounts_cents.push_back(order.amount_cents);
  }

  void CountPaid(const Order& order) {
    const std::string channel(kChannels[order.channel].value);
    const std::string method(kMethods[order.method]);
    truth_.orders_paid[{channel, method}] += 1;
    truth_.paid_amount_cents[{channel, method}] += order.amount_cents;
    truth_.payments_succeeded[method] += 1;
    truth_.status_transitions[{"created", "paid"}] += 1;
    if (options_.record_each_order) {
      truth_.payment_delays_seconds.push_back(FloorDiv(order.paid_ms, 1000) -
                                              FloorDiv(order.created_ms, 1000));
    }
  }

  // --- rows -----------------------------------------------------------------

  Row OrderRow(const Order& order) {
    Row row;
    row.reserve(std::size(kOrderColumns));
    row.emplace_back(std::to_string(order.id));
    row.emplace_back(order.order_no);
    row.emplace_back(std::to_string(order.user_id));
    row.emplace_back(std::string(kChannels[order.channel].value));
    row.emplace_back(std::string(kProvinces[order.province].value));
    if (order.method >= 0) {
      row.emplace_back(std::string(kMethods[order.method]));
    } else {
      row.emplace_back(std::nullopt);
    }
    row.emplace_back(FormatCents(order.amount_cents));
    row.emplace_back(kStatusNames[static_cast<int>(order.status)]);
    row.emplace_back(DateTimeText(order.created_ms));
    if (order.paid_ms >= 0) {
      row.emplace_back(DateTimeText(order.paid_ms));
    } else {
      row.emplace_back(std::nullopt);
    }
    row.emplace_back(DateTimeText(order.updated_ms));
    return row;
  }

  Row PaymentRow(const Order& order, int method, const char* result, int64_t time_ms) {
    return Row{
        std::to_string(next_payment_id_++), std::to_string(order.id), std::string(kMethods[method]),
        FormatCents(order.amount_cents),    std::string(result),      DateTimeText(time_ms)};
  }

  std::string OrderNumber(const Order& order) {
    const std::string& created = DateTimeText(order.created_ms);  // "YYYY-MM-DD ..."
    char text[40];
    std::snprintf(text, sizeof text, "%.4s%.2s%.2s%012lld", created.c_str(), created.c_str() + 5,
                  created.c_str() + 8, static_cast<long long>(order.id));
    return text;
  }

  int64_t DrawAmountCents() {
    const double yuan =
        std::clamp(random_.LogNormal(kAmountMedianYuan, kAmountSigma), 1.0, 99999.99);
    return std::llround(yuan * 100);
  }

  int PickMethod(int channel) {
    const bool mini_program = kChannels[channel].value == "mini_program";
    return Pick(random_, mini_program ? std::span<const Weighted>(kMiniProgramMethods)
                                      : std::span<const Weighted>(kOtherMethods));
  }

  // MySQL DATETIME text (whole seconds) in the process's time zone.
  const std::string& DateTimeText(int64_t time_ms) {
    const int64_t second = FloorDiv(time_ms, 1000);
    if (second != cached_second_) {
      const time_t seconds = static_cast<time_t>(second);
      struct tm parts;
      localtime_r(&seconds, &parts);
      char text[64];
      std::snprintf(text, sizeof text, "%04d-%02d-%02d %02d:%02d:%02d", parts.tm_year + 1900,
                    parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec);
      cached_second_ = second;
      cached_text_ = text;
    }
    return cached_text_;
  }

  int64_t DelayMs(double seconds) const {
    return std::max<int64_t>(0, std::llround(seconds * 1000.0 / options_.time_scale));
  }

  // --- messages -------------------------------------------------------------

  Transaction BeginTransaction(int64_t commit_ms, int32_t partition_key) {
    const int64_t canal_ts = commit_ms + random_.UniformInt(kCanalDelayMinMs, kCanalDelayMaxMs);
    return Transaction{commit_ms, ++batch_id_, canal_ts, partition_key};
  }

  CanalMessageOut& StartMessage(const Transaction& tx, std::string_view type,
                                std::vector<CanalMessageOut>& out) {
    CanalMessageOut& message = out.emplace_back();
    message.partition_key_hash = tx.partition_key;
    message.commit_time_ms = tx.commit_ms;
    truth_.messages += 1;
    truth_.messages_by_type[std::string(type)] += 1;
    return message;
  }

  // Where the next binlog event of `rows` rows starts; moves the position on
  // by a plausible event size.
  int64_t NextBinlogPosition(size_t rows) {
    const int64_t position = binlog_pos_;
    binlog_pos_ += 120 + 160 * static_cast<int64_t>(rows);
    return position;
  }

  void WriteClockAndId(JsonWriter& json, const Transaction& tx) {
    json.Key("es").Int(FloorDiv(tx.commit_ms, 1000) * 1000);  // binlog header: whole seconds
    json.Key("id").Int(tx.batch_id);
  }

  // The last fields; closes the message.
  void WriteTsAndType(JsonWriter& json, const Transaction& tx, std::string_view type) {
    json.Key("ts").Int(tx.canal_ts).Field("type", type).EndObject();
  }

  // One rows event as Canal's flat message: fields in fastjson's alphabetical
  // order. For UPDATE, `before` holds the before-images and `old` lists the
  // changed columns; like Canal, the changed-column set accumulates across the
  // rows of one message.
  // Debezium and Maxwell: one message per row, written by WritePendingRows
  // once the transaction has all its rows.
  void EmitRows(const Transaction& tx, const TableSchema& table, std::string_view type,
                const std::vector<Row>& after, const std::vector<Row>* before,
                std::vector<CanalMessageOut>& out) {
    if (options_.format == ShopFormat::kCanal)
      return EmitCanalRows(tx, table, type, after, before, out);
    const int64_t position = NextBinlogPosition(after.size());
    for (size_t i = 0; i < after.size(); ++i) {
      PendingRow& row = pending_rows_.emplace_back();
      row.tx = tx;
      row.table = &table;
      row.update = type == "UPDATE";
      row.after = after[i];
      if (before != nullptr) row.before = (*before)[i];
      row.binlog_pos = position;
      row.row_in_event = static_cast<int>(i);
    }
    truth_.rows[{std::string(table.name), std::string(type)}] += static_cast<int64_t>(after.size());
    truth_.rows_total += static_cast<int64_t>(after.size());
  }

  void EmitCanalRows(const Transaction& tx, const TableSchema& table, std::string_view type,
                     const std::vector<Row>& after, const std::vector<Row>* before,
                     std::vector<CanalMessageOut>& out) {
    CanalMessageOut& message = StartMessage(tx, type, out);
    JsonWriter json;
    json.BeginObject().Key("data").BeginArray();
    for (const Row& row : after) WriteRowObject(json, table, row, nullptr);
    json.EndArray().Field("database", options_.database);
    WriteClockAndId(json, tx);
    json.Key("isDdl").Bool(false).Key("mysqlType");
    table.WriteMysqlTypes(json);
    json.Key("old");
    if (before == nullptr) {
      json.Null();
    } else {
      std::vector<bool> changed(table.columns.size(), false);
      json.BeginArray();
      for (size_t i = 0; i < after.size(); ++i) {
        for (size_t c = 0; c < changed.size(); ++c) {
          if ((*before)[i][c] != after[i][c]) changed[c] = true;
        }
        WriteRowObject(json, table, (*before)[i], &changed);
      }
      json.EndArray();
    }
    json.Key("pkNames").BeginArray().String("id").EndArray().Field("sql", "");
    json.Key("sqlType");
    table.WriteSqlTypes(json);
    json.Field("table", table.name);
    WriteTsAndType(json, tx, type);
    message.json = json.Take();
    truth_.rows[{std::string(table.name), std::string(type)}] += static_cast<int64_t>(after.size());
    truth_.rows_total += static_cast<int64_t>(after.size());
  }

  // --- Debezium and Maxwell ---------------------------------------------------

  struct PendingRow {
    Transaction tx;
    const TableSchema* table = nullptr;
    bool update = false;  // else an insert
    Row after;
    Row before;  // updates
    int64_t binlog_pos = 0;
    int row_in_event = 0;
  };

  void WritePendingRows(std::vector<CanalMessageOut>& out) {
    if (pending_rows_.empty()) return;
    const int64_t xid = ++maxwell_xid_;
    for (size_t i = 0; i < pending_rows_.size(); ++i) {
      const bool last = i + 1 == pending_rows_.size();
      if (options_.format == ShopFormat::kMaxwell) {
        WriteMaxwellRow(pending_rows_[i], xid, static_cast<int64_t>(i), last, out);
      } else {
        WriteDebeziumRow(pending_rows_[i], out);
      }
    }
    pending_rows_.clear();
  }

  // source{...} as the MySQL connector 2.4 fills it for a binlog event.
  void WriteDebeziumSource(JsonWriter& json, const Transaction& tx, std::string_view table,
                           int64_t binlog_pos, int row) {
    json.Key("source").BeginObject();
    json.Field("version", "2.4.1.Final").Field("connector", "mysql").Field("name", "shop");
    json.Key("ts_ms").Int(FloorDiv(tx.commit_ms, 1000) * 1000);  // binlog header: whole seconds
    json.Field("snapshot", "false").Field("db", options_.database).Key("sequence").Null();
    json.Field("table", table).Key("server_id").Int(1).Key("gtid").Null();
    json.Field("file", kBinlogFile).Key("pos").Int(binlog_pos).Key("row").Int(row);
    json.Key("thread").Int(tx.partition_key % 1000).Key("query").Null().EndObject();
  }

  void WriteDebeziumImage(JsonWriter& json, const TableSchema& table, const Row& row) {
    json.BeginObject();
    for (size_t c = 0; c < table.columns.size(); ++c) {
      json.Key(table.columns[c].name);
      WriteTypedValue(json, table.columns[c], row[c], options_.format);
    }
    json.EndObject();
  }

  // Opens the message; with the envelope, as {"schema":…,"payload":{.
  void BeginDebeziumMessage(JsonWriter& json, const std::string& schema) {
    json.BeginObject();
    if (options_.format == ShopFormat::kDebezium) {
      json.Key("schema").Raw(schema).Key("payload").BeginObject();
    }
  }

  void EndDebeziumMessage(JsonWriter& json) {
    if (options_.format == ShopFormat::kDebezium) json.EndObject();
    json.EndObject();
  }

  void WriteDebeziumRow(const PendingRow& row, std::vector<CanalMessageOut>& out) {
    const std::string_view op = row.update ? "u" : "c";
    CanalMessageOut& message = StartMessage(row.tx, op, out);
    JsonWriter json;
    BeginDebeziumMessage(json, debezium_schemas_[std::string(row.table->name)]);
    json.Key("before");
    if (row.update) {
      WriteDebeziumImage(json, *row.table, row.before);
    } else {
      json.Null();
    }
    json.Key("after");
    WriteDebeziumImage(json, *row.table, row.after);
    WriteDebeziumSource(json, row.tx, row.table->name, row.binlog_pos, row.row_in_event);
    json.Field("op", op).Key("ts_ms").Int(row.tx.canal_ts).Key("transaction").Null();
    EndDebeziumMessage(json);
    message.json = json.Take();
  }

  // A schema-change event, as the connector writes it to its schema-change
  // topic (here the shop's one topic, which the agent reads and skips).
  void WriteDebeziumSchemaChange(const Transaction& tx, const DdlStatement& ddl, int64_t position,
                                 std::vector<CanalMessageOut>& out) {
    CanalMessageOut& message = StartMessage(tx, "schema_change", out);
    JsonWriter json;
    BeginDebeziumMessage(json, debezium_schema_change_schema_);
    WriteDebeziumSource(json, tx, ddl.table, position, 0);
    json.Key("ts_ms").Int(tx.canal_ts).Field("databaseName", options_.database);
    json.Key("schemaName").Null().Field("ddl", ddl.sql).Key("tableChanges").BeginArray();
    json.BeginObject().Field("type", ddl.type);
    json.Field("id", "\"" + options_.database + "\".\"" + std::string(ddl.table) + "\"");
    json.Key("table").BeginObject().Field("defaultCharsetName", "utf8mb4");
    json.Key("primaryKeyColumnNames").BeginArray().String("id").EndArray();
    json.Key("columns").BeginArray();
    const TableSchema& table = TableNamed(ddl.table);
    for (size_t c = 0; c < table.columns.size(); ++c) {
      const Column& column = table.columns[c];
      int length, scale;
      TypeArguments(column.mysql_type, &length, &scale);
      std::string type_name(column.mysql_type.substr(0, column.mysql_type.find('(')));
      for (char& ch : type_name)
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      json.BeginObject().Field("name", column.name).Key("jdbcType").Int(column.sql_type);
      json.Key("nativeType").Null().Field("typeName", type_name).Field("typeExpression", type_name);
      json.Key("charsetName");
      column.sql_type == kVarchar ? json.String("utf8mb4") : json.Null();
      json.Key("length");
      length >= 0 ? json.Int(length) : json.Null();
      json.Key("scale");
      scale >= 0 ? json.Int(scale) : json.Null();
      json.Key("position")
          .Int(static_cast<int64_t>(c) + 1)
          .Key("optional")
          .Bool(column.name != "id");
      json.Key("autoIncremented")
          .Bool(column.name == "id")
          .Key("generated")
          .Bool(column.name == "id");
      json.EndObject();
    }
    json.EndArray().EndObject().EndObject().EndArray();
    EndDebeziumMessage(json);
    message.json = json.Take();
  }

  // Maxwell's field order (RowMap.toJSON): database, table, type, ts, xid,
  // xoffset or commit, position, data, old.
  void WriteMaxwellRow(const PendingRow& row, int64_t xid, int64_t xoffset, bool commit,
                       std::vector<CanalMessageOut>& out) {
    const std::string_view type = row.update ? "update" : "insert";
    CanalMessageOut& message = StartMessage(row.tx, type, out);
    JsonWriter json;
    json.BeginObject().Field("database", options_.database).Field("table", row.table->name);
    json.Field("type", type).Key("ts").Int(FloorDiv(row.tx.commit_ms, 1000)).Key("xid").Int(xid);
    if (commit) {
      json.Key("commit").Bool(true);
    } else {
      json.Key("xoffset").Int(xoffset);
    }
    json.Field("position", std::string(kBinlogFile) + ":" + std::to_string(row.binlog_pos));
    json.Key("data").BeginObject();
    const std::span<const Column> columns = row.table->columns;
    for (size_t c = 0; c < columns.size(); ++c) {
      json.Key(columns[c].name);
      WriteTypedValue(json, columns[c], row.after[c], options_.format);
    }
    json.EndObject();
    if (row.update) {
      json.Key("old").BeginObject();  // the changed columns' previous values
      for (size_t c = 0; c < columns.size(); ++c) {
        if (row.before[c] == row.after[c]) continue;
        json.Key(columns[c].name);
        WriteTypedValue(json, columns[c], row.before[c], options_.format);
      }
      json.EndObject();
    }
    json.EndObject();
    message.json = json.Take();
  }

  // Maxwell with output_ddl: table-alter / table-create, `ts` in ms, the
  // table's definition in `def`.
  void WriteMaxwellDdl(const Transaction& tx, const DdlStatement& ddl, int64_t position,
                       std::vector<CanalMessageOut>& out) {
    const std::string_view type = ddl.type == "CREATE" ? "table-create" : "table-alter";
    CanalMessageOut& message = StartMessage(tx, type, out);
    JsonWriter json;
    json.BeginObject().Field("type", type).Field("database", options_.database);
    json.Field("table", ddl.table);
    const TableSchema& table = TableNamed(ddl.table);
    auto write_def = [&](std::string_view name) {
      json.Key("def")
          .BeginObject()
          .Field("database", options_.database)
          .Field("charset", "utf8mb4");
      json.Field("table", name).Key("columns").BeginArray();
      for (const Column& column : table.columns) {
        std::string_view type_name = column.mysql_type.substr(0, column.mysql_type.find('('));
        json.BeginObject().Field("type", type_name).Field("name", column.name);
        if (column.sql_type == kBigint) json.Key("signed").Bool(true);
        if (column.sql_type == kVarchar) json.Field("charset", "utf8mb4");
        json.EndObject();
      }
      json.EndArray().Key("primary-key").BeginArray().String("id").EndArray().EndObject();
    };
    write_def(ddl.table);
    json.Key("ts").Int(tx.commit_ms).Field("sql", ddl.sql);
    json.Field("position", std::string(kBinlogFile) + ":" + std::to_string(position));
    json.EndObject();
    message.json = json.Take();
  }

  // The table a DDL statement names; orders_archive is `LIKE orders`.
  const TableSchema& TableNamed(std::string_view name) const {
    if (name == payments_table_.name) return payments_table_;
    if (name == refunds_table_.name) return refunds_table_;
    if (name == users_table_.name) return users_table_;
    return orders_table_;
  }

  void Schedule(int64_t time_ms, EventKind kind, int64_t subject, int method = -1) {
    events_.push(Event{time_ms, next_sequence_++, kind, subject, method});
  }

  const ShopSimulatorOptions options_;
  Random random_;
  const TableSchema orders_table_;
  const TableSchema payments_table_;
  const TableSchema refunds_table_;
  const TableSchema users_table_;
  ShopTruth truth_;

  int64_t now_ms_;
  std::priority_queue<Event, std::vector<Event>, LaterFirst> events_;
  uint64_t next_sequence_ = 0;
  double next_checkout_at_ = 0;
  double next_registration_at_ = 0;

  std::unordered_map<int64_t, Order> orders_;        // not yet completed/cancelled/refunded
  std::unordered_map<int64_t, Checkout> checkouts_;  // not yet paid or cancelled
  int64_t max_user_id_;
  int64_t next_order_id_ = 1000001;
  int64_t next_payment_id_ = 5000001;
  int64_t next_refund_id_ = 9001;
  int64_t next_checkout_id_ = 1;
  int64_t batch_id_ = 0;
  size_t ddl_count_ = 0;

  int64_t cached_second_ = INT64_MIN;
  std::string cached_text_;

  // Debezium and Maxwell.
  static constexpr std::string_view kBinlogFile = "mysql-bin.000003";
  std::vector<PendingRow> pending_rows_;  // the transaction being written
  int64_t maxwell_xid_ = 7000000;
  int64_t binlog_pos_ = 157;
  std::map<std::string, std::string> debezium_schemas_;  // by table, with the envelope
  std::string debezium_schema_change_schema_;
};

ShopSimulator::ShopSimulator(ShopSimulatorOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

ShopSimulator::~ShopSimulator() = default;

void ShopSimulator::AdvanceTo(int64_t now_ms, std::vector<CanalMessageOut>& out) {
  impl_->AdvanceTo(now_ms, out);
}

int64_t ShopSimulator::now_ms() const { return impl_->now_ms(); }
int64_t ShopSimulator::next_event_ms() const { return impl_->next_event_ms(); }
const ShopTruth& ShopSimulator::truth() const { return impl_->truth(); }
const ShopSimulatorOptions& ShopSimulator::options() const { return impl_->options(); }

}  // namespace txmon
