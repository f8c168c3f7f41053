#include "orchestrator/decision/policy.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "absl/strings/str_cat.h"
#include "orchestrator/common/durations.h"

namespace foghorn::decision {
namespace {

absl::Duration Or(bool has, const google::protobuf::Duration& d, absl::Duration fallback) {
  return has ? common::FromProtoDuration(d) : fallback;
}

}  // namespace

std::optional<int> ParseWeekday(const std::string& day) {
  static constexpr const char* kShort[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  static constexpr const char* kLong[] = {"monday", "tuesday",  "wednesday", "thursday",
                                          "friday", "saturday", "sunday"};
  std::string lower;
  for (char c : day)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  for (int i = 0; i < 7; ++i) {
    if (lower == kShort[i] || lower == kLong[i]) return i;
  }
  return std::nullopt;
}

std::optional<absl::Duration> ParseTimeOfDay(const std::string& text) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  for (int i : {0, 1, 3, 4}) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
  }
  int hh = (text[0] - '0') * 10 + (text[1] - '0');
  int mm = (text[3] - '0') * 10 + (text[4] - '0');
  if (hh > 23 || mm > 59) return std::nullopt;
  return absl::Hours(hh) + absl::Minutes(mm);
}

absl::StatusOr<Policy> PolicyFromProto(const foghorn::v1::Policy& p) {
  Policy out;
  out.confirm_after = Or(p.has_confirm_after(), p.confirm_after(), kDefaultConfirmAfter);
  out.planned_grace = Or(p.has_planned_grace(), p.planned_grace(), kDefaultPlannedGrace);
  out.data_loss_grace = Or(p.has_data_loss_grace(), p.data_loss_grace(), kDefaultDataLossGrace);
  out.data_loss_budget = Or(p.has_data_loss_budget(), p.data_loss_budget(), kDefaultDataLossBudget);
  out.approval_mode = p.approval_mode() == foghorn::v1::APPROVAL_MODE_UNSPECIFIED
                          ? kDefaultApprovalMode
                          : p.approval_mode();
  out.cooldown = Or(p.has_cooldown(), p.cooldown(), kDefaultCooldown);
  out.blast_radius_cap = p.blast_radius_cap();
  out.prefer_try_planned_before_forced = p.prefer_try_planned_before_forced();
  out.reevaluate_interval =
      Or(p.has_reevaluate_interval(), p.reevaluate_interval(), kDefaultReevaluateInterval);
  if (out.reevaluate_interval <= absl::ZeroDuration()) {
    out.reevaluate_interval = kDefaultReevaluateInterval;
  }
  out.approval_ttl = Or(p.has_approval_ttl(), p.approval_ttl(), kDefaultApprovalTtl);
  for (int i = 0; i < p.maintenance_windows_size(); ++i) {
    const auto& w = p.maintenance_windows(i);
    MaintenanceWindow mw;
    if (w.days_size() > 0) {
      mw.days_mask = 0;
      for (const std::string& d : w.days()) {
        std::optional<int> bit = ParseWeekday(d);
        if (!bit) {
          return absl::InvalidArgumentError(
              absl::StrCat("maintenance_windows[", i, "].days: unknown day \"", d, "\""));
        }
        mw.days_mask |= static_cast<std::uint8_t>(1u << *bit);
      }
    }
    std::optional<absl::Duration> start = ParseTimeOfDay(w.start());
    if (!start) {
      return absl::InvalidArgumentError(absl::StrCat("maintenance_windows[", i,
                                                     "].start: invalid time of day \"", w.start(),
                                                     "\" (want HH:MM)"));
    }
    mw.start = *start;
    mw.duration = common::FromProtoDuration(w.duration());
    out.maintenance_windows.push_back(mw);
  }
  return out;
}

std::optional<absl::Time> ActiveMaintenanceWindowEnd(const std::vector<MaintenanceWindow>& windows,
                                                     absl::Time now) {
  if (windows.empty()) return std::nullopt;
  // Work in whole UTC days since the Unix epoch (a Thursday), so no time zone lookups are needed.
  // (absl::IDivDuration with a null remainder crashes in Debian's abseil: use plain seconds.)
  const int64_t secs = absl::ToInt64Seconds(absl::Floor(now - absl::UnixEpoch(), absl::Seconds(1)));
  const int64_t today = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  std::optional<absl::Time> end;
  for (const MaintenanceWindow& w : windows) {
    if (w.duration <= absl::ZeroDuration()) continue;
    // A window may have started on any of the previous days (long windows cross midnight).
    const int64_t lookback = absl::ToInt64Hours(w.start + w.duration) / 24 + 1;
    for (int64_t day = today - lookback; day <= today; ++day) {
      // 1970-01-01 was a Thursday: weekday index 3 with Monday = 0.
      const int weekday = static_cast<int>(((day % 7) + 7 + 3) % 7);
      if ((w.days_mask & (1u << weekday)) == 0) continue;
      const absl::Time begin = absl::UnixEpoch() + absl::Hours(24) * day + w.start;
      const absl::Time finish = begin + w.duration;
      if (begin <= now && now < finish && (!end || finish > *end)) end = finish;
    }
  }
  return end;
}

}  // namespace foghorn::decision
