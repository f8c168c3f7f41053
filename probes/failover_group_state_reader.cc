#include "probes/failover_group_state_reader.h"

#include "absl/strings/str_cat.h"

namespace foghorn::probes {

std::string FailoverGroupRef::Key() const {
  return absl::StrCat(subscription, "/", resource_group, "/", server, "/", failover_group);
}

void FakeFailoverGroupStateReader::Set(const FailoverGroupRef& ref,
                                       absl::StatusOr<FailoverGroupState> state) {
  absl::MutexLock lock(&mu_);
  states_.insert_or_assign(ref.Key(), std::move(state));
}

void FakeFailoverGroupStateReader::Read(const FailoverGroupRef& ref, absl::Time /*deadline*/,
                                        Callback done) {
  absl::StatusOr<FailoverGroupState> answer =
      absl::NotFoundError(absl::StrCat("failover group ", ref.Key(), " not found"));
  {
    absl::MutexLock lock(&mu_);
    auto it = states_.find(ref.Key());
    if (it != states_.end()) answer = it->second;
  }
  std::move(done)(std::move(answer));
}

}  // namespace foghorn::probes
