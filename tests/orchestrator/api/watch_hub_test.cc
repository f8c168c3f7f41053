// The Watch fan-out without gRPC: filters, bounded queues and MISSED markers in order.
#include "orchestrator/api/watch_hub.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace foghorn::api {
namespace {

using ::testing::ElementsAre;

v1::WatchResponse Event(v1::EventKind kind, const std::string& group, const std::string& summary) {
  v1::WatchResponse e;
  e.set_kind(kind);
  e.set_group_id(group);
  e.set_summary(summary);
  return e;
}

// Drains a subscription into "summary" strings ("missed:N" for markers).
std::vector<std::string> Drain(Subscription& s) {
  std::vector<std::string> out;
  while (EventPtr e = s.Next()) {
    out.push_back(e->kind() == v1::EVENT_KIND_MISSED ? "missed:" + std::to_string(e->missed())
                                                     : e->summary());
  }
  return out;
}

TEST(WatchHubTest, DeliversOnlyMatchingEventsAndWakesAnIdleSubscriberOnce) {
  WatchHub hub(16);
  int wakes = 0;
  WatchFilter filter;
  filter.group_ids = {"g1"};
  filter.kinds = {v1::EVENT_KIND_OPERATION_STEP};
  auto sub = hub.Subscribe(
      filter, [&] { ++wakes; }, [] {});
  ASSERT_NE(sub, nullptr);
  EXPECT_THAT(Drain(*sub), ElementsAre());  // now idle
  hub.Publish(Event(v1::EVENT_KIND_OPERATION_STEP, "g2", "other group"));
  hub.Publish(Event(v1::EVENT_KIND_VERDICT, "g1", "other kind"));
  EXPECT_EQ(wakes, 0);
  hub.Publish(Event(v1::EVENT_KIND_OPERATION_STEP, "g1", "a"));
  hub.Publish(Event(v1::EVENT_KIND_OPERATION_STEP, "g1", "b"));
  EXPECT_EQ(wakes, 1);
  EXPECT_THAT(Drain(*sub), ElementsAre("a", "b"));
  sub->Detach();
  hub.Unsubscribe(sub);
  EXPECT_EQ(hub.subscribers(), 0u);
}

TEST(WatchHubTest, AFullQueueDropsAndReportsTheGapWhereItHappened) {
  WatchHub hub(3);
  auto sub = hub.Subscribe(
      {}, [] {}, [] {});
  for (const char* s : {"1", "2", "3", "4", "5"}) {
    hub.Publish(Event(v1::EVENT_KIND_VERDICT, "g", s));
  }
  // Room again after one is taken: the marker goes in before anything newer.
  EXPECT_EQ(sub->Next()->summary(), "1");
  hub.Publish(Event(v1::EVENT_KIND_VERDICT, "g", "6"));
  hub.Publish(Event(v1::EVENT_KIND_VERDICT, "g", "7"));
  EXPECT_THAT(Drain(*sub), ElementsAre("2", "3", "missed:2", "missed:2"));
  EXPECT_EQ(sub->dropped(), 4u);
}

TEST(WatchHubTest, AQueueThatDrainsReportsTheMissedCountBeforeGoingIdle) {
  WatchHub hub(2);
  auto sub = hub.Subscribe(
      {}, [] {}, [] {});
  for (int i = 0; i < 10; ++i) hub.Publish(Event(v1::EVENT_KIND_VERDICT, "g", std::to_string(i)));
  EXPECT_THAT(Drain(*sub), ElementsAre("0", "1", "missed:8"));
}

TEST(WatchHubTest, CloseCallsEveryCloseCallbackAndRefusesNewSubscribers) {
  WatchHub hub;
  int closed = 0;
  auto a = hub.Subscribe(
      {}, [] {}, [&] { ++closed; });
  auto b = hub.Subscribe(
      {}, [] {}, [&] { ++closed; });
  b->Detach();
  hub.Close();
  EXPECT_EQ(closed, 1);
  EXPECT_EQ(hub.Subscribe(
                {}, [] {}, [] {}),
            nullptr);
}

TEST(WatchHubTest, SeqNumbersIncreaseAcrossAllEvents) {
  WatchHub hub;
  auto sub = hub.Subscribe(
      {}, [] {}, [] {});
  EXPECT_EQ(hub.Publish(Event(v1::EVENT_KIND_VERDICT, "g", "a")), 1u);
  EXPECT_EQ(hub.Publish(Event(v1::EVENT_KIND_VERDICT, "g", "b")), 2u);
  EXPECT_EQ(sub->Next()->seq(), 1u);
  EXPECT_EQ(sub->Next()->seq(), 2u);
}

}  // namespace
}  // namespace foghorn::api
