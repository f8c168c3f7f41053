// A LogSink that keeps every line, for tests that assert what was (or was not) logged.
#ifndef FOGHORN_TESTS_TESTING_CAPTURING_LOG_SINK_H_
#define FOGHORN_TESTS_TESTING_CAPTURING_LOG_SINK_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "orchestrator/common/log.h"

namespace foghorn::testing {

class CapturingLogSink final : public common::LogSink {
 public:
  void Write(common::LogLevel, std::string_view line) override {
    absl::MutexLock lock(&mu_);
    lines_.emplace_back(line);
  }
  std::vector<std::string> lines() const {
    absl::MutexLock lock(&mu_);
    return lines_;
  }
  // All lines joined by newlines.
  std::string text() const {
    absl::MutexLock lock(&mu_);
    std::string out;
    for (const auto& l : lines_) out += l + "\n";
    return out;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> lines_;
};

}  // namespace foghorn::testing

#endif  // FOGHORN_TESTS_TESTING_CAPTURING_LOG_SINK_H_
