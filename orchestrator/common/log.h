// foghorn's logging facade: structured log lines (JSON lines or human text) with fields, and a
// redaction hook so that no secret or token reaches a log. Components take a Logger by reference;
// production writes through spdlog (MakeSpdlogSink), tests capture lines (CapturingLogSink in
// tests/testing).
#ifndef FOGHORN_ORCHESTRATOR_COMMON_LOG_H_
#define FOGHORN_ORCHESTRATOR_COMMON_LOG_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "orchestrator/common/clock.h"

namespace foghorn::common {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Parses "debug", "info", "warn"/"warning", "error". INVALID_ARGUMENT otherwise.
absl::StatusOr<LogLevel> ParseLogLevel(std::string_view name);
std::string_view LogLevelName(LogLevel level);

enum class LogFormat { kJson, kText };

// One key/value pair of a log line.
struct LogField {
  using Value = std::variant<std::string, std::int64_t, double, bool>;
  LogField(std::string k, std::string v) : key(std::move(k)), value(std::move(v)) {}
  LogField(std::string k, std::string_view v) : key(std::move(k)), value(std::string(v)) {}
  LogField(std::string k, const char* v) : key(std::move(k)), value(std::string(v)) {}
  LogField(std::string k, std::int64_t v) : key(std::move(k)), value(v) {}
  LogField(std::string k, int v) : key(std::move(k)), value(std::int64_t{v}) {}
  LogField(std::string k, double v) : key(std::move(k)), value(v) {}
  LogField(std::string k, bool v) : key(std::move(k)), value(v) {}
  std::string key;
  Value value;
};

// Removes secrets from text before it is logged. Knows registered secret values (client secrets,
// tokens read from files) and common shapes: "Bearer <token>", JWTs, and the values of keys such
// as client_secret, access_token, password. Thread-safe.
class Redactor {
 public:
  static constexpr std::string_view kMask = "[REDACTED]";

  // Registers a value that must never appear in a log. Values shorter than 4 characters are
  // ignored (they would mask ordinary text). `rotating` marks a value that a newer one replaces
  // (an access token refreshed every hour): only the newest kMaxRotatingSecrets are kept, so the
  // redactor does not grow with the agent's uptime. At most kMaxSecrets permanent values.
  void AddSecret(std::string secret, bool rotating = false);
  static constexpr size_t kMaxRotatingSecrets = 8;
  static constexpr size_t kMaxSecrets = 256;

  // Returns `text` with every known secret and secret-shaped substring replaced by kMask: bearer
  // tokens, JWTs, secret-named keys and fields, credential query parameters (sig, code, key,
  // token, ...) and URL userinfo.
  std::string Redact(std::string_view text) const;

 private:
  mutable absl::Mutex mu_;
  std::deque<std::string> secrets_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> rotating_ ABSL_GUARDED_BY(mu_);
};

// Where finished log lines go. Implementations are thread-safe.
class LogSink {
 public:
  virtual ~LogSink() = default;
  // `line` is one complete line without a trailing newline.
  virtual void Write(LogLevel level, std::string_view line) = 0;
};

// A sink writing to stderr (or `path` when non-empty, appending) through spdlog.
absl::StatusOr<std::shared_ptr<LogSink>> MakeSpdlogSink(const std::string& path = "");

// Formats, redacts and writes log lines. Cheap to copy: copies share the sink and redactor and
// carry their own bound fields (see With()). Thread-safe.
class Logger {
 public:
  struct Options {
    LogLevel min_level = LogLevel::kInfo;
    LogFormat format = LogFormat::kJson;
  };

  Logger(std::shared_ptr<LogSink> sink, std::shared_ptr<Redactor> redactor, const Clock& clock,
         Options options);

  // Returns a logger that adds `fields` to every line (e.g. the group id or a request id).
  Logger With(std::vector<LogField> fields) const;

  // Writes one line if `level` is at or above the minimum level. Every string value and the
  // message are redacted. A JSON line is one object: "ts", "level", "msg", then the bound fields
  // and `fields` in order; a later field replaces an earlier one with the same key, and a field
  // named ts, level or msg is written as field_ts, field_level or field_msg. Control characters
  // are escaped, invalid UTF-8 becomes U+FFFD, and a non-finite double becomes null.
  void Log(LogLevel level, std::string_view message,
           const std::vector<LogField>& fields = {}) const;

  void Debug(std::string_view m, const std::vector<LogField>& f = {}) const {
    Log(LogLevel::kDebug, m, f);
  }
  void Info(std::string_view m, const std::vector<LogField>& f = {}) const {
    Log(LogLevel::kInfo, m, f);
  }
  void Warn(std::string_view m, const std::vector<LogField>& f = {}) const {
    Log(LogLevel::kWarn, m, f);
  }
  void Error(std::string_view m, const std::vector<LogField>& f = {}) const {
    Log(LogLevel::kError, m, f);
  }

  bool Enabled(LogLevel level) const { return level >= options_.min_level; }
  const std::shared_ptr<Redactor>& redactor() const { return redactor_; }

 private:
  std::shared_ptr<LogSink> sink_;
  std::shared_ptr<Redactor> redactor_;
  const Clock* clock_;
  Options options_;
  std::vector<LogField> bound_;
};

}  // namespace foghorn::common

#endif  // FOGHORN_ORCHESTRATOR_COMMON_LOG_H_
