#include "tools/armsim/sim_context.h"

#include <utility>

namespace foghorn::armsim {
namespace {

EmulatorOptions EmulatorOptionsFrom(const ArmSimOptions& o, const common::Clock* clock) {
  EmulatorOptions eo;
  eo.operation_duration = o.operation_duration;
  eo.retry_after = o.retry_after;
  eo.page_size = o.page_size;
  eo.clock = clock;
  eo.signals = o.signals;
  return eo;
}

ThrottleLimits ThrottleLimitsFrom(const ArmSimOptions& o) {
  return {.reads = {o.read_bucket, o.read_refill_per_second},
          .writes = {o.write_bucket, o.write_refill_per_second},
          .deletes = {o.delete_bucket, o.delete_refill_per_second}};
}

}  // namespace

SimContext::SimContext(ArmSimOptions o, Topology topology)
    : options(std::move(o)),
      clock(options.clock != nullptr ? options.clock : &real_clock),
      clients(topology.clients),
      emulator(topology, EmulatorOptionsFrom(options, clock)),
      vantages(std::move(topology.vantages)),
      tokens(clock, options.token_lifetime),
      throttle(ThrottleLimitsFrom(options)),
      requests(options.request_log_memory),
      strict_auth(options.strict_auth),
      throttling(options.throttling) {}

const char* Scheme(const SimContext& sim) { return sim.options.tls ? "https://" : "http://"; }

void SetRegionDown(SimContext& sim, const std::string& region, RegionOutage outage) {
  sim.emulator.SetRegionDown(region, outage);
  sim.blackholes.RegionChanged();
  if (sim.data_plane) sim.data_plane->ReconcileNow();
}

void SetRegionUp(SimContext& sim, const std::string& region) {
  sim.emulator.SetRegionUp(region);
  sim.blackholes.RegionChanged();
  if (sim.data_plane) sim.data_plane->ReconcileNow();
}

absl::Status CutPartition(SimContext& sim, const Partition& partition) {
  if (absl::Status s = sim.vantages.Cut(partition); !s.ok()) return s;
  sim.blackholes.RegionChanged();
  if (sim.data_plane) sim.data_plane->ReconcileNow();
  return absl::OkStatus();
}

absl::Status HealPartition(SimContext& sim, const std::string& vantage, const std::string& region) {
  if (absl::Status s = sim.vantages.Heal(vantage, region); !s.ok()) return s;
  sim.blackholes.RegionChanged();
  if (sim.data_plane) sim.data_plane->ReconcileNow();
  return absl::OkStatus();
}

}  // namespace foghorn::armsim
