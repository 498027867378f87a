// The simulated shop must write what Canal writes, and its ground truth must
// be exactly what its rows say: both are checked here by parsing every
// message independently of the agent's decoder.
#include "agent/demo/shop_simulator.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agent/base/civil_time.h"

namespace txmon {
namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
// 2024-11-11 00:00:00 in Asia/Shanghai.
constexpr int64_t kDouble11 = 1731254400000;

using Row = std::vector<std::pair<std::string, std::optional<std::string>>>;

struct ParsedMessage {
  std::vector<std::string> keys;
  std::optional<std::vector<Row>> data;
  std::string database;
  int64_t es = 0;
  int64_t id = 0;
  bool is_ddl = false;
  std::optional<std::vector<std::string>> mysql_type_keys;
  std::optional<std::vector<Row>> old;
  std::optional<std::vector<std::string>> pk_names;
  std::string sql;
  std::optional<std::vector<std::pair<std::string, int64_t>>> sql_type;
  std::string table;
  int64_t ts = 0;
  std::string type;
};

std::optional<std::vector<Row>> ParseRows(simdjson::dom::element element) {
  if (element.is_null()) return std::nullopt;
  std::vector<Row> rows;
  for (simdjson::dom::element row_element : element.get_array()) {
    Row row;
    for (simdjson::dom::key_value_pair field : row_element.get_object()) {
      std::optional<std::string> value;
      if (!field.value.is_null()) {
        std::string_view text;
        EXPECT_EQ(field.value.get_string().get(text), simdjson::SUCCESS)
            << "values are strings or null: " << field.key;
        value = std::string(text);
      }
      row.emplace_back(std::string(field.key), value);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

ParsedMessage Parse(const std::string& json) {
  static simdjson::dom::parser parser;
  simdjson::dom::element root;
  EXPECT_EQ(parser.parse(json).get(root), simdjson::SUCCESS) << json;
  ParsedMessage message;
  for (simdjson::dom::key_value_pair field : root.get_object()) {
    const std::string key(field.key);
    message.keys.push_back(key);
    simdjson::dom::element value = field.value;
    if (key == "data") {
      message.data = ParseRows(value);
    } else if (key == "old") {
      message.old = ParseRows(value);
    } else if (key == "database") {
      message.database = std::string(value.get_string().value());
    } else if (key == "es") {
      message.es = value.get_int64().value();
    } else if (key == "id") {
      message.id = value.get_int64().value();
    } else if (key == "isDdl") {
      message.is_ddl = value.get_bool().value();
    } else if (key == "mysqlType" && !value.is_null()) {
      message.mysql_type_keys.emplace();
      for (simdjson::dom::key_value_pair type : value.get_object()) {
        message.mysql_type_keys->emplace_back(type.key);
      }
    } else if (key == "pkNames" && !value.is_null()) {
      message.pk_names.emplace();
      for (simdjson::dom::element name : value.get_array()) {
        message.pk_names->emplace_back(name.get_string().value());
      }
    } else if (key == "sql") {
      message.sql = std::string(value.get_string().value());
    } else if (key == "sqlType" && !value.is_null()) {
      message.sql_type.emplace();
      for (simdjson::dom::key_value_pair type : value.get_object()) {
        message.sql_type->emplace_back(std::string(type.key), type.value.get_int64().value());
      }
    } else if (key == "table") {
      message.table = std::string(value.get_string().value());
    } else if (key == "ts") {
      message.ts = value.get_int64().value();
    } else if (key == "type") {
      message.type = std::string(value.get_string().value());
    }
  }
  return message;
}

std::optional<std::string> Get(const Row& row, const std::string& column) {
  for (const auto& [name, value] : row) {
    if (name == column) return value;
  }
  ADD_FAILURE() << "no column " << column;
  return std::nullopt;
}

bool Has(const Row& row, const std::string& column) {
  return std::any_of(row.begin(), row.end(),
                     [&](const auto& field) { return field.first == column; });
}

std::string Text(const Row& row, const std::string& column) {
  return Get(row, column).value_or("<null>");
}

int64_t Cents(const std::string& amount) {
  const size_t dot = amount.find('.');
  EXPECT_NE(dot, std::string::npos) << amount;
  EXPECT_EQ(amount.size() - dot, 3u) << "two decimals: " << amount;
  return std::stoll(amount.substr(0, dot)) * 100 + std::stoll(amount.substr(dot + 1));
}

int64_t SecondsBetween(const std::string& from, const std::string& to) {
  // Asia/Shanghai has no daylight saving: wall-clock differences are real.
  return (*ParseCivilMicros(to) - *ParseCivilMicros(from)) / 1000000;
}

std::vector<CanalMessageOut> Simulate(const ShopSimulatorOptions& options, int64_t duration_ms,
                                      ShopSimulator** keep = nullptr) {
  static std::vector<std::unique_ptr<ShopSimulator>> simulators;  // keeps truth() alive
  simulators.push_back(std::make_unique<ShopSimulator>(options));
  std::vector<CanalMessageOut> out;
  simulators.back()->AdvanceTo(options.start_time_ms + duration_ms, out);
  if (keep != nullptr) *keep = simulators.back().get();
  return out;
}

ShopSimulatorOptions DemoOptions(uint64_t seed) {
  ShopSimulatorOptions options;
  options.seed = seed;
  options.orders_per_second = 20;
  options.start_time_ms = kDouble11;
  options.time_scale = 30;  // whole order lives within the run
  options.ddl_interval_ms = kMinute;
  return options;
}

class ShopSimulatorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
  }
};

TEST_F(ShopSimulatorTest, SameSeedGivesSameMessagesHoweverTheStepsAreCut) {
  const ShopSimulatorOptions options = DemoOptions(42);
  std::vector<CanalMessageOut> at_once = Simulate(options, 3 * kMinute);

  ShopSimulator stepped(options);
  std::vector<CanalMessageOut> in_steps;
  for (int64_t now = options.start_time_ms; now <= options.start_time_ms + 3 * kMinute;
       now += 137) {
    stepped.AdvanceTo(now, in_steps);
  }
  stepped.AdvanceTo(options.start_time_ms + 3 * kMinute, in_steps);

  ASSERT_EQ(at_once.size(), in_steps.size());
  ASSERT_GT(at_once.size(), 1000u);
  for (size_t i = 0; i < at_once.size(); ++i) {
    ASSERT_EQ(at_once[i].json, in_steps[i].json) << i;
    ASSERT_EQ(at_once[i].partition_key_hash, in_steps[i].partition_key_hash);
    ASSERT_EQ(at_once[i].commit_time_ms, in_steps[i].commit_time_ms);
  }

  std::vector<CanalMessageOut> other_seed = Simulate(DemoOptions(43), 3 * kMinute);
  EXPECT_FALSE(other_seed.size() == at_once.size() &&
               std::equal(other_seed.begin(), other_seed.end(), at_once.begin(),
                          [](const auto& a, const auto& b) { return a.json == b.json; }));
}

TEST_F(ShopSimulatorTest, EveryMessageIsACanalFlatMessage) {
  const std::vector<std::string> kFieldOrder = {
      "data",    "database", "es",      "id",    "isDdl", "mysqlType", "old",
      "pkNames", "sql",      "sqlType", "table", "ts",    "type"};
  const std::set<int64_t> kSqlTypes = {-5, 12, 3, 93};
  std::vector<CanalMessageOut> messages = Simulate(DemoOptions(7), 4 * kMinute);
  ASSERT_GT(messages.size(), 1000u);

  int64_t previous_commit = 0;
  int64_t previous_id = 0;
  bool shared_batch_id = false;
  for (const CanalMessageOut& out : messages) {
    SCOPED_TRACE(out.json);
    const ParsedMessage message = Parse(out.json);
    EXPECT_EQ(message.keys, kFieldOrder);
    EXPECT_EQ(message.database, "shop");
    EXPECT_GE(out.partition_key_hash, 0);
    EXPECT_GE(out.commit_time_ms, previous_commit);  // commit order
    previous_commit = out.commit_time_ms;
    EXPECT_EQ(message.es, out.commit_time_ms / 1000 * 1000);  // whole seconds
    EXPECT_GE(message.ts - out.commit_time_ms, 2);
    EXPECT_LE(message.ts - out.commit_time_ms, 20);
    EXPECT_GE(message.id, previous_id);
    shared_batch_id |= message.id == previous_id;
    previous_id = message.id;

    if (message.is_ddl) {
      EXPECT_TRUE(message.type == "ALTER" || message.type == "CREATE") << message.type;
      EXPECT_FALSE(message.data || message.old || message.pk_names || message.mysql_type_keys ||
                   message.sql_type);
      EXPECT_FALSE(message.sql.empty());
      continue;
    }
    ASSERT_TRUE(message.data);
    ASSERT_FALSE(message.data->empty());
    EXPECT_EQ(message.pk_names, std::vector<std::string>{"id"});
    EXPECT_EQ(message.sql, "");
    ASSERT_TRUE(message.mysql_type_keys && message.sql_type);
    std::vector<std::string> columns;
    for (const auto& [name, code] : *message.sql_type) {
      columns.push_back(name);
      EXPECT_EQ(kSqlTypes.count(code), 1u) << name;
    }
    EXPECT_EQ(*message.mysql_type_keys, columns);
    for (const Row& row : *message.data) {
      std::vector<std::string> names;
      for (const auto& field : row) names.push_back(field.first);
      EXPECT_EQ(names, columns);  // every column, in table order
    }
    if (message.type == "INSERT") {
      EXPECT_FALSE(message.old);
      continue;
    }
    ASSERT_EQ(message.type, "UPDATE");
    ASSERT_TRUE(message.old);
    ASSERT_EQ(message.old->size(), message.data->size());
    std::set<std::string> listed_so_far;
    for (size_t i = 0; i < message.old->size(); ++i) {
      const Row& old = (*message.old)[i];
      EXPECT_TRUE(Has(old, "status"));
      std::set<std::string> listed;
      for (const auto& [name, value] : old) {
        listed.insert(name);
        // Only changed columns, except that Canal keeps listing a column a
        // previous row of the message changed.
        if (message.data->size() == 1) {
          EXPECT_NE(value, Get((*message.data)[i], name)) << name;
        }
      }
      EXPECT_TRUE(
          std::includes(listed.begin(), listed.end(), listed_so_far.begin(), listed_so_far.end()));
      listed_so_far = listed;
    }
  }
  EXPECT_TRUE(shared_batch_id);  // a payment INSERT and its order UPDATE share a batch
}

TEST_F(ShopSimulatorTest, DatetimesAreWrittenInTheLocalZone) {
  ShopSimulatorOptions options = DemoOptions(3);
  options.emit_ddl = false;
  std::vector<CanalMessageOut> messages = Simulate(options, 10 * kSecond);
  ASSERT_FALSE(messages.empty());
  const ParsedMessage first = Parse(messages.front().json);
  const std::string created = Text(first.data->front(), "created_at");
  EXPECT_EQ(created.substr(0, 17), "2024-11-11 00:00:") << created;
  // The text is the commit instant's wall clock in Asia/Shanghai.
  EXPECT_EQ(*ParseCivilMicros(created) / 1000 - 8 * 3600 * 1000, first.es);
}

// Recount every fact of ShopTruth from the messages alone.
TEST_F(ShopSimulatorTest, TruthIsExactlyWhatTheRowsSay) {
  ShopSimulator* simulator = nullptr;
  std::vector<CanalMessageOut> messages = Simulate(DemoOptions(11), 5 * kMinute, &simulator);
  ShopTruth counted;
  std::map<std::string, std::string> created_at;  // order id -> created_at
  for (const CanalMessageOut& out : messages) {
    const ParsedMessage message = Parse(out.json);
    counted.messages += 1;
    if (message.is_ddl) {
      counted.ddl_messages += 1;
      continue;
    }
    for (size_t i = 0; i < message.data->size(); ++i) {
      const Row& row = (*message.data)[i];
      counted.rows[{message.table, message.type}] += 1;
      counted.rows_total += 1;
      if (message.table == "orders" && message.type == "INSERT") {
        EXPECT_EQ(Text(row, "status"), "created");
        counted.orders_created[{Text(row, "channel"), Text(row, "province")}] += 1;
        counted.order_amounts_cents.push_back(Cents(Text(row, "amount")));
        created_at[Text(row, "id")] = Text(row, "created_at");
      } else if (message.table == "orders") {
        const std::string from = Text((*message.old)[i], "status");
        const std::string to = Text(row, "status");
        counted.status_transitions[{from, to}] += 1;
        if (to == "paid") {
          const std::pair<std::string, std::string> key = {Text(row, "channel"),
                                                           Text(row, "payment_method")};
          counted.orders_paid[key] += 1;
          counted.paid_amount_cents[key] += Cents(Text(row, "amount"));
          EXPECT_EQ(Text(row, "created_at"), created_at[Text(row, "id")]);
          counted.payment_delays_seconds.push_back(
              SecondsBetween(Text(row, "created_at"), Text(row, "paid_at")));
        }
        if (to == "cancelled") counted.orders_cancelled[Text(row, "channel")] += 1;
      } else if (message.table == "payments") {
        auto& by_method =
            Text(row, "result") == "success" ? counted.payments_succeeded : counted.payments_failed;
        by_method[Text(row, "method")] += 1;
      } else if (message.table == "refunds") {
        counted.refunds += 1;
        counted.refund_amount_cents += Cents(Text(row, "amount"));
      } else if (message.table == "users") {
        counted.user_registrations[Text(row, "channel")] += 1;
      }
    }
  }
  const ShopTruth& truth = simulator->truth();
  EXPECT_EQ(truth.orders_created, counted.orders_created);
  EXPECT_EQ(truth.orders_paid, counted.orders_paid);
  EXPECT_EQ(truth.paid_amount_cents, counted.paid_amount_cents);
  EXPECT_EQ(truth.order_amounts_cents, counted.order_amounts_cents);
  EXPECT_EQ(truth.payment_delays_seconds, counted.payment_delays_seconds);
  EXPECT_EQ(truth.status_transitions, counted.status_transitions);
  EXPECT_EQ(truth.orders_cancelled, counted.orders_cancelled);
  EXPECT_EQ(truth.refunds, counted.refunds);
  EXPECT_EQ(truth.refund_amount_cents, counted.refund_amount_cents);
  EXPECT_EQ(truth.user_registrations, counted.user_registrations);
  EXPECT_EQ(truth.payments_failed, counted.payments_failed);
  EXPECT_EQ(truth.payments_succeeded, counted.payments_succeeded);
  EXPECT_EQ(truth.rows, counted.rows);
  EXPECT_EQ(truth.messages, counted.messages);
  EXPECT_EQ(truth.rows_total, counted.rows_total);
  EXPECT_EQ(truth.ddl_messages, counted.ddl_messages);

  // Every kind of fact occurs in five minutes at time scale 30.
  for (const auto& transition :
       std::vector<std::pair<std::string, std::string>>{{"created", "paid"},
                                                        {"created", "cancelled"},
                                                        {"paid", "shipped"},
                                                        {"shipped", "completed"},
                                                        {"paid", "refunded"},
                                                        {"shipped", "refunded"}}) {
    EXPECT_GT(truth.status_transitions.count(transition), 0u)
        << transition.first << "->" << transition.second;
  }
  EXPECT_GT(truth.refunds, 0);
  // Of the orders decided, ~85% pay (at this time scale both take under 30 s).
  const int64_t paid = truth.status_transitions.at({"created", "paid"});
  const int64_t cancelled = truth.status_transitions.at({"created", "cancelled"});
  EXPECT_NEAR(static_cast<double>(paid) / static_cast<double>(paid + cancelled), 0.85, 0.03);
  EXPECT_GT(TotalOf(truth.payments_failed), 0);
  EXPECT_EQ(truth.ddl_messages, 6);  // at start, then each minute
  EXPECT_EQ(TotalOf(truth.orders_created), static_cast<int64_t>(truth.order_amounts_cents.size()));
}

TEST_F(ShopSimulatorTest, OneOrdersMessagesShareAPartitionKeyAndComeInLifeOrder) {
  std::vector<CanalMessageOut> messages = Simulate(DemoOptions(5), 5 * kMinute);
  const std::map<std::string, std::set<std::string>> kNext = {
      {"created", {"paid", "cancelled"}},
      {"paid", {"shipped", "refunded"}},
      {"shipped", {"completed", "refunded"}}};
  std::map<std::string, int32_t> key_of_order;
  std::map<std::string, std::string> status_of_order;
  int multi_row_inserts = 0;
  int multi_row_updates = 0;
  int order_inserts = 0;
  for (const CanalMessageOut& out : messages) {
    const ParsedMessage message = Parse(out.json);
    if (message.is_ddl) continue;
    if (message.table == "orders" && message.type == "INSERT") {
      ++order_inserts;
      multi_row_inserts += message.data->size() > 1;
    }
    if (message.table == "orders" && message.type == "UPDATE") {
      multi_row_updates += message.data->size() > 1;
    }
    for (size_t i = 0; i < message.data->size(); ++i) {
      const Row& row = (*message.data)[i];
      if (message.table == "users") continue;
      const std::string order_id =
          message.table == "orders" ? Text(row, "id") : Text(row, "order_id");
      auto [entry, first] = key_of_order.emplace(order_id, out.partition_key_hash);
      EXPECT_EQ(entry->second, out.partition_key_hash) << "order " << order_id;
      if (message.table != "orders") {
        EXPECT_FALSE(first) << "payment or refund before its order " << order_id;
        continue;
      }
      const std::string status = Text(row, "status");
      if (message.type == "INSERT") {
        status_of_order[order_id] = status;
        continue;
      }
      const std::string& previous = status_of_order[order_id];
      EXPECT_EQ(Text((*message.old)[i], "status"), previous);
      EXPECT_EQ(kNext.at(previous).count(status), 1u) << previous << "->" << status;
      status_of_order[order_id] = status;
    }
  }
  // About one checkout in ten creates several orders at once.
  EXPECT_GT(multi_row_inserts, order_inserts / 20);
  EXPECT_LT(multi_row_inserts, order_inserts / 6);
  EXPECT_GT(multi_row_updates, 0);
}

TEST_F(ShopSimulatorTest, AWarmShopIsSteadyFromItsFirstSecond) {
  ShopSimulatorOptions cold = DemoOptions(7);
  ShopSimulatorOptions warm = cold;
  warm.warm_up_ms = 10 * kMinute;
  ShopSimulator* cold_shop = nullptr;
  ShopSimulator* warm_shop = nullptr;
  Simulate(cold, 2'000, &cold_shop);
  std::vector<CanalMessageOut> out = Simulate(warm, 2'000, &warm_shop);
  ASSERT_FALSE(out.empty());
  // Nothing from before the start is emitted, or counted.
  for (const CanalMessageOut& message : out) EXPECT_GE(message.commit_time_ms, warm.start_time_ms);
  EXPECT_EQ(warm_shop->truth().messages, static_cast<int64_t>(out.size()));
  // Orders placed before the start are being completed already (about 16
  // a second at this rate); an empty shop completes none in its first 2 s.
  const ShopTruth::Pair completed{"shipped", "completed"};
  EXPECT_EQ(cold_shop->truth().status_transitions.count(completed), 0u);
  ASSERT_EQ(warm_shop->truth().status_transitions.count(completed), 1u);
  EXPECT_GT(warm_shop->truth().status_transitions.at(completed), 10);
  EXPECT_GT(TotalOf(warm_shop->truth().orders_paid), 20);
  // The first message is still the DDL at the start.
  EXPECT_NE(out.front().json.find("\"isDdl\":true"), std::string::npos) << out.front().json;
}

TEST_F(ShopSimulatorTest, SurgeMultipliesTheRate) {
  ShopSimulatorOptions options = DemoOptions(9);
  options.orders_per_second = 50;
  options.surge_multiplier = 4;
  options.surge_start_ms = kMinute;
  options.surge_duration_ms = kMinute;
  ShopSimulator* simulator = nullptr;
  std::vector<CanalMessageOut> messages = Simulate(options, 3 * kMinute, &simulator);

  std::array<int64_t, 3> orders_per_minute{};
  std::array<int64_t, 3> users_per_minute{};
  for (const CanalMessageOut& out : messages) {
    const ParsedMessage message = Parse(out.json);
    if (message.type != "INSERT") continue;
    const size_t minute = static_cast<size_t>((out.commit_time_ms - kDouble11) / kMinute);
    if (message.table == "orders") orders_per_minute[minute] += message.data->size();
    if (message.table == "users") users_per_minute[minute] += message.data->size();
  }
  // 50 orders/s is 3000 a minute; the surge minute has four times as many.
  EXPECT_NEAR(orders_per_minute[0], 3000, 300);
  EXPECT_NEAR(orders_per_minute[1], 12000, 1000);
  EXPECT_NEAR(orders_per_minute[2], 3000, 300);
  const double ratio = static_cast<double>(orders_per_minute[1]) /
                       static_cast<double>(orders_per_minute[0] + orders_per_minute[2]) * 2;
  EXPECT_NEAR(ratio, 4.0, 0.5);
  // Registrations follow orders (0.25 per order).
  EXPECT_NEAR(users_per_minute[0], 750, 120);
  EXPECT_NEAR(users_per_minute[1], 3000, 300);
}

TEST_F(ShopSimulatorTest, AmountsAndPaymentDelaysLookLikeAShop) {
  ShopSimulatorOptions options = DemoOptions(13);
  options.time_scale = 1;  // real payment delays
  options.orders_per_second = 30;
  ShopSimulator* simulator = nullptr;
  Simulate(options, 20 * kMinute, &simulator);
  const ShopTruth& truth = simulator->truth();

  std::vector<int64_t> amounts = truth.order_amounts_cents;
  ASSERT_GT(amounts.size(), 10000u);
  std::sort(amounts.begin(), amounts.end());
  EXPECT_NEAR(amounts[amounts.size() / 2], 15000, 1500);  // median ~150 yuan
  EXPECT_GE(amounts.front(), 100);
  EXPECT_GT(amounts[amounts.size() * 99 / 100], 5 * 15000);  // a heavy tail

  std::vector<int64_t> delays = truth.payment_delays_seconds;
  std::sort(delays.begin(), delays.end());
  EXPECT_NEAR(delays[delays.size() / 2], 40, 5);
  EXPECT_GT(delays[delays.size() * 95 / 100], 120);  // some take minutes
  EXPECT_LT(delays.back(), 15 * 60);                 // before the cancel timeout
}

// --- Debezium and Maxwell ---------------------------------------------------

ShopSimulatorOptions InFormat(ShopSimulatorOptions options, ShopFormat format) {
  options.format = format;
  return options;
}

// The unscaled integer of a base64 big-endian two's complement (Connect
// Decimal), decoded here independently of the agent.
int64_t UnscaledOfBase64(std::string_view text) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    if (c == '=') break;
    bits = (bits << 6) | static_cast<uint32_t>(kAlphabet.find(c));
    count += 6;
    if (count >= 8) {
      count -= 8;
      bytes += static_cast<char>((bits >> count) & 0xff);
    }
  }
  int64_t value = (!bytes.empty() && (bytes[0] & 0x80)) ? -1 : 0;
  for (char b : bytes) value = (value << 8) | static_cast<uint8_t>(b);
  return value;
}

TEST_F(ShopSimulatorTest, EveryFormatWritesTheSameShop) {
  ShopSimulator* canal = nullptr;
  Simulate(DemoOptions(11), 3 * kMinute, &canal);
  for (ShopFormat format :
       {ShopFormat::kDebezium, ShopFormat::kDebeziumNoSchema, ShopFormat::kMaxwell}) {
    SCOPED_TRACE(std::string(ShopFormatName(format)));
    ShopSimulator* other = nullptr;
    std::vector<CanalMessageOut> messages =
        Simulate(InFormat(DemoOptions(11), format), 3 * kMinute, &other);
    const ShopTruth& a = canal->truth();
    const ShopTruth& b = other->truth();
    EXPECT_EQ(a.orders_created, b.orders_created);
    EXPECT_EQ(a.paid_amount_cents, b.paid_amount_cents);
    EXPECT_EQ(a.status_transitions, b.status_transitions);
    EXPECT_EQ(a.order_amounts_cents, b.order_amounts_cents);
    EXPECT_EQ(a.payment_delays_seconds, b.payment_delays_seconds);
    EXPECT_EQ(a.rows, b.rows);
    EXPECT_EQ(a.ddl_messages, b.ddl_messages);
    // One message per row.
    EXPECT_EQ(b.messages, b.rows_total + b.ddl_messages);
    EXPECT_EQ(static_cast<int64_t>(messages.size()), b.messages);
    int64_t by_type = 0;
    for (const auto& [type, count] : b.messages_by_type) by_type += count;
    EXPECT_EQ(by_type, b.messages);
    simdjson::dom::parser parser;
    for (const CanalMessageOut& message : messages) {
      simdjson::dom::element root;
      ASSERT_EQ(parser.parse(message.json).get(root), simdjson::SUCCESS) << message.json;
    }
  }
}

TEST_F(ShopSimulatorTest, DebeziumWritesPreciseDecimalsAndEpochDatetimes) {
  for (ShopFormat format : {ShopFormat::kDebezium, ShopFormat::kDebeziumNoSchema}) {
    SCOPED_TRACE(std::string(ShopFormatName(format)));
    ShopSimulator* simulator = nullptr;
    std::vector<CanalMessageOut> messages =
        Simulate(InFormat(DemoOptions(5), format), 2 * kMinute, &simulator);
    simdjson::dom::parser parser;
    std::vector<int64_t> created_amounts;
    int64_t schema_changes = 0;
    for (const CanalMessageOut& message : messages) {
      simdjson::dom::element root = parser.parse(message.json);
      simdjson::dom::element payload = root;
      if (format == ShopFormat::kDebezium) {
        ASSERT_EQ(root.get_object().size(), 2u);
        payload = root["payload"];
        std::string_view envelope_name;
        ASSERT_EQ(root["schema"]["name"].get(envelope_name), simdjson::SUCCESS);
      } else {
        EXPECT_EQ(root["schema"].error(), simdjson::NO_SUCH_FIELD);
      }
      std::string_view db, table;
      ASSERT_EQ(payload["source"]["db"].get(db), simdjson::SUCCESS);
      EXPECT_EQ(db, "shop");
      ASSERT_EQ(payload["source"]["table"].get(table), simdjson::SUCCESS);
      int64_t source_ts = 0;
      ASSERT_EQ(payload["source"]["ts_ms"].get(source_ts), simdjson::SUCCESS);
      EXPECT_EQ(source_ts % 1000, 0) << "binlog header time: whole seconds";
      std::string_view file;
      EXPECT_EQ(payload["source"]["file"].get(file), simdjson::SUCCESS);
      int64_t pos = 0;
      EXPECT_EQ(payload["source"]["pos"].get(pos), simdjson::SUCCESS);
      if (payload["ddl"].error() == simdjson::SUCCESS) {
        ++schema_changes;
        continue;
      }
      std::string_view op;
      ASSERT_EQ(payload["op"].get(op), simdjson::SUCCESS);
      ASSERT_TRUE(op == "c" || op == "u") << op;
      EXPECT_EQ(payload["before"].is_null(), op == "c");
      if (table == "orders" && op == "c") {
        std::string_view amount;
        ASSERT_EQ(payload["after"]["amount"].get(amount), simdjson::SUCCESS);
        created_amounts.push_back(UnscaledOfBase64(amount));
        int64_t created_at = 0;
        ASSERT_EQ(payload["after"]["created_at"].get(created_at), simdjson::SUCCESS);
        // The wall clock (Asia/Shanghai, UTC+8) read as UTC.
        EXPECT_EQ(created_at, (message.commit_time_ms / 1000) * 1000 + 8 * 3600 * 1000);
      }
      if (format == ShopFormat::kDebezium && table == "orders") {
        for (simdjson::dom::element image : root["schema"]["fields"].get_array()) {
          std::string_view field;
          if (image["field"].get(field) || field != "after") continue;
          for (simdjson::dom::element column : image["fields"].get_array()) {
            std::string_view name, scale;
            if (column["field"].get(name) || name != "amount") continue;
            ASSERT_EQ(column["parameters"]["scale"].get(scale), simdjson::SUCCESS);
            EXPECT_EQ(scale, "2");
          }
        }
      }
    }
    EXPECT_EQ(created_amounts, simulator->truth().order_amounts_cents);
    EXPECT_EQ(schema_changes, simulator->truth().ddl_messages);
    EXPECT_GT(schema_changes, 0);
  }
}

TEST_F(ShopSimulatorTest, MaxwellMarksEachTransactionsLastRow) {
  ShopSimulator* simulator = nullptr;
  std::vector<CanalMessageOut> messages =
      Simulate(InFormat(DemoOptions(7), ShopFormat::kMaxwell), 3 * kMinute, &simulator);
  simdjson::dom::parser parser;
  int64_t open_xid = -1;
  int64_t next_offset = 0;
  int64_t transactions = 0, multi_row = 0, ddl = 0;
  for (const CanalMessageOut& message : messages) {
    simdjson::dom::element root = parser.parse(message.json);
    std::string_view type;
    ASSERT_EQ(root["type"].get(type), simdjson::SUCCESS);
    if (type.starts_with("table-")) {
      EXPECT_EQ(open_xid, -1) << "DDL inside a transaction";
      int64_t ts = 0;
      ASSERT_EQ(root["ts"].get(ts), simdjson::SUCCESS);
      EXPECT_EQ(ts, message.commit_time_ms) << "DDL ts is in milliseconds";
      ++ddl;
      continue;
    }
    ASSERT_TRUE(type == "insert" || type == "update") << type;
    int64_t xid = 0, ts = 0;
    ASSERT_EQ(root["xid"].get(xid), simdjson::SUCCESS);
    ASSERT_EQ(root["ts"].get(ts), simdjson::SUCCESS);
    EXPECT_EQ(ts, message.commit_time_ms / 1000) << "row ts is in seconds";
    if (open_xid != -1) {
      EXPECT_EQ(xid, open_xid) << "rows of transactions interleave";
    }
    bool commit = false;
    const bool has_commit = root["commit"].get(commit) == simdjson::SUCCESS;
    int64_t xoffset = -1;
    const bool has_xoffset = root["xoffset"].get(xoffset) == simdjson::SUCCESS;
    EXPECT_NE(has_commit, has_xoffset) << message.json;
    if (has_commit) {
      EXPECT_TRUE(commit);
      if (next_offset > 0) ++multi_row;
      ++transactions;
      open_xid = -1;
      next_offset = 0;
    } else {
      EXPECT_EQ(xoffset, next_offset);
      ++next_offset;
      open_xid = xid;
    }
    // DECIMAL as a bare number keeping its scale.
    const size_t at = message.json.find("\"amount\":");
    if (at != std::string::npos) {
      const std::string_view amount = std::string_view(message.json).substr(at + 9);
      const size_t dot = amount.find('.');
      ASSERT_NE(dot, std::string_view::npos);
      EXPECT_TRUE(amount[0] >= '1' && amount[0] <= '9') << amount.substr(0, 12);
      EXPECT_TRUE(isdigit(amount[dot + 1]) && isdigit(amount[dot + 2]) && !isdigit(amount[dot + 3]))
          << amount.substr(0, 12);
    }
    if (type == "update") {
      simdjson::dom::object old;
      ASSERT_EQ(root["old"].get(old), simdjson::SUCCESS);
      EXPECT_GT(old.size(), 0u);
      for (auto [key, value] : old) {
        EXPECT_NE(simdjson::to_string(value), simdjson::to_string(root["data"][key].value()))
            << "old lists only changed columns: " << key;
      }
    }
  }
  EXPECT_EQ(open_xid, -1) << "the last transaction has its commit row";
  EXPECT_GT(transactions, 1000);
  EXPECT_GT(multi_row, 100) << "payments and refunds write two tables in one transaction";
  EXPECT_EQ(ddl, simulator->truth().ddl_messages);
}

}  // namespace
}  // namespace txmon
