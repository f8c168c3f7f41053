#include "orchestrator/decision/decide.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace foghorn::decision {
namespace {

using foghorn::v1::FailoverKind;

std::string Dur(absl::Duration d) {
  d = absl::Trunc(d, absl::Seconds(1));
  return d == absl::ZeroDuration() ? std::string("0s") : absl::FormatDuration(d);
}

absl::string_view KindText(FailoverKind kind) {
  switch (kind) {
    case foghorn::v1::FAILOVER_KIND_PLANNED:
      return "planned failover";
    case foghorn::v1::FAILOVER_KIND_FORCED:
      return "forced failover";
    case foghorn::v1::FAILOVER_KIND_TRY_PLANNED_BEFORE_FORCED:
      return "try-planned-before-forced failover";
    default:
      return "failover";
  }
}

bool LosesData(FailoverKind kind) {
  return kind == foghorn::v1::FAILOVER_KIND_FORCED ||
         kind == foghorn::v1::FAILOVER_KIND_TRY_PLANNED_BEFORE_FORCED;
}

bool Covers(FailoverKind approved, FailoverKind intended) {
  if (approved == foghorn::v1::FAILOVER_KIND_AUTO) return true;
  if (approved == intended) return true;
  return LosesData(approved) && LosesData(intended);
}

// Collects the decision while keeping next_evaluation at the earliest future edge.
class Builder {
 public:
  Builder(const Policy& policy, absl::Time now) : now_(now) {
    d_.next_evaluation = now + policy.reevaluate_interval;
  }
  void Add(ReasonCode code, std::string text) { d_.reasons.push_back({code, std::move(text)}); }
  void WakeAt(absl::Time t) {
    if (t > now_ && t < d_.next_evaluation) d_.next_evaluation = t;
  }
  Decision& d() { return d_; }
  Decision Finish(Stage stage) {
    d_.stage = stage;
    d_.summary = std::string(StageName(stage));
    for (size_t i = 0; i < d_.reasons.size(); ++i) {
      absl::StrAppend(&d_.summary, i == 0 ? ": " : "; ", d_.reasons[i].text);
    }
    return std::move(d_);
  }

 private:
  absl::Time now_;
  Decision d_;
};

// Adds every hold that applies to a failover of `intended` at `now` (and the times they end) to
// `b`; true when there is one.
bool AddHolds(Builder& b, const GroupView& view, const Policy& policy, absl::Time now,
              FailoverKind intended) {
  bool hold = false;
  auto add_hold = [&](ReasonCode code, std::string text) {
    hold = true;
    b.Add(code, std::move(text));
  };
  const bool recent_failover = view.last_failover_at != absl::InfinitePast() &&
                               now < view.last_failover_at + policy.cooldown;
  if (now < view.paused_until) {
    add_hold(ReasonCode::kPaused,
             view.paused_until == absl::InfiniteFuture()
                 ? std::string("automation paused until resumed")
                 : absl::StrCat("automation paused for another ", Dur(view.paused_until - now)));
    b.WakeAt(view.paused_until);
  }
  if (std::optional<absl::Time> end = ActiveMaintenanceWindowEnd(policy.maintenance_windows, now)) {
    add_hold(ReasonCode::kMaintenanceWindow,
             absl::StrCat("in a maintenance window for another ", Dur(*end - now)));
    b.WakeAt(*end);
  }
  if (policy.approval_mode == foghorn::v1::APPROVAL_MODE_OBSERVE_ONLY) {
    add_hold(ReasonCode::kObserveOnly,
             absl::StrCat("observe-only: would start a ", KindText(intended)));
  }
  if (view.roles.primary_server.empty() || view.roles.secondary_server.empty()) {
    add_hold(ReasonCode::kRolesUnknown, "roles not yet read from ARM");
  }
  if (recent_failover) {
    add_hold(ReasonCode::kCooldown, absl::StrCat("last failover ", Dur(now - view.last_failover_at),
                                                 " ago; cooldown ", Dur(policy.cooldown)));
    b.WakeAt(view.last_failover_at + policy.cooldown);
  }
  if (view.vantage_impaired || view.secondary.verdict == foghorn::v1::VERDICT_IMPAIRED) {
    add_hold(ReasonCode::kVantageImpaired,
             "vantage impaired: nearly everything looks down from this agent");
  } else if (view.secondary.verdict == foghorn::v1::VERDICT_UNHEALTHY) {
    add_hold(ReasonCode::kSecondaryUnhealthy,
             absl::StrCat("secondary ", view.roles.secondary_server, " is unhealthy"));
  } else if (view.secondary.verdict != foghorn::v1::VERDICT_HEALTHY) {
    add_hold(ReasonCode::kSecondaryUnknown,
             absl::StrCat("secondary ", view.roles.secondary_server, " has no verdict yet"));
  }
  if (!view.secondary_not_ready.empty()) {
    add_hold(ReasonCode::kSecondaryNotReady,
             absl::StrCat("secondary ", view.roles.secondary_server,
                          " is not a failover target: ", view.secondary_not_ready));
  }
  if (!view.operator_hold.empty()) add_hold(ReasonCode::kOperatorCancelled, view.operator_hold);
  if (const CoordinationView* c = view.coordination ? &*view.coordination : nullptr) {
    if (c->lost) {
      add_hold(ReasonCode::kCoordinationLost,
               absl::StrCat("coordination lost (", c->lost_reason,
                            "): nothing is started until etcd is reachable again"));
    } else if (!c->leader) {
      add_hold(ReasonCode::kNotLeader,
               c->leader_name.empty()
                   ? std::string("no agent leads this group yet; this agent observes")
                   : absl::StrCat(c->leader_name, " leads this group; this agent observes"));
    }
    if (view.primary.verdict == foghorn::v1::VERDICT_UNHEALTHY) {
      if (c->primary_quorum == CoordinationView::Quorum::kNoQuorum) {
        add_hold(
            ReasonCode::kNoVantageQuorum,
            absl::StrCat("too few live vantages to confirm the primary down (", c->votes, ")"));
      } else if (c->primary_quorum == CoordinationView::Quorum::kNotConfirmed) {
        add_hold(ReasonCode::kVantageDissent,
                 absl::StrCat("the vantages do not agree the primary is down (", c->votes, ")"));
      }
    }
  }
  if (policy.blast_radius_cap > 0 && view.groups_failing > policy.blast_radius_cap) {
    add_hold(ReasonCode::kBlastRadiusCap,
             absl::StrCat(view.groups_failing, " groups failing at once, cap ",
                          policy.blast_radius_cap));
  }
  return hold;
}

// " (azure_metric replication_lag_seconds, sample 95s old)": where the estimate's sample came
// from and how old it is.
std::string LagOrigin(const LagSample& lag, absl::Time now) {
  const std::string age =
      absl::StrCat("sample ", Dur(std::max(absl::ZeroDuration(), now - lag.sampled_at)), " old");
  return lag.source.empty() ? absl::StrCat(" (", age, ")")
                            : absl::StrCat(" (", lag.source, ", ", age, ")");
}

}  // namespace

bool Decision::HasReason(ReasonCode code) const {
  return std::any_of(reasons.begin(), reasons.end(),
                     [code](const Reason& r) { return r.code == code; });
}

Decision Decide(const GroupView& view, const Policy& policy, absl::Time now) {
  Builder b(policy, now);
  const std::string& primary_name =
      view.roles.primary_server.empty() ? std::string("primary") : view.roles.primary_server;

  // One operation per group: while the executor works, the engine only watches.
  if (view.in_flight) {
    b.Add(ReasonCode::kOperationInFlight,
          absl::StrCat(KindText(view.in_flight->kind), " in flight since ",
                       absl::FormatTime(view.in_flight->started_at, absl::UTCTimeZone())));
    return b.Finish(Stage::kHold);
  }

  const bool recent_failover = view.last_failover_at != absl::InfinitePast() &&
                               now < view.last_failover_at + policy.cooldown;
  switch (view.primary.verdict) {
    case foghorn::v1::VERDICT_HEALTHY:
      b.Add(ReasonCode::kPrimaryHealthy, absl::StrCat(primary_name, " is healthy"));
      if (view.coordination && view.coordination->lost) {
        // Nothing to do now, but nothing could be started either: said while it lasts.
        b.Add(ReasonCode::kCoordinationLost,
              absl::StrCat("coordination lost (", view.coordination->lost_reason,
                           "): nothing is started until etcd is reachable again"));
      }
      return b.Finish(Stage::kHealthy);
    case foghorn::v1::VERDICT_IMPAIRED:
      b.Add(ReasonCode::kVantageImpaired,
            "vantage impaired: nearly everything looks down from this agent");
      return b.Finish(Stage::kHold);
    case foghorn::v1::VERDICT_UNHEALTHY:
      break;
    default:
      if (recent_failover) {
        b.Add(ReasonCode::kVerifying,
              absl::StrCat("failover completed ", Dur(now - view.last_failover_at),
                           " ago; waiting for a verdict on ", primary_name));
        b.WakeAt(view.last_failover_at + policy.cooldown);
        return b.Finish(Stage::kVerifying);
      }
      b.Add(ReasonCode::kPrimaryVerdictUnknown, absl::StrCat("no verdict yet for ", primary_name));
      return b.Finish(Stage::kHealthy);
  }

  // The primary is unhealthy: how long has the streak lasted?
  absl::Time began = view.primary.unhealthy_since;
  if (began == absl::InfinitePast() || began > now) began = now;
  Decision& d = b.d();
  d.outage_began = began;
  const absl::Time confirmed_at = began + policy.confirm_after;
  // Coordinated: which vantages said what (docs/coordination.md).
  const std::string votes = view.coordination && !view.coordination->votes.empty()
                                ? absl::StrCat(" (vantages ", view.coordination->votes, ")")
                                : std::string();
  if (now < confirmed_at) {
    b.Add(ReasonCode::kPrimaryUnhealthy,
          absl::StrCat(primary_name, " unhealthy for ", Dur(now - began), ", confirmed down after ",
                       Dur(policy.confirm_after), votes));
    b.WakeAt(confirmed_at);
    return b.Finish(Stage::kSuspect);
  }
  b.Add(ReasonCode::kPrimaryConfirmedDown,
        absl::StrCat(primary_name, " down for ", Dur(now - began), votes));

  if (view.last_lag) {
    d.estimated_data_loss =
        view.last_lag->lag + std::max(absl::ZeroDuration(), now - view.last_lag->sampled_at);
  }

  // The ladder: planned after the planned grace; forced kinds after the data-loss grace. A failed
  // planned attempt during this outage is never retried; the ladder waits for forced instead.
  const absl::Time planned_at = confirmed_at + policy.planned_grace;
  const absl::Time forced_at = std::max(began + policy.data_loss_grace, confirmed_at);
  const bool planned_failed = view.last_planned_attempt &&
                              view.last_planned_attempt->outcome == AttemptOutcome::kFailed &&
                              view.last_planned_attempt->finished_at >= began;
  if (planned_failed) {
    const std::string& code = view.last_planned_attempt->error_code;
    b.Add(ReasonCode::kPlannedAttemptFailed,
          absl::StrCat("planned failover failed", code.empty() ? "" : " (", code,
                       code.empty() ? "" : ")", "; not retried"));
  }
  FailoverKind intended = foghorn::v1::FAILOVER_KIND_UNSPECIFIED;
  if (now >= forced_at) {
    intended = policy.prefer_try_planned_before_forced
                   ? foghorn::v1::FAILOVER_KIND_TRY_PLANNED_BEFORE_FORCED
                   : foghorn::v1::FAILOVER_KIND_FORCED;
    b.Add(ReasonCode::kDataLossGraceElapsed,
          absl::StrCat("data-loss grace of ", Dur(policy.data_loss_grace), " elapsed"));
  } else if (!planned_failed && now >= planned_at) {
    intended = foghorn::v1::FAILOVER_KIND_PLANNED;
    b.Add(ReasonCode::kPlannedGraceElapsed,
          absl::StrCat("planned grace of ", Dur(policy.planned_grace), " elapsed"));
    b.WakeAt(forced_at);
  } else if (planned_failed) {
    b.Add(ReasonCode::kAwaitingDataLossGrace,
          absl::StrCat("forced failover allowed in ", Dur(forced_at - now)));
    b.WakeAt(forced_at);
    return b.Finish(Stage::kConfirmedDown);
  } else {
    b.Add(ReasonCode::kAwaitingPlannedGrace,
          absl::StrCat("planned failover allowed in ", Dur(planned_at - now)));
    b.WakeAt(planned_at);
    return b.Finish(Stage::kConfirmedDown);
  }
  d.intended = intended;
  d.target_server = view.roles.secondary_server;

  // Holds: every one that applies is listed.
  const bool hold = AddHolds(b, view, policy, now, intended);

  // The data-loss budget, for kinds that may lose data.
  bool over_budget = false;
  if (LosesData(intended)) {
    if (!d.estimated_data_loss) {
      over_budget = true;
      b.Add(ReasonCode::kDataLossUnknown, "no replication lag ever sampled; data loss unknown");
    } else if (*d.estimated_data_loss > policy.data_loss_budget) {
      over_budget = true;
      b.Add(ReasonCode::kDataLossBudgetExceeded,
            absl::StrCat("estimated data loss ", Dur(*d.estimated_data_loss),
                         LagOrigin(*view.last_lag, now), " exceeds budget ",
                         Dur(policy.data_loss_budget)));
    } else {
      b.Add(ReasonCode::kDataLossWithinBudget,
            absl::StrCat("estimated data loss ", Dur(*d.estimated_data_loss),
                         LagOrigin(*view.last_lag, now), " within budget ",
                         Dur(policy.data_loss_budget)));
      // The estimate grows with time: re-evaluate when it crosses the budget.
      b.WakeAt(now + (policy.data_loss_budget - *d.estimated_data_loss) + absl::Nanoseconds(1));
    }
  }
  if (hold) return b.Finish(Stage::kHold);

  const bool approved = view.approval && now < view.approval->expires_at &&
                        view.approval->granted_at >= began && Covers(view.approval->kind, intended);
  const bool needs_approval =
      policy.approval_mode == foghorn::v1::APPROVAL_MODE_APPROVE_ALL ||
      (policy.approval_mode == foghorn::v1::APPROVAL_MODE_APPROVE_FORCED && LosesData(intended));
  if (over_budget && !(approved && view.approval->allow_data_loss_over_budget)) {
    b.Add(ReasonCode::kApprovalRequired,
          absl::StrCat("a ", KindText(intended),
                       " over the data-loss budget needs an approval that allows data loss"));
    return b.Finish(Stage::kWaitApproval);
  }
  if (needs_approval && !approved) {
    b.Add(ReasonCode::kApprovalRequired,
          absl::StrCat("a ", KindText(intended), " needs approval (approval mode ",
                       policy.approval_mode == foghorn::v1::APPROVAL_MODE_APPROVE_ALL
                           ? "approve_all"
                           : "approve_forced",
                       ")"));
    return b.Finish(Stage::kWaitApproval);
  }
  if (approved && (needs_approval || over_budget)) {
    b.Add(ReasonCode::kApproved,
          absl::StrCat("approved at ",
                       absl::FormatTime(view.approval->granted_at, absl::UTCTimeZone())));
  }
  d.action = intended;
  switch (intended) {
    case foghorn::v1::FAILOVER_KIND_PLANNED:
      return b.Finish(Stage::kPlanned);
    case foghorn::v1::FAILOVER_KIND_TRY_PLANNED_BEFORE_FORCED:
      return b.Finish(Stage::kTryPlannedBeforeForced);
    default:
      return b.Finish(Stage::kForced);
  }
}

std::vector<Reason> Holds(const GroupView& view, const Policy& policy, absl::Time now,
                          foghorn::v1::FailoverKind kind) {
  Builder b(policy, now);
  AddHolds(b, view, policy, now, kind);
  return std::move(b.d().reasons);
}

absl::string_view StageName(Stage stage) {
  switch (stage) {
    case Stage::kHealthy:
      return "HEALTHY";
    case Stage::kSuspect:
      return "SUSPECT";
    case Stage::kConfirmedDown:
      return "CONFIRMED_DOWN";
    case Stage::kPlanned:
      return "PLANNED";
    case Stage::kTryPlannedBeforeForced:
      return "TRY_PLANNED_BEFORE_FORCED";
    case Stage::kForced:
      return "FORCED";
    case Stage::kVerifying:
      return "VERIFYING";
    case Stage::kWaitApproval:
      return "WAIT_APPROVAL";
    case Stage::kHold:
      return "HOLD";
  }
  return "UNKNOWN";
}

absl::string_view ReasonCodeName(ReasonCode code) {
  switch (code) {
    case ReasonCode::kPrimaryHealthy:
      return "PRIMARY_HEALTHY";
    case ReasonCode::kPrimaryVerdictUnknown:
      return "PRIMARY_VERDICT_UNKNOWN";
    case ReasonCode::kPrimaryUnhealthy:
      return "PRIMARY_UNHEALTHY";
    case ReasonCode::kPrimaryConfirmedDown:
      return "PRIMARY_CONFIRMED_DOWN";
    case ReasonCode::kAwaitingPlannedGrace:
      return "AWAITING_PLANNED_GRACE";
    case ReasonCode::kPlannedGraceElapsed:
      return "PLANNED_GRACE_ELAPSED";
    case ReasonCode::kPlannedAttemptFailed:
      return "PLANNED_ATTEMPT_FAILED";
    case ReasonCode::kAwaitingDataLossGrace:
      return "AWAITING_DATA_LOSS_GRACE";
    case ReasonCode::kDataLossGraceElapsed:
      return "DATA_LOSS_GRACE_ELAPSED";
    case ReasonCode::kDataLossWithinBudget:
      return "DATA_LOSS_WITHIN_BUDGET";
    case ReasonCode::kDataLossBudgetExceeded:
      return "DATA_LOSS_BUDGET_EXCEEDED";
    case ReasonCode::kDataLossUnknown:
      return "DATA_LOSS_UNKNOWN";
    case ReasonCode::kApprovalRequired:
      return "APPROVAL_REQUIRED";
    case ReasonCode::kApproved:
      return "APPROVED";
    case ReasonCode::kVerifying:
      return "VERIFYING";
    case ReasonCode::kOperationInFlight:
      return "OPERATION_IN_FLIGHT";
    case ReasonCode::kPaused:
      return "PAUSED";
    case ReasonCode::kMaintenanceWindow:
      return "MAINTENANCE_WINDOW";
    case ReasonCode::kObserveOnly:
      return "OBSERVE_ONLY";
    case ReasonCode::kRolesUnknown:
      return "ROLES_UNKNOWN";
    case ReasonCode::kCooldown:
      return "COOLDOWN";
    case ReasonCode::kVantageImpaired:
      return "VANTAGE_IMPAIRED";
    case ReasonCode::kSecondaryUnhealthy:
      return "SECONDARY_UNHEALTHY";
    case ReasonCode::kSecondaryUnknown:
      return "SECONDARY_UNKNOWN";
    case ReasonCode::kSecondaryNotReady:
      return "SECONDARY_NOT_READY";
    case ReasonCode::kBlastRadiusCap:
      return "BLAST_RADIUS_CAP";
    case ReasonCode::kOperatorCancelled:
      return "OPERATOR_CANCELLED";
    case ReasonCode::kCoordinationLost:
      return "COORDINATION_LOST";
    case ReasonCode::kNotLeader:
      return "NOT_LEADER";
    case ReasonCode::kNoVantageQuorum:
      return "NO_VANTAGE_QUORUM";
    case ReasonCode::kVantageDissent:
      return "VANTAGE_DISSENT";
  }
  return "UNKNOWN";
}

}  // namespace foghorn::decision
