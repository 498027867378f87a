#include "agent/decode/binlog_decoder.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <optional>
#include <unordered_map>

#include "agent/decode/binlog_bytes.h"
#include "agent/decode/binlog_values.h"

namespace txmon {
namespace {

using binlog::ByteReader;
using binlog::Column;
using binlog::ValueKind;

constexpr size_t kCommonHeaderBytes = 19;
constexpr uint16_t kFlagIgnorable = 0x80;  // LOG_EVENT_IGNORABLE_F: safe to skip if unknown
// A TABLE_MAP cache past this size is dropped and rebuilt: table ids grow
// as the server reopens tables, and old ones are never reused.
constexpr size_t kMaxCachedTables = 4096;
// More columns than MySQL allows (4096) means a corrupt count.
constexpr uint64_t kMaxColumns = 4096;

enum EventType : uint8_t {
  kQuery = 2,
  kStop = 3,
  kRotate = 4,
  kIntvar = 5,
  kRand = 13,
  kUserVar = 14,
  kFormatDescription = 15,
  kXid = 16,
  kTableMap = 19,
  kWriteRowsV1 = 23,
  kUpdateRowsV1 = 24,
  kDeleteRowsV1 = 25,
  kIncident = 26,
  kHeartbeat = 27,
  kIgnorable = 28,
  kRowsQuery = 29,
  kWriteRowsV2 = 30,
  kUpdateRowsV2 = 31,
  kDeleteRowsV2 = 32,
  kGtid = 33,
  kAnonymousGtid = 34,
  kPreviousGtids = 35,
  kTransactionContext = 36,
  kViewChange = 37,
  kXaPrepare = 38,
  kPartialUpdateRows = 39,
  kTransactionPayload = 40,
  kHeartbeatV2 = 41,
  kAnnotateRows = 160,
  kBinlogCheckpoint = 161,
  kMariaGtid = 162,
  kGtidList = 163,
  kStartEncryption = 164,
  kQueryCompressed = 165,
  kWriteRowsCompressedV1 = 166,
  kDeleteRowsCompressed = 171,
};

// Optional TABLE_MAP metadata fields (binlog_row_metadata=FULL).
enum MetadataField : uint8_t {
  kSignedness = 1,
  kDefaultCharset = 2,
  kColumnCharset = 3,
  kColumnName = 4,
  kSetStrValue = 5,
  kEnumStrValue = 6,
};

struct Problem {
  DecodeError error = DecodeError::kNone;
  std::string_view detail;
  explicit operator bool() const { return error != DecodeError::kNone; }
};
constexpr Problem kNoProblem{};

Problem Malformed(std::string_view detail) { return {DecodeError::kMalformedEvent, detail}; }

constexpr uint64_t kBinaryCollation = 63;

bool IsLatin1Collation(uint64_t collation);

// Records what a column's collation changes in its text.
void SetCollation(uint64_t collation, Column* column) {
  column->latin1 = IsLatin1Collation(collation);
  const bool fixed_binary = column->type == binlog::kTypeString && collation == kBinaryCollation;
  column->pad_to = fixed_binary ? column->fixed_length : 0;
}

bool IsLatin1Collation(uint64_t collation) {
  switch (collation) {
    case 5:     // latin1_german1_ci
    case 8:     // latin1_swedish_ci
    case 15:    // latin1_danish_ci
    case 31:    // latin1_german2_ci
    case 47:    // latin1_bin
    case 48:    // latin1_general_ci
    case 49:    // latin1_general_cs
    case 94:    // latin1_spanish_ci
    case 1032:  // latin1_swedish_nopad_ci (MariaDB)
    case 1071:  // latin1_nopad_bin (MariaDB)
      return true;
    default:
      return false;
  }
}

std::optional<RowOp> RowOpOfEvent(uint8_t type) {
  switch (type) {
    case kWriteRowsV1:
    case kWriteRowsV2:
      return RowOp::kInsert;
    case kUpdateRowsV1:
    case kUpdateRowsV2:
      return RowOp::kUpdate;
    case kDeleteRowsV1:
    case kDeleteRowsV2:
      return RowOp::kDelete;
    default:
      return std::nullopt;
  }
}

bool IsRowsV2(uint8_t type) { return type >= kWriteRowsV2 && type <= kDeleteRowsV2; }

// One TABLE_MAP, kept by table id until the cache is dropped.
struct TableMap {
  std::string database;
  std::string table;
  std::vector<Column> columns;
  // Every column's name in table order (mapped tables only), for the
  // mappings' check of the columns they read.
  std::vector<std::string> names;
  std::vector<std::vector<std::string>> value_names;  // ENUM/SET names, by Column::names
  std::vector<uint8_t> body;  // the event body after the table id, to spot repeats cheaply
  bool mapped = false;        // a mapping declares this table
  Problem problem;            // why its rows cannot be decoded, if they cannot
};

// The common header of every event.
struct EventHeader {
  uint32_t timestamp = 0;
  uint8_t type = 0;
  uint16_t flags = 0;
};

// A row decoded into values_: where its images start (npos: none).
struct PendingRow {
  static constexpr size_t kNone = ~size_t{0};
  const TableMap* table = nullptr;
  RowOp op = RowOp::kInsert;
  size_t before = kNone;
  size_t after = kNone;
  uint64_t changed = 0;
};

}  // namespace

struct BinlogDecoder::Workspace {
  Workspace(const DecodeSchema& schema, const BinlogDecoderOptions& options)
      : schema(schema),
        column_names(options.column_names),
        width(schema.columns.size()),
        formatter(&arena, &zone) {
    if (!zone.Set(options.time_zone)) zone.Set("UTC");
    post_header.fill(0);
    post_header[kTableMap] = 8;
    for (uint8_t type : {kWriteRowsV1, kUpdateRowsV1, kDeleteRowsV1}) post_header[type] = 8;
    for (uint8_t type : {kWriteRowsV2, kUpdateRowsV2, kDeleteRowsV2}) post_header[type] = 10;
  }

  DecodeResult Decode(const SourceMessage& message);
  Problem DecodeEvent(const EventHeader& header, ByteReader body);
  Problem ReadFormatDescription(ByteReader body);
  Problem ReadTableMap(ByteReader body);
  Problem ParseTableMap(ByteReader body, TableMap* table);
  Problem ReadColumns(ByteReader* body, TableMap* table);
  Problem ReadOptionalMetadata(ByteReader body, TableMap* table,
                               std::vector<std::string_view>* names);
  Problem AssignSlots(const std::vector<std::string_view>& names, TableMap* table);
  Problem ReadRows(const EventHeader& header, ByteReader body);
  Problem ReadImage(const TableMap& table, const std::vector<uint16_t>& present, ByteReader* rows,
                    size_t* offset, uint64_t* slots);
  void MergeUpdate(PendingRow* row, uint64_t before_slots, uint64_t after_slots);
  void BuildRows(const EventHeader& header, const SourcePosition& position);
  bool ReadTableId(uint8_t type, ByteReader* body, uint64_t* id) const;
  std::vector<std::string> TableColumns(const SourceMessage& message, std::string_view database,
                                        std::string_view table);

  const DecodeSchema& schema;
  BinlogColumnNames column_names;
  const size_t width;
  binlog::TextArena arena;
  binlog::TimestampZone zone;
  binlog::ValueFormatter formatter;
  std::array<uint8_t, 256> post_header{};  // post-header length by event type
  size_t common_header = kCommonHeaderBytes;
  std::unordered_map<uint64_t, TableMap> tables;
  std::vector<ColumnValue> values;
  std::vector<PendingRow> pending;
  std::vector<RowChange> rows;
  std::vector<uint16_t> present_before;  // column indexes in the first bitmap
  std::vector<uint16_t> present_after;   // and in an UPDATE's second one
  // The table of a row event no mapping declares (kUnknownTable).
  const TableMap* unmapped = nullptr;
};

DecodeResult BinlogDecoder::Workspace::Decode(const SourceMessage& message) {
  arena.Reset();
  values.clear();
  pending.clear();
  rows.clear();
  unmapped = nullptr;
  DecodeResult result;
  const auto* bytes = reinterpret_cast<const uint8_t*>(message.payload.data());
  ByteReader reader(bytes, message.payload.size());
  EventHeader header;
  uint64_t timestamp = 0, flags = 0;
  Problem problem;
  if (message.payload.size() < common_header || message.payload.size() > schema.max_message_bytes) {
    problem = message.payload.size() < common_header
                  ? Malformed("shorter than the binlog event header")
                  : Problem{DecodeError::kTooLarge, "the event is larger than max_message_bytes"};
  } else {
    reader.UInt(4, &timestamp);
    reader.U8(&header.type);
    reader.Skip(4 + 4 + 4);  // server_id, event_size, log_pos
    reader.UInt(2, &flags);
    reader.Skip(common_header - kCommonHeaderBytes);
    header.timestamp = static_cast<uint32_t>(timestamp);
    header.flags = static_cast<uint16_t>(flags);
    result.message_type = EventTypeName(header.type);
    result.format = "binlog";
    problem = DecodeEvent(header, reader);
  }
  if (problem) {
    result.error = problem.error;
    result.detail = problem.detail;
    if (unmapped != nullptr) {
      result.database = unmapped->database;
      result.table = unmapped->table;
    }
    return result;
  }
  BuildRows(header, message.position);
  result.rows = rows;
  return result;
}

Problem BinlogDecoder::Workspace::DecodeEvent(const EventHeader& header, ByteReader body) {
  switch (header.type) {
    case kFormatDescription:
      return ReadFormatDescription(body);
    case kTableMap:
      return ReadTableMap(body);
    case kWriteRowsV1:
    case kUpdateRowsV1:
    case kDeleteRowsV1:
    case kWriteRowsV2:
    case kUpdateRowsV2:
    case kDeleteRowsV2:
      return ReadRows(header, body);
    case kPartialUpdateRows:
      return {DecodeError::kUnsupportedEvent,
              "PARTIAL_UPDATE_ROWS: set binlog_row_value_options='' on the server"};
    case kTransactionPayload:
      return {DecodeError::kUnsupportedEvent,
              "TRANSACTION_PAYLOAD: set binlog_transaction_compression=OFF on the server"};
    default:
      break;
  }
  if (header.type >= kWriteRowsCompressedV1 && header.type <= kDeleteRowsCompressed) {
    return {DecodeError::kUnsupportedEvent,
            "a compressed row event: set log_bin_compress=OFF on the server"};
  }
  if (EventTypeName(header.type) == "UNKNOWN" && (header.flags & kFlagIgnorable) == 0) {
    return {DecodeError::kUnsupportedEvent, "an event type this decoder does not know"};
  }
  return kNoProblem;  // QUERY, XID, GTID, ROTATE, heartbeats, ...: no rows
}

// FORMAT_DESCRIPTION: binlog version u16, server version char[50], create
// time u32, common header length u8, then one post-header length per event
// type from type 1 (and, when checksums are known, the checksum algorithm).
Problem BinlogDecoder::Workspace::ReadFormatDescription(ByteReader body) {
  uint8_t header_length = 0;
  if (!body.Skip(2 + 50 + 4) || !body.U8(&header_length)) {
    return Malformed("FORMAT_DESCRIPTION is truncated");
  }
  if (header_length < kCommonHeaderBytes) {
    return Malformed("FORMAT_DESCRIPTION gives a header shorter than 19 bytes");
  }
  common_header = header_length;
  const size_t count = std::min<size_t>(body.remaining(), post_header.size() - 1);
  for (size_t i = 0; i < count; ++i) body.U8(&post_header[i + 1]);
  for (uint8_t type : {kTableMap, kWriteRowsV1, kUpdateRowsV1, kDeleteRowsV1}) {
    if (post_header[type] != 6 && post_header[type] != 8) {
      return Malformed("FORMAT_DESCRIPTION gives an unknown row event post-header length");
    }
  }
  return kNoProblem;
}

// The table id is 6 bytes, or 4 in servers older than 5.1.4 (post-header 6).
bool BinlogDecoder::Workspace::ReadTableId(uint8_t type, ByteReader* body, uint64_t* id) const {
  const bool short_id = post_header[type] == 6;
  return body->UInt(short_id ? 4 : 6, id) && body->Skip(2);  // then the flags
}

Problem BinlogDecoder::Workspace::ReadTableMap(ByteReader body) {
  uint64_t id = 0;
  if (!ReadTableId(kTableMap, &body, &id)) return Malformed("TABLE_MAP is truncated");
  auto it = tables.find(id);
  // Every transaction repeats the TABLE_MAP of each table it writes: an
  // identical one is not read again (nor its names asked for again).
  if (it != tables.end() && it->second.body.size() == body.remaining() &&
      std::memcmp(it->second.body.data(), body.position(), body.remaining()) == 0) {
    return kNoProblem;
  }
  if (it == tables.end()) {
    if (tables.size() >= kMaxCachedTables) tables.clear();
    it = tables.try_emplace(id).first;
  }
  TableMap& table = it->second;
  table.body.assign(body.position(), body.position() + body.remaining());
  Problem problem = ParseTableMap(body, &table);
  if (problem.error == DecodeError::kMalformedEvent) {
    tables.erase(it);  // its rows events then fail as rows of an unknown table id
    return problem;
  }
  return kNoProblem;  // a readable TABLE_MAP of an unreadable table fails its rows only
}

Problem BinlogDecoder::Workspace::ParseTableMap(ByteReader body, TableMap* table) {
  table->problem = kNoProblem;
  table->columns.clear();
  table->names.clear();
  table->value_names.clear();
  std::string_view names[2];
  for (std::string_view& name : names) {
    uint8_t length = 0;
    const uint8_t* bytes = nullptr;
    if (!body.U8(&length) || !body.Bytes(length, &bytes) || !body.Skip(1)) {
      return Malformed("TABLE_MAP names are truncated");
    }
    name = {reinterpret_cast<const char*>(bytes), length};
  }
  table->database.assign(names[0]);
  table->table.assign(names[1]);
  table->mapped = schema.HasTable(table->database, table->table);
  if (Problem problem = ReadColumns(&body, table)) return problem;
  // The null-ability bitmap: not needed, rows carry their own.
  if (!body.Skip((table->columns.size() + 7) / 8)) return Malformed("TABLE_MAP is truncated");
  std::vector<std::string_view> column_names;
  if (Problem problem = ReadOptionalMetadata(body, table, &column_names)) return problem;
  if (!table->mapped) return kNoProblem;
  if (Problem problem = AssignSlots(column_names, table)) table->problem = problem;
  return kNoProblem;
}

// The column count, the types, then the metadata block.
Problem BinlogDecoder::Workspace::ReadColumns(ByteReader* body, TableMap* table) {
  uint64_t count = 0, metadata_length = 0;
  const uint8_t* types = nullptr;
  const uint8_t* metadata_bytes = nullptr;
  if (!body->PackedInt(&count) || count > kMaxColumns || !body->Bytes(count, &types) ||
      !body->PackedInt(&metadata_length) || metadata_length > body->remaining() ||
      !body->Bytes(metadata_length, &metadata_bytes)) {
    return Malformed("TABLE_MAP columns are truncated");
  }
  ByteReader metadata(metadata_bytes, metadata_length);
  table->columns.resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    Column& column = table->columns[i];
    column = Column{};
    if (binlog::ReadColumnMetadata(types[i], &metadata, &column)) continue;
    if (column.kind != ValueKind::kUnsupported) return Malformed("TABLE_MAP metadata is truncated");
    // The metadata of an unknown type has an unknown size: nothing after
    // it can be read, nor any row of the table.
    table->problem = {DecodeError::kUnsupportedEvent, "a column type this decoder cannot read"};
    for (uint64_t j = i + 1; j < count; ++j) table->columns[j] = Column{};
    return kNoProblem;
  }
  return kNoProblem;
}

namespace {

// Reads one packed string per entry.
bool ReadStrings(ByteReader* field, size_t count, std::vector<std::string>* out) {
  out->clear();
  for (size_t i = 0; i < count; ++i) {
    std::string_view text;
    if (!field->PackedString(&text)) return false;
    out->emplace_back(text);
  }
  return true;
}

// SIGNEDNESS: one bit per numeric column, most significant bit first.
bool ReadSignedness(ByteReader field, std::vector<Column>* columns) {
  size_t numeric = 0;
  for (Column& column : *columns) {
    if (!binlog::IsNumericType(column.type)) continue;
    const uint8_t* byte = nullptr;
    ByteReader at = field;
    if (!at.Skip(numeric / 8) || !at.Bytes(1, &byte)) return false;
    column.is_unsigned = (*byte >> (7 - numeric % 8)) & 1;
    ++numeric;
  }
  return true;
}

// DEFAULT_CHARSET: the default collation, then (index, collation) pairs for
// the character columns that differ; COLUMN_CHARSET: one collation per
// character column. Only latin1 matters here: it is converted to UTF-8.
bool ReadCharsets(uint8_t type, ByteReader field, std::vector<Column>* columns) {
  std::vector<Column*> character;
  for (Column& column : *columns) {
    if (binlog::IsCharacterColumn(column)) character.push_back(&column);
  }
  if (type == kColumnCharset) {
    for (Column* column : character) {
      uint64_t collation = 0;
      if (!field.PackedInt(&collation)) return false;
      SetCollation(collation, column);
    }
    return true;
  }
  uint64_t default_collation = 0;
  if (!field.PackedInt(&default_collation)) return false;
  for (Column* column : character) SetCollation(default_collation, column);
  while (field.remaining() > 0) {
    uint64_t index = 0, collation = 0;
    if (!field.PackedInt(&index) || !field.PackedInt(&collation) || index >= character.size()) {
      return false;
    }
    SetCollation(collation, character[index]);
  }
  return true;
}

bool ReadValueNames(ByteReader field, ValueKind kind, TableMap* table) {
  for (Column& column : table->columns) {
    if (column.kind != kind) continue;
    uint64_t count = 0;
    if (!field.PackedInt(&count) || count > field.remaining()) return false;
    column.names = static_cast<int>(table->value_names.size());
    if (!ReadStrings(&field, count, &table->value_names.emplace_back())) return false;
  }
  return true;
}

}  // namespace

// Type-length-value fields after the null bitmap, up to the event's end.
Problem BinlogDecoder::Workspace::ReadOptionalMetadata(ByteReader body, TableMap* table,
                                                       std::vector<std::string_view>* names) {
  while (body.remaining() > 0) {
    uint8_t type = 0;
    uint64_t length = 0;
    const uint8_t* bytes = nullptr;
    if (!body.U8(&type) || !body.PackedInt(&length) || length > body.remaining() ||
        !body.Bytes(length, &bytes)) {
      return Malformed("TABLE_MAP optional metadata is truncated");
    }
    ByteReader field(bytes, length);
    bool ok = true;
    switch (type) {
      case kSignedness:
        ok = ReadSignedness(field, &table->columns);
        break;
      case kDefaultCharset:
      case kColumnCharset:
        ok = ReadCharsets(type, field, &table->columns);
        break;
      case kColumnName:
        names->clear();
        for (size_t i = 0; ok && i < table->columns.size(); ++i) {
          ok = field.PackedString(&names->emplace_back());
        }
        break;
      case kSetStrValue:
        ok = ReadValueNames(field, ValueKind::kSet, table);
        break;
      case kEnumStrValue:
        ok = ReadValueNames(field, ValueKind::kEnum, table);
        break;
      default:
        break;  // keys, geometry types, visibility: not needed
    }
    if (!ok) return Malformed("a TABLE_MAP optional metadata field is truncated");
  }
  return kNoProblem;
}

// Numbers the columns some mapping needs, by name: from the TABLE_MAP, else
// from the column_names callback.
Problem BinlogDecoder::Workspace::AssignSlots(const std::vector<std::string_view>& names,
                                              TableMap* table) {
  const std::vector<std::string>* asked = nullptr;
  if (names.empty()) {
    if (!column_names) {
      return {DecodeError::kMissingField,
              "no column names: set binlog_row_metadata=FULL on the server"};
    }
    asked = column_names(table->database, table->table);
    if (asked == nullptr)
      return {DecodeError::kMissingField, "the table's column names are unknown"};
    if (asked->size() != table->columns.size()) {
      return {DecodeError::kBadValue, "the table's column names do not match its TABLE_MAP"};
    }
  }
  table->names.clear();
  for (size_t i = 0; i < table->columns.size(); ++i) {
    const std::string_view name = asked ? std::string_view((*asked)[i]) : names[i];
    table->columns[i].slot = schema.columns.Find(name);
    table->names.emplace_back(name);
  }
  return kNoProblem;
}

// The names kept from the TABLE_MAP of the row event `message` (or, for
// another event, of any TABLE_MAP of that table).
std::vector<std::string> BinlogDecoder::Workspace::TableColumns(const SourceMessage& message,
                                                                std::string_view database,
                                                                std::string_view table) {
  auto is_table = [&](const TableMap& map) {
    return map.database == database && map.table == table && !map.names.empty();
  };
  const auto* bytes = reinterpret_cast<const uint8_t*>(message.payload.data());
  ByteReader reader(bytes, message.payload.size());
  uint8_t type = 0;
  uint64_t id = 0;
  if (message.payload.size() >= common_header && reader.Skip(4) && reader.U8(&type) &&
      reader.Skip(common_header - 5) && RowOpOfEvent(type) && ReadTableId(type, &reader, &id)) {
    auto it = tables.find(id);
    if (it != tables.end() && is_table(it->second)) return it->second.names;
  }
  for (const auto& [table_id, map] : tables) {
    if (is_table(map)) return map.names;
  }
  return {};
}

namespace {

// The indexes of the columns whose bit is set in a rows event's bitmap.
bool ReadBitmap(ByteReader* body, size_t columns, std::vector<uint16_t>* present) {
  const uint8_t* bitmap = nullptr;
  if (!body->Bytes((columns + 7) / 8, &bitmap)) return false;
  present->clear();
  for (size_t i = 0; i < columns; ++i) {
    if ((bitmap[i / 8] >> (i % 8)) & 1) present->push_back(static_cast<uint16_t>(i));
  }
  return true;
}

}  // namespace

// Post-header (table id, flags, and for v2 the extra data), column count,
// the column bitmap(s), then the rows: each image is a null bitmap over the
// present columns followed by the non-null values.
Problem BinlogDecoder::Workspace::ReadRows(const EventHeader& header, ByteReader body) {
  uint64_t id = 0, extra_length = 0;
  if (!ReadTableId(header.type, &body, &id)) return Malformed("a row event is truncated");
  if (IsRowsV2(header.type) && post_header[header.type] == 10 &&
      (!body.UInt(2, &extra_length) || extra_length < 2 || !body.Skip(extra_length - 2))) {
    return Malformed("a row event's extra data is truncated");
  }
  auto it = tables.find(id);
  if (it == tables.end()) {
    // MySQL ends some statements with a dummy event of this table id.
    if (id == 0x00FFFFFF || id == 0xFFFFFFFFFFFF) return kNoProblem;
    return Malformed("a row event for a table id without a TABLE_MAP");
  }
  const TableMap& table = it->second;
  if (!table.mapped) {
    unmapped = &table;
    return {DecodeError::kUnknownTable, "no mapping declares this table"};
  }
  if (table.problem) return table.problem;
  uint64_t count = 0;
  if (!body.PackedInt(&count) || count != table.columns.size()) {
    return Malformed("a row event's column count differs from its TABLE_MAP");
  }
  const RowOp op = *RowOpOfEvent(header.type);
  if (!ReadBitmap(&body, count, &present_before) ||
      (op == RowOp::kUpdate && !ReadBitmap(&body, count, &present_after))) {
    return Malformed("a row event's column bitmap is truncated");
  }
  while (body.remaining() > 0) {
    PendingRow& row = pending.emplace_back();
    row.table = &table;
    row.op = op;
    uint64_t first_slots = 0, second_slots = 0;
    size_t* first = op == RowOp::kInsert ? &row.after : &row.before;
    if (Problem problem = ReadImage(table, present_before, &body, first, &first_slots)) {
      return problem;
    }
    if (op != RowOp::kUpdate) continue;
    if (Problem problem = ReadImage(table, present_after, &body, &row.after, &second_slots)) {
      return problem;
    }
    MergeUpdate(&row, first_slots, second_slots);
  }
  return kNoProblem;
}

// Reads one row image into `width` new values (absent unless the image has
// the column); `slots` gets the slots the image carries, NULL included.
Problem BinlogDecoder::Workspace::ReadImage(const TableMap& table,
                                            const std::vector<uint16_t>& present, ByteReader* rows,
                                            size_t* offset, uint64_t* slots) {
  const uint8_t* nulls = nullptr;
  const size_t start = rows->remaining();
  if (!rows->Bytes((present.size() + 7) / 8, &nulls)) return Malformed("a row image is truncated");
  *offset = values.size();
  values.resize(values.size() + width);
  ColumnValue* const image = values.data() + *offset;
  for (size_t k = 0; k < present.size(); ++k) {
    const Column& column = table.columns[present[k]];
    const bool is_null = (nulls[k / 8] >> (k % 8)) & 1;
    if (is_null) {
      if (column.slot >= 0) {
        image[column.slot].state = ColumnValue::State::kNull;
        *slots |= uint64_t{1} << column.slot;
      }
      continue;
    }
    size_t size = 0;
    if (!binlog::ValueSize(column, *rows, &size)) {
      if (column.kind == ValueKind::kUnsupported) {
        return {DecodeError::kUnsupportedEvent, "a column type this decoder cannot read"};
      }
      return Malformed("a row value runs past the end of the event");
    }
    if (column.slot >= 0) {
      ColumnValue& value = image[column.slot];
      std::string_view detail;
      const std::vector<std::string>* names =
          column.names >= 0 ? &table.value_names[column.names] : nullptr;
      if (!formatter.Format(column, rows->position(), size, names, &value.text, &detail)) {
        return {column.is_binary_json ? DecodeError::kUnsupportedEvent : DecodeError::kBadValue,
                detail};
      }
      value.state = ColumnValue::State::kText;
      *slots |= uint64_t{1} << column.slot;
    }
    rows->Skip(size);
  }
  if (rows->remaining() == start) return Malformed("a row image with no columns");
  return kNoProblem;
}

// Completes an UPDATE's images (see the header): columns the new image lacks
// did not change, and a column changed when its new value is not the old.
void BinlogDecoder::Workspace::MergeUpdate(PendingRow* row, uint64_t before_slots,
                                           uint64_t after_slots) {
  ColumnValue* const before = values.data() + row->before;
  ColumnValue* const after = values.data() + row->after;
  for (size_t slot = 0; slot < width; ++slot) {
    const uint64_t bit = uint64_t{1} << slot;
    if (after_slots & bit) {
      if (!(before_slots & bit) || !(before[slot] == after[slot])) row->changed |= bit;
    } else if (before_slots & bit) {
      after[slot] = before[slot];
    }
  }
}

void BinlogDecoder::Workspace::BuildRows(const EventHeader& header,
                                         const SourcePosition& position) {
  auto image = [&](size_t offset) -> std::span<const ColumnValue> {
    if (offset == PendingRow::kNone) return {};
    return {values.data() + offset, width};
  };
  for (const PendingRow& p : pending) {
    RowChange& row = rows.emplace_back();
    row.database = p.table->database;
    row.table = p.table->table;
    row.op = p.op;
    row.commit_time_ms = int64_t{header.timestamp} * 1000;
    row.before = image(p.before);
    row.after = image(p.after);
    row.changed_slots = p.changed;
    row.position = position;
  }
}

BinlogDecoder::BinlogDecoder(const DecodeSchema& schema, BinlogDecoderOptions options)
    : schema_(schema), workspace_(std::make_unique<Workspace>(schema_, options)) {}

BinlogDecoder::~BinlogDecoder() = default;

DecodeResult BinlogDecoder::Decode(const SourceMessage& message) {
  return workspace_->Decode(message);
}

std::vector<std::string> BinlogDecoder::TableColumns(const SourceMessage& message,
                                                     std::string_view database,
                                                     std::string_view table) {
  return workspace_->TableColumns(message, database, table);
}

void BinlogDecoder::ForgetTables() { workspace_->tables.clear(); }

bool BinlogDecoder::ValidTimeZone(std::string_view time_zone) {
  binlog::TimestampZone zone;
  return zone.Set(time_zone);
}

std::string_view BinlogDecoder::EventTypeName(uint8_t type) {
  switch (type) {
    case kQuery:
      return "QUERY";
    case kStop:
      return "STOP";
    case kRotate:
      return "ROTATE";
    case kIntvar:
      return "INTVAR";
    case kRand:
      return "RAND";
    case kUserVar:
      return "USER_VAR";
    case kFormatDescription:
      return "FORMAT_DESCRIPTION";
    case kXid:
      return "XID";
    case kTableMap:
      return "TABLE_MAP";
    case kWriteRowsV1:
    case kWriteRowsV2:
      return "WRITE_ROWS";
    case kUpdateRowsV1:
    case kUpdateRowsV2:
      return "UPDATE_ROWS";
    case kDeleteRowsV1:
    case kDeleteRowsV2:
      return "DELETE_ROWS";
    case kIncident:
      return "INCIDENT";
    case kHeartbeat:
    case kHeartbeatV2:
      return "HEARTBEAT";
    case kIgnorable:
      return "IGNORABLE";
    case kRowsQuery:
      return "ROWS_QUERY";
    case kGtid:
    case kMariaGtid:
      return "GTID";
    case kAnonymousGtid:
      return "ANONYMOUS_GTID";
    case kPreviousGtids:
      return "PREVIOUS_GTIDS";
    case kTransactionContext:
      return "TRANSACTION_CONTEXT";
    case kViewChange:
      return "VIEW_CHANGE";
    case kXaPrepare:
      return "XA_PREPARE";
    case kPartialUpdateRows:
      return "PARTIAL_UPDATE_ROWS";
    case kTransactionPayload:
      return "TRANSACTION_PAYLOAD";
    case kAnnotateRows:
      return "ANNOTATE_ROWS";
    case kBinlogCheckpoint:
      return "BINLOG_CHECKPOINT";
    case kGtidList:
      return "GTID_LIST";
    case kStartEncryption:
      return "START_ENCRYPTION";
    case kQueryCompressed:
      return "QUERY_COMPRESSED";
    default:
      break;
  }
  if (type >= kWriteRowsCompressedV1 && type <= kDeleteRowsCompressed) return "COMPRESSED_ROWS";
  return "UNKNOWN";
}

}  // namespace txmon
