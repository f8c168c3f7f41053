#include "runbooks/duration.h"

#include <cctype>

#include "absl/strings/str_cat.h"

namespace foghorn::runbooks {

std::optional<absl::Duration> ParseRunbookDuration(absl::string_view text) {
  if (text == "0") return absl::ZeroDuration();
  if (text.empty()) return std::nullopt;
  absl::Duration total = absl::ZeroDuration();
  size_t i = 0;
  while (i < text.size()) {
    // Number: digits with an optional fraction; at most 12 digits so nothing overflows.
    const size_t start = i;
    int64_t whole = 0;
    int digits = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (++digits > 12) return std::nullopt;
      whole = whole * 10 + (text[i] - '0');
      ++i;
    }
    double fraction = 0;
    if (i < text.size() && text[i] == '.') {
      ++i;
      double scale = 0.1;
      int frac_digits = 0;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
        if (++frac_digits > 9) return std::nullopt;
        fraction += scale * (text[i] - '0');
        scale /= 10;
        ++i;
      }
      if (frac_digits == 0) return std::nullopt;
    }
    if (i == start || digits == 0) return std::nullopt;
    absl::Duration unit;
    if (text.substr(i, 2) == "ms") {
      unit = absl::Milliseconds(1);
      i += 2;
    } else if (i < text.size() && text[i] == 's') {
      unit = absl::Seconds(1);
      ++i;
    } else if (i < text.size() && text[i] == 'm') {
      unit = absl::Minutes(1);
      ++i;
    } else if (i < text.size() && text[i] == 'h') {
      unit = absl::Hours(1);
      ++i;
    } else if (i < text.size() && text[i] == 'd') {
      unit = absl::Hours(24);
      ++i;
    } else {
      return std::nullopt;
    }
    total += unit * whole + unit * fraction;
  }
  return total;
}

std::string FormatRunbookDuration(absl::Duration d) {
  if (d == absl::ZeroDuration()) return "0s";
  std::string out;
  if (d < absl::ZeroDuration()) {
    out = "-";
    d = -d;
  }
  const int64_t hours = absl::ToInt64Hours(d);
  d -= absl::Hours(hours);
  const int64_t minutes = absl::ToInt64Minutes(d);
  d -= absl::Minutes(minutes);
  const int64_t seconds = absl::ToInt64Seconds(d);
  d -= absl::Seconds(seconds);
  const int64_t millis = absl::ToInt64Milliseconds(d);
  if (hours) absl::StrAppend(&out, hours, "h");
  if (minutes) absl::StrAppend(&out, minutes, "m");
  if (seconds) absl::StrAppend(&out, seconds, "s");
  if (millis) absl::StrAppend(&out, millis, "ms");
  if (out.empty() || out == "-") absl::StrAppend(&out, "0s");
  return out;
}

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

void ToProto(absl::Duration d, google::protobuf::Duration* out) {
  // (Debian's abseil IDivDuration misbehaves here; truncating conversions are exact enough.)
  const int64_t seconds = absl::ToInt64Seconds(d);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d - absl::Seconds(seconds))));
}

}  // namespace foghorn::runbooks
