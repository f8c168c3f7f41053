// The multi-vantage quorum rule: is a target confirmed down by enough vantages? A pure function
// of the verdicts the agents published (read from etcd by the caller), the configured vantages
// and the rule; no etcd, no clock of its own. The agent runs it and hands the result to the
// decision engine in its view (the engine stays a function of view + policy + now and does not
// include this layer).
#ifndef FOGHORN_ORCHESTRATOR_COORD_QUORUM_H_
#define FOGHORN_ORCHESTRATOR_COORD_QUORUM_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace foghorn::coord {

// A vantage's verdict on one target, as its agent published it.
enum class PublishedHealth { kUnknown, kHealthy, kUnhealthy, kImpaired };

struct PublishedVerdict {
  std::string vantage;
  std::string agent;
  std::string target;
  PublishedHealth health = PublishedHealth::kUnknown;
  // For kUnhealthy: when the vantage's failure streak began.
  absl::Time failure_streak_start = absl::InfinitePast();
  absl::Time published_at = absl::InfinitePast();
  // Whether the publishing agent's session lease is alive (the key still exists under it).
  bool lease_alive = false;
};

struct QuorumRule {
  // The vantages the deployment is configured with; verdicts from others are ignored.
  std::vector<std::string> configured_vantages;
  // How many live vantages must see the target down; <= 0: a majority of the configured ones.
  int vantage_quorum = 0;
  // A verdict older than this (published_at before now - max_verdict_age) abstains; zero: no
  // limit (the lease alone decides liveness).
  absl::Duration max_verdict_age = absl::ZeroDuration();
  // Impairment: a vantage with an opinion (healthy or unhealthy) on at least
  // `impairment_min_targets` targets, of which at least `impairment_fraction` are unhealthy,
  // sees everything down and abstains on every target. Default: every target, from 2 up.
  double impairment_fraction = 1.0;
  int impairment_min_targets = 2;
};

// The effective quorum: rule.vantage_quorum, or configured/2 + 1.
int EffectiveQuorum(const QuorumRule& rule);

enum class QuorumOutcome {
  kDownConfirmed,  // at least `quorum` live vantages see the target down
  kNotConfirmed,   // enough live vantages vote, too few of them see it down
  kNoQuorum,       // fewer than `quorum` live vantages vote at all: hold, never fail over
};

// What one configured vantage contributed.
struct VantageVote {
  enum class Kind {
    kDown,
    kUp,
    kUnknown,    // its verdict is unknown: abstains
    kImpaired,   // it sees (nearly) everything down, or published IMPAIRED: abstains
    kLeaseLost,  // its agent's lease is gone: not live
    kStale,      // its verdict is older than max_verdict_age: abstains
    kMissing,    // it published nothing about this target
  };
  std::string vantage;
  std::string agent;  // empty for kMissing
  Kind kind = Kind::kMissing;
  absl::Time failure_streak_start = absl::InfinitePast();
  absl::Time published_at = absl::InfinitePast();
};

struct QuorumResult {
  QuorumOutcome outcome = QuorumOutcome::kNoQuorum;
  int quorum = 0;
  int voting = 0;  // live vantages with an up or down vote
  int down = 0;
  // For kDownConfirmed: the quorum-th earliest failure-streak start among the down votes (the
  // moment the quorum was first met). InfinitePast otherwise.
  absl::Time outage_start = absl::InfinitePast();
  // One entry per configured vantage, in configured order.
  std::vector<VantageVote> votes;
  // "DOWN_CONFIRMED 2/3 (quorum 2): eu=down since ..., us=up, ap=lease lost"
  std::string Summary() const;
};

// Decides for `target` from all published verdicts (of every target: impairment looks at a
// vantage's whole picture). When one vantage has several live agents, the most recently
// published verdict counts. Pure and deterministic.
QuorumResult EvaluateQuorum(absl::string_view target, absl::Span<const PublishedVerdict> verdicts,
                            const QuorumRule& rule, absl::Time now);

absl::string_view QuorumOutcomeName(QuorumOutcome o);
absl::string_view VoteKindName(VantageVote::Kind k);

}  // namespace foghorn::coord

#endif  // FOGHORN_ORCHESTRATOR_COORD_QUORUM_H_
