// A drill report with every part filled in (steps, role changes, a direction, samples, a probe
// timeline, a check and a fix), shared by the report's codec, page and store tests.
#ifndef FOGHORN_TESTS_ORCHESTRATOR_DRILL_REPORT_SAMPLE_H_
#define FOGHORN_TESTS_ORCHESTRATOR_DRILL_REPORT_SAMPLE_H_

#include <string>

#include "absl/time/time.h"
#include "orchestrator/common/durations.h"
#include "orchestrator/drill/report.h"

namespace foghorn::drill::testing {

inline void AddSampleStep(DrillReport& r, const std::string& name, absl::Time from, absl::Time to) {
  v1::DrillStep* s = r.add_steps();
  s->set_name(name);
  s->set_state(v1::DRILL_STEP_STATE_DONE);
  *s->mutable_started_at() = ToTimestamp(from);
  *s->mutable_finished_at() = ToTimestamp(to);
}

inline void AddSampleRoleChange(DrillReport& r, absl::Time at, const std::string& primary,
                                const std::string& secondary, const std::string& cause) {
  v1::DrillRoleChange* c = r.add_role_changes();
  *c->mutable_at() = ToTimestamp(at);
  c->set_primary(primary);
  c->set_secondary(secondary);
  c->set_cause(cause);
}

inline DrillReport SampleReport(const std::string& id, absl::Time start,
                                const std::string& group = "g") {
  DrillReport r;
  r.set_drill_id(id);
  r.set_group_id(group);
  r.set_group_name("fog-orders");
  r.set_outcome(v1::DRILL_OUTCOME_PASSED);
  r.set_summary("ok <b>");
  r.set_original_primary("sql-east");
  r.set_partner("sql-west");
  r.set_final_primary("sql-east");
  *r.mutable_started_at() = ToTimestamp(start);
  *r.mutable_finished_at() = ToTimestamp(start + absl::Minutes(12));
  CheckResult check{"failover_policy", CheckStatus::kWarn, "Automatic", "set Manual"};
  *r.add_checks() = CheckResultToProto(check);
  AddSampleStep(r, "preflight", start, start + absl::Seconds(1));
  AddSampleStep(r, "failover", start + absl::Seconds(1), start + absl::Seconds(40));
  AddSampleStep(r, "failback", start + absl::Minutes(11), start + absl::Minutes(12));
  AddSampleRoleChange(r, start + absl::Seconds(40), "sql-west", "sql-east", "failover");
  AddSampleRoleChange(r, start + absl::Minutes(12), "sql-east", "sql-west", "failback");
  v1::DrillDirection* d = r.add_directions();
  d->set_name("failover");
  d->set_completed(true);
  *d->mutable_started_at() = ToTimestamp(start + absl::Seconds(1));
  *d->mutable_roles_swapped_at() = ToTimestamp(start + absl::Seconds(40));
  common::ToProtoDuration(absl::Milliseconds(41500), d->mutable_rto());
  common::ToProtoDuration(absl::ZeroDuration(), d->mutable_listener_outage());
  d->set_posts_accepted(1);
  v1::DrillListenerSample* ok = r.add_samples();
  *ok->mutable_at() = ToTimestamp(start);
  ok->set_ok(true);
  v1::DrillListenerSample* bad = r.add_samples();
  *bad->mutable_at() = ToTimestamp(start + absl::Seconds(2));
  bad->set_detail("refused");
  v1::DrillProbeTimeline* probe = r.add_probes();
  probe->set_probe("rw-listener");
  v1::DrillProbeTimeline::Point* point = probe->add_points();
  *point->mutable_at() = ToTimestamp(start + absl::Seconds(3));
  point->set_outcome(v1::DRILL_PROBE_OUTCOME_FAILURE);
  r.add_fixes("failover_policy: set Manual");
  return r;
}

}  // namespace foghorn::drill::testing

#endif  // FOGHORN_TESTS_ORCHESTRATOR_DRILL_REPORT_SAMPLE_H_
