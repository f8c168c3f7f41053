#include "orchestrator/agent/arm_state_reader.h"

#include <memory>
#include <utility>

namespace foghorn::agent {

void ArmStateReader::Read(const probes::FailoverGroupRef& ref, absl::Time /*deadline*/,
                          Callback done) {
  // The probe scheduler enforces the deadline itself; a late answer is dropped there.
  auto shared_done = std::make_shared<Callback>(std::move(done));
  bool submitted = workers_.Submit([this, ref, shared_done] {
    absl::StatusOr<arm::FailoverGroup> g =
        arm_.Get({ref.subscription, ref.resource_group, ref.server, ref.failover_group});
    if (!g.ok()) {
      std::move (*shared_done)(g.status());
      return;
    }
    probes::FailoverGroupState state;
    switch (g->replication_role) {
      case arm::ReplicationRole::kPrimary:
        state.role = v1::ROLE_PRIMARY;
        break;
      case arm::ReplicationRole::kSecondary:
        state.role = v1::ROLE_SECONDARY;
        break;
      case arm::ReplicationRole::kUnknown:
        state.role = v1::ROLE_UNSPECIFIED;
        break;
    }
    state.replication_state = g->replication_state;
    std::move (*shared_done)(state);
  });
  if (!submitted) std::move (*shared_done)(absl::UnavailableError("agent is shutting down"));
}

}  // namespace foghorn::agent
