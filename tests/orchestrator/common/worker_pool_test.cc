#include "orchestrator/common/worker_pool.h"

#include <atomic>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace foghorn::common {
namespace {

// Tasks that block until released, counting how many have started.
class BlockingTasks {
 public:
  WorkerPool::Task Make() {
    return [this] {
      {
        absl::MutexLock lock(&mu_);
        ++started_;
      }
      release_.WaitForNotification();
      ++finished_;
    };
  }
  // True once `n` tasks run at the same time; false if that does not happen within a bound that
  // only a broken pool reaches (it guards against a hang, it measures nothing).
  bool AwaitStarted(int n) {
    absl::MutexLock lock(&mu_);
    target_ = n;
    return mu_.AwaitWithTimeout(absl::Condition(this, &BlockingTasks::ReachedTarget),
                                absl::Seconds(30));
  }
  int started() {
    absl::MutexLock lock(&mu_);
    return started_;
  }
  void Release() { release_.Notify(); }
  int finished() const { return finished_.load(); }

 private:
  bool ReachedTarget() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return started_ >= target_; }

  absl::Mutex mu_;
  int started_ ABSL_GUARDED_BY(mu_) = 0;
  int target_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Notification release_;
  std::atomic<int> finished_{0};
};

TEST(WorkerPoolTest, AFixedPoolRunsAtMostItsThreadsAtOnce) {
  WorkerPool pool(2);
  BlockingTasks tasks;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(pool.Submit(tasks.Make()));
  ASSERT_TRUE(tasks.AwaitStarted(2));
  EXPECT_EQ(pool.threads(), 2);
  EXPECT_EQ(tasks.started(), 2);  // the third waits for a free thread
  tasks.Release();
  pool.WaitIdle();
  EXPECT_EQ(tasks.finished(), 3);
}

TEST(WorkerPoolTest, AnElasticPoolRunsIndependentLongTasksAllAtOnce) {
  // Forty operations that each hold their thread (as an LRO poll does) all run together: none
  // waits for another to finish. A pool capped at its core size would never get there.
  WorkerPool pool(WorkerPool::Options{.threads = 2, .max_threads = 64});
  BlockingTasks tasks;
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(pool.Submit(tasks.Make()));
  EXPECT_TRUE(tasks.AwaitStarted(40));
  EXPECT_LE(pool.threads(), 40);
  tasks.Release();
  pool.WaitIdle();
  EXPECT_EQ(tasks.finished(), 40);
}

TEST(WorkerPoolTest, AnElasticPoolStopsGrowingAtItsLimit) {
  WorkerPool pool(WorkerPool::Options{.threads = 1, .max_threads = 3});
  BlockingTasks tasks;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(pool.Submit(tasks.Make()));
  ASSERT_TRUE(tasks.AwaitStarted(3));
  EXPECT_EQ(pool.threads(), 3);
  EXPECT_EQ(tasks.started(), 3);
  tasks.Release();
  pool.WaitIdle();
  EXPECT_EQ(tasks.finished(), 5);
}

TEST(WorkerPoolTest, ThreadsAboveTheCoreSizeRetireAndAreReplacedWhenWorkReturns) {
  WorkerPool pool(
      WorkerPool::Options{.threads = 1, .max_threads = 4, .idle_timeout = absl::ZeroDuration()});
  for (int round = 0; round < 3; ++round) {
    BlockingTasks tasks;
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(pool.Submit(tasks.Make()));
    ASSERT_TRUE(tasks.AwaitStarted(4)) << "round " << round;
    EXPECT_LE(pool.threads(), 4);
    tasks.Release();
    pool.WaitIdle();
    EXPECT_EQ(tasks.finished(), 4);
  }
  pool.Shutdown();  // joins retired and live threads alike
  EXPECT_EQ(pool.threads(), 0);
}

TEST(WorkerPoolTest, AnElasticPoolFinishesQueuedWorkOnShutdownThenRefusesMore) {
  WorkerPool pool(WorkerPool::Options{.threads = 1, .max_threads = 2});
  std::atomic<int> ran{0};
  for (int i = 0; i < 20; ++i) pool.Submit([&] { ++ran; });
  pool.Shutdown();
  EXPECT_EQ(ran.load(), 20);
  EXPECT_FALSE(pool.Submit([&] { ++ran; }));
}

}  // namespace
}  // namespace foghorn::common
