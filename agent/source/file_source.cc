#include "agent/source/file_source.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace txmon {

namespace {

constexpr size_t kInitialBufferBytes = size_t{1} << 20;

bool IsBlank(std::string_view line) {
  return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t'; });
}

int RemainingMs(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

}  // namespace

Status FileSource::Create(const std::string& path, std::unique_ptr<FileSource>* out) {
  if (path == "-") {
    *out = std::unique_ptr<FileSource>(new FileSource(STDIN_FILENO, false, "stdin"));
    return Status::Ok();
  }
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::Error("open " + path + ": " + std::strerror(errno));
  }
  struct stat info;
  if (fstat(fd, &info) == 0 && S_ISDIR(info.st_mode)) {
    close(fd);
    return Status::Error("open " + path + ": " + std::strerror(EISDIR));
  }
  *out = std::unique_ptr<FileSource>(new FileSource(fd, true, path));
  return Status::Ok();
}

FileSource::FileSource(int fd, bool owns_fd, std::string name)
    : fd_(fd), owns_fd_(owns_fd), name_(std::move(name)), buffer_(kInitialBufferBytes) {}

FileSource::~FileSource() { Close(); }

void FileSource::ResumeFrom(const std::vector<SourceOffset>& offsets) {
  for (const SourceOffset& offset : offsets) {
    if (offset.topic == name_ && offset.partition == 0) resume_line_ = offset.next_offset;
  }
}

Status FileSource::Poll(std::vector<SourceMessage>& batch, size_t max_messages,
                        std::chrono::milliseconds timeout) {
  batch.clear();
  if (fd_ < 0) return Status::Error(name_ + ": poll after close");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (batch.size() < max_messages && !Finished()) {
    std::string_view line;
    if (NextBufferedLine(&line)) {
      ++line_number_;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (IsBlank(line) || line_number_ < resume_line_) continue;
      batch.push_back(SourceMessage{line, SourcePosition{name_, 0, line_number_}});
      continue;
    }
    if (end_of_input_) {
      finished_.store(true, std::memory_order_release);
      break;
    }
    // Reading more moves the buffered bytes the batch's views point at.
    if (!batch.empty()) break;
    bool timed_out = false;
    Status read = ReadMore(RemainingMs(deadline), &timed_out);
    if (!read.ok()) return read;
    if (timed_out) break;
  }
  return Status::Ok();
}

void FileSource::Close() {
  if (owns_fd_ && fd_ >= 0) close(fd_);
  fd_ = -1;
}

bool FileSource::NextBufferedLine(std::string_view* line) {
  if (begin_ == end_) return false;
  const char* start = buffer_.data() + begin_;
  const size_t available = end_ - begin_;
  const void* newline = std::memchr(start + scanned_, '\n', available - scanned_);
  if (newline == nullptr) {
    scanned_ = available;
    if (!end_of_input_) return false;
    *line = std::string_view(start, available);  // last line without '\n'
    begin_ = end_;
    scanned_ = 0;
    return true;
  }
  const size_t length = static_cast<const char*>(newline) - start;
  *line = std::string_view(start, length);
  begin_ += length + 1;
  scanned_ = 0;
  return true;
}

Status FileSource::ReadMore(int timeout_ms, bool* timed_out) {
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  // A line longer than the buffer: grow it so the line arrives whole.
  if (end_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);

  // Regular files are always readable; pipes and terminals may make us wait.
  pollfd readable{fd_, POLLIN, 0};
  int ready = poll(&readable, 1, timeout_ms);
  if (ready == 0 || (ready < 0 && errno == EINTR)) {
    *timed_out = true;
    return Status::Ok();
  }
  if (ready < 0) return Status::Error(name_ + ": poll: " + std::strerror(errno));

  ssize_t count = read(fd_, buffer_.data() + end_, buffer_.size() - end_);
  if (count < 0) {
    if (errno == EINTR || errno == EAGAIN) return Status::Ok();
    return Status::Error(name_ + ": read after line " + std::to_string(line_number_) + ": " +
                         std::strerror(errno));
  }
  if (count == 0) end_of_input_ = true;
  end_ += static_cast<size_t>(count);
  return Status::Ok();
}

}  // namespace txmon
