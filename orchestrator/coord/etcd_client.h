// EtcdClient: foghorn's client of etcd's v3 gRPC API (KV, Lease, Watch, Auth), the store agents
// coordinate through (docs/coordination.md). Everything above it (Session, LeaderKeys,
// ControlStore) is built on these calls; the wire protos are private to the .cc, so no caller
// sees gRPC or etcd's messages.
//
// Keys: every key a caller passes is relative; the client prepends `key_prefix` + "/" (when a
// prefix is set) and strips it from every key it returns. A returned key outside the prefix is a
// malformed response (kInternal), never passed up.
#ifndef FOGHORN_ORCHESTRATOR_COORD_ETCD_CLIENT_H_
#define FOGHORN_ORCHESTRATOR_COORD_ETCD_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace foghorn::coord {

// The `etcd` block of the agent config, field for field.
struct EtcdOptions {
  struct Tls {
    // PEM files. TLS is on when ca_file is set; cert_file and key_file (both or neither) add a
    // client certificate.
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
  };
  // "host:port" of each member (an "http://" or "https://" scheme is accepted and dropped).
  std::vector<std::string> endpoints;
  Tls tls;
  // Empty: no etcd auth. Otherwise the password comes from `password`, else the first line of
  // `password_file`, else the environment variable `password_env`.
  std::string username;
  std::string password;
  std::string password_file;
  std::string password_env;
  // How long one endpoint may take to connect before the client tries the next one.
  absl::Duration dial_timeout = absl::Seconds(2);
  // The whole budget of one call, failovers between endpoints included.
  absl::Duration request_timeout = absl::Seconds(5);
  // Prepended (with a "/") to every key, e.g. "/foghorn/prod".
  std::string key_prefix;
  // The agent's session lease TTL (Session).
  absl::Duration session_ttl = absl::Seconds(10);
};

// Checks the options: at least one endpoint, each host:port; tls cert and key both or neither;
// timeouts positive; session_ttl at least 2 s. kInvalidArgument naming the field.
absl::Status ValidateEtcdOptions(const EtcdOptions& options);

// One key at a revision (etcd's mvccpb.KeyValue), with the prefix stripped from `key`.
struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;
};

struct RangeResult {
  std::vector<KeyValue> kvs;
  // The store's revision when the read was served.
  int64_t revision = 0;
  bool more = false;
  int64_t count = 0;
};

// A Txn guard: `target` of `key` compared with `op` to `number` (or to `value` for kValue). A key
// that does not exist has create_revision, mod_revision, version and lease 0.
struct Compare {
  enum class Target { kVersion, kCreateRevision, kModRevision, kValue, kLease };
  enum class Op { kEqual, kNotEqual, kGreater, kLess };
  std::string key;
  Target target = Target::kCreateRevision;
  Op op = Op::kEqual;
  int64_t number = 0;
  std::string value;

  static Compare CreateRevision(std::string key, Op op, int64_t revision);
  static Compare ModRevision(std::string key, Op op, int64_t revision);
  static Compare Value(std::string key, Op op, std::string value);
  static Compare Lease(std::string key, Op op, int64_t lease);
};

// One operation of a Txn branch.
struct TxnOp {
  enum class Kind { kGet, kPut, kDelete };
  Kind kind = Kind::kGet;
  std::string key;
  // kGet/kDelete: the whole prefix `key` instead of the one key.
  bool prefix = false;
  std::string value;  // kPut
  int64_t lease = 0;  // kPut

  static TxnOp Get(std::string key, bool prefix = false);
  static TxnOp Put(std::string key, std::string value, int64_t lease = 0);
  static TxnOp Delete(std::string key, bool prefix = false);
};

// The result of one TxnOp of the branch that ran, in order.
struct TxnOpResult {
  TxnOp::Kind kind = TxnOp::Kind::kGet;
  std::vector<KeyValue> kvs;  // kGet
  int64_t deleted = 0;        // kDelete
};

struct TxnResult {
  bool succeeded = false;
  // The store's revision after the Txn (a write in it has this mod_revision).
  int64_t revision = 0;
  std::vector<TxnOpResult> results;
};

struct LeaseGrant {
  int64_t id = 0;
  absl::Duration ttl;
};

struct LeaseTimeToLive {
  // False when the lease has expired or was revoked (etcd answers TTL -1).
  bool exists = false;
  absl::Duration remaining;
  absl::Duration granted;
  std::vector<std::string> keys;
};

struct WatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  // For kDelete only key and mod_revision are set.
  KeyValue kv;
};

// What a watch callback receives: a batch of events at one revision, or (compacted) the notice
// that events were lost because the start revision was compacted: re-read the state and go on;
// the watch continues from `revision`.
struct WatchUpdate {
  std::vector<WatchEvent> events;
  int64_t revision = 0;
  bool compacted = false;
};

// A running watch; destroying it (or Cancel) stops it and joins its thread. The callback is not
// running once Cancel returns. Cancel must not be called from the callback.
class WatchHandle {
 public:
  virtual ~WatchHandle() = default;
  virtual void Cancel() = 0;
  // The last revision delivered (or the start revision - 1 before any event).
  virtual int64_t last_revision() const = 0;
};

// Status codes, for every call: kUnavailable (no endpoint reachable, no etcd leader, etcd quorum
// lost) and kDeadlineExceeded (the request timeout ran out) mean "etcd is not there now: hold,
// retry later"; kUnauthenticated / kPermissionDenied / kInvalidArgument for auth failures;
// kInternal for a malformed or hostile response; kInvalidArgument for a bad key or argument.
// Thread-safe: any thread may call any method; calls block for at most request_timeout.
class EtcdClient {
 public:
  // Checks the options, reads the password and TLS files. Does not connect (the first call
  // does): etcd being down at start-up is not an error here.
  static absl::StatusOr<std::unique_ptr<EtcdClient>> Create(EtcdOptions options);
  virtual ~EtcdClient() = default;

  virtual const EtcdOptions& options() const = 0;

  // The one key `key`, or every key under it when `prefix`.
  virtual absl::StatusOr<RangeResult> Get(absl::string_view key, bool prefix = false) = 0;
  // Returns the revision of the write.
  virtual absl::StatusOr<int64_t> Put(absl::string_view key, absl::string_view value,
                                      int64_t lease = 0) = 0;
  // Returns how many keys were deleted.
  virtual absl::StatusOr<int64_t> Delete(absl::string_view key, bool prefix = false) = 0;
  // If every compare holds, runs `success`, otherwise `failure`, atomically.
  virtual absl::StatusOr<TxnResult> Txn(const std::vector<Compare>& compares,
                                        const std::vector<TxnOp>& success,
                                        const std::vector<TxnOp>& failure) = 0;

  // A new lease of `ttl` (whole seconds, at least 1 s).
  virtual absl::StatusOr<LeaseGrant> GrantLease(absl::Duration ttl) = 0;
  // Revokes the lease; its keys are deleted. kNotFound when it does not exist.
  virtual absl::Status RevokeLease(int64_t lease) = 0;
  virtual absl::StatusOr<LeaseTimeToLive> TimeToLive(int64_t lease, bool with_keys = false) = 0;
  // One keep-alive round trip: the lease's TTL is reset. Returns the new TTL; kNotFound when the
  // lease no longer exists (expired or revoked: it cannot come back).
  virtual absl::StatusOr<absl::Duration> KeepAliveOnce(int64_t lease) = 0;

  // Watches every key under `key` (prefix) or the one key, from `start_revision` (inclusive; 0 =
  // from now), calling `callback` on the watch's own thread for each batch. On a stream error
  // (member down, no leader) it reconnects, to the next endpoint if needed, from the last
  // delivered revision + 1, so no event is lost or repeated unless etcd compacted them (then a
  // `compacted` update). `on_error`, if set, is told of each reconnect's cause.
  virtual std::unique_ptr<WatchHandle> Watch(
      absl::string_view key, bool prefix, int64_t start_revision,
      std::function<void(const WatchUpdate&)> callback,
      std::function<void(const absl::Status&)> on_error = nullptr) = 0;

  // The endpoint the next call goes to first (for logs and tests).
  virtual std::string CurrentEndpoint() const = 0;
};

// The key_prefix-free form of a prefix scan's end: the smallest key greater than every key that
// starts with `prefix` (etcd's range_end). Empty `prefix` -> "\0" (every key).
std::string PrefixRangeEnd(absl::string_view prefix);

}  // namespace foghorn::coord

#endif  // FOGHORN_ORCHESTRATOR_COORD_ETCD_CLIENT_H_
