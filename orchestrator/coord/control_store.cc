#include "orchestrator/coord/control_store.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "orchestrator/common/status_macros.h"

namespace foghorn::coord {
namespace {

constexpr absl::string_view kDir = "control/";

absl::Status CheckKey(absl::string_view key) {
  if (key.empty()) return absl::InvalidArgumentError("control state key is empty");
  return absl::OkStatus();
}

absl::Status CheckJson(absl::string_view key, absl::string_view json) {
  if (!nlohmann::json::accept(json.begin(), json.end())) {
    return absl::InvalidArgumentError(absl::StrCat("control state ", key, " is not valid JSON"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ControlEntry> FromKv(const KeyValue& kv) {
  if (!absl::StartsWith(kv.key, kDir)) {
    return absl::InternalError("etcd answered with a key outside control/");
  }
  ControlEntry e;
  e.key = kv.key.substr(kDir.size());
  if (!nlohmann::json::accept(kv.value.begin(), kv.value.end())) {
    return absl::InternalError(absl::StrCat("control state ", e.key, " in etcd is not valid JSON"));
  }
  e.json = kv.value;
  e.create_revision = kv.create_revision;
  e.mod_revision = kv.mod_revision;
  return e;
}

}  // namespace

std::string ControlStore::FullKey(absl::string_view key) { return absl::StrCat(kDir, key); }

absl::StatusOr<int64_t> ControlStore::Put(absl::string_view key, absl::string_view json) {
  RETURN_IF_ERROR(CheckKey(key));
  RETURN_IF_ERROR(CheckJson(key, json));
  return client_.Put(FullKey(key), json);
}

absl::StatusOr<int64_t> ControlStore::PutIfUnchanged(absl::string_view key, absl::string_view json,
                                                     int64_t expected_mod_revision) {
  RETURN_IF_ERROR(CheckKey(key));
  RETURN_IF_ERROR(CheckJson(key, json));
  const std::string full = FullKey(key);
  ASSIGN_OR_RETURN(
      TxnResult txn,
      client_.Txn({Compare::ModRevision(full, Compare::Op::kEqual, expected_mod_revision)},
                  {TxnOp::Put(full, std::string(json))}, {}));
  if (!txn.succeeded) {
    return absl::AbortedError(
        absl::StrCat("control state ", key, " changed since revision ", expected_mod_revision));
  }
  return txn.revision;
}

absl::StatusOr<std::optional<ControlEntry>> ControlStore::Get(absl::string_view key) {
  RETURN_IF_ERROR(CheckKey(key));
  ASSIGN_OR_RETURN(RangeResult r, client_.Get(FullKey(key)));
  if (r.kvs.empty()) return std::optional<ControlEntry>();
  ASSIGN_OR_RETURN(ControlEntry e, FromKv(r.kvs[0]));
  return std::optional<ControlEntry>(std::move(e));
}

absl::StatusOr<ControlSnapshot> ControlStore::List() {
  ASSIGN_OR_RETURN(RangeResult r, client_.Get(kDir, /*prefix=*/true));
  ControlSnapshot out;
  out.revision = r.revision;
  for (const KeyValue& kv : r.kvs) {
    ASSIGN_OR_RETURN(ControlEntry e, FromKv(kv));
    out.entries.push_back(std::move(e));
  }
  return out;
}

absl::Status ControlStore::Delete(absl::string_view key) {
  RETURN_IF_ERROR(CheckKey(key));
  return client_.Delete(FullKey(key)).status();
}

std::unique_ptr<WatchHandle> ControlStore::Watch(
    int64_t start_revision,
    std::function<void(const std::vector<ControlEntry>& changes, bool compacted)> callback,
    std::function<void(const absl::Status&)> on_error) {
  auto on_update = [callback = std::move(callback), on_error](const WatchUpdate& u) {
    std::vector<ControlEntry> changes;
    for (const WatchEvent& ev : u.events) {
      if (ev.type == WatchEvent::Type::kDelete) {
        if (!absl::StartsWith(ev.kv.key, kDir)) continue;
        ControlEntry e;
        e.key = ev.kv.key.substr(kDir.size());
        e.mod_revision = ev.kv.mod_revision;
        e.deleted = true;
        changes.push_back(std::move(e));
        continue;
      }
      absl::StatusOr<ControlEntry> e = FromKv(ev.kv);
      if (!e.ok()) {
        if (on_error) on_error(e.status());
        continue;
      }
      changes.push_back(*std::move(e));
    }
    callback(changes, u.compacted);
  };
  return client_.Watch(kDir, /*prefix=*/true, start_revision, std::move(on_update),
                       std::move(on_error));
}

}  // namespace foghorn::coord
