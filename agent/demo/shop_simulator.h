// ShopSimulator: a deterministic simulation of the demo shop
// (docs/demo-shop-schema.md) that writes its row changes as Canal flat
// messages, byte for byte as Canal's Kafka producer would, or as the
// Debezium MySQL connector (Kafka Connect JsonConverter, with or without the
// schema envelope) or Maxwell would publish the same changes
// (ShopSimulatorOptions::format):
//  - canal: one message per rows event (multi-row INSERT/UPDATE), fields in
//    fastjson's order, every value a string; DDL as ALTER/CREATE messages.
//  - debezium, debezium-noschema: one message per row, op c/u, full before
//    and after images, source {version, connector, name, ts_ms (binlog
//    header: whole seconds), snapshot, db, sequence, table, server_id, gtid,
//    file, pos, row, thread, query}, as Debezium 2.4 writes it. BIGINT as a
//    number, DECIMAL in the connector's default `precise` mode (base64 of the
//    big-endian two's-complement unscaled value; the envelope's schema gives
//    the scale, without it the mapping must say `scale: 2`), DATETIME as
//    io.debezium.time.Timestamp (epoch ms of the wall clock read as UTC;
//    without the envelope the mapping says `epoch: ms`). DDL as a
//    schema-change event (databaseName, ddl, tableChanges).
//  - maxwell: one message per row, xid shared by a transaction's rows,
//    xoffset on each but the last, `commit: true` on the last; DECIMAL as a
//    bare JSON number keeping its scale (129.90), DATETIME as text, `old`
//    with the changed columns of an update; DDL as table-alter/table-create
//    (ts in ms, as Maxwell writes DDL).
//
// Orders arrive as a Poisson process (a "Double 11" surge window multiplies
// the rate); each order then lives its life on a schedule of its own: failed
// payment attempts, paid or cancelled, shipped, completed or refunded. Users
// register at a rate proportional to orders. An ALTER/CREATE statement is
// emitted at the start and now and then (consumers must skip DDL).
//
// The same seed and options give the same messages, however AdvanceTo's
// steps are cut. truth() counts plain domain facts exactly as the emitted rows
// state them, so tests can compare an agent's metrics against it.
//
// DATETIME columns are written in the process's local time zone (set TZ or
// LocalZone::Use before simulating). No Kafka here: see DemoShop.
// Threading: not thread-safe; one thread drives an instance.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace txmon {

// The wire format the shop's messages are written in.
enum class ShopFormat : uint8_t {
  kCanal,             // Canal flat message (canal.mq.flatMessage=true)
  kDebezium,          // Debezium, JsonConverter schemas.enable=true
  kDebeziumNoSchema,  // Debezium, JsonConverter schemas.enable=false
  kMaxwell,
};

// "canal", "debezium", "debezium-noschema", "maxwell".
std::string_view ShopFormatName(ShopFormat format);
// False for any other name.
bool ParseShopFormat(std::string_view name, ShopFormat* format);
// The agent's `source.format` that reads `format`.
std::string_view SourceFormatOf(ShopFormat format);

struct ShopSimulatorOptions {
  uint64_t seed = 1;
  double orders_per_second = 20.0;  // long-run average outside the surge
  // "Double 11": inside [start_time_ms + surge_start_ms, + surge_duration_ms)
  // orders and registrations arrive surge_multiplier times faster.
  double surge_multiplier = 1.0;
  int64_t surge_start_ms = 0;
  int64_t surge_duration_ms = 0;          // 0: no surge
  int64_t start_time_ms = 1731254400000;  // 2024-11-11 00:00:00 in Asia/Shanghai
  // Divides every delay in an order's life (payment ~40 s, cancel timeout
  // 15 min, shipping ~20 min, completion ~1 h, refunds): 30 shows a whole life
  // in a minute or two. Arrival rates are not scaled.
  double time_scale = 1.0;
  double registrations_per_order = 0.25;
  // Share of checkouts that create 2-4 orders at once (one multi-row INSERT,
  // then multi-row payment INSERTs and order UPDATEs for the whole cart).
  double multi_order_checkout_fraction = 0.1;
  // An incident: inside [start_time_ms + payment_outage_start_ms,
  // + payment_outage_duration_ms) every payment attempt fails; customers
  // retry a few seconds after it ends. 0 duration: no outage.
  int64_t payment_outage_start_ms = 0;
  int64_t payment_outage_duration_ms = 0;
  // The shop has already been open this long at start_time_ms: orders
  // placed before it are in flight (paid, shipped, refunded later), but only
  // what commits from start_time_ms on is emitted (and in truth()), so every
  // rate is steady from the first second instead of ramping up from an
  // empty shop. 0: the shop opens at start_time_ms.
  int64_t warm_up_ms = 0;
  bool emit_ddl = true;
  int64_t ddl_interval_ms = 10 * 60 * 1000;  // after the first, at start; 0: only that one
  int64_t initial_users = 10000;             // existing users (ids 1..N), never emitted
  // Keep every order's amount and payment delay in ShopTruth. Memory grows
  // with the orders: turn off for long runs.
  bool record_each_order = true;
  std::string database = "shop";
  ShopFormat format = ShopFormat::kCanal;
};

// One message (a Canal flat message, or a Debezium or Maxwell one, as
// ShopSimulatorOptions::format says) and where it belongs.
struct CanalMessageOut {
  std::string json;
  // Non-negative; derived from the user id, so every message about one
  // order (and its user) lands in one partition, in commit order.
  int32_t partition_key_hash = 0;
  int64_t commit_time_ms = 0;  // exact commit instant (the JSON's es has whole seconds)
};

// Facts the emitted rows state, counted per row. Keys are the column values
// as written (channel, province, payment method, status). Amounts in cents.
struct ShopTruth {
  using Pair = std::pair<std::string, std::string>;

  std::map<Pair, int64_t> orders_created;     // (channel, province)
  std::map<Pair, int64_t> orders_paid;        // (channel, payment_method)
  std::map<Pair, int64_t> paid_amount_cents;  // (channel, payment_method)
  std::vector<int64_t> order_amounts_cents;   // each created order, in emission order
  // Each paid order's paid_at - created_at in seconds, as the DATETIME
  // columns say (whole seconds), in emission order.
  std::vector<int64_t> payment_delays_seconds;
  std::map<Pair, int64_t> status_transitions;       // (from, to): UPDATE rows
  std::map<std::string, int64_t> orders_cancelled;  // by channel
  int64_t refunds = 0;                              // rows INSERTed into refunds
  int64_t refund_amount_cents = 0;
  std::map<std::string, int64_t> user_registrations;  // by channel
  std::map<std::string, int64_t> payments_failed;     // by method
  std::map<std::string, int64_t> payments_succeeded;  // by method
  std::map<Pair, int64_t> rows;                       // (table, INSERT|UPDATE)
  int64_t messages = 0;                               // every message, DDL included
  // Messages by the type their format names them (Canal INSERT, ALTER, ...;
  // Debezium c, u, schema_change; Maxwell insert, update, table-alter, ...).
  std::map<std::string, int64_t> messages_by_type;
  int64_t rows_total = 0;
  int64_t ddl_messages = 0;
};

// Sum of a truth map's counts.
template <typename Key>
int64_t TotalOf(const std::map<Key, int64_t>& counts) {
  int64_t total = 0;
  for (const auto& entry : counts) total += entry.second;
  return total;
}

class ShopSimulator {
 public:
  explicit ShopSimulator(ShopSimulatorOptions options);
  ~ShopSimulator();

  ShopSimulator(const ShopSimulator&) = delete;
  ShopSimulator& operator=(const ShopSimulator&) = delete;

  // Appends every message committed at or before `now_ms`, in commit order.
  void AdvanceTo(int64_t now_ms, std::vector<CanalMessageOut>& out);

  int64_t now_ms() const;         // the simulated instant reached so far
  int64_t next_event_ms() const;  // when the next message is due (INT64_MAX: never)
  const ShopTruth& truth() const;
  const ShopSimulatorOptions& options() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace txmon
