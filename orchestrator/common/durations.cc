#include "orchestrator/common/durations.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace foghorn::common {
namespace {

constexpr std::int32_t kMaxNanos = 999999999;

// The length of the run of digits at the start of `s`.
size_t Digits(absl::string_view s) {
  size_t n = 0;
  while (n < s.size() && absl::ascii_isdigit(static_cast<unsigned char>(s[n]))) ++n;
  return n;
}

}  // namespace

absl::Status ValidateProtoDuration(const google::protobuf::Duration& d) {
  const std::int64_t s = d.seconds();
  const std::int32_t n = d.nanos();
  if (s > kMaxProtoDurationSeconds || s < -kMaxProtoDurationSeconds || n > kMaxNanos ||
      n < -kMaxNanos || (s > 0 && n < 0) || (s < 0 && n > 0)) {
    return absl::InvalidArgumentError("duration out of range");
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Duration> FromProtoDurationChecked(const google::protobuf::Duration& d) {
  if (absl::Status s = ValidateProtoDuration(d); !s.ok()) return s;
  return FromProtoDuration(d);
}

absl::Duration FromProtoDuration(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

void ToProtoDuration(absl::Duration d, google::protobuf::Duration* out) {
  if (d == absl::InfiniteDuration() || d == -absl::InfiniteDuration()) return;
  const absl::Duration max = absl::Seconds(kMaxProtoDurationSeconds);
  if (d > max) d = max;
  if (d < -max) d = -max;
  // Whole seconds truncate toward zero, so the nanos keep the seconds' sign as the proto wants.
  // (Debian's abseil IDivDuration misbehaves here; the truncating conversions are exact.)
  const std::int64_t seconds = absl::ToInt64Seconds(d);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<std::int32_t>(absl::ToInt64Nanoseconds(d - absl::Seconds(seconds))));
}

google::protobuf::Duration ToProtoDuration(absl::Duration d) {
  google::protobuf::Duration out;
  ToProtoDuration(d, &out);
  return out;
}

std::optional<absl::Duration> ParseDurationText(absl::string_view text) {
  if (text == "0") return absl::ZeroDuration();
  if (text.empty()) return std::nullopt;
  absl::Duration total = absl::ZeroDuration();
  while (!text.empty()) {
    // The grammar is checked here; absl::ParseDuration does the arithmetic. At most 12 digits
    // (and 9 of fraction) so no term can overflow.
    const size_t whole = Digits(text);
    if (whole == 0 || whole > 12) return std::nullopt;
    size_t number = whole;
    if (number < text.size() && text[number] == '.') {
      const size_t fraction = Digits(text.substr(number + 1));
      if (fraction == 0 || fraction > 9) return std::nullopt;
      number += 1 + fraction;
    }
    const absl::string_view rest = text.substr(number);
    size_t unit = 0;
    if (absl::StartsWith(rest, "ms")) {
      unit = 2;
    } else if (!rest.empty() &&
               (rest[0] == 's' || rest[0] == 'm' || rest[0] == 'h' || rest[0] == 'd')) {
      unit = 1;
    } else {
      return std::nullopt;
    }
    absl::Duration term;
    if (rest[0] == 'd') {
      if (!absl::ParseDuration(absl::StrCat(text.substr(0, number), "h"), &term)) {
        return std::nullopt;
      }
      term *= 24;
    } else if (!absl::ParseDuration(text.substr(0, number + unit), &term)) {
      return std::nullopt;
    }
    total += term;
    text.remove_prefix(number + unit);
  }
  return total;
}

std::string FormatDurationText(absl::Duration d) {
  if (d == absl::InfiniteDuration()) return "inf";
  if (d == -absl::InfiniteDuration()) return "-inf";
  if (d == absl::ZeroDuration()) return "0s";
  std::string out;
  if (d < absl::ZeroDuration()) {
    out = "-";
    d = -d;
  }
  const std::int64_t hours = absl::ToInt64Hours(d);
  d -= absl::Hours(hours);
  const std::int64_t minutes = absl::ToInt64Minutes(d);
  d -= absl::Minutes(minutes);
  const std::int64_t seconds = absl::ToInt64Seconds(d);
  d -= absl::Seconds(seconds);
  const std::int64_t millis = absl::ToInt64Milliseconds(d);
  if (hours) absl::StrAppend(&out, hours, "h");
  if (minutes) absl::StrAppend(&out, minutes, "m");
  if (seconds) absl::StrAppend(&out, seconds, "s");
  if (millis) absl::StrAppend(&out, millis, "ms");
  if (out.empty() || out == "-") absl::StrAppend(&out, "0s");
  return out;
}

}  // namespace foghorn::common
