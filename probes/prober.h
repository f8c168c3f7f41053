// The I/O side of probing, behind an interface: the scheduler decides when a probe runs and
// hands the attempt to a Prober, which reports one ProbeResult. SystemProber does real network
// and process I/O on one event loop; tests script results with a fake.
#ifndef FOGHORN_PROBES_PROBER_H_
#define FOGHORN_PROBES_PROBER_H_

#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "foghorn/v1/probe.pb.h"
#include "probes/failover_group_state_reader.h"
#include "probes/probe_result.h"

namespace foghorn::probes {

// Where a probe points when its spec leaves it to the agent.
struct ProbeContext {
  // host:port used by a TCP probe whose address is empty (the target's SQL endpoint).
  std::string default_address;
  // The failover group as seen from the target server, for ARM-state probes.
  FailoverGroupRef failover_group;
};

// Runs probe attempts. Start() must not block: it begins the attempt and returns. `done` is called
// exactly once, from any thread (possibly inside Start()), with outcome and detail (and metric)
// filled in; the caller fills in the times. The prober should give up by `timeout`; the
// scheduler also enforces the timeout itself and discards late results. After the prober is shut
// down it may drop pending callbacks without calling them. Implementations are thread-safe.
class Prober {
 public:
  using Callback = absl::AnyInvocable<void(ProbeResult) &&>;
  virtual ~Prober() = default;
  virtual void Start(const v1::ProbeSpec& spec, const ProbeContext& context, absl::Duration timeout,
                     Callback done) = 0;
};

}  // namespace foghorn::probes

#endif  // FOGHORN_PROBES_PROBER_H_
