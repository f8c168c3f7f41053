// Leader placement: which live agent should lead a failover group. Rendezvous (highest random
// weight) hashing: every agent scores hash(agent, group) and the highest score wins. It is
// stable (the same inputs give the same agent on every agent and every run: the hash is fixed,
// not std::hash), it spreads groups evenly, and when an agent dies only the groups it led move
// (each to the agent that scored second for it); when one joins it takes only the groups it now
// scores highest for. Pure functions, no etcd.
#ifndef FOGHORN_ORCHESTRATOR_COORD_PLACEMENT_H_
#define FOGHORN_ORCHESTRATOR_COORD_PLACEMENT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace foghorn::coord {

// The score of `agent` for `group` (64-bit FNV-1a of both, length-delimited, then a splitmix64
// finaliser). Fixed across builds and platforms.
uint64_t PlacementScore(absl::string_view agent, absl::string_view group);

// The live agents in order of preference for `group` (highest score first; ties by name).
// Duplicates and empty names are dropped.
std::vector<std::string> RankAgents(absl::Span<const std::string> live_agents,
                                    absl::string_view group);

// RankAgents(...)[0], or "" when there is no live agent.
std::string PreferredAgent(absl::Span<const std::string> live_agents, absl::string_view group);

}  // namespace foghorn::coord

#endif  // FOGHORN_ORCHESTRATOR_COORD_PLACEMENT_H_
