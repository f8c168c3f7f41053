// The one fake ARM for the layers above the ARM client (operation runner, agent, drill): failover
// groups in memory behind executor::FailoverActuator, each on two servers. A failover ARM accepts
// switches the group's roles at once. Knobs make ARM refuse failovers (a region down, a failing
// kind, scripted one-off errors, some of them applied anyway), fail reads, lose a group, report
// other states, or hold failovers until the test releases them; observers say what was asked and
// what was accepted. It serves several groups (AddGroup) and can model a failover ARM is still
// carrying out (InFlightFailover). Tests of the ARM client itself script HTTP instead
// (tests/orchestrator/arm/fake_http_transport.h).
#ifndef FOGHORN_TESTS_TESTING_FAKE_ARM_H_
#define FOGHORN_TESTS_TESTING_FAKE_ARM_H_

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/executor/operation_runner.h"

namespace foghorn::testing {

// Thread-safe. Every group lives in Options' subscription and resource group; server names are
// unique across groups.
//
// Failover(request), in order: records the target server; waits while held (Hold); runs the
// OnFailover hook; advances the clock by the failover duration; then answers
//   NOT_FOUND when the group is unknown or the target server is not one of its two;
//   for a group with a failover in flight (InFlightFailover) to the target: what the idempotent
//   ARM client ends with, its POST refused as busy and its re-reads waiting for the switch (the
//   clock moves to it): kCompletedAfterReread, posts_sent 1, posts_accepted 0, nothing accepted;
//   the next queued error (QueueFailoverError), after switching the roles if it says so;
//   kAlreadyPrimary (kResumed for a request resuming an operation) when the target is primary;
//   FAILED_PRECONDITION "PlannedFailoverTimedOut: ..." for a planned failover while the region
//   is down (SetRegionDown);
//   the FailFailovers status when set (for the kind it names, or any kind);
//   otherwise kPosted: the roles switch, then the request's on_accepted gets
//   {"https://arm/op/<n>", "https://arm/loc/<n>"} (n counts accepted failovers from 1), outside
//   the fake's lock.
// Every answer but the errors carries the group as seen from the target.
//
// Get(id): the SetGetError status for that server; NOT_FOUND for an unknown group or server;
// UNAVAILABLE "region down" for the primary while the region is down; otherwise the group as
// seen from id.server (id, name, role, replication state, read-write policy, databases, partner).
class FakeArm final : public executor::FailoverActuator {
 public:
  struct Options {
    std::string subscription_id = "sub";
    std::string resource_group = "rg";
    // The first group: its name and the servers that hold its roles at the start.
    std::string group = "fog";
    std::string primary = "srv-a";
    std::string secondary = "srv-b";
    // ARM ids of the databases every group lists.
    std::vector<std::string> databases;
    // When set, each Failover call advances it by `failover_duration` (how long ARM takes to
    // switch), outside the fake's lock. Must outlive the fake.
    common::FakeClock* clock = nullptr;
    absl::Duration failover_duration = absl::ZeroDuration();
  };

  FakeArm() : FakeArm(Options()) {}
  explicit FakeArm(Options options);

  FakeArm(const FakeArm&) = delete;
  FakeArm& operator=(const FakeArm&) = delete;

  absl::StatusOr<arm::FailoverResult> Failover(const arm::FailoverRequest& request) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<arm::FailoverGroup> Get(const arm::FailoverGroupId& id) override
      ABSL_LOCKS_EXCLUDED(mu_);

  // --- The world. Each takes effect for the calls that start after it.

  // Another group, `primary` holding the primary role.
  void AddGroup(const std::string& name, const std::string& primary, const std::string& secondary)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The group disappears: every later call about it is NOT_FOUND.
  void DeleteGroup(const std::string& name) ABSL_LOCKS_EXCLUDED(mu_);
  // Makes `server` primary in its group (and its partner secondary).
  void SetPrimary(const std::string& server) ABSL_LOCKS_EXCLUDED(mu_);
  // Someone else (the portal, Azure's own policy) fails the group over.
  void ExternalFailover(const std::string& group) ABSL_LOCKS_EXCLUDED(mu_);
  // ARM accepted a failover of `group` to its current secondary (a POST whose answer its sender
  // never saw, say) and is still carrying it out: it counts as accepted now; reads show the old
  // roles until `remaining` of the clock has passed (without a clock: until a Failover call to
  // that secondary), the new ones from then on. See Failover for a call made meanwhile.
  void InFlightFailover(const std::string& group, absl::Duration remaining)
      ABSL_LOCKS_EXCLUDED(mu_);

  // The region of each group's current primary is down (see the class comment).
  void SetRegionDown(bool down) ABSL_LOCKS_EXCLUDED(mu_);
  // Every failover that would switch roles (of `kind` only, when given) answers `status`; an OK
  // status stops that.
  void FailFailovers(absl::Status status, std::optional<arm::FailoverKind> kind = std::nullopt)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The next Failover call answers `status` (after switching the roles when `applied`: the answer
  // was lost). Queued errors are used in order.
  void QueueFailoverError(absl::Status status, bool applied) ABSL_LOCKS_EXCLUDED(mu_);
  // Get on `server` answers `status`; an OK status clears it.
  void SetGetError(const std::string& server, absl::Status status) ABSL_LOCKS_EXCLUDED(mu_);
  // Runs at the start of each Failover call, outside the fake's lock.
  void OnFailover(std::function<void()> hook) ABSL_LOCKS_EXCLUDED(mu_);
  // While held, Failover calls wait (after recording their target) until Release().
  void Hold() ABSL_LOCKS_EXCLUDED(mu_);
  void Release() ABSL_LOCKS_EXCLUDED(mu_);
  // Blocks until a Failover call waits in Hold, or `timeout` (real time) passed: false then.
  bool AwaitHeld(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);

  // What groups report. Defaults: "CATCH_UP", "Manual", each other as the only partner.
  void SetReplicationState(const std::string& state) ABSL_LOCKS_EXCLUDED(mu_);
  void SetFailoverPolicy(const std::string& policy) ABSL_LOCKS_EXCLUDED(mu_);
  void SetDatabases(std::vector<std::string> database_ids) ABSL_LOCKS_EXCLUDED(mu_);
  // `server` names these partner servers instead of the other server of its group.
  void SetPartners(const std::string& server, std::vector<std::string> partner_names)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Both servers of every group claim the primary role.
  void SetBothPrimary(bool both) ABSL_LOCKS_EXCLUDED(mu_);

  // --- What happened.

  // The group's current primary ("" for an unknown group).
  std::string Primary(const std::string& group) ABSL_LOCKS_EXCLUDED(mu_);
  // The target server of every Failover call, in order, whatever the answer.
  std::vector<std::string> FailoverTargets() ABSL_LOCKS_EXCLUDED(mu_);
  int FailoverCalls() ABSL_LOCKS_EXCLUDED(mu_);
  // The kinds of the failovers ARM accepted (that switched roles, or will: InFlightFailover), in
  // order, of every group.
  std::vector<arm::FailoverKind> Accepted() ABSL_LOCKS_EXCLUDED(mu_);
  // How many of them were of `group`; how many in all.
  int Accepted(const std::string& group) ABSL_LOCKS_EXCLUDED(mu_);
  int AcceptedTotal() ABSL_LOCKS_EXCLUDED(mu_);
  // How many Failover calls of `kind` answered an error.
  int Refused(arm::FailoverKind kind) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Group {
    std::string primary;
    std::string secondary;
  };

  Group* FindLocked(const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Switches the roles of every in-flight failover whose time has come.
  void SettleLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Group* GroupOfServerLocked(const std::string& server) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<arm::FailoverResult> AnswerLocked(const arm::FailoverRequest& request,
                                                   arm::OperationRef& accepted)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  arm::FailoverGroup DocumentLocked(const std::string& name, const Group& group,
                                    const std::string& server) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  absl::Mutex mu_;
  std::map<std::string, Group> groups_ ABSL_GUARDED_BY(mu_);
  bool region_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status fail_status_ ABSL_GUARDED_BY(mu_);
  std::optional<arm::FailoverKind> fail_kind_ ABSL_GUARDED_BY(mu_);
  std::deque<std::pair<absl::Status, bool>> queued_errors_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Status> get_errors_ ABSL_GUARDED_BY(mu_);
  std::function<void()> on_failover_ ABSL_GUARDED_BY(mu_);
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  int held_ ABSL_GUARDED_BY(mu_) = 0;
  std::string replication_state_ ABSL_GUARDED_BY(mu_) = "CATCH_UP";
  std::string policy_ ABSL_GUARDED_BY(mu_) = "Manual";
  std::vector<std::string> databases_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<std::string>> partners_ ABSL_GUARDED_BY(mu_);
  bool both_primary_ ABSL_GUARDED_BY(mu_) = false;
  // Group name -> when its in-flight failover switches the roles (InfiniteFuture: no clock).
  std::map<std::string, absl::Time> in_flight_ ABSL_GUARDED_BY(mu_);

  std::vector<std::string> targets_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<std::string, arm::FailoverKind>> accepted_ ABSL_GUARDED_BY(mu_);
  std::map<arm::FailoverKind, int> refused_ ABSL_GUARDED_BY(mu_);
};

}  // namespace foghorn::testing

#endif  // FOGHORN_TESTS_TESTING_FAKE_ARM_H_
