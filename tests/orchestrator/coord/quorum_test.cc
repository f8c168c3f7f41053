#include "orchestrator/coord/quorum.h"

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/common/fake_clock.h"

namespace foghorn::coord {
namespace {

using ::testing::HasSubstr;

class QuorumTest : public ::testing::Test {
 protected:
  absl::Time T(int seconds) const { return start_ + absl::Seconds(seconds); }

  PublishedVerdict V(const std::string& vantage, const std::string& target, PublishedHealth h,
                     int streak_start_s = 0, bool alive = true) {
    PublishedVerdict v;
    v.vantage = vantage;
    v.agent = "agent-" + vantage;
    v.target = target;
    v.health = h;
    if (h == PublishedHealth::kUnhealthy) v.failure_streak_start = T(streak_start_s);
    v.published_at = clock_.Now();
    v.lease_alive = alive;
    return v;
  }

  QuorumRule Rule(int quorum = 0) const {
    QuorumRule r;
    r.configured_vantages = {"eu", "us", "ap"};
    r.vantage_quorum = quorum;
    return r;
  }

  common::FakeClock clock_;
  absl::Time start_ = clock_.Now();
};

constexpr PublishedHealth kDown = PublishedHealth::kUnhealthy;
constexpr PublishedHealth kUp = PublishedHealth::kHealthy;

TEST_F(QuorumTest, DefaultQuorumIsAMajorityOfConfiguredVantages) {
  QuorumRule r = Rule();
  EXPECT_EQ(EffectiveQuorum(r), 2);
  r.configured_vantages = {"a", "b", "c", "d"};
  EXPECT_EQ(EffectiveQuorum(r), 3);
  r.vantage_quorum = 1;
  EXPECT_EQ(EffectiveQuorum(r), 1);
}

TEST_F(QuorumTest, ConfirmsDownWhenAQuorumSeesItDownWithTheQuorumsStart) {
  clock_.Advance(absl::Seconds(60));
  std::vector<PublishedVerdict> vs = {V("eu", "primary", kDown, 10), V("us", "primary", kDown, 30),
                                      V("ap", "primary", kDown, 20), V("eu", "secondary", kUp),
                                      V("us", "secondary", kUp),     V("ap", "secondary", kUp)};
  QuorumResult r = EvaluateQuorum("primary", vs, Rule(), clock_.Now());
  EXPECT_EQ(r.outcome, QuorumOutcome::kDownConfirmed) << r.Summary();
  EXPECT_EQ(r.down, 3);
  // Quorum 2: the 2nd earliest streak start (10, 20, 30) is when two vantages first agreed.
  EXPECT_EQ(r.outage_start, T(20));
}

TEST_F(QuorumTest, OneDissentingPartitionedVantageIsNotConfirmed) {
  std::vector<PublishedVerdict> vs = {V("eu", "primary", kDown, 10), V("us", "primary", kUp),
                                      V("ap", "primary", kUp),       V("eu", "secondary", kUp),
                                      V("us", "secondary", kUp),     V("ap", "secondary", kUp)};
  QuorumResult r = EvaluateQuorum("primary", vs, Rule(), clock_.Now());
  EXPECT_EQ(r.outcome, QuorumOutcome::kNotConfirmed);
  EXPECT_EQ(r.voting, 3);
  EXPECT_EQ(r.down, 1);
  EXPECT_EQ(r.outage_start, absl::InfinitePast());
  ASSERT_EQ(r.votes.size(), 3u);
  EXPECT_EQ(r.votes[0].kind, VantageVote::Kind::kDown);
  EXPECT_EQ(r.votes[1].kind, VantageVote::Kind::kUp);
  EXPECT_EQ(r.votes[1].agent, "agent-us");
  EXPECT_THAT(r.Summary(), HasSubstr("NOT_CONFIRMED 1/3 (quorum 2): eu=down since"));
  EXPECT_THAT(r.Summary(), HasSubstr("us=up, ap=up"));
}

TEST_F(QuorumTest, TooFewLiveVantagesIsNoQuorumNeverConfirmed) {
  // Only eu is alive and sees it down; us's lease is gone, ap published nothing.
  std::vector<PublishedVerdict> vs = {V("eu", "primary", kDown, 10), V("eu", "secondary", kUp),
                                      V("us", "primary", kDown, 5, /*alive=*/false)};
  QuorumResult r = EvaluateQuorum("primary", vs, Rule(), clock_.Now());
  EXPECT_EQ(r.outcome, QuorumOutcome::kNoQuorum) << r.Summary();
  EXPECT_EQ(r.votes[1].kind, VantageVote::Kind::kLeaseLost);
  EXPECT_EQ(r.votes[2].kind, VantageVote::Kind::kMissing);
  EXPECT_THAT(r.Summary(), HasSubstr("us=lease lost, ap=missing"));
}

TEST_F(QuorumTest, AVantageThatSeesEverythingDownAbstains) {
  // ap's own network is cut: it sees primary and secondary down. eu sees the primary down, us
  // sees it up: only two voters, one down -> not confirmed (ap's view does not count).
  std::vector<PublishedVerdict> vs = {
      V("eu", "primary", kDown, 10), V("eu", "secondary", kUp),    V("us", "primary", kUp),
      V("us", "secondary", kUp),     V("ap", "primary", kDown, 5), V("ap", "secondary", kDown, 5)};
  QuorumResult r = EvaluateQuorum("primary", vs, Rule(), clock_.Now());
  EXPECT_EQ(r.votes[2].kind, VantageVote::Kind::kImpaired);
  EXPECT_EQ(r.outcome, QuorumOutcome::kNotConfirmed);
  EXPECT_EQ(r.voting, 2);
  // Without us, ap's abstention leaves one voter: no quorum.
  vs.erase(vs.begin() + 2, vs.begin() + 4);
  EXPECT_EQ(EvaluateQuorum("primary", vs, Rule(), clock_.Now()).outcome, QuorumOutcome::kNoQuorum);
}

TEST_F(QuorumTest, PublishedImpairedAndUnknownAbstain) {
  std::vector<PublishedVerdict> vs = {V("eu", "primary", kDown, 10),
                                      V("us", "primary", PublishedHealth::kImpaired),
                                      V("ap", "primary", PublishedHealth::kUnknown)};
  QuorumResult r = EvaluateQuorum("primary", vs, Rule(), clock_.Now());
  EXPECT_EQ(r.votes[1].kind, VantageVote::Kind::kImpaired);
  EXPECT_EQ(r.votes[2].kind, VantageVote::Kind::kUnknown);
  EXPECT_EQ(r.outcome, QuorumOutcome::kNoQuorum);
}

TEST_F(QuorumTest, StaleVerdictsAbstainWhenAMaxAgeIsSet) {
  std::vector<PublishedVerdict> vs = {V("eu", "primary", kDown, 0), V("us", "primary", kDown, 0)};
  clock_.Advance(absl::Seconds(30));
  vs.push_back(V("ap", "primary", kUp));
  QuorumRule rule = Rule();
  EXPECT_EQ(EvaluateQuorum("primary", vs, rule, clock_.Now()).outcome,
            QuorumOutcome::kDownConfirmed);
  rule.max_verdict_age = absl::Seconds(20);
  QuorumResult r = EvaluateQuorum("primary", vs, rule, clock_.Now());
  EXPECT_EQ(r.votes[0].kind, VantageVote::Kind::kStale);
  EXPECT_EQ(r.outcome, QuorumOutcome::kNoQuorum);
}

TEST_F(QuorumTest, UnconfiguredVantagesAreIgnored) {
  std::vector<PublishedVerdict> vs = {V("eu", "primary", kDown, 1), V("mars", "primary", kDown, 1),
                                      V("us", "primary", kUp)};
  QuorumResult r = EvaluateQuorum("primary", vs, Rule(), clock_.Now());
  EXPECT_EQ(r.down, 1);
  EXPECT_EQ(r.votes.size(), 3u);
  EXPECT_EQ(r.outcome, QuorumOutcome::kNotConfirmed);
}

TEST_F(QuorumTest, ALiveAgentOfAVantageOutranksADeadOneAndTheFreshestWins) {
  PublishedVerdict dead = V("eu", "primary", kUp, 0, /*alive=*/false);
  clock_.Advance(absl::Seconds(5));
  PublishedVerdict older = V("eu", "primary", kUp);
  clock_.Advance(absl::Seconds(5));
  PublishedVerdict newer = V("eu", "primary", kDown, 7);
  newer.agent = "agent-eu-2";
  std::vector<PublishedVerdict> vs = {older, dead, newer, V("us", "primary", kDown, 3)};
  QuorumResult r = EvaluateQuorum("primary", vs, Rule(), clock_.Now());
  EXPECT_EQ(r.votes[0].agent, "agent-eu-2");
  EXPECT_EQ(r.outcome, QuorumOutcome::kDownConfirmed);
  EXPECT_EQ(r.outage_start, T(7));
}

TEST_F(QuorumTest, AQuorumLargerThanTheVantagesCanNeverConfirm) {
  std::vector<PublishedVerdict> vs = {V("eu", "primary", kDown, 1), V("us", "primary", kDown, 1),
                                      V("ap", "primary", kDown, 1)};
  EXPECT_EQ(EvaluateQuorum("primary", vs, Rule(4), clock_.Now()).outcome, QuorumOutcome::kNoQuorum);
  EXPECT_EQ(EvaluateQuorum("primary", vs, Rule(3), clock_.Now()).outcome,
            QuorumOutcome::kDownConfirmed);
}

}  // namespace
}  // namespace foghorn::coord
