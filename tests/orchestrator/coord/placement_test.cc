#include "orchestrator/coord/placement.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace foghorn::coord {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

std::vector<std::string> Groups(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(absl::StrCat("fog-", i));
  return out;
}

TEST(PlacementTest, ScoreIsFixedAcrossBuilds) {
  // Pinned values (checked against an independent Python rendering of the same hash): a change
  // to the hash moves groups between agents of mixed versions, which must be deliberate.
  EXPECT_EQ(PlacementScore("", ""), 0x4193fd1b681dcd25ULL);
  EXPECT_EQ(PlacementScore("agent-a", "fog-1"), 0x70aaff60c1599692ULL);
  EXPECT_NE(PlacementScore("ab", "c"), PlacementScore("a", "bc"));
}

TEST(PlacementTest, OrderOfLiveAgentsDoesNotMatter) {
  std::vector<std::string> a = {"eu", "us", "ap"};
  std::vector<std::string> b = {"ap", "eu", "us"};
  for (const std::string& g : Groups(50)) {
    EXPECT_EQ(RankAgents(a, g), RankAgents(b, g)) << g;
  }
}

TEST(PlacementTest, SpreadsGroupsOverAgents) {
  std::vector<std::string> agents = {"eu", "us", "ap"};
  std::map<std::string, int> count;
  for (const std::string& g : Groups(3000)) ++count[PreferredAgent(agents, g)];
  ASSERT_EQ(count.size(), 3u);
  for (const auto& [agent, n] : count) {
    EXPECT_GT(n, 850) << agent;
    EXPECT_LT(n, 1150) << agent;
  }
}

TEST(PlacementTest, MovesOnlyTheDeadAgentsGroups) {
  std::vector<std::string> all = {"eu", "us", "ap", "sa"};
  std::vector<std::string> without_us = {"eu", "ap", "sa"};
  int moved = 0;
  for (const std::string& g : Groups(1000)) {
    std::string before = PreferredAgent(all, g);
    std::string after = PreferredAgent(without_us, g);
    if (before != "us") {
      EXPECT_EQ(before, after) << g;
    } else {
      ++moved;
      // It goes to the agent that ranked second.
      EXPECT_EQ(after, RankAgents(all, g)[1]) << g;
    }
  }
  EXPECT_GT(moved, 0);
}

TEST(PlacementTest, AJoiningAgentTakesOnlyGroupsItNowWins) {
  std::vector<std::string> before = {"eu", "us"};
  std::vector<std::string> after = {"eu", "us", "ap"};
  for (const std::string& g : Groups(500)) {
    std::string a = PreferredAgent(after, g);
    if (a != "ap") {
      EXPECT_EQ(a, PreferredAgent(before, g)) << g;
    }
  }
}

TEST(PlacementTest, DropsDuplicatesAndEmptyNames) {
  std::vector<std::string> agents = {"eu", "", "us", "eu"};
  EXPECT_THAT(RankAgents(agents, "fog-1"), UnorderedElementsAre("eu", "us"));
  EXPECT_EQ(PreferredAgent({}, "fog-1"), "");
  std::vector<std::string> one = {"eu"};
  EXPECT_THAT(RankAgents(one, "fog-1"), ElementsAre("eu"));
}

}  // namespace
}  // namespace foghorn::coord
