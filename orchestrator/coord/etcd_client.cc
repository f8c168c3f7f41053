// EtcdClient over gRPC's synchronous API: one channel per endpoint, a sticky current endpoint,
// failover on UNAVAILABLE or a connect that takes longer than dial_timeout, and one budget
// (request_timeout) for the whole call.
//
// Retrying on another endpoint is safe for every call foghorn makes: a Get is a read; a Put or a
// Delete repeated writes the same state again; a Txn is guarded by its compares (a repeat of a
// Txn that did apply sees its own write, which callers such as LeaderKeys::Campaign recognise);
// a repeated LeaseGrant leaks a lease that expires after its TTL.
#include "orchestrator/coord/etcd_client.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "etcd/etcdserverpb/rpc.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "orchestrator/common/status_macros.h"

namespace foghorn::coord {
namespace {

namespace pb = ::etcdserverpb;

constexpr int kMaxReceiveBytes = 16 << 20;

absl::StatusOr<std::string> ReadWholeFile(const std::string& path, absl::string_view field) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("etcd.", field, ": cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string StripScheme(absl::string_view endpoint) {
  for (absl::string_view scheme : {"http://", "https://"}) {
    if (absl::StartsWith(endpoint, scheme)) endpoint.remove_prefix(scheme.size());
  }
  while (absl::EndsWith(endpoint, "/")) endpoint.remove_suffix(1);
  return std::string(endpoint);
}

absl::Status FromGrpc(absl::string_view what, absl::string_view endpoint, const grpc::Status& s) {
  // gRPC and absl share the canonical code numbering.
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat("etcd ", what, " via ", endpoint, ": ", s.error_message()));
}

pb::Compare::CompareResult ToPb(Compare::Op op) {
  switch (op) {
    case Compare::Op::kEqual:
      return pb::Compare::EQUAL;
    case Compare::Op::kNotEqual:
      return pb::Compare::NOT_EQUAL;
    case Compare::Op::kGreater:
      return pb::Compare::GREATER;
    case Compare::Op::kLess:
      return pb::Compare::LESS;
  }
  return pb::Compare::EQUAL;
}

absl::Duration Seconds(int64_t s) { return absl::Seconds(s); }

class Endpoint {
 public:
  Endpoint(std::string target, std::shared_ptr<grpc::ChannelCredentials> creds)
      : target_(std::move(target)) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(kMaxReceiveBytes);
    // A member that comes back is used again within a second, not after gRPC's default backoff
    // of up to two minutes.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    // etcd's server refuses pings more often than every 5 s (--grpc-keepalive-min-time).
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 3000);
    channel_ = grpc::CreateCustomChannel(target_, creds, args);
    kv = pb::KV::NewStub(channel_);
    lease = pb::Lease::NewStub(channel_);
    watch = pb::Watch::NewStub(channel_);
    auth = pb::Auth::NewStub(channel_);
  }
  const std::string& target() const { return target_; }
  bool Ready() { return channel_->GetState(/*try_to_connect=*/true) == GRPC_CHANNEL_READY; }

  std::unique_ptr<pb::KV::Stub> kv;
  std::unique_ptr<pb::Lease::Stub> lease;
  std::unique_ptr<pb::Watch::Stub> watch;
  std::unique_ptr<pb::Auth::Stub> auth;

 private:
  std::string target_;
  std::shared_ptr<grpc::Channel> channel_;
};

class GrpcEtcdClient;

class GrpcWatch final : public WatchHandle {
 public:
  GrpcWatch(GrpcEtcdClient* client, std::string key, std::string range_end, int64_t start_revision,
            std::function<void(const WatchUpdate&)> callback,
            std::function<void(const absl::Status&)> on_error);
  ~GrpcWatch() override { Cancel(); }
  void Cancel() override;
  int64_t last_revision() const override {
    absl::MutexLock lock(&mu_);
    return next_revision_ - 1;
  }
  void Start() {
    thread_ = std::thread([this] { Run(); });
  }

 private:
  void Run();
  // One stream, until it fails or the watch is cancelled. Returns why it ended.
  absl::Status RunStream(size_t endpoint_index);

  GrpcEtcdClient* client_;
  const std::string key_;
  const std::string range_end_;
  std::function<void(const WatchUpdate&)> callback_;
  std::function<void(const absl::Status&)> on_error_;
  std::thread thread_;
  mutable absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  int64_t next_revision_ ABSL_GUARDED_BY(mu_);
};

class GrpcEtcdClient final : public EtcdClient {
 public:
  GrpcEtcdClient(EtcdOptions options, std::string password,
                 std::shared_ptr<grpc::ChannelCredentials> creds)
      : options_(std::move(options)), password_(std::move(password)) {
    while (absl::EndsWith(options_.key_prefix, "/")) options_.key_prefix.pop_back();
    for (const std::string& e : options_.endpoints) {
      endpoints_.push_back(std::make_unique<Endpoint>(StripScheme(e), creds));
    }
  }

  const EtcdOptions& options() const override { return options_; }

  // Keys: relative <-> full.
  std::string Full(absl::string_view key) const {
    if (options_.key_prefix.empty()) return std::string(key);
    return absl::StrCat(options_.key_prefix, "/", key);
  }
  absl::StatusOr<std::string> Relative(absl::string_view full) const {
    if (options_.key_prefix.empty()) return std::string(full);
    std::string p = absl::StrCat(options_.key_prefix, "/");
    if (!absl::StartsWith(full, p)) {
      return absl::InternalError("etcd answered with a key outside the configured key prefix");
    }
    return std::string(full.substr(p.size()));
  }
  absl::StatusOr<KeyValue> Convert(const mvccpb::KeyValue& kv) const {
    if (kv.create_revision() < 0 || kv.mod_revision() < 0 || kv.version() < 0 || kv.lease() < 0) {
      return absl::InternalError("etcd answered with a negative revision, version or lease");
    }
    KeyValue out;
    ASSIGN_OR_RETURN(out.key, Relative(kv.key()));
    out.value = kv.value();
    out.create_revision = kv.create_revision();
    out.mod_revision = kv.mod_revision();
    out.version = kv.version();
    out.lease = kv.lease();
    return out;
  }
  // Fills `key` (and `range_end` for a prefix) of a request.
  absl::Status KeyRange(absl::string_view key, bool prefix, std::string* k,
                        std::string* range_end) const {
    std::string full = Full(key);
    if (!prefix) {
      if (key.empty()) return absl::InvalidArgumentError("etcd key is empty");
      *k = std::move(full);
      return absl::OkStatus();
    }
    if (full.empty()) {
      *k = std::string(1, '\0');
      *range_end = std::string(1, '\0');
    } else {
      *range_end = PrefixRangeEnd(full);
      *k = std::move(full);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<RangeResult> Get(absl::string_view key, bool prefix) override {
    pb::RangeRequest req;
    RETURN_IF_ERROR(KeyRange(key, prefix, req.mutable_key(), req.mutable_range_end()));
    pb::RangeResponse resp;
    RETURN_IF_ERROR(Call("range", [&](Endpoint& ep, grpc::ClientContext& ctx) {
      return ep.kv->Range(&ctx, req, &resp);
    }));
    return ConvertRange(resp);
  }

  absl::StatusOr<RangeResult> ConvertRange(const pb::RangeResponse& resp) const {
    RangeResult out;
    out.revision = resp.header().revision();
    out.more = resp.more();
    out.count = resp.count();
    for (const mvccpb::KeyValue& kv : resp.kvs()) {
      ASSIGN_OR_RETURN(KeyValue c, Convert(kv));
      out.kvs.push_back(std::move(c));
    }
    if (out.revision < 0) return absl::InternalError("etcd answered with a negative revision");
    return out;
  }

  absl::StatusOr<int64_t> Put(absl::string_view key, absl::string_view value,
                              int64_t lease) override {
    if (key.empty()) return absl::InvalidArgumentError("etcd key is empty");
    pb::PutRequest req;
    req.set_key(Full(key));
    req.set_value(std::string(value));
    req.set_lease(lease);
    pb::PutResponse resp;
    RETURN_IF_ERROR(Call("put", [&](Endpoint& ep, grpc::ClientContext& ctx) {
      return ep.kv->Put(&ctx, req, &resp);
    }));
    if (resp.header().revision() <= 0) {
      return absl::InternalError("etcd answered a put without a revision");
    }
    return resp.header().revision();
  }

  absl::StatusOr<int64_t> Delete(absl::string_view key, bool prefix) override {
    pb::DeleteRangeRequest req;
    RETURN_IF_ERROR(KeyRange(key, prefix, req.mutable_key(), req.mutable_range_end()));
    pb::DeleteRangeResponse resp;
    RETURN_IF_ERROR(Call("delete", [&](Endpoint& ep, grpc::ClientContext& ctx) {
      return ep.kv->DeleteRange(&ctx, req, &resp);
    }));
    if (resp.deleted() < 0) return absl::InternalError("etcd answered a negative delete count");
    return resp.deleted();
  }

  absl::Status AddOp(const TxnOp& op, pb::RequestOp* out) const {
    switch (op.kind) {
      case TxnOp::Kind::kGet: {
        pb::RangeRequest* r = out->mutable_request_range();
        return KeyRange(op.key, op.prefix, r->mutable_key(), r->mutable_range_end());
      }
      case TxnOp::Kind::kPut: {
        if (op.key.empty()) return absl::InvalidArgumentError("etcd key is empty");
        pb::PutRequest* p = out->mutable_request_put();
        p->set_key(Full(op.key));
        p->set_value(op.value);
        p->set_lease(op.lease);
        return absl::OkStatus();
      }
      case TxnOp::Kind::kDelete: {
        pb::DeleteRangeRequest* d = out->mutable_request_delete_range();
        return KeyRange(op.key, op.prefix, d->mutable_key(), d->mutable_range_end());
      }
    }
    return absl::InvalidArgumentError("unknown txn op");
  }

  absl::StatusOr<TxnResult> Txn(const std::vector<Compare>& compares,
                                const std::vector<TxnOp>& success,
                                const std::vector<TxnOp>& failure) override {
    pb::TxnRequest req;
    for (const Compare& c : compares) {
      if (c.key.empty()) return absl::InvalidArgumentError("etcd compare key is empty");
      pb::Compare* pc = req.add_compare();
      pc->set_key(Full(c.key));
      pc->set_result(ToPb(c.op));
      switch (c.target) {
        case Compare::Target::kVersion:
          pc->set_target(pb::Compare::VERSION);
          pc->set_version(c.number);
          break;
        case Compare::Target::kCreateRevision:
          pc->set_target(pb::Compare::CREATE);
          pc->set_create_revision(c.number);
          break;
        case Compare::Target::kModRevision:
          pc->set_target(pb::Compare::MOD);
          pc->set_mod_revision(c.number);
          break;
        case Compare::Target::kValue:
          pc->set_target(pb::Compare::VALUE);
          pc->set_value(c.value);
          break;
        case Compare::Target::kLease:
          pc->set_target(pb::Compare::LEASE);
          pc->set_lease(c.number);
          break;
      }
    }
    for (const TxnOp& op : success) RETURN_IF_ERROR(AddOp(op, req.add_success()));
    for (const TxnOp& op : failure) RETURN_IF_ERROR(AddOp(op, req.add_failure()));
    pb::TxnResponse resp;
    RETURN_IF_ERROR(Call("txn", [&](Endpoint& ep, grpc::ClientContext& ctx) {
      return ep.kv->Txn(&ctx, req, &resp);
    }));
    TxnResult out;
    out.succeeded = resp.succeeded();
    out.revision = resp.header().revision();
    if (out.revision <= 0) return absl::InternalError("etcd answered a txn without a revision");
    const std::vector<TxnOp>& ran = out.succeeded ? success : failure;
    if (resp.responses_size() != static_cast<int>(ran.size())) {
      return absl::InternalError(absl::StrCat("etcd answered a txn with ", resp.responses_size(),
                                              " results for ", ran.size(), " operations"));
    }
    for (size_t i = 0; i < ran.size(); ++i) {
      const pb::ResponseOp& r = resp.responses(static_cast<int>(i));
      TxnOpResult res;
      res.kind = ran[i].kind;
      bool matches = false;
      switch (ran[i].kind) {
        case TxnOp::Kind::kGet:
          matches = r.has_response_range();
          if (matches) {
            ASSIGN_OR_RETURN(RangeResult range, ConvertRange(r.response_range()));
            res.kvs = std::move(range.kvs);
          }
          break;
        case TxnOp::Kind::kPut:
          matches = r.has_response_put();
          break;
        case TxnOp::Kind::kDelete:
          matches = r.has_response_delete_range();
          if (matches) res.deleted = r.response_delete_range().deleted();
          break;
      }
      if (!matches) {
        return absl::InternalError(
            absl::StrCat("etcd answered txn operation ", i, " with a result of another kind"));
      }
      out.results.push_back(std::move(res));
    }
    return out;
  }

  absl::StatusOr<LeaseGrant> GrantLease(absl::Duration ttl) override {
    int64_t seconds = absl::ToInt64Seconds(absl::Ceil(ttl, absl::Seconds(1)));
    if (seconds < 1) return absl::InvalidArgumentError("lease ttl must be at least 1s");
    pb::LeaseGrantRequest req;
    req.set_ttl(seconds);
    pb::LeaseGrantResponse resp;
    RETURN_IF_ERROR(Call("lease grant", [&](Endpoint& ep, grpc::ClientContext& ctx) {
      return ep.lease->LeaseGrant(&ctx, req, &resp);
    }));
    if (!resp.error().empty()) {
      return absl::UnavailableError(absl::StrCat("etcd lease grant: ", resp.error()));
    }
    if (resp.id() <= 0 || resp.ttl() <= 0) {
      return absl::InternalError("etcd answered a lease grant without an id or ttl");
    }
    return LeaseGrant{resp.id(), Seconds(resp.ttl())};
  }

  absl::Status RevokeLease(int64_t lease) override {
    pb::LeaseRevokeRequest req;
    req.set_id(lease);
    pb::LeaseRevokeResponse resp;
    return Call("lease revoke", [&](Endpoint& ep, grpc::ClientContext& ctx) {
      return ep.lease->LeaseRevoke(&ctx, req, &resp);
    });
  }

  absl::StatusOr<LeaseTimeToLive> TimeToLive(int64_t lease, bool with_keys) override {
    pb::LeaseTimeToLiveRequest req;
    req.set_id(lease);
    req.set_keys(with_keys);
    pb::LeaseTimeToLiveResponse resp;
    RETURN_IF_ERROR(Call("lease ttl", [&](Endpoint& ep, grpc::ClientContext& ctx) {
      return ep.lease->LeaseTimeToLive(&ctx, req, &resp);
    }));
    if (resp.id() != lease) return absl::InternalError("etcd answered about another lease");
    LeaseTimeToLive out;
    out.exists = resp.ttl() >= 0;
    out.remaining = Seconds(std::max<int64_t>(resp.ttl(), 0));
    out.granted = Seconds(std::max<int64_t>(resp.grantedttl(), 0));
    for (const std::string& k : resp.keys()) {
      ASSIGN_OR_RETURN(std::string rel, Relative(k));
      out.keys.push_back(std::move(rel));
    }
    return out;
  }

  absl::StatusOr<absl::Duration> KeepAliveOnce(int64_t lease) override {
    pb::LeaseKeepAliveRequest req;
    req.set_id(lease);
    pb::LeaseKeepAliveResponse resp;
    RETURN_IF_ERROR(Call("lease keepalive", [&](Endpoint& ep, grpc::ClientContext& ctx) {
      // One short stream per round trip: each keep-alive is bounded by the request deadline and
      // fails over like any unary call.
      auto stream = ep.lease->LeaseKeepAlive(&ctx);
      if (!stream->Write(req) || !stream->Read(&resp)) {
        grpc::Status s = stream->Finish();
        if (s.ok()) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream closed");
        return s;
      }
      ctx.TryCancel();
      (void)stream->Finish();
      return grpc::Status::OK;
    }));
    if (resp.id() != lease) return absl::InternalError("etcd answered about another lease");
    if (resp.ttl() <= 0) {
      return absl::NotFoundError(absl::StrCat("etcd lease ", lease, " has expired or was revoked"));
    }
    return Seconds(resp.ttl());
  }

  std::unique_ptr<WatchHandle> Watch(absl::string_view key, bool prefix, int64_t start_revision,
                                     std::function<void(const WatchUpdate&)> callback,
                                     std::function<void(const absl::Status&)> on_error) override {
    std::string k, end;
    if (!KeyRange(key, prefix, &k, &end).ok()) k = Full(key);  // an empty single key: no events
    auto w = std::make_unique<GrpcWatch>(this, std::move(k), std::move(end), start_revision,
                                         std::move(callback), std::move(on_error));
    w->Start();
    return w;
  }

  std::string CurrentEndpoint() const override {
    absl::MutexLock lock(&mu_);
    return endpoints_[current_]->target();
  }

  // --- shared by the calls and the watch thread ---

  size_t endpoint_count() const { return endpoints_.size(); }
  size_t current() const {
    absl::MutexLock lock(&mu_);
    return current_;
  }
  void set_current(size_t i) {
    absl::MutexLock lock(&mu_);
    current_ = i;
  }
  Endpoint& endpoint(size_t i) { return *endpoints_[i]; }

  // The auth token (authenticating on `ep` if there is none yet); empty without auth.
  absl::StatusOr<std::string> Token(Endpoint& ep, absl::Time deadline) {
    if (options_.username.empty()) return std::string();
    {
      absl::MutexLock lock(&mu_);
      if (!token_.empty()) return token_;
    }
    pb::AuthenticateRequest req;
    req.set_name(options_.username);
    req.set_password(password_);
    pb::AuthenticateResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(deadline));
    grpc::Status s = ep.auth->Authenticate(&ctx, req, &resp);
    if (!s.ok()) return FromGrpc("authenticate", ep.target(), s);
    if (resp.token().empty())
      return absl::InternalError("etcd answered authenticate without token");
    absl::MutexLock lock(&mu_);
    token_ = resp.token();
    return token_;
  }
  void DropToken(absl::string_view token) {
    absl::MutexLock lock(&mu_);
    if (token_ == token) token_.clear();
  }

  // Runs `fn(endpoint, context)` with failover, auth and the request deadline.
  template <typename Fn>
  absl::Status Call(absl::string_view what, Fn fn) {
    const absl::Time deadline = absl::Now() + options_.request_timeout;
    const size_t n = endpoints_.size();
    size_t index = current();
    size_t failed_in_round = 0;
    bool reauthenticated = false;
    absl::Duration pause = absl::Milliseconds(50);
    absl::Status last = absl::UnavailableError(absl::StrCat("etcd ", what, ": no endpoint"));
    while (true) {
      const absl::Time now = absl::Now();
      if (now >= deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            "etcd ", what, " timed out after ", absl::FormatDuration(options_.request_timeout),
            "; last error: ", last.message()));
      }
      Endpoint& ep = *endpoints_[index];
      bool ready = ep.Ready();
      absl::Time attempt_deadline =
          ready ? deadline : std::min(deadline, now + options_.dial_timeout);
      absl::StatusOr<std::string> token = Token(ep, attempt_deadline);
      absl::Status attempt_status;
      if (!token.ok()) {
        attempt_status = token.status();
      } else {
        grpc::ClientContext ctx;
        ctx.set_deadline(absl::ToChronoTime(attempt_deadline));
        if (!token->empty()) ctx.AddMetadata("token", *token);
        grpc::Status s = fn(ep, ctx);
        if (s.ok()) {
          set_current(index);
          return absl::OkStatus();
        }
        if (s.error_code() == grpc::StatusCode::UNAUTHENTICATED && !token->empty() &&
            !reauthenticated) {
          // The token expired or the member restarted (simple tokens live in memory).
          DropToken(*token);
          reauthenticated = true;
          continue;
        }
        attempt_status = FromGrpc(what, ep.target(), s);
      }
      const absl::StatusCode code = attempt_status.code();
      const bool attempt_timed_out =
          code == absl::StatusCode::kDeadlineExceeded && attempt_deadline < deadline;
      if (code != absl::StatusCode::kUnavailable && !attempt_timed_out) {
        if (code == absl::StatusCode::kDeadlineExceeded) {
          return absl::DeadlineExceededError(absl::StrCat(
              "etcd ", what, " timed out after ", absl::FormatDuration(options_.request_timeout),
              ": ", attempt_status.message()));
        }
        return attempt_status;
      }
      last = attempt_status;
      index = (index + 1) % n;
      if (++failed_in_round >= n) {
        // Every member failed: no quorum, or a leader election in progress. Pause briefly
        // before the next round rather than spin.
        failed_in_round = 0;
        absl::Duration left = deadline - absl::Now();
        if (left <= absl::ZeroDuration()) continue;
        absl::SleepFor(std::min(pause, left));
        pause = std::min(pause * 2, absl::Milliseconds(500));
      }
    }
  }

 private:
  EtcdOptions options_;
  const std::string password_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
  mutable absl::Mutex mu_;
  size_t current_ ABSL_GUARDED_BY(mu_) = 0;
  std::string token_ ABSL_GUARDED_BY(mu_);
};

GrpcWatch::GrpcWatch(GrpcEtcdClient* client, std::string key, std::string range_end,
                     int64_t start_revision, std::function<void(const WatchUpdate&)> callback,
                     std::function<void(const absl::Status&)> on_error)
    : client_(client),
      key_(std::move(key)),
      range_end_(std::move(range_end)),
      callback_(std::move(callback)),
      on_error_(std::move(on_error)),
      next_revision_(start_revision) {}

void GrpcWatch::Cancel() {
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

void GrpcWatch::Run() {
  size_t index = client_->current();
  absl::Duration pause = absl::Milliseconds(100);
  while (true) {
    absl::Status s = RunStream(index);
    {
      absl::MutexLock lock(&mu_);
      if (stopped_) return;
    }
    if (s.ok()) {
      pause = absl::Milliseconds(100);  // a compaction notice: reconnect at once
      continue;
    }
    if (on_error_) on_error_(s);
    index = (index + 1) % client_->endpoint_count();
    absl::MutexLock lock(&mu_);
    auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopped_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stopped), pause)) return;
    pause = std::min(pause * 2, absl::Seconds(1));
  }
}

absl::Status GrpcWatch::RunStream(size_t index) {
  Endpoint& ep = client_->endpoint(index);
  absl::StatusOr<std::string> token =
      client_->Token(ep, absl::Now() + client_->options().request_timeout);
  if (!token.ok()) return token.status();
  grpc::ClientContext ctx;
  if (!token->empty()) ctx.AddMetadata("token", *token);
  // The member cancels the stream when it loses its leader, so a watch never sits silently on a
  // member cut off from the quorum.
  ctx.AddMetadata("hasleader", "true");
  int64_t start;
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return absl::CancelledError("watch cancelled");
    context_ = &ctx;
    start = next_revision_;
  }
  auto clear_context = [&] {
    absl::MutexLock lock(&mu_);
    context_ = nullptr;
  };
  auto stream = ep.watch->Watch(&ctx);
  pb::WatchRequest req;
  pb::WatchCreateRequest* create = req.mutable_create_request();
  create->set_key(key_);
  create->set_range_end(range_end_);
  create->set_start_revision(start);
  absl::Status result = absl::UnavailableError("etcd watch stream ended");
  if (stream->Write(req)) {
    pb::WatchResponse resp;
    while (stream->Read(&resp)) {
      if (resp.compact_revision() > 0) {
        WatchUpdate update;
        update.compacted = true;
        update.revision = resp.compact_revision();
        {
          absl::MutexLock lock(&mu_);
          next_revision_ = resp.compact_revision();
        }
        callback_(update);
        result = absl::OkStatus();
        break;
      }
      if (resp.canceled()) {
        result = absl::UnavailableError(
            absl::StrCat("etcd watch cancelled by the server: ", resp.cancel_reason()));
        if (absl::StrContains(resp.cancel_reason(), "auth")) client_->DropToken(*token);
        break;
      }
      if (resp.created()) {
        absl::MutexLock lock(&mu_);
        if (next_revision_ <= 0) next_revision_ = resp.header().revision() + 1;
        continue;
      }
      if (resp.events_size() == 0) continue;
      WatchUpdate update;
      absl::Status bad;
      for (const mvccpb::Event& e : resp.events()) {
        absl::StatusOr<KeyValue> kv = client_->Convert(e.kv());
        if (!kv.ok()) {
          bad = kv.status();
          break;
        }
        WatchEvent ev;
        ev.type =
            e.type() == mvccpb::Event::DELETE ? WatchEvent::Type::kDelete : WatchEvent::Type::kPut;
        ev.kv = *std::move(kv);
        update.revision = std::max(update.revision, ev.kv.mod_revision);
        update.events.push_back(std::move(ev));
      }
      int64_t expected;
      {
        absl::MutexLock lock(&mu_);
        expected = next_revision_;
      }
      if (bad.ok() && update.revision < expected) {
        bad = absl::InternalError("etcd watch answered with events older than requested");
      }
      if (!bad.ok()) {
        result = bad;
        break;
      }
      {
        absl::MutexLock lock(&mu_);
        next_revision_ = update.revision + 1;
      }
      callback_(update);
    }
  }
  ctx.TryCancel();
  grpc::Status fs = stream->Finish();
  clear_context();
  if (!fs.ok() && result.code() == absl::StatusCode::kUnavailable &&
      result.message() == "etcd watch stream ended") {
    result = FromGrpc("watch", ep.target(), fs);
    if (fs.error_code() == grpc::StatusCode::UNAUTHENTICATED) client_->DropToken(*token);
  }
  return result;
}

}  // namespace

Compare Compare::CreateRevision(std::string key, Op op, int64_t revision) {
  return Compare{std::move(key), Target::kCreateRevision, op, revision, ""};
}
Compare Compare::ModRevision(std::string key, Op op, int64_t revision) {
  return Compare{std::move(key), Target::kModRevision, op, revision, ""};
}
Compare Compare::Value(std::string key, Op op, std::string value) {
  return Compare{std::move(key), Target::kValue, op, 0, std::move(value)};
}
Compare Compare::Lease(std::string key, Op op, int64_t lease) {
  return Compare{std::move(key), Target::kLease, op, lease, ""};
}

TxnOp TxnOp::Get(std::string key, bool prefix) {
  return TxnOp{Kind::kGet, std::move(key), prefix, "", 0};
}
TxnOp TxnOp::Put(std::string key, std::string value, int64_t lease) {
  return TxnOp{Kind::kPut, std::move(key), false, std::move(value), lease};
}
TxnOp TxnOp::Delete(std::string key, bool prefix) {
  return TxnOp{Kind::kDelete, std::move(key), prefix, "", 0};
}

std::string PrefixRangeEnd(absl::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    unsigned char c = static_cast<unsigned char>(end.back());
    if (c < 0xff) {
      end.back() = static_cast<char>(c + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

absl::Status ValidateEtcdOptions(const EtcdOptions& o) {
  if (o.endpoints.empty()) return absl::InvalidArgumentError("etcd.endpoints: none given");
  for (const std::string& e : o.endpoints) {
    std::string hp = StripScheme(e);
    std::vector<absl::string_view> parts = absl::StrSplit(hp, absl::MaxSplits(':', 1));
    int port = 0;
    if (parts.size() != 2 || parts[0].empty() || !absl::SimpleAtoi(parts[1], &port) || port <= 0 ||
        port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("etcd.endpoints: \"", e, "\" is not host:port"));
    }
  }
  if (o.tls.cert_file.empty() != o.tls.key_file.empty()) {
    return absl::InvalidArgumentError("etcd.tls: cert_file and key_file go together");
  }
  if (!o.tls.cert_file.empty() && o.tls.ca_file.empty()) {
    return absl::InvalidArgumentError("etcd.tls: a client certificate needs ca_file");
  }
  if (o.dial_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("etcd.dial_timeout must be positive");
  }
  if (o.request_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("etcd.request_timeout must be positive");
  }
  if (o.session_ttl < absl::Seconds(2)) {
    return absl::InvalidArgumentError("etcd.session_ttl must be at least 2s");
  }
  if (o.username.empty() &&
      (!o.password.empty() || !o.password_file.empty() || !o.password_env.empty())) {
    return absl::InvalidArgumentError("etcd: a password needs a username");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<EtcdClient>> EtcdClient::Create(EtcdOptions options) {
  RETURN_IF_ERROR(ValidateEtcdOptions(options));
  std::string password = options.password;
  if (!options.username.empty() && password.empty()) {
    if (!options.password_file.empty()) {
      ASSIGN_OR_RETURN(std::string content, ReadWholeFile(options.password_file, "password_file"));
      password = std::string(content.substr(0, content.find_first_of("\r\n")));
    } else if (!options.password_env.empty()) {
      const char* v = std::getenv(options.password_env.c_str());
      if (v == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("etcd.password_env: ", options.password_env, " is not set"));
      }
      password = v;
    }
    if (password.empty()) {
      return absl::InvalidArgumentError("etcd.username is set but no password is configured");
    }
  }
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (options.tls.ca_file.empty()) {
    creds = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadWholeFile(options.tls.ca_file, "tls.ca_file"));
    if (!options.tls.cert_file.empty()) {
      ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadWholeFile(options.tls.cert_file, "tls.cert_file"));
      ASSIGN_OR_RETURN(ssl.pem_private_key, ReadWholeFile(options.tls.key_file, "tls.key_file"));
    }
    creds = grpc::SslCredentials(ssl);
  }
  return std::unique_ptr<EtcdClient>(
      new GrpcEtcdClient(std::move(options), std::move(password), std::move(creds)));
}

}  // namespace foghorn::coord
