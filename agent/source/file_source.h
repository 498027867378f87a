// FileSource: replays change messages from a JSON-lines file, or from stdin
// when the path is "-". One message per line; blank lines are skipped but
// still counted, so a position's offset is the line's 1-based number in the
// file (topic = the path, or "stdin"; partition 0).
//
// Lines are handed out as views into one read buffer that is reused across
// polls, so steady-state reading allocates nothing. A line of any length is
// passed through whole (the buffer grows to hold it); the decoder enforces
// size limits. Nothing is committed: Acknowledge is a no-op.
//
// Threading: as Source says; Connected() and Finished() are safe anywhere.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/base/status.h"
#include "agent/source/source.h"

namespace txmon {

class FileSource : public Source {
 public:
  // Opens `path` ("-" = stdin) into `out`. An error naming the path and the
  // system's reason if it cannot be opened or is a directory.
  static Status Create(const std::string& path, std::unique_ptr<FileSource>* out);
  ~FileSource() override;

  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  // Returns the next non-blank lines. `timeout` matters only for a pipe or
  // terminal with no data yet; a regular file never waits.
  Status Poll(std::vector<SourceMessage>& batch, size_t max_messages,
              std::chrono::milliseconds timeout) override;
  void Acknowledge(const std::vector<SourceMessage>& batch) override { (void)batch; }
  bool Connected() const override { return true; }
  bool Finished() const override { return finished_.load(std::memory_order_acquire); }
  void Close() override;

  // The topic reported in positions: the path, or "stdin".
  void ResumeFrom(const std::vector<SourceOffset>& offsets) override;
  const std::string& name() const { return name_; }

 private:
  FileSource(int fd, bool owns_fd, std::string name);

  // Cuts the next complete line out of the buffer; at end of input the
  // unterminated rest counts as a line. False if no line is buffered.
  bool NextBufferedLine(std::string_view* line);
  // Moves unread bytes to the front and reads more, waiting up to
  // `timeout_ms` for input. Invalidates every view into the buffer.
  Status ReadMore(int timeout_ms, bool* timed_out);

  int fd_ = -1;
  bool owns_fd_ = false;
  std::string name_;
  std::atomic<bool> finished_{false};
  bool end_of_input_ = false;
  int64_t line_number_ = 0;
  int64_t resume_line_ = 0;  // lines before this one were applied already

  std::vector<char> buffer_;
  size_t begin_ = 0;    // first unread byte
  size_t end_ = 0;      // one past the last byte read
  size_t scanned_ = 0;  // bytes from begin_ known to hold no '\n'
};

}  // namespace txmon
