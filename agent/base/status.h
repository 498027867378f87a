// Status: an error as a value (never an exception across module boundaries).
// A Status is either OK or carries a human-readable message that already
// names where the problem is (file:line, topic/partition/offset, ...).
#pragma once

#include <string>
#include <utility>

namespace txmon {

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(std::string message) { return Status(std::move(message)); }

  bool ok() const { return !failed_; }
  const std::string& message() const { return message_; }

 private:
  explicit Status(std::string message) : failed_(true), message_(std::move(message)) {}
  bool failed_ = false;
  std::string message_;
};

}  // namespace txmon
