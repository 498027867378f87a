#include "agent/checkpoint/checkpoint_file.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace txmon {

namespace {

constexpr char kMagic[8] = {'T', 'X', 'M', 'O', 'N', 'C', 'K', 'P'};
constexpr size_t kHeaderBytes = 8 + 4 + 8 + 4;

class Writer {
 public:
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U32(uint32_t v) { Raw(&v, 4); }
  void U64(uint64_t v) { Raw(&v, 8); }
  void I64(int64_t v) { Raw(&v, 8); }
  void F64(double v) { Raw(&v, 8); }
  void Str(const std::string& s) {
    U32(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  std::string& out() { return out_; }

 private:
  void Raw(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }  // LE hosts
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool U8(uint8_t* v) { return Raw(v, 1); }
  bool U32(uint32_t* v) { return Raw(v, 4); }
  bool U64(uint64_t* v) { return Raw(v, 8); }
  bool I64(int64_t* v) { return Raw(v, 8); }
  bool F64(double* v) { return Raw(v, 8); }
  bool Str(std::string* s) {
    uint32_t n;
    if (!U32(&n) || n > in_.size() - pos_) return false;
    s->assign(in_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  // A count of items each at least `min_bytes` long: refuses counts the
  // remaining bytes cannot hold, so a corrupt length cannot allocate wildly.
  bool Count(uint32_t* n, size_t min_bytes) {
    return U32(n) && static_cast<uint64_t>(*n) * min_bytes <= in_.size() - pos_;
  }
  bool done() const { return pos_ == in_.size(); }

 private:
  bool Raw(void* p, size_t n) {
    if (n > in_.size() - pos_) return false;
    memcpy(p, in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  std::string_view in_;
  size_t pos_ = 0;
};

void EncodeStrings(Writer& w, const std::vector<std::string>& strings) {
  w.U32(static_cast<uint32_t>(strings.size()));
  for (const std::string& s : strings) w.Str(s);
}

bool DecodeStrings(Reader& r, std::vector<std::string>* strings) {
  uint32_t n;
  if (!r.Count(&n, 4)) return false;
  strings->resize(n);
  for (std::string& s : *strings) {
    if (!r.Str(&s)) return false;
  }
  return true;
}

void EncodeMetric(Writer& w, const MetricSnapshot& m) {
  w.Str(m.name);
  w.U8(static_cast<uint8_t>(m.type));
  EncodeStrings(w, m.label_names);
  w.U32(static_cast<uint32_t>(m.bucket_bounds.size()));
  for (int64_t b : m.bucket_bounds) w.I64(b);
  w.U32(static_cast<uint32_t>(m.series.size()));
  for (const SeriesSnapshot& s : m.series) {
    EncodeStrings(w, s.label_values);
    w.I64(s.value);
    w.U32(static_cast<uint32_t>(s.bucket_counts.size()));
    for (uint64_t c : s.bucket_counts) w.U64(c);
  }
}

bool DecodeMetric(Reader& r, MetricSnapshot* m) {
  uint8_t type;
  uint32_t bounds, series;
  if (!r.Str(&m->name) || !r.U8(&type) || type > 2 || !DecodeStrings(r, &m->label_names) ||
      !r.Count(&bounds, 8)) {
    return false;
  }
  m->type = static_cast<MetricType>(type);
  m->bucket_bounds.resize(bounds);
  for (int64_t& b : m->bucket_bounds) {
    if (!r.I64(&b)) return false;
  }
  if (!r.Count(&series, 16)) return false;
  m->series.resize(series);
  for (SeriesSnapshot& s : m->series) {
    uint32_t buckets;
    if (!DecodeStrings(r, &s.label_values) || s.label_values.size() != m->label_names.size() ||
        !r.I64(&s.value) || !r.Count(&buckets, 8)) {
      return false;
    }
    s.bucket_counts.resize(buckets);
    for (uint64_t& c : s.bucket_counts) {
      if (!r.U64(&c)) return false;
    }
  }
  return true;
}

void EncodeLabelList(Writer& w, const AlertCheckpoint::LabelList& labels) {
  w.U32(static_cast<uint32_t>(labels.size()));
  for (const auto& [name, value] : labels) {
    w.Str(name);
    w.Str(value);
  }
}

bool DecodeLabelList(Reader& r, AlertCheckpoint::LabelList* labels) {
  uint32_t n;
  if (!r.Count(&n, 8)) return false;
  labels->resize(n);
  for (auto& [name, value] : *labels) {
    if (!r.Str(&name) || !r.Str(&value)) return false;
  }
  return true;
}

void EncodeAlert(Writer& w, const AlertCheckpoint& a) {
  w.Str(a.group_file);
  w.Str(a.group_name);
  w.Str(a.rule);
  EncodeLabelList(w, a.labels);
  EncodeLabelList(w, a.annotations);
  w.U8(a.state);
  w.F64(a.value);
  for (int64_t t : {a.active_at_ms, a.fired_at_ms, a.resolved_at_ms, a.last_sent_at_ms,
                    a.valid_until_ms, a.keep_firing_since_ms}) {
    w.I64(t);
  }
}

bool DecodeAlert(Reader& r, AlertCheckpoint* a) {
  return r.Str(&a->group_file) && r.Str(&a->group_name) && r.Str(&a->rule) &&
         DecodeLabelList(r, &a->labels) && DecodeLabelList(r, &a->annotations) && r.U8(&a->state) &&
         a->state <= 2 && r.F64(&a->value) && r.I64(&a->active_at_ms) && r.I64(&a->fired_at_ms) &&
         r.I64(&a->resolved_at_ms) && r.I64(&a->last_sent_at_ms) && r.I64(&a->valid_until_ms) &&
         r.I64(&a->keep_firing_since_ms);
}

// A presence byte, then the baseline if there is one.
void EncodeDayBaseline(Writer& w, const std::optional<DayBaselineCheckpoint>& baseline) {
  w.U8(baseline ? 1 : 0);
  if (!baseline) return;
  w.I64(baseline->day_start_ms);
  w.I64(baseline->since_ms);
  w.U32(static_cast<uint32_t>(baseline->values.size()));
  for (const auto& [name, value] : baseline->values) {
    w.Str(name);
    w.F64(value);
  }
}

bool DecodeDayBaseline(Reader& r, std::optional<DayBaselineCheckpoint>* baseline) {
  uint8_t present;
  if (!r.U8(&present) || present > 1) return false;
  if (present == 0) return true;
  DayBaselineCheckpoint& b = baseline->emplace();
  uint32_t n;
  if (!r.I64(&b.day_start_ms) || !r.I64(&b.since_ms) || !r.Count(&n, 12)) return false;
  b.values.resize(n);
  for (auto& [name, value] : b.values) {
    if (!r.Str(&name) || !r.F64(&value)) return false;
  }
  return true;
}

uint32_t Crc32(std::string_view data) {
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}

Status SyncPath(const std::string& path, bool directory) {
  int fd = open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return Status::Error("open " + path + ": " + strerror(errno));
  int rc = fsync(fd);
  int saved = errno;
  close(fd);
  if (rc != 0) return Status::Error("fsync " + path + ": " + strerror(saved));
  return Status::Ok();
}

Status WriteAll(const std::string& path, std::string_view bytes) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return Status::Error("create " + path + ": " + strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      close(fd);
      return Status::Error("write " + path + ": " + strerror(saved));
    }
    done += static_cast<size_t>(n);
  }
  int rc = fsync(fd);
  int saved = errno;
  close(fd);
  if (rc != 0) return Status::Error("fsync " + path + ": " + strerror(saved));
  return Status::Ok();
}

Status ParseFile(const std::string& path, std::string_view bytes, Checkpoint* checkpoint) {
  if (bytes.size() < kHeaderBytes || memcmp(bytes.data(), kMagic, 8) != 0) {
    return Status::Error(path + " is not a txmon checkpoint (no TXMONCKP header)");
  }
  uint32_t version, crc;
  uint64_t length;
  memcpy(&version, bytes.data() + 8, 4);
  memcpy(&length, bytes.data() + 12, 8);
  memcpy(&crc, bytes.data() + 20, 4);
  if (version < kOldestReadableCheckpointVersion || version > kCheckpointFormatVersion) {
    return Status::Error(path + " has checkpoint format version " + std::to_string(version) +
                         "; this txmon reads versions " +
                         std::to_string(kOldestReadableCheckpointVersion) + " to " +
                         std::to_string(kCheckpointFormatVersion));
  }
  std::string_view payload = bytes.substr(kHeaderBytes);
  if (payload.size() != length || Crc32(payload) != crc) {
    return Status::Error(path + " is corrupt (length or checksum mismatch)");
  }
  Status s = DecodeCheckpoint(payload, checkpoint, version);
  if (!s.ok()) return Status::Error(path + ": " + s.message());
  return Status::Ok();
}

}  // namespace

std::string EncodeCheckpoint(const Checkpoint& checkpoint) {
  Writer w;
  w.I64(checkpoint.written_at_ms);
  w.U32(static_cast<uint32_t>(checkpoint.offsets.size()));
  for (const SourceOffset& o : checkpoint.offsets) {
    w.Str(o.topic);
    w.U32(static_cast<uint32_t>(o.partition));
    w.I64(o.next_offset);
  }
  w.U32(static_cast<uint32_t>(checkpoint.store.metrics.size()));
  for (const MetricSnapshot& m : checkpoint.store.metrics) EncodeMetric(w, m);
  w.U32(static_cast<uint32_t>(checkpoint.alerts.size()));
  for (const AlertCheckpoint& a : checkpoint.alerts) EncodeAlert(w, a);
  EncodeDayBaseline(w, checkpoint.day_baseline);
  w.Str(checkpoint.member);
  w.U64(checkpoint.handover_seq);
  EncodeStrings(w, checkpoint.adopted);
  return std::move(w.out());
}

Status DecodeCheckpoint(std::string_view payload, Checkpoint* checkpoint, uint32_t version) {
  *checkpoint = Checkpoint();
  Reader r(payload);
  uint32_t offsets, metrics;
  if (!r.I64(&checkpoint->written_at_ms) || !r.Count(&offsets, 16)) {
    return Status::Error("truncated checkpoint header");
  }
  checkpoint->offsets.resize(offsets);
  for (SourceOffset& o : checkpoint->offsets) {
    uint32_t partition;
    if (!r.Str(&o.topic) || !r.U32(&partition) || !r.I64(&o.next_offset)) {
      return Status::Error("truncated source positions");
    }
    o.partition = static_cast<int32_t>(partition);
  }
  if (!r.Count(&metrics, 16)) return Status::Error("truncated metric list");
  checkpoint->store.metrics.resize(metrics);
  for (MetricSnapshot& m : checkpoint->store.metrics) {
    if (!DecodeMetric(r, &m)) return Status::Error("malformed metric \"" + m.name + "\"");
  }
  if (version >= 2) {
    uint32_t alerts;
    if (!r.Count(&alerts, 60)) return Status::Error("truncated alert list");
    checkpoint->alerts.resize(alerts);
    for (AlertCheckpoint& a : checkpoint->alerts) {
      if (!DecodeAlert(r, &a)) return Status::Error("malformed alert \"" + a.rule + "\"");
    }
    if (!DecodeDayBaseline(r, &checkpoint->day_baseline)) {
      return Status::Error("malformed day baseline");
    }
  }
  if (version >= 3) {
    if (!r.Str(&checkpoint->member) || !r.U64(&checkpoint->handover_seq)) {
      return Status::Error("truncated hand-over section");
    }
  }
  if (version >= 4 && !DecodeStrings(r, &checkpoint->adopted)) {
    return Status::Error("truncated list of adopted agents");
  }
  if (!r.done()) return Status::Error("trailing bytes after the last section");
  return Status::Ok();
}

std::string EncodeCheckpointFile(const Checkpoint& checkpoint) {
  std::string payload = EncodeCheckpoint(checkpoint);
  Writer header;
  header.out().append(kMagic, 8);
  header.U32(kCheckpointFormatVersion);
  header.U64(payload.size());
  header.U32(Crc32(payload));
  return header.out() + payload;
}

Status DecodeCheckpointFile(const std::string& name, std::string_view bytes,
                            Checkpoint* checkpoint) {
  return ParseFile(name, bytes, checkpoint);
}

Status WriteCheckpointFile(const std::string& path, const Checkpoint& checkpoint) {
  const std::string tmp = path + ".tmp";
  if (Status s = WriteAll(tmp, EncodeCheckpointFile(checkpoint)); !s.ok()) return s;
  std::error_code error;
  if (std::filesystem::exists(path)) {
    std::filesystem::rename(path, path + ".prev", error);
    if (error) return Status::Error("rename " + path + ": " + error.message());
  }
  std::filesystem::rename(tmp, path, error);
  if (error) return Status::Error("rename " + tmp + ": " + error.message());
  std::string folder = std::filesystem::path(path).parent_path().string();
  return SyncPath(folder.empty() ? "." : folder, /*directory=*/true);
}

Status ReadCheckpointFile(const std::string& path, Checkpoint* checkpoint, bool* found,
                          std::string* read_from) {
  *found = false;
  for (const std::string& candidate : {path, path + ".prev"}) {
    std::ifstream in(candidate, std::ios::binary);
    if (!in) continue;
    std::stringstream bytes;
    bytes << in.rdbuf();
    *found = true;
    *read_from = candidate;
    Status s = ParseFile(candidate, bytes.str(), checkpoint);
    if (!s.ok()) {
      return Status::Error(s.message() + "; refusing to start, since starting empty would " +
                           "reset counters. Move it aside to start fresh, or put a good copy " +
                           "(e.g. " + path + ".prev) in its place");
    }
    return Status::Ok();
  }
  return Status::Ok();
}

Status ReadOneCheckpointFile(const std::string& file, Checkpoint* checkpoint, bool* found) {
  *found = false;
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::Ok();
  std::stringstream bytes;
  bytes << in.rdbuf();
  *found = true;
  return ParseFile(file, bytes.str(), checkpoint);
}

}  // namespace txmon
