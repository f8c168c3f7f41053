// Conversions between the agent's and journal's C++ types and the control API's messages, and
// the one place an absl::Status becomes a grpc::Status. Pure functions; no I/O.
#ifndef FOGHORN_ORCHESTRATOR_API_CONVERT_H_
#define FOGHORN_ORCHESTRATOR_API_CONVERT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "foghorn/v1/control.pb.h"
#include "grpcpp/support/status.h"
#include "orchestrator/agent/agent.h"
#include "orchestrator/decision/decide.h"
#include "orchestrator/drill/readiness.h"
#include "orchestrator/drill/report.h"
#include "orchestrator/journal/journal.h"

namespace foghorn::api {

// The only absl::Status -> grpc::Status conversion of the control API: same code (the numeric
// values are the canonical ones in both), same message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// True unless t is InfinitePast or InfiniteFuture (which map to an unset field).
inline bool IsFinite(absl::Time t) {
  return t != absl::InfinitePast() && t != absl::InfiniteFuture();
}
// Leaves `out` untouched for infinite times: guard with IsFinite so the field stays unset.
void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out);
absl::Time FromTimestamp(const google::protobuf::Timestamp& t);
// Durations: common::ToProtoDuration and common::FromProtoDurationChecked.

v1::DecisionStage StageToProto(decision::Stage stage);
// Parses a journaled stage name ("CONFIRMED_DOWN"); UNSPECIFIED when unknown.
v1::DecisionStage StageNameToProto(const std::string& name);

v1::Decision DecisionToProto(const decision::Decision& d);
// `now` decides whether a pause has expired; `global_paused_until` whether it is the global one.
v1::FailoverGroup GroupToProto(const agent::GroupSnapshot& g, absl::Time now,
                               absl::Time global_paused_until);

// Journal kinds ("planned", "forced", "try_planned_before_forced") -> FailoverKind.
v1::FailoverKind OperationKindToProto(const std::string& kind);
v1::OperationState OperationStateToProto(journal::OperationState s);
v1::Operation OperationToProto(const journal::OperationRecord& op,
                               const std::vector<journal::StepRecord>& steps);
v1::DecisionRecord DecisionRecordToProto(const journal::DecisionRecord& d);

v1::EventKind EventKindToProto(agent::AgentEvent::Kind kind);
v1::WatchResponse EventToProto(const agent::AgentEvent& e, std::uint64_t seq);

// Drills. The report is a v1::DrillReport already (drill/report.h); the API's copy leaves out the
// bulky timeline (listener samples and probe timelines), which report_json carries.
v1::ReadinessCheck CheckToProto(const drill::CheckResult& c);
v1::DrillReport DrillReportForApi(const drill::DrillReport& r);
// A journaled step of a running drill: kIntent (under way) is RUNNING.
v1::DrillStepState DrillStepStateToProto(journal::StepState s);

}  // namespace foghorn::api

#endif  // FOGHORN_ORCHESTRATOR_API_CONVERT_H_
