#include "orchestrator/coord/leader_keys.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "orchestrator/common/status_macros.h"

namespace foghorn::coord {
namespace {

std::string Describe(const std::vector<TxnOpResult>& results) {
  if (results.empty() || results[0].kvs.empty()) return "nobody holds it";
  const KeyValue& kv = results[0].kvs[0];
  return absl::StrCat("held by ", kv.value, " since revision ", kv.create_revision);
}

}  // namespace

LeaderKeys::LeaderKeys(EtcdClient& client, Session& session, const common::Clock& clock,
                       std::string agent_name)
    : client_(client), session_(session), clock_(clock), agent_name_(std::move(agent_name)) {}

std::string LeaderKeys::LeaderKey(absl::string_view group) {
  return absl::StrCat("leader/", group);
}

absl::Status LeaderKeys::CheckSession() {
  if (session_.Valid(clock_.Now())) return absl::OkStatus();
  absl::Status s = session_.KeepAliveNow();
  if (s.ok() && session_.Valid(clock_.Now())) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("etcd session lease ", session_.lease_id(), " of agent ", agent_name_,
                   " is not confirmed alive", s.ok() ? "" : ": ", s.ok() ? "" : s.message()));
}

absl::StatusOr<CampaignResult> LeaderKeys::Campaign(absl::string_view group) {
  if (group.empty()) return absl::InvalidArgumentError("campaign: empty group");
  RETURN_IF_ERROR(CheckSession());
  const std::string key = LeaderKey(group);
  ASSIGN_OR_RETURN(
      TxnResult txn,
      client_.Txn({Compare::CreateRevision(key, Compare::Op::kEqual, 0)},
                  {TxnOp::Put(key, agent_name_, session_.lease_id())}, {TxnOp::Get(key)}));
  CampaignResult out;
  if (txn.succeeded) {
    out.won = true;
    out.leader = LeaderInfo{agent_name_, txn.revision, session_.lease_id()};
    return out;
  }
  if (txn.results.empty() || txn.results[0].kvs.empty()) {
    // The key vanished between the compare and the read: nobody holds it; try again later.
    out.won = false;
    return out;
  }
  const KeyValue& kv = txn.results[0].kvs[0];
  out.leader = LeaderInfo{kv.value, kv.create_revision, kv.lease};
  out.won = kv.value == agent_name_ && kv.lease == session_.lease_id();
  return out;
}

absl::Status LeaderKeys::Resign(absl::string_view group, int64_t create_revision) {
  const std::string key = LeaderKey(group);
  ASSIGN_OR_RETURN(TxnResult txn,
                   client_.Txn({Compare::CreateRevision(key, Compare::Op::kEqual, create_revision)},
                               {TxnOp::Delete(key)}, {}));
  (void)txn;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<LeaderInfo>> LeaderKeys::Leader(absl::string_view group) {
  ASSIGN_OR_RETURN(RangeResult r, client_.Get(LeaderKey(group)));
  if (r.kvs.empty()) return std::optional<LeaderInfo>();
  const KeyValue& kv = r.kvs[0];
  return std::optional<LeaderInfo>(LeaderInfo{kv.value, kv.create_revision, kv.lease});
}

absl::StatusOr<int64_t> LeaderKeys::WriteIntentIfLeader(absl::string_view group,
                                                        int64_t my_create_revision,
                                                        absl::string_view intent_key,
                                                        absl::string_view value,
                                                        int64_t intent_mod_revision) {
  if (my_create_revision <= 0) {
    return absl::InvalidArgumentError("write intent: no leader term (create_revision 0)");
  }
  RETURN_IF_ERROR(CheckSession());
  const std::string key = LeaderKey(group);
  std::vector<Compare> compares = {
      Compare::CreateRevision(key, Compare::Op::kEqual, my_create_revision),
      Compare::Value(key, Compare::Op::kEqual, agent_name_),
      Compare::Lease(key, Compare::Op::kEqual, session_.lease_id())};
  if (intent_mod_revision >= 0) {
    // The intent is still what the caller read (0: still absent).
    compares.push_back(
        Compare::ModRevision(std::string(intent_key), Compare::Op::kEqual, intent_mod_revision));
  }
  ASSIGN_OR_RETURN(
      TxnResult txn,
      client_.Txn(std::move(compares), {TxnOp::Put(std::string(intent_key), std::string(value))},
                  {TxnOp::Get(key), TxnOp::Get(std::string(intent_key))}));
  if (!txn.succeeded) {
    return absl::FailedPreconditionError(
        absl::StrCat("no longer leader of group ", group, " (term ", my_create_revision, " of ",
                     agent_name_, " ended; ", Describe(txn.results), ")"));
  }
  return txn.revision;
}

}  // namespace foghorn::coord
