#include "orchestrator/api/bounded_pool.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace foghorn::api {

BoundedPool::BoundedPool(int threads, int max_queued)
    : pool_(std::max(threads, 1)), limit_(std::max(threads, 1) + std::max(max_queued, 0)) {}

void BoundedPool::Shutdown() { pool_.Shutdown(); }

absl::Status Overloaded(const char* what) {
  return absl::ResourceExhaustedError(
      absl::StrCat("the agent is at its limit of ", what, "; retry with backoff"));
}

}  // namespace foghorn::api
