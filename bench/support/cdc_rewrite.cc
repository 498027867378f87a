#include "bench/support/cdc_rewrite.h"

#include <simdjson.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

namespace txmon::bench {
namespace {

namespace dom = simdjson::dom;

enum class Kind { kInt, kDecimal, kDatetime, kString };
struct Column {
  std::string name;
  Kind kind = Kind::kString;
  int scale = 0;
};

Column ColumnOf(std::string_view name, std::string_view type) {
  Column c{std::string(name)};
  if (type.starts_with("decimal")) {
    c.kind = Kind::kDecimal;
    const size_t comma = type.find(',');
    if (comma != std::string_view::npos)
      c.scale = std::atoi(std::string(type.substr(comma + 1)).c_str());
  } else if (type.starts_with("bigint") || type.starts_with("int") ||
             type.starts_with("smallint") || type.starts_with("tinyint")) {
    c.kind = Kind::kInt;
  } else if (type.starts_with("datetime")) {
    c.kind = Kind::kDatetime;
  }
  return c;
}

void AppendString(std::string& out, std::string_view text) {
  out += '"';
  for (char ch : text) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  out += '"';
}

std::string Base64(const std::string& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v =
        (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = uint8_t(bytes[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    for (int shift : {18, 12, 6}) out += kAlphabet[(v >> shift) & 63];
    out += '=';
  }
  return out;
}

// "129.90" at scale 2 → base64 of the big-endian two's complement 12990.
std::string DecimalBytes(std::string_view text, int scale) {
  const bool negative = !text.empty() && text[0] == '-';
  if (negative) text.remove_prefix(1);
  const size_t point = text.find('.');
  std::string digits(text.substr(0, point));
  std::string fraction = point == std::string_view::npos ? "" : std::string(text.substr(point + 1));
  fraction.resize(scale, '0');
  int64_t unscaled = std::stoll(digits + fraction);
  if (negative) unscaled = -unscaled;
  std::string bytes;
  for (int i = 7; i >= 0; --i) bytes += static_cast<char>((unscaled >> (8 * i)) & 0xff);
  // Minimal two's complement: drop leading bytes that only repeat the sign.
  while (bytes.size() > 1 && ((bytes[0] == 0 && (bytes[1] & 0x80) == 0) ||
                              (bytes[0] == char(0xff) && (bytes[1] & 0x80) != 0))) {
    bytes.erase(0, 1);
  }
  return Base64(bytes);
}

int64_t EpochMsOfWallClock(std::string_view text) {
  std::tm tm{};
  std::sscanf(std::string(text).c_str(), "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
              &tm.tm_hour, &tm.tm_min, &tm.tm_sec);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

void AppendValue(std::string& out, dom::element value, const Column& column, bool maxwell) {
  std::string_view text;
  if (value.is_null() || value.get_string().get(text)) {
    out += "null";
    return;
  }
  switch (column.kind) {
    case Kind::kInt:
      out += text;
      return;
    case Kind::kDecimal:
      if (maxwell) {
        out += text;  // the exact text, as Maxwell writes it
      } else {
        AppendString(out, DecimalBytes(text, column.scale));
      }
      return;
    case Kind::kDatetime:
      if (maxwell) {
        AppendString(out, text);
      } else {
        out += std::to_string(EpochMsOfWallClock(text));
      }
      return;
    case Kind::kString:
      AppendString(out, text);
      return;
  }
}

const Column* Find(const std::vector<Column>& columns, std::string_view name) {
  for (const Column& c : columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

// `row` as an image; `overlay` (Canal's `old`) replaces the columns it names.
std::string Image(dom::object row, dom::object* overlay, const std::vector<Column>& columns,
                  bool maxwell) {
  std::string out = "{";
  for (auto [key, value] : row) {
    const Column* column = Find(columns, key);
    if (column == nullptr) continue;
    if (out.size() > 1) out += ',';
    AppendString(out, key);
    out += ':';
    dom::element shown = value;
    if (overlay != nullptr) {
      dom::element old;
      if (!(*overlay)[key].get(old)) shown = old;
    }
    AppendValue(out, shown, *column, maxwell);
  }
  return out + "}";
}

std::string ConnectSchema(const std::vector<Column>& columns, std::string_view table) {
  std::string fields;
  for (const Column& c : columns) {
    if (!fields.empty()) fields += ',';
    switch (c.kind) {
      case Kind::kInt:
        fields += R"({"type":"int64","optional":)" +
                  std::string(c.name == "id" ? "false" : "true") + R"(,"field":")" + c.name + "\"}";
        break;
      case Kind::kDecimal:
        fields +=
            R"({"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":")" +
            std::to_string(c.scale) + R"(","connect.decimal.precision":"12"},"field":")" + c.name +
            "\"}";
        break;
      case Kind::kDatetime:
        fields +=
            R"({"type":"int64","optional":true,"name":"io.debezium.time.Timestamp","version":1,"field":")" +
            c.name + "\"}";
        break;
      case Kind::kString:
        fields += R"({"type":"string","optional":true,"field":")" + c.name + "\"}";
        break;
    }
  }
  const std::string value = R"({"type":"struct","fields":[)" + fields +
                            R"(],"optional":true,"name":"shop.shop.)" + std::string(table) +
                            ".Value\"";
  return R"({"type":"struct","fields":[)" + value + R"(,"field":"before"},)" + value +
         R"(,"field":"after"},{"type":"struct","fields":[{"type":"string","optional":false,"field":"version"},{"type":"string","optional":false,"field":"connector"},{"type":"string","optional":false,"field":"name"},{"type":"int64","optional":false,"field":"ts_ms"},{"type":"string","optional":false,"field":"db"},{"type":"string","optional":true,"field":"table"},{"type":"string","optional":true,"field":"file"},{"type":"int64","optional":false,"field":"pos"}],"optional":false,"name":"io.debezium.connector.mysql.Source","field":"source"},{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"}],"optional":false,"name":"shop.shop.)" +
         std::string(table) + R"(.Envelope","version":1})";
}

}  // namespace

bool RewriteCanalMessage(std::string_view canal, CdcFormat format, long xid,
                         std::vector<std::string>* out) {
  static thread_local dom::parser parser;
  dom::object message;
  if (parser.parse(canal.data(), canal.size()).get(message)) return false;
  std::string_view database, table, type;
  int64_t es = 0, ts = 0;
  if (message["database"].get(database) || message["table"].get(table) ||
      message["type"].get(type) || message["es"].get(es) || message["ts"].get(ts)) {
    return false;
  }
  const bool maxwell = format == CdcFormat::kMaxwell;
  std::string source = R"({"version":"2.7.3.Final","connector":"mysql","name":"shop","ts_ms":)" +
                       std::to_string(es) + R"(,"db":)";
  AppendString(source, database);
  source += R"(,"table":)";
  AppendString(source, table);
  source += R"(,"file":"mysql-bin.000003","pos":)" + std::to_string(4 + 1000 * xid) + "}";
  bool ddl = false;
  if (!message["isDdl"].get(ddl) && ddl) {
    std::string_view sql;
    if (message["sql"].get(sql)) sql = "";
    std::string line;
    if (maxwell) {
      line = R"({"database":)";
      AppendString(line, database);
      line += R"(,"table":)";
      AppendString(line, table);
      line += R"(,"type":"table-alter","ts":)" + std::to_string(ts) + R"(,"sql":)";
      AppendString(line, sql);
      line += "}";
    } else {
      line = R"({"source":)" + source + R"(,"databaseName":)";
      AppendString(line, database);
      line += R"(,"ddl":)";
      AppendString(line, sql);
      line += R"(,"tableChanges":[]})";
    }
    out->push_back(std::move(line));
    return true;
  }
  dom::object types;
  dom::array rows;
  if (message["mysqlType"].get(types) || message["data"].get(rows)) return false;
  std::vector<Column> columns;
  for (auto [name, value] : types) {
    std::string_view text;
    if (!value.get(text)) columns.push_back(ColumnOf(name, text));
  }
  dom::array olds;
  const bool has_old = !message["old"].get(olds);
  const size_t count = rows.size();
  std::string lower(type);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string schema =
      format == CdcFormat::kDebeziumEnvelope ? ConnectSchema(columns, table) : "";
  for (size_t i = 0; i < count; ++i) {
    dom::object row;
    if (rows.at(i).get(row)) return false;
    dom::object old;
    const bool row_old = has_old && !olds.at(i).get(old);
    std::string line;
    if (maxwell) {
      line = R"({"database":)";
      AppendString(line, database);
      line += R"(,"table":)";
      AppendString(line, table);
      line += R"(,"type":")" + lower + R"(","ts":)" + std::to_string(es / 1000) + R"(,"xid":)" +
              std::to_string(xid) +
              (i + 1 == count ? std::string(R"(,"commit":true)")
                              : R"(,"xoffset":)" + std::to_string(i)) +
              R"(,"position":"mysql-bin.000003:)" + std::to_string(4 + 1000 * xid) +
              R"(","data":)" + Image(row, nullptr, columns, true);
      if (lower == "update" && row_old) line += R"(,"old":)" + Image(old, nullptr, columns, true);
      line += "}";
    } else {
      const char op = lower == "insert" ? 'c' : lower == "update" ? 'u' : 'd';
      std::string before = "null", after = Image(row, nullptr, columns, false);
      if (op == 'u') before = Image(row, row_old ? &old : nullptr, columns, false);
      if (op == 'd') std::swap(before, after);
      std::string payload = R"({"before":)" + before + R"(,"after":)" + after + R"(,"source":)" +
                            source + R"(,"op":")" + op + R"(","ts_ms":)" + std::to_string(ts) + "}";
      line = schema.empty() ? payload : R"({"schema":)" + schema + R"(,"payload":)" + payload + "}";
    }
    out->push_back(std::move(line));
  }
  return true;
}

}  // namespace txmon::bench
