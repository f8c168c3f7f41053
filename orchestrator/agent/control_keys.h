// The agent's control-state keys and their JSON helpers, shared by the files that implement
// Agent (control_state.cc, control_surface.cc, shared_state.cc and others). Internal to
// orchestrator/agent (not for other layers).
//   "pause/<owner>/<group id or *>"   a pause (owner "operator" or "drill")
//   "group/<group id>"                the group's durable state (outage, lag, cooldown, ...)
//   "cancel/<operation id>"           a person's acknowledged cancel
//   "approval/<group id>"             shared only (etcd): an approval in force
#ifndef FOGHORN_ORCHESTRATOR_AGENT_CONTROL_KEYS_H_
#define FOGHORN_ORCHESTRATOR_AGENT_CONTROL_KEYS_H_

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "orchestrator/agent/agent.h"
#include "orchestrator/common/clock.h"

namespace foghorn::agent {

inline constexpr char kGroupKeyPrefix[] = "group/";
// "cancel/<operation id>": a person's acknowledged cancel, written before the answer, so a crash
// between the answer and the runner's next safe point cannot lose it.
inline constexpr char kCancelKeyPrefix[] = "cancel/";
inline constexpr char kPauseKeyPrefix[] = "pause/";
inline constexpr char kOperatorPausePrefix[] = "pause/operator/";
inline constexpr char kApprovalKeyPrefix[] = "approval/";

inline std::string OwnerName(PauseOwner owner) {
  return owner == PauseOwner::kDrill ? "drill" : "operator";
}

// "pause/<owner>/<group id or *>".
inline std::string PauseKey(PauseOwner owner, const std::string& group_id) {
  return absl::StrCat(kPauseKeyPrefix, OwnerName(owner), "/", group_id.empty() ? "*" : group_id);
}

inline std::string GroupKey(const std::string& group_id) { return kGroupKeyPrefix + group_id; }

inline bool HasPrefix(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// JSON text, invalid UTF-8 replaced (never throws).
inline std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

inline std::int64_t WallMicros(const common::Clock& clock, absl::Time t) {
  return absl::ToUnixMicros(clock.ToWall(t));
}

inline absl::Time FromWallMicros(const common::Clock& clock, std::int64_t us) {
  return clock.FromWall(absl::FromUnixMicros(us));
}

}  // namespace foghorn::agent

#endif  // FOGHORN_ORCHESTRATOR_AGENT_CONTROL_KEYS_H_
