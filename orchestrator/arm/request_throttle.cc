#include "orchestrator/arm/request_throttle.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace foghorn::arm {
namespace {
const char* KindName(RequestKind kind) {
  switch (kind) {
    case RequestKind::kRead:
      return "reads";
    case RequestKind::kWrite:
      return "writes";
    case RequestKind::kDelete:
      return "deletes";
  }
  return "reads";
}
}  // namespace

RequestThrottle::RequestThrottle(const common::Clock& clock, Options options)
    : clock_(clock), options_(options) {}

const RequestThrottle::Bucket& RequestThrottle::BucketFor(RequestKind kind) const {
  switch (kind) {
    case RequestKind::kWrite:
      return options_.writes;
    case RequestKind::kDelete:
      return options_.deletes;
    case RequestKind::kRead:
      break;
  }
  return options_.reads;
}

RequestThrottle::State& RequestThrottle::Refill(const std::string& subscription, RequestKind kind) {
  const Bucket& b = BucketFor(kind);
  const absl::Time now = clock_.Now();
  auto [it, inserted] =
      states_.try_emplace(absl::StrCat(KindName(kind), "/", subscription), State{b.capacity, now});
  State& s = it->second;
  if (!inserted && now > s.updated) {
    s.tokens = std::min(b.capacity,
                        s.tokens + absl::ToDoubleSeconds(now - s.updated) * b.refill_per_second);
    s.updated = now;
  }
  return s;
}

absl::Duration RequestThrottle::Reserve(const std::string& subscription, RequestKind kind) {
  if (!options_.enabled) return absl::ZeroDuration();
  absl::MutexLock lock(&mu_);
  State& s = Refill(subscription, kind);
  s.tokens -= 1;
  if (s.tokens >= 0) return absl::ZeroDuration();
  const double rate = std::max(BucketFor(kind).refill_per_second, 1e-3);
  return absl::Seconds(-s.tokens / rate);
}

void RequestThrottle::Release(const std::string& subscription, RequestKind kind) {
  if (!options_.enabled) return;
  absl::MutexLock lock(&mu_);
  State& s = Refill(subscription, kind);
  s.tokens = std::min(BucketFor(kind).capacity, s.tokens + 1);
}

void RequestThrottle::Observe(const std::string& subscription, RequestKind kind,
                              const http::HttpHeaders& headers) {
  if (!options_.enabled) return;
  std::optional<double> remaining;
  for (const std::string& name :
       {absl::StrCat("x-ms-ratelimit-remaining-subscription-", KindName(kind)),
        absl::StrCat("x-ms-ratelimit-remaining-subscription-global-", KindName(kind))}) {
    auto v = headers.Find(name);
    double d = 0;
    if (v && absl::SimpleAtod(*v, &d) && d >= 0) {
      remaining = remaining ? std::min(*remaining, d) : d;
    }
  }
  if (!remaining) return;
  absl::MutexLock lock(&mu_);
  State& s = Refill(subscription, kind);
  s.tokens = std::min(s.tokens, *remaining);
}

double RequestThrottle::Level(const std::string& subscription, RequestKind kind) {
  absl::MutexLock lock(&mu_);
  return Refill(subscription, kind).tokens;
}

}  // namespace foghorn::arm
