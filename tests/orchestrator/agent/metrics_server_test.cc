#include "orchestrator/agent/metrics_server.h"

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "orchestrator/common/metrics.h"
#include "tests/testing/status_matchers.h"

namespace foghorn::agent {
namespace {

using ::foghorn::testing::IsOk;

// A start-up that fails right after /metrics started shuts it down at once. httplib's stop() is a
// no-op until its thread marks the server running, so Shutdown() used to wait forever on the join
// when it came first.
TEST(MetricsServerTest, ShutdownRightAfterStartAlwaysReturns) {
  absl::Notification done;
  std::thread worker([&] {
    common::MetricsRegistry metrics;
    for (int i = 0; i < 200; ++i) {
      auto server = MetricsServer::Start("127.0.0.1:0", metrics);
      ASSERT_THAT(server, IsOk());
      (*server)->Shutdown();
    }
    done.Notify();
  });
  if (!done.WaitForNotificationWithTimeout(absl::Seconds(60))) {
    // The worker is stuck in a join that never returns; it cannot be joined, so end loudly.
    std::fprintf(stderr, "MetricsServer::Shutdown hung right after Start\n");
    std::abort();
  }
  worker.join();
}

TEST(MetricsServerTest, DestroyingAServerThatWasNeverShutDownReturns) {
  common::MetricsRegistry metrics;
  for (int i = 0; i < 50; ++i) {
    auto server = MetricsServer::Start("127.0.0.1:0", metrics);
    ASSERT_THAT(server, IsOk());
  }  // each destructor shuts its server down
}

}  // namespace
}  // namespace foghorn::agent
