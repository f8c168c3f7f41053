#include "orchestrator/coord/quorum.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"

namespace foghorn::coord {

int EffectiveQuorum(const QuorumRule& rule) {
  if (rule.vantage_quorum > 0) return rule.vantage_quorum;
  return static_cast<int>(rule.configured_vantages.size()) / 2 + 1;
}

namespace {

bool Fresh(const PublishedVerdict& v, const QuorumRule& rule, absl::Time now) {
  return rule.max_verdict_age <= absl::ZeroDuration() ||
         v.published_at >= now - rule.max_verdict_age;
}

// Whether a vantage sees (nearly) everything down, from its live, fresh verdicts on every target.
bool Impaired(absl::string_view vantage, absl::Span<const PublishedVerdict> verdicts,
              const QuorumRule& rule, absl::Time now) {
  // The freshest verdict per target of this vantage.
  std::map<std::string, const PublishedVerdict*> latest;
  for (const PublishedVerdict& v : verdicts) {
    if (v.vantage != vantage || !v.lease_alive || !Fresh(v, rule, now)) continue;
    const PublishedVerdict*& slot = latest[v.target];
    if (slot == nullptr || v.published_at > slot->published_at) slot = &v;
  }
  int opinion = 0;
  int down = 0;
  for (const auto& [target, v] : latest) {
    if (v->health == PublishedHealth::kHealthy) ++opinion;
    if (v->health == PublishedHealth::kUnhealthy || v->health == PublishedHealth::kImpaired) {
      ++opinion;
      ++down;
    }
  }
  if (opinion < rule.impairment_min_targets || opinion == 0) return false;
  return static_cast<double>(down) >= rule.impairment_fraction * static_cast<double>(opinion);
}

}  // namespace

QuorumResult EvaluateQuorum(absl::string_view target, absl::Span<const PublishedVerdict> verdicts,
                            const QuorumRule& rule, absl::Time now) {
  QuorumResult out;
  out.quorum = EffectiveQuorum(rule);
  std::vector<absl::Time> down_starts;
  for (const std::string& vantage : rule.configured_vantages) {
    if (std::any_of(out.votes.begin(), out.votes.end(),
                    [&](const VantageVote& v) { return v.vantage == vantage; })) {
      continue;  // listed twice in the config
    }
    VantageVote vote;
    vote.vantage = vantage;
    // Pick this vantage's verdict on the target: a live one first, then the freshest.
    const PublishedVerdict* pick = nullptr;
    for (const PublishedVerdict& v : verdicts) {
      if (v.vantage != vantage || v.target != target) continue;
      if (pick == nullptr || (v.lease_alive && !pick->lease_alive) ||
          (v.lease_alive == pick->lease_alive && v.published_at > pick->published_at)) {
        pick = &v;
      }
    }
    if (pick != nullptr) {
      vote.agent = pick->agent;
      vote.published_at = pick->published_at;
      if (!pick->lease_alive) {
        vote.kind = VantageVote::Kind::kLeaseLost;
      } else if (!Fresh(*pick, rule, now)) {
        vote.kind = VantageVote::Kind::kStale;
      } else if (pick->health == PublishedHealth::kImpaired ||
                 Impaired(vantage, verdicts, rule, now)) {
        vote.kind = VantageVote::Kind::kImpaired;
      } else if (pick->health == PublishedHealth::kUnhealthy) {
        vote.kind = VantageVote::Kind::kDown;
        vote.failure_streak_start = pick->failure_streak_start;
        down_starts.push_back(pick->failure_streak_start);
      } else if (pick->health == PublishedHealth::kHealthy) {
        vote.kind = VantageVote::Kind::kUp;
      } else {
        vote.kind = VantageVote::Kind::kUnknown;
      }
    }
    if (vote.kind == VantageVote::Kind::kDown || vote.kind == VantageVote::Kind::kUp) ++out.voting;
    out.votes.push_back(std::move(vote));
  }
  out.down = static_cast<int>(down_starts.size());
  if (out.quorum >= 1 && out.down >= out.quorum) {
    out.outcome = QuorumOutcome::kDownConfirmed;
    std::sort(down_starts.begin(), down_starts.end());
    out.outage_start = down_starts[static_cast<size_t>(out.quorum - 1)];
  } else if (out.voting < out.quorum) {
    out.outcome = QuorumOutcome::kNoQuorum;
  } else {
    out.outcome = QuorumOutcome::kNotConfirmed;
  }
  return out;
}

absl::string_view QuorumOutcomeName(QuorumOutcome o) {
  switch (o) {
    case QuorumOutcome::kDownConfirmed:
      return "DOWN_CONFIRMED";
    case QuorumOutcome::kNotConfirmed:
      return "NOT_CONFIRMED";
    case QuorumOutcome::kNoQuorum:
      return "NO_QUORUM";
  }
  return "?";
}

absl::string_view VoteKindName(VantageVote::Kind k) {
  switch (k) {
    case VantageVote::Kind::kDown:
      return "down";
    case VantageVote::Kind::kUp:
      return "up";
    case VantageVote::Kind::kUnknown:
      return "unknown";
    case VantageVote::Kind::kImpaired:
      return "impaired";
    case VantageVote::Kind::kLeaseLost:
      return "lease lost";
    case VantageVote::Kind::kStale:
      return "stale";
    case VantageVote::Kind::kMissing:
      return "missing";
  }
  return "?";
}

std::string QuorumResult::Summary() const {
  std::string s =
      absl::StrCat(QuorumOutcomeName(outcome), " ", down, "/", voting, " (quorum ", quorum, "):");
  bool first = true;
  for (const VantageVote& v : votes) {
    absl::StrAppend(&s, first ? " " : ", ", v.vantage, "=", VoteKindName(v.kind));
    if (v.kind == VantageVote::Kind::kDown) {
      absl::StrAppend(&s, " since ", absl::FormatTime(v.failure_streak_start));
    }
    first = false;
  }
  return s;
}

}  // namespace foghorn::coord
