#include "orchestrator/common/log.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <deque>
#include <type_traits>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "spdlog/sinks/basic_file_sink.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace foghorn::common {
namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  absl::AsciiStrToLower(&out);
  return out;
}

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
         c == '~' || c == '+' || c == '/' || c == '=';
}

// Masks the token after every occurrence of `prefix` (case-insensitive).
std::string MaskAfter(std::string_view text, std::string_view prefix) {
  std::string lower = Lower(text);
  std::string out;
  size_t pos = 0;
  for (;;) {
    size_t hit = lower.find(prefix, pos);
    if (hit == std::string::npos) break;
    size_t start = hit + prefix.size();
    size_t end = start;
    while (end < text.size() && IsTokenChar(text[end])) ++end;
    out.append(text.substr(pos, start - pos));
    if (end > start) out.append(Redactor::kMask);
    pos = end;
  }
  out.append(text.substr(pos));
  return out;
}

// Masks JWT-shaped tokens ("eyJ" + base64url segments separated by dots).
std::string MaskJwts(std::string_view text) {
  std::string out;
  size_t pos = 0;
  for (;;) {
    size_t hit = text.find("eyJ", pos);
    if (hit == std::string::npos) break;
    size_t end = hit;
    int dots = 0;
    while (end < text.size() && (IsTokenChar(text[end]))) {
      if (text[end] == '.') ++dots;
      ++end;
    }
    out.append(text.substr(pos, hit - pos));
    if (dots >= 1 && end - hit >= 16) {
      out.append(Redactor::kMask);
    } else {
      out.append(text.substr(hit, end - hit));
    }
    pos = end;
  }
  out.append(text.substr(pos));
  return out;
}

// Masks the value of `key` in key=value, key: value and "key": "value" forms.
std::string MaskKeyValues(std::string_view text, std::string_view key) {
  std::string lower = Lower(text);
  std::string out;
  size_t pos = 0;
  size_t search = 0;
  for (;;) {
    size_t hit = lower.find(key, search);
    if (hit == std::string::npos) break;
    size_t i = hit + key.size();
    search = i;
    if (i < text.size() && text[i] == '"') ++i;
    while (i < text.size() && text[i] == ' ') ++i;
    if (i >= text.size() || (text[i] != '=' && text[i] != ':')) continue;
    ++i;
    while (i < text.size() && text[i] == ' ') ++i;
    bool quoted = i < text.size() && text[i] == '"';
    if (quoted) ++i;
    size_t end = i;
    if (quoted) {
      while (end < text.size() && text[end] != '"') {
        if (text[end] == '\\' && end + 1 < text.size()) ++end;
        ++end;
      }
    } else {
      while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end])) &&
             text[end] != '&' && text[end] != ',' && text[end] != '}' && text[end] != ';') {
        ++end;
      }
    }
    if (end == i) continue;
    out.append(text.substr(pos, i - pos)).append(Redactor::kMask);
    pos = end;
    search = end;
  }
  out.append(text.substr(pos));
  return out;
}

// Masks the value of URL query parameters that carry credentials (SAS `sig`, OAuth `code`,
// webhook `key`/`token`, ...): "?sig=abc&x=1" -> "?sig=[REDACTED]&x=1".
constexpr std::array<std::string_view, 8> kSecretQueryKeys = {
    "sig", "code", "key", "token", "secret", "password", "signature", "access_token"};

std::string MaskQueryParams(std::string_view text) {
  std::string lower = Lower(text);
  std::string out;
  size_t pos = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '?' && text[i] != '&') continue;
    for (std::string_view key : kSecretQueryKeys) {
      if (lower.compare(i + 1, key.size(), key) != 0) continue;
      size_t v = i + 1 + key.size();
      if (v >= text.size() || text[v] != '=') continue;
      ++v;
      size_t end = v;
      while (end < text.size() && text[end] != '&' && text[end] != '#' && text[end] != '"' &&
             text[end] != '\'' && !std::isspace(static_cast<unsigned char>(text[end]))) {
        ++end;
      }
      if (end > v) {
        out.append(text.substr(pos, v - pos)).append(Redactor::kMask);
        pos = end;
        i = end - 1;
      }
      break;
    }
  }
  out.append(text.substr(pos));
  return out;
}

// Masks the userinfo of URLs: "https://user:pass@host/" -> "https://[REDACTED]@host/".
std::string MaskUserinfo(std::string_view text) {
  std::string out;
  size_t pos = 0;
  for (;;) {
    size_t scheme = text.find("://", pos);
    if (scheme == std::string::npos) break;
    const size_t start = scheme + 3;
    size_t end = start;
    while (end < text.size() && text[end] != '/' && text[end] != '@' && text[end] != '?' &&
           text[end] != '#' && text[end] != '"' &&
           !std::isspace(static_cast<unsigned char>(text[end]))) {
      ++end;
    }
    out.append(text.substr(pos, start - pos));
    if (end < text.size() && text[end] == '@' && end > start) {
      out.append(Redactor::kMask);
      pos = end;
    } else {
      pos = start;
    }
  }
  out.append(text.substr(pos));
  return out;
}

constexpr std::array<std::string_view, 9> kSecretKeys = {"client_secret",
                                                         "access_token",
                                                         "refresh_token",
                                                         "client_assertion",
                                                         "password",
                                                         "authorization",
                                                         "x-ms-authorization-auxiliary",
                                                         "secret",
                                                         "token"};

// A JSON line keeps its keys in the order they were added (ts, level, msg, then the fields).
using JsonLine = nlohmann::ordered_json;

// The keys every JSON line starts with; a field cannot replace them.
constexpr std::array<std::string_view, 3> kLineKeys = {"ts", "level", "msg"};

bool IsSecretKey(std::string_view key) {
  const std::string lower_key = Lower(key);
  return std::any_of(kSecretKeys.begin(), kSecretKeys.end(),
                     [&](std::string_view k) { return lower_key == k; });
}

void AppendText(std::string& out, const LogField::Value& v, const Redactor& r) {
  if (const auto* s = std::get_if<std::string>(&v)) {
    out += r.Redact(*s);
  } else if (const auto* i = std::get_if<std::int64_t>(&v)) {
    out += std::to_string(*i);
  } else if (const auto* d = std::get_if<double>(&v)) {
    out += fmt::format("{}", *d);
  } else {
    out += std::get<bool>(v) ? "true" : "false";
  }
}

// Non-finite doubles become null (JSON has no NaN or infinity).
JsonLine ToJson(const LogField::Value& v, const Redactor& r) {
  return std::visit(
      [&r](const auto& x) -> JsonLine {
        if constexpr (std::is_same_v<std::decay_t<decltype(x)>, std::string>) {
          return r.Redact(x);
        } else {
          return x;
        }
      },
      v);
}

class SpdlogSink final : public LogSink {
 public:
  explicit SpdlogSink(std::shared_ptr<spdlog::logger> logger) : logger_(std::move(logger)) {
    logger_->set_pattern("%v");
    logger_->set_level(spdlog::level::trace);
    logger_->flush_on(spdlog::level::warn);
  }
  void Write(LogLevel level, std::string_view line) override {
    static constexpr spdlog::level::level_enum kLevels[] = {
        spdlog::level::debug, spdlog::level::info, spdlog::level::warn, spdlog::level::err};
    logger_->log(kLevels[static_cast<int>(level)], "{}", line);
  }

 private:
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace

absl::StatusOr<LogLevel> ParseLogLevel(std::string_view name) {
  std::string n = Lower(name);
  if (n == "debug") return LogLevel::kDebug;
  if (n == "info") return LogLevel::kInfo;
  if (n == "warn" || n == "warning") return LogLevel::kWarn;
  if (n == "error") return LogLevel::kError;
  return absl::InvalidArgumentError(absl::StrCat("unknown log level \"", std::string(name),
                                                 "\" (want debug, info, warn or error)"));
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

void Redactor::AddSecret(std::string secret, bool rotating) {
  if (secret.size() < 4) return;
  absl::MutexLock lock(&mu_);
  std::deque<std::string>& list = rotating ? rotating_ : secrets_;
  if (std::find(list.begin(), list.end(), secret) != list.end()) return;
  list.push_back(std::move(secret));
  // A refreshed token replaces the one before it: keep the newest few, not one per refresh.
  if (rotating && rotating_.size() > kMaxRotatingSecrets) rotating_.pop_front();
  if (!rotating && secrets_.size() > kMaxSecrets) secrets_.pop_front();
}

std::string Redactor::Redact(std::string_view text) const {
  std::string out(text);
  {
    absl::MutexLock lock(&mu_);
    for (const auto* list : {&secrets_, &rotating_}) {
      for (const std::string& s : *list) {
        absl::StrReplaceAll({{s, absl::string_view(kMask.data(), kMask.size())}}, &out);
      }
    }
  }
  out = MaskUserinfo(out);
  out = MaskQueryParams(out);
  out = MaskAfter(out, "bearer ");
  out = MaskJwts(out);
  for (std::string_view key : kSecretKeys) out = MaskKeyValues(out, key);
  return out;
}

absl::StatusOr<std::shared_ptr<LogSink>> MakeSpdlogSink(const std::string& path) {
  try {
    std::shared_ptr<spdlog::logger> logger;
    if (path.empty()) {
      logger = std::make_shared<spdlog::logger>("foghorn",
                                                std::make_shared<spdlog::sinks::stderr_sink_mt>());
    } else {
      logger = std::make_shared<spdlog::logger>(
          "foghorn", std::make_shared<spdlog::sinks::basic_file_sink_mt>(path));
    }
    return std::make_shared<SpdlogSink>(std::move(logger));
  } catch (const spdlog::spdlog_ex& e) {
    return absl::UnavailableError(absl::StrCat("cannot open log file ", path, ": ", e.what()));
  }
}

Logger::Logger(std::shared_ptr<LogSink> sink, std::shared_ptr<Redactor> redactor,
               const Clock& clock, Options options)
    : sink_(std::move(sink)),
      redactor_(redactor ? std::move(redactor) : std::make_shared<Redactor>()),
      clock_(&clock),
      options_(options) {}

Logger Logger::With(std::vector<LogField> fields) const {
  Logger child = *this;
  for (auto& f : fields) child.bound_.push_back(std::move(f));
  return child;
}

void Logger::Log(LogLevel level, std::string_view message,
                 const std::vector<LogField>& fields) const {
  if (!Enabled(level) || !sink_) return;
  const std::string ts =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", clock_->Now(), absl::UTCTimeZone());
  if (options_.format == LogFormat::kText) {
    std::string line =
        absl::StrCat(ts, " ", absl::AsciiStrToUpper(std::string(LogLevelName(level))), " ",
                     redactor_->Redact(message));
    for (const auto* list : {&bound_, &fields}) {
      for (const LogField& f : *list) {
        absl::StrAppend(&line, " ", f.key, "=");
        if (IsSecretKey(f.key)) {
          line += Redactor::kMask;
        } else {
          AppendText(line, f.value, *redactor_);
        }
      }
    }
    sink_->Write(level, line);
    return;
  }
  JsonLine line = {
      {"ts", ts}, {"level", std::string(LogLevelName(level))}, {"msg", redactor_->Redact(message)}};
  for (const auto* list : {&bound_, &fields}) {
    for (const LogField& f : *list) {
      const bool line_key = std::find(kLineKeys.begin(), kLineKeys.end(), f.key) != kLineKeys.end();
      // A later field with the same key replaces an earlier one (a call's field a bound one).
      JsonLine& slot = line[line_key ? "field_" + f.key : f.key];
      // A field whose key names a secret is masked whatever its value.
      slot =
          IsSecretKey(f.key) ? JsonLine(std::string(Redactor::kMask)) : ToJson(f.value, *redactor_);
    }
  }
  // Invalid UTF-8 (a probe's output, an ARM body) becomes U+FFFD instead of throwing or producing
  // a line that is not JSON; control characters are escaped.
  sink_->Write(level, line.dump(-1, ' ', false, JsonLine::error_handler_t::replace));
}

}  // namespace foghorn::common
