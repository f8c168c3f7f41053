#include "tests/testing/fake_sleeper.h"

namespace foghorn::testing {

void FakeSleeper::SleepFor(absl::Duration d) {
  {
    absl::MutexLock lock(&mu_);
    sleeps_.push_back(d);
    if (d <= absl::ZeroDuration()) return;
    if (!open_) {
      ++blocked_;
      mu_.Await(absl::Condition(&open_));
      --blocked_;
    }
  }
  // Outside the lock: advancing may run an attached executor's tasks, which may sleep too.
  if (clock_ != nullptr) clock_->Advance(d);
}

std::vector<absl::Duration> FakeSleeper::sleeps() const {
  absl::MutexLock lock(&mu_);
  return sleeps_;
}

absl::Duration FakeSleeper::total() const {
  absl::MutexLock lock(&mu_);
  absl::Duration sum;
  for (absl::Duration d : sleeps_) sum += d;
  return sum;
}

void FakeSleeper::Close() {
  absl::MutexLock lock(&mu_);
  open_ = false;
}

void FakeSleeper::Open() {
  absl::MutexLock lock(&mu_);
  open_ = true;
}

bool FakeSleeper::AwaitSleeping(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(
                                  +[](int* blocked) { return *blocked > 0; }, &blocked_),
                              timeout);
}

}  // namespace foghorn::testing
