// Adapts the ARM client to the probes' FailoverGroupStateReader, so ARM-state probes read the
// group's role through the same client (retries, throttling, credentials) on the worker pool.
#ifndef FOGHORN_ORCHESTRATOR_AGENT_ARM_STATE_READER_H_
#define FOGHORN_ORCHESTRATOR_AGENT_ARM_STATE_READER_H_

#include "orchestrator/common/worker_pool.h"
#include "orchestrator/executor/operation_runner.h"
#include "probes/failover_group_state_reader.h"

namespace foghorn::agent {

class ArmStateReader final : public probes::FailoverGroupStateReader {
 public:
  // Both must outlive the reader.
  ArmStateReader(executor::FailoverActuator& arm, common::WorkerPool& workers)
      : arm_(arm), workers_(workers) {}

  void Read(const probes::FailoverGroupRef& ref, absl::Time deadline, Callback done) override;

 private:
  executor::FailoverActuator& arm_;
  common::WorkerPool& workers_;
};

}  // namespace foghorn::agent

#endif  // FOGHORN_ORCHESTRATOR_AGENT_ARM_STATE_READER_H_
