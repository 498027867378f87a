#include "agent/source/binlog_source.h"

#include <errmsg.h>
#include <mariadb_rpl.h>
#include <mysqld_error.h>

#include <algorithm>
#include <cstring>

#include "agent/base/log.h"
#include "agent/base/wall_clock.h"

namespace txmon {

namespace {

constexpr std::string_view kComponent = "binlog";
constexpr unsigned kServerIdClash = 4052;    // ER_SLAVE_SAME_ID
constexpr unsigned kMasterFatalRead = 1236;  // ER_MASTER_FATAL_ERROR_READING_BINLOG
constexpr size_t kHeaderBytes = 19;

std::string_view ToView(const MARIADB_STRING& s) {
  return s.str == nullptr ? std::string_view() : std::string_view(s.str, s.length);
}

// 'user'@'host' from CURRENT_USER()'s user@host.
std::string AccountOf(const std::string& current_user) {
  const size_t at = current_user.rfind('@');
  if (at == std::string::npos) return "'" + current_user + "'";
  return "'" + current_user.substr(0, at) + "'@'" + current_user.substr(at + 1) + "'";
}

std::string GrantAdvice(const std::string& account) {
  return "run on the server: GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO " + account +
         "; (and GRANT SELECT ON <database>.* TO " + account +
         "; for the column names when binlog_row_metadata is not FULL)";
}

bool IsPrivilegeError(unsigned code) {
  return code == ER_SPECIFIC_ACCESS_DENIED_ERROR || code == ER_ACCESS_DENIED_ERROR ||
         code == ER_DBACCESS_DENIED_ERROR || code == ER_TABLEACCESS_DENIED_ERROR;
}

}  // namespace

// One connection's state, reader thread only.
struct BinlogSource::Session {
  std::unique_ptr<MysqlConnection> connection;
  MARIADB_RPL* rpl = nullptr;
  size_t checksum_bytes = 4;
  std::string account;  // 'txmon'@'%'
  BinlogFilePosition start;
  std::string gtid_state;  // non-empty: start by GTID
  ~Session() {
    if (rpl != nullptr) mariadb_rpl_close(rpl);
  }
};

Status BinlogSource::Create(BinlogSourceOptions options, std::unique_ptr<BinlogSource>* out) {
  if (options.endpoint.address.empty()) {
    return Status::Error("no address (host:port or a unix socket path)");
  }
  if (options.server_id == 0) {
    return Status::Error("server_id must be a non-zero number no other replica of the server uses");
  }
  if (options.start == BinlogSourceOptions::Start::kFilePosition) {
    std::string base;
    uint32_t sequence = 0;
    if (!SplitBinlogFileName(options.start_position.file, &base, &sequence)) {
      return Status::Error("start file \"" + options.start_position.file +
                           "\" is not a binlog file name (BASE.NNNNNN)");
    }
  }
  *out = std::unique_ptr<BinlogSource>(new BinlogSource(std::move(options)));
  return Status::Ok();
}

BinlogSource::BinlogSource(BinlogSourceOptions options)
    : options_(std::move(options)), assembler_(options_.databases) {}

BinlogSource::~BinlogSource() { Close(); }

void BinlogSource::ResumeFrom(const std::vector<SourceOffset>& offsets) {
  const BinlogResumePoint point = BinlogResumePointFrom(offsets);
  if (point.file_position) {
    resume_position_ = point.file_position;
    resume_from_checkpoint_ = true;
  } else if (!point.gtids.empty()) {
    resume_gtid_state_ = point.GtidState();
    resume_from_checkpoint_ = true;
  }
}

void BinlogSource::Close() {
  stop_.store(true);
  {
    std::lock_guard lock(mutex_);
    if (live_connection_ != nullptr) live_connection_->Interrupt();
  }
  ready_cv_.notify_all();
  if (reader_.joinable()) reader_.join();
  connected_.store(false);
}

Status BinlogSource::Poll(std::vector<SourceMessage>& batch, size_t max_messages,
                          std::chrono::milliseconds timeout) {
  batch.clear();
  std::unique_lock lock(mutex_);
  for (BinlogTransaction& t : held_) free_.push_back(std::move(t));
  held_.clear();
  if (!started_) {
    started_ = true;
    reader_ = std::thread([this] { ReaderLoop(); });
  }
  ready_cv_.wait_for(lock, timeout, [&] { return !queue_.empty() || failed_; });
  if (queue_.empty()) return failed_ ? failure_ : Status::Ok();
  size_t count = 0;
  while (!queue_.empty()) {
    const size_t n = queue_.front().events.size();
    if (count > 0 && count + n > max_messages) break;
    count += n;
    queued_bytes_ -= queue_.front().bytes.size();
    held_.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  lock.unlock();
  ready_cv_.notify_all();  // room for the reader
  batch.reserve(count);
  for (const BinlogTransaction& t : held_) {
    const std::string_view file_topic = Intern(BinlogTopicFor(t.end.file));
    int64_t file_offset = 0;
    BinlogOffsetFor(t.end, &file_offset);
    for (const BinlogTransaction::Event& e : t.events) {
      SourceMessage& m = batch.emplace_back();
      m.payload = t.EventBytes(e);
      if (e.is_gtid && t.gtid) {
        m.position = {Intern(BinlogGtidTopic(t.gtid->domain)),
                      static_cast<int32_t>(t.gtid->server_id), BinlogGtidOffset(*t.gtid)};
      } else {
        m.position = {file_topic, 0, file_offset};
      }
    }
  }
  return Status::Ok();
}

std::string_view BinlogSource::Intern(std::string topic) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) it = topics_.insert(std::move(topic)).first;
  return *it;
}

void BinlogSource::Acknowledge(const std::vector<SourceMessage>& batch) {
  for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
    if (!it->position.topic.starts_with(kBinlogTopicPrefix)) continue;
    const auto offset = static_cast<uint64_t>(it->position.offset) + 1;
    applied_sequence_.store(static_cast<uint32_t>(offset >> 32), std::memory_order_relaxed);
    applied_position_.store(offset & 0xffffffffu, std::memory_order_relaxed);
    return;
  }
}

bool BinlogSource::GetReplicaStats(ReplicaStats* stats) const {
  stats->events_by_type.clear();
  for (size_t type = 0; type < events_.size(); ++type) {
    const uint64_t n = events_[type].load(std::memory_order_relaxed);
    if (n == 0) continue;
    const std::string_view name = binlog_event::Name(static_cast<uint8_t>(type));
    auto it = std::find_if(stats->events_by_type.begin(), stats->events_by_type.end(),
                           [&](const auto& entry) { return entry.first == name; });
    if (it == stats->events_by_type.end()) {
      stats->events_by_type.emplace_back(std::string(name), n);
    } else {
      it->second += n;  // v1 and v2 row events share a name
    }
  }
  stats->heartbeats = heartbeats_.load(std::memory_order_relaxed);
  stats->reconnects = reconnects_.load(std::memory_order_relaxed);
  stats->purged_positions = purged_.load(std::memory_order_relaxed);
  stats->file_sequence = applied_sequence_.load(std::memory_order_relaxed);
  stats->position = applied_position_.load(std::memory_order_relaxed);
  const int64_t event_s = last_event_time_s_.load(std::memory_order_relaxed);
  stats->seconds_behind = 0;
  if (!caught_up_.load(std::memory_order_relaxed) && event_s > 0) {
    // Event times have whole seconds: so does the difference, as in
    // MySQL's Seconds_Behind_Source.
    const int64_t server_now_s = (WallClockMs() + server_clock_offset_ms_.load()) / 1000;
    stats->seconds_behind = static_cast<double>(std::max<int64_t>(0, server_now_s - event_s));
  }
  return true;
}

void BinlogSource::SleepBackoff(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  ready_cv_.wait_for(lock, delay, [&] { return stop_.load(); });
}

void BinlogSource::ReaderLoop() {
  std::chrono::milliseconds backoff = options_.reconnect_backoff_min;
  while (!stop_.load()) {
    bool fatal = false;
    const auto started = std::chrono::steady_clock::now();
    Status s = RunSession(&fatal);
    connected_.store(false, std::memory_order_release);
    if (stop_.load()) return;
    if (fatal) {
      Log(LogLevel::kError, kComponent, "cannot read the binlog", {{"err", s.message()}});
      std::lock_guard lock(mutex_);
      failed_ = true;
      failure_ = Status::Error("binlog source: " + s.message());
      ready_cv_.notify_all();
      return;
    }
    if (rotated_) {  // not a failure: follow the rotation at once
      rotated_ = false;
      Log(LogLevel::kDebug, kComponent, "following a binlog rotation",
          {{"file", assembler_.position().file}});
      continue;
    }
    // A session that ran a while was healthy: start the backoff over.
    if (std::chrono::steady_clock::now() - started > std::chrono::seconds(10)) {
      backoff = options_.reconnect_backoff_min;
    }
    reconnects_.fetch_add(1, std::memory_order_relaxed);
    Log(LogLevel::kWarn, kComponent, "binlog connection lost: reconnecting",
        {{"err", s.message()},
         {"address", options_.endpoint.address},
         {"resume_file", assembler_.position().file},
         {"resume_pos", std::to_string(assembler_.position().position)},
         {"backoff", std::to_string(backoff.count()) + "ms"}});
    SleepBackoff(backoff);
    backoff = std::min(backoff * 2, options_.reconnect_backoff_max);
  }
}

Status BinlogSource::RunSession(bool* fatal) {
  Session session;
  MysqlEndpoint endpoint = options_.endpoint;
  // A heartbeat comes every period: a silence of many means a dead peer.
  const auto period_s = std::chrono::duration_cast<std::chrono::seconds>(options_.heartbeat_period);
  endpoint.read_timeout_seconds = static_cast<unsigned>(std::max<int64_t>(5, 4 * period_s.count()));
  MysqlError error;
  session.connection = MysqlConnection::Open(endpoint, &error);
  if (!session.connection) {
    *fatal = !error.transient();
    if (error.code == ER_ACCESS_DENIED_ERROR) {
      return Status::Error("access denied for user \"" + options_.endpoint.user + "\" at " +
                           options_.endpoint.address +
                           ": check source.binlog.user and its "
                           "password (" +
                           error.message + ")");
    }
    return Status::Error("cannot connect to " + options_.endpoint.address + ": " + error.message);
  }
  {
    std::lock_guard lock(mutex_);
    live_connection_ = session.connection.get();
  }
  Status s = PrepareSession(session, fatal);
  if (s.ok()) s = ReadEvents(session, fatal);
  std::lock_guard lock(mutex_);
  live_connection_ = nullptr;
  return s;
}

namespace {

// SHOW GLOBAL VARIABLES' value of `name`, or empty.
std::string VariableValue(const std::vector<MysqlRow>& rows, std::string_view name) {
  for (const MysqlRow& row : rows) {
    if (row.size() >= 2 && row[0] && *row[0] == name && row[1]) return *row[1];
  }
  return "";
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// What the server's settings must be for this source to read its binlog.
Status CheckSettings(const std::vector<MysqlRow>& vars, bool* fatal) {
  *fatal = true;
  const std::string log_bin = VariableValue(vars, "log_bin");
  if (!EqualsIgnoreCase(log_bin, "ON") && log_bin != "1") {
    return Status::Error("the server writes no binlog (log_bin=" + log_bin +
                         "): start it with --log-bin and --binlog-format=ROW");
  }
  const std::string format = VariableValue(vars, "binlog_format");
  if (!EqualsIgnoreCase(format, "ROW")) {
    return Status::Error("binlog_format is " + format +
                         ": txmon reads row events only; run SET GLOBAL binlog_format='ROW' "
                         "and put binlog_format=ROW in the server's configuration");
  }
  const std::string compression = VariableValue(vars, "binlog_transaction_compression");
  if (EqualsIgnoreCase(compression, "ON")) {
    return Status::Error(
        "binlog_transaction_compression=ON: compressed transaction payloads cannot be read by "
        "this source; set binlog_transaction_compression=OFF");
  }
  const std::string value_options = VariableValue(vars, "binlog_row_value_options");
  if (!value_options.empty()) {
    return Status::Error("binlog_row_value_options=" + value_options +
                         ": partial JSON updates cannot be read by this source; set "
                         "binlog_row_value_options=''");
  }
  *fatal = false;
  return Status::Ok();
}

}  // namespace

Status BinlogSource::PrepareSession(Session& session, bool* fatal) {
  if (stop_.load()) return Status::Error("stopping");
  MysqlConnection& c = *session.connection;
  std::vector<MysqlRow> rows;
  MysqlError error;
  auto failed = [&](std::string_view what) {
    *fatal = !error.transient();
    return Status::Error(std::string(what) + ": " + error.message);
  };
  if (!c.Query("SELECT CURRENT_USER(), UNIX_TIMESTAMP(NOW(3))", &rows, &error))
    return failed("server check");
  session.account = AccountOf(rows.at(0).at(0).value_or(""));
  const int64_t server_ms = static_cast<int64_t>(std::stod(rows.at(0).at(1).value_or("0")) * 1000);
  server_clock_offset_ms_.store(server_ms - WallClockMs());
  if (!c.Query("SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', "
               "'binlog_row_image', 'binlog_checksum', 'binlog_transaction_compression', "
               "'binlog_row_value_options')",
               &rows, &error)) {
    return failed("server check");
  }
  if (Status s = CheckSettings(rows, fatal); !s.ok()) return s;
  if (EqualsIgnoreCase(VariableValue(rows, "binlog_row_image"), "MINIMAL")) {
    Log(LogLevel::kWarn, kComponent,
        "binlog_row_image=MINIMAL: updates carry only the changed columns and the key, so "
        "filters and status transitions on other columns see nothing; set "
        "binlog_row_image=FULL");
  }
  session.checksum_bytes = EqualsIgnoreCase(VariableValue(rows, "binlog_checksum"), "NONE") ? 0 : 4;
  const std::string heartbeat_ns =
      std::to_string(std::chrono::nanoseconds(options_.heartbeat_period).count());
  const std::string setup =
      "SET @master_binlog_checksum = @@global.binlog_checksum, "
      "@source_binlog_checksum = @@global.binlog_checksum, @mariadb_slave_capability = 4, "
      "@master_heartbeat_period = " +
      heartbeat_ns + ", @source_heartbeat_period = " + heartbeat_ns;
  if (!c.Query(setup, nullptr, &error)) return failed("dump set-up");
  if (Status s = ChooseStart(session, fatal); !s.ok()) return s;
  if (!session.gtid_state.empty() &&
      !c.Query("SET @slave_connect_state = " + c.Quote(session.gtid_state) +
                   ", @slave_gtid_strict_mode = 0, @slave_gtid_ignore_duplicates = 0",
               nullptr, &error)) {
    return failed("GTID start");
  }
  return Status::Ok();
}

Status BinlogSource::ChooseStart(Session& session, bool* fatal) {
  MysqlConnection& c = *session.connection;
  std::vector<MysqlRow> rows;
  MysqlError error;
  auto failed = [&](std::string_view what) {
    *fatal = !error.transient();
    if (IsPrivilegeError(error.code)) {
      return Status::Error(std::string(what) + " needs REPLICATION CLIENT, which " +
                           session.account + " lacks (" + error.message +
                           "): " + GrantAdvice(session.account));
    }
    return Status::Error(std::string(what) + ": " + error.message);
  };
  // SHOW BINARY LOGS needs REPLICATION CLIENT: checked for every start.
  if (!c.Query("SHOW BINARY LOGS", &rows, &error)) return failed("SHOW BINARY LOGS");
  if (rows.empty() || !rows[0][0]) {
    *fatal = true;
    return Status::Error("the server lists no binary logs");
  }
  const std::string earliest = *rows[0][0];
  if (resume_position_) {
    session.start = *resume_position_;
    return CheckNotPurged(session, fatal);
  }
  if (!resume_gtid_state_.empty()) {
    session.gtid_state = resume_gtid_state_;
    session.start = {"", 4};
    return Status::Ok();
  }
  switch (options_.start) {
    case BinlogSourceOptions::Start::kEarliest:
      session.start = {earliest, 4};
      break;
    case BinlogSourceOptions::Start::kFilePosition:
      session.start = options_.start_position;
      if (Status s = CheckNotPurged(session, fatal); !s.ok()) return s;
      break;
    case BinlogSourceOptions::Start::kGtid:
      session.gtid_state = options_.start_gtid;
      session.start = {"", 4};
      resume_gtid_state_ = options_.start_gtid;
      return Status::Ok();
    case BinlogSourceOptions::Start::kCurrent:
      if (!c.Query("SHOW MASTER STATUS", &rows, &error)) return failed("SHOW MASTER STATUS");
      if (rows.empty() || !rows[0][0] || !rows[0][1]) {
        *fatal = true;
        return Status::Error("SHOW MASTER STATUS is empty: the server writes no binlog");
      }
      session.start = {*rows[0][0], static_cast<uint32_t>(std::stoul(*rows[0][1]))};
      break;
  }
  resume_position_ = session.start;
  return Status::Ok();
}

Status BinlogSource::CheckNotPurged(Session& session, bool* fatal) {
  std::vector<MysqlRow> rows;
  MysqlError error;
  if (!session.connection->Query("SHOW BINARY LOGS", &rows, &error)) {
    *fatal = !error.transient();
    return Status::Error("SHOW BINARY LOGS: " + error.message);
  }
  std::string base, first_base;
  uint32_t wanted = 0, first = 0;
  SplitBinlogFileName(session.start.file, &base, &wanted);
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!rows[i][0] || *rows[i][0] != session.start.file) continue;
    // The end of a file the server no longer writes is the start of the
    // next one (Connector/C cannot follow the dump there by itself).
    const uint64_t size = rows[i].size() > 1 && rows[i][1] ? std::stoull(*rows[i][1]) : 0;
    if (i + 1 < rows.size() && rows[i + 1][0] && session.start.position >= size) {
      session.start = {*rows[i + 1][0], 4};
    }
    return Status::Ok();
  }
  const std::string earliest = rows.empty() || !rows[0][0] ? "" : *rows[0][0];
  SplitBinlogFileName(earliest, &first_base, &first);
  if (first_base != base || wanted > first) {
    *fatal = true;
    return Status::Error("the server has no binlog " + session.start.file + " (its oldest is " +
                         earliest +
                         "): the resume position belongs to "
                         "another server; remove the checkpoint to start over");
  }
  purged_.fetch_add(1, std::memory_order_relaxed);
  Log(LogLevel::kError, kComponent,
      "the resume position was purged from the server: continuing at its oldest binlog; the "
      "changes in between are lost to the metrics",
      {{"resume_file", session.start.file},
       {"resume_pos", std::to_string(session.start.position)},
       {"oldest_file", earliest}});
  session.start = {earliest, 4};
  resume_position_ = session.start;
  return Status::Ok();
}

namespace {

// The dump's failure with what to do about it; `fatal` unless the
// connection was merely lost.
Status DumpError(unsigned code, const std::string& message, uint32_t server_id,
                 const std::string& account, bool* fatal) {
  *fatal = !MysqlError{code, message}.transient();
  if (code == kServerIdClash) {
    return Status::Error(
        "another replica of the server uses server_id " + std::to_string(server_id) +
        ": give source.binlog.server_id a value no other replica uses (" + message + ")");
  }
  if (IsPrivilegeError(code)) {
    return Status::Error("reading the binlog needs REPLICATION SLAVE, which " + account +
                         " lacks (" + message + "): " + GrantAdvice(account));
  }
  if (code == kMasterFatalRead) {
    return Status::Error("the server refused the binlog dump: " + message);
  }
  // 0: the connection closed without an error; CR_BINLOG_ERROR: the
  // connector could not parse what the server sent at a file switch.
  if (code == 0 || code == CR_BINLOG_ERROR) *fatal = false;
  return Status::Error("binlog dump: " + std::to_string(code) + " " + message);
}

}  // namespace

Status BinlogSource::ReadEvents(Session& session, bool* fatal) {
  session.rpl = mariadb_rpl_init(session.connection->handle());
  if (session.rpl == nullptr) {
    *fatal = true;
    return Status::Error("mariadb_rpl_init failed");
  }
  MARIADB_RPL* rpl = session.rpl;
  mariadb_rpl_optionsv(rpl, MARIADB_RPL_FILENAME, session.start.file.c_str(),
                       session.start.file.size());
  mariadb_rpl_optionsv(rpl, MARIADB_RPL_START, static_cast<unsigned long>(session.start.position));
  mariadb_rpl_optionsv(rpl, MARIADB_RPL_SERVER_ID, options_.server_id);
  mariadb_rpl_optionsv(rpl, MARIADB_RPL_VERIFY_CHECKSUM, 1);
  if (mariadb_rpl_open(rpl) != 0) {
    const MysqlError e = session.connection->LastError();
    const unsigned code = e.code != 0 ? e.code : mariadb_rpl_errno(rpl);
    return DumpError(code, e.code != 0 ? e.message : mariadb_rpl_error(rpl), options_.server_id,
                     session.account, fatal);
  }
  assembler_.Reset(session.start);
  bool exact = session.gtid_state.empty();  // a GTID start learns its file position later
  bool seen_format = false;
  Log(LogLevel::kInfo, kComponent, "reading the binlog",
      {{"address", options_.endpoint.address},
       {"file", session.start.file},
       {"pos", std::to_string(session.start.position)},
       {"gtid", session.gtid_state},
       {"server_id", std::to_string(options_.server_id)}});
  MARIADB_RPL_EVENT* event = nullptr;
  Status status;
  while (!stop_.load(std::memory_order_relaxed)) {
    event = mariadb_rpl_fetch(rpl, event);
    if (event == nullptr) {  // the library freed the event buffer it was given
      const MysqlError e = session.connection->LastError();
      const unsigned code = e.code != 0 ? e.code : mariadb_rpl_errno(rpl);
      status = DumpError(code, e.code != 0 ? e.message : mariadb_rpl_error(rpl), options_.server_id,
                         session.account, fatal);
      break;
    }
    connected_.store(true, std::memory_order_release);
    const size_t before = assembler_.position().position;
    OnEvent(*event, session.checksum_bytes);
    if (!exact && !assembler_.in_transaction() && assembler_.position().position != before) {
      exact = event->event_type != ROTATE_EVENT;
    }
    // Connector/C 3.3 fails ("Malformed packet") on the FORMAT_DESCRIPTION
    // that follows a ROTATE inside a dump (a rotation, or the next file after
    // a server restart's STOP): open a new dump at the next file instead.
    if (event->event_type == FORMAT_DESCRIPTION_EVENT) seen_format = true;
    if ((event->event_type == ROTATE_EVENT && seen_format) || event->event_type == STOP_EVENT) {
      rotated_ = true;
      status = Status::Error("rotated to " + assembler_.position().file);
      break;
    }
  }
  if (event != nullptr) mariadb_free_rpl_event(event);
  if (exact && !assembler_.position().file.empty()) {
    resume_position_ = assembler_.position();
  }
  if (stop_.load()) return Status::Error("stopping");
  return status;
}

void BinlogSource::OnEvent(const MARIADB_RPL_EVENT& event, size_t checksum_bytes) {
  const auto type = static_cast<uint8_t>(event.event_type);
  events_[type].fetch_add(1, std::memory_order_relaxed);
  if (type == binlog_event::kHeartbeat) {
    heartbeats_.fetch_add(1, std::memory_order_relaxed);
    caught_up_.store(true, std::memory_order_relaxed);
    return;
  }
  if (event.timestamp != 0 && type != binlog_event::kRotate &&
      type != binlog_event::kFormatDescription) {
    last_event_time_s_.store(event.timestamp, std::memory_order_relaxed);
    caught_up_.store(false, std::memory_order_relaxed);
  }
  BinlogEventInfo info;
  info.type = type;
  // raw_data: the packet's OK byte, then the event with its checksum.
  const size_t size = std::min<size_t>(event.event_length, event.raw_data_size - 1);
  info.bytes = std::string_view(reinterpret_cast<const char*>(event.raw_data) + 1,
                                size >= checksum_bytes + 19 ? size - checksum_bytes : size);
  info.end_position = event.next_event_pos;
  info.timestamp = event.timestamp;
  switch (event.event_type) {
    case ROTATE_EVENT:  // read by hand: 3.3's parse cuts real ROTATEs' names short
      if (info.bytes.size() > kHeaderBytes + 8) {
        std::memcpy(&info.rotate_position, info.bytes.data() + kHeaderBytes, 8);
        info.text = info.bytes.substr(kHeaderBytes + 8);
      }
      break;
    case GTID_EVENT:
      info.gtid =
          BinlogGtid{event.event.gtid.domain_id, event.server_id, event.event.gtid.sequence_nr};
      info.standalone = (event.event.gtid.flags & 1) != 0;  // FL_STANDALONE
      break;
    case QUERY_EVENT:
    case QUERY_COMPRESSED_EVENT:
      info.text = ToView(event.event.query.statement);
      break;
    case TABLE_MAP_EVENT:
      info.table_id = event.event.table_map.table_id;
      info.database = ToView(event.event.table_map.database);
      break;
    default:
      if (binlog_event::IsRows(type)) info.table_id = event.event.rows.table_id;
      break;
  }
  if (assembler_.Add(info, &done_)) Enqueue(std::move(done_));
}

void BinlogSource::Enqueue(BinlogTransaction&& transaction) {
  std::unique_lock lock(mutex_);
  ready_cv_.wait(lock, [&] {
    return queue_.empty() || queued_bytes_ < options_.max_buffered_bytes || stop_.load();
  });
  queued_bytes_ += transaction.bytes.size();
  queue_.push_back(std::move(transaction));
  // The next transaction reuses a buffer the pipeline is done with.
  if (!free_.empty()) {
    done_ = std::move(free_.back());
    free_.pop_back();
  } else {
    done_ = BinlogTransaction();
  }
  lock.unlock();
  ready_cv_.notify_all();
}

}  // namespace txmon
