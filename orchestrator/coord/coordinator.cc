#include "orchestrator/coord/coordinator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "orchestrator/common/status_macros.h"
#include "orchestrator/coord/control_store.h"
#include "orchestrator/coord/leader_keys.h"
#include "orchestrator/coord/placement.h"
#include "orchestrator/coord/session.h"

namespace foghorn::coord {
namespace {

constexpr absl::string_view kAgents = "agents/";
constexpr absl::string_view kLeader = "leader/";
constexpr absl::string_view kVerdicts = "verdicts/";
constexpr absl::string_view kControl = "control/";
constexpr absl::string_view kIntents = "intents/";

std::string VerdictKey(absl::string_view group, absl::string_view target, absl::string_view agent) {
  return absl::StrCat(kVerdicts, group, "/", target, "/", agent);
}

std::string IntentKey(absl::string_view group) { return absl::StrCat(kIntents, group); }

// verdicts/<group>/<target>/<agent>: the group may hold '/', target and agent do not.
bool ParseVerdictKey(absl::string_view key, std::string* group, std::string* target,
                     std::string* agent) {
  absl::string_view rest = key.substr(kVerdicts.size());
  size_t a = rest.rfind('/');
  if (a == absl::string_view::npos || a == 0) return false;
  size_t t = rest.rfind('/', a - 1);
  if (t == absl::string_view::npos || t == 0) return false;
  *group = std::string(rest.substr(0, t));
  *target = std::string(rest.substr(t + 1, a - t - 1));
  *agent = std::string(rest.substr(a + 1));
  return !target->empty() && !agent->empty();
}

int64_t ToMillis(absl::Time t) {
  if (t == absl::InfinitePast()) return 0;
  return absl::ToUnixMillis(t);
}
absl::Time FromMillis(int64_t ms) {
  return ms <= 0 ? absl::InfinitePast() : absl::FromUnixMillis(ms);
}

PublishedHealth HealthOf(v1::Verdict v) {
  switch (v) {
    case v1::VERDICT_HEALTHY:
      return PublishedHealth::kHealthy;
    case v1::VERDICT_UNHEALTHY:
      return PublishedHealth::kUnhealthy;
    case v1::VERDICT_IMPAIRED:
      return PublishedHealth::kImpaired;
    default:
      return PublishedHealth::kUnknown;
  }
}

bool EtcdUnreachable(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable ||
         s.code() == absl::StatusCode::kDeadlineExceeded;
}

// "etcd cannot be reached" is one code for the agent: kUnavailable.
absl::Status AsUnavailable(absl::Status s) {
  if (s.code() == absl::StatusCode::kDeadlineExceeded) {
    return absl::UnavailableError(s.message());
  }
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Pure pieces.

LeadershipAction DecideLeadership(const LeadershipView& view, absl::Time now) {
  if (view.held_by_self) {
    // An operation never moves mid-flight voluntarily; only the lease's end takes it away.
    if (view.busy) return LeadershipAction::kNone;
    if (!view.watched) return LeadershipAction::kResign;
    std::string preferred = PreferredAgent(view.live_agents, view.group);
    if (!preferred.empty() && preferred != view.self) return LeadershipAction::kResign;
    return LeadershipAction::kNone;
  }
  if (!view.holder.empty() || !view.watched) return LeadershipAction::kNone;
  if (PreferredAgent(view.live_agents, view.group) == view.self) {
    return LeadershipAction::kCampaign;
  }
  if (view.empty_since != absl::InfiniteFuture() && now - view.empty_since >= view.fallback_after) {
    return LeadershipAction::kCampaign;
  }
  return LeadershipAction::kNone;
}

absl::string_view TargetKeyName(v1::ProbeTarget target) {
  switch (target) {
    case v1::PROBE_TARGET_PRIMARY:
      return "primary";
    case v1::PROBE_TARGET_SECONDARY:
      return "secondary";
    case v1::PROBE_TARGET_LISTENER_READ_WRITE:
      return "listener_rw";
    case v1::PROBE_TARGET_LISTENER_READ_ONLY:
      return "listener_ro";
    default:
      return "unspecified";
  }
}

// ---------------------------------------------------------------------------------------------
// The client wrapper: every call of the coordinator, its session and its leader keys goes through
// it, so the traffic metrics and "the last successful exchange" cover keep-alives too.

class Coordinator::CountingClient final : public EtcdClient {
 public:
  CountingClient(std::unique_ptr<EtcdClient> inner, const common::Clock& clock,
                 common::MetricsRegistry* metrics)
      : inner_(std::move(inner)), clock_(clock), metrics_(metrics) {}

  const EtcdOptions& options() const override { return inner_->options(); }

  absl::StatusOr<RangeResult> Get(absl::string_view key, bool prefix) override {
    absl::Time sent = clock_.Now();
    return Track(sent, inner_->Get(key, prefix));
  }
  absl::StatusOr<int64_t> Put(absl::string_view key, absl::string_view value,
                              int64_t lease) override {
    CountWrite(key.size() + value.size());
    absl::Time sent = clock_.Now();
    return Track(sent, inner_->Put(key, value, lease));
  }
  absl::StatusOr<int64_t> Delete(absl::string_view key, bool prefix) override {
    CountWrite(key.size());
    absl::Time sent = clock_.Now();
    return Track(sent, inner_->Delete(key, prefix));
  }
  absl::StatusOr<TxnResult> Txn(const std::vector<Compare>& compares,
                                const std::vector<TxnOp>& success,
                                const std::vector<TxnOp>& failure) override {
    size_t bytes = 0;
    for (const Compare& c : compares) bytes += c.key.size() + c.value.size();
    for (const TxnOp& op : success) bytes += op.key.size() + op.value.size();
    for (const TxnOp& op : failure) bytes += op.key.size() + op.value.size();
    CountWrite(bytes);
    absl::Time sent = clock_.Now();
    return Track(sent, inner_->Txn(compares, success, failure));
  }
  absl::StatusOr<LeaseGrant> GrantLease(absl::Duration ttl) override {
    CountWrite(0);
    absl::Time sent = clock_.Now();
    return Track(sent, inner_->GrantLease(ttl));
  }
  absl::Status RevokeLease(int64_t lease) override {
    CountWrite(0);
    absl::Time sent = clock_.Now();
    absl::Status s = inner_->RevokeLease(lease);
    if (s.ok()) MarkOk(sent);
    return s;
  }
  absl::StatusOr<LeaseTimeToLive> TimeToLive(int64_t lease, bool with_keys) override {
    absl::Time sent = clock_.Now();
    return Track(sent, inner_->TimeToLive(lease, with_keys));
  }
  absl::StatusOr<absl::Duration> KeepAliveOnce(int64_t lease) override {
    if (metrics_ != nullptr) metrics_->IncrementCounter("foghorn_etcd_keepalives_total");
    absl::Time sent = clock_.Now();
    return Track(sent, inner_->KeepAliveOnce(lease));
  }
  std::unique_ptr<WatchHandle> Watch(absl::string_view key, bool prefix, int64_t start_revision,
                                     std::function<void(const WatchUpdate&)> callback,
                                     std::function<void(const absl::Status&)> on_error) override {
    return inner_->Watch(
        key, prefix, start_revision,
        [this, callback = std::move(callback)](const WatchUpdate& u) {
          MarkOk(clock_.Now());
          callback(u);
        },
        std::move(on_error));
  }
  std::string CurrentEndpoint() const override { return inner_->CurrentEndpoint(); }

  // The send time of the last call etcd answered (InfinitePast before any).
  absl::Time last_ok() const {
    absl::MutexLock lock(&mu_);
    return last_ok_;
  }

 private:
  void CountWrite(size_t bytes) {
    if (metrics_ == nullptr) return;
    metrics_->IncrementCounter("foghorn_etcd_writes_total");
    metrics_->IncrementCounter("foghorn_etcd_write_bytes_total", {}, static_cast<double>(bytes));
  }
  void MarkOk(absl::Time sent) {
    absl::MutexLock lock(&mu_);
    last_ok_ = std::max(last_ok_, sent);
  }
  // A status other than "unreachable" is still an answer from etcd (a lease it no longer has, a
  // refused auth): the exchange worked.
  template <typename T>
  T Track(absl::Time sent, T result) {
    if (result.ok() || !EtcdUnreachable(result.status())) MarkOk(sent);
    return result;
  }

  std::unique_ptr<EtcdClient> inner_;
  const common::Clock& clock_;
  common::MetricsRegistry* const metrics_;
  mutable absl::Mutex mu_;
  absl::Time last_ok_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// The session and its leader keys, replaced together when a session is lost. Shared with worker
// threads in the middle of a fence, so a replacement never pulls it from under them.
struct Coordinator::SessionState {
  std::unique_ptr<Session> session;
  std::unique_ptr<LeaderKeys> keys;  // destroyed first: it refers to the session
};

namespace {

std::string EncodeVerdict(absl::string_view agent, absl::string_view vantage, v1::Verdict verdict,
                          absl::Time streak_start_wall, absl::Time published_wall,
                          std::optional<double> lag_seconds) {
  nlohmann::json j = {
      {"agent", std::string(agent)},
      {"vantage", std::string(vantage)},
      {"verdict", v1::Verdict_Name(verdict)},
      {"streak_start_ms", ToMillis(streak_start_wall)},
      {"published_ms", ToMillis(published_wall)},
  };
  if (lag_seconds.has_value()) j["lag_s"] = *lag_seconds;
  return j.dump();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Coordinator::Coordinator(CoordinatorOptions options, const common::Clock& clock,
                         common::Logger logger, common::MetricsRegistry* metrics)
    : options_(std::move(options)),
      clock_(clock),
      logger_(logger.With({{"component", "coordinator"}, {"agent", options_.agent_name}})),
      metrics_(metrics),
      ttl_(options_.etcd.session_ttl) {
  tick_ = options_.reconcile_interval > absl::ZeroDuration() ? options_.reconcile_interval
                                                             : std::min(ttl_ / 4, absl::Seconds(1));
  if (metrics_ != nullptr) {
    metrics_->Describe("foghorn_coordination_lost",
                       "1 while this agent has no valid etcd session or cannot reach etcd");
    metrics_->Describe("foghorn_group_leader", "1 while this agent leads the failover group");
    metrics_->Describe("foghorn_etcd_writes_total",
                       "etcd write requests sent (Put, Delete, Txn, "
                       "lease grant and revoke)");
    metrics_->Describe("foghorn_etcd_write_bytes_total",
                       "Key and value bytes of the etcd write requests sent");
    metrics_->Describe("foghorn_etcd_keepalives_total", "etcd lease keep-alives sent");
  }
}

Coordinator::~Coordinator() { Stop(); }

std::shared_ptr<Coordinator::SessionState> Coordinator::state() const {
  absl::MutexLock lock(&mu_);
  return state_;
}

void Coordinator::Wake() {
  absl::MutexLock lock(&mu_);
  wake_ = true;
}

absl::Status Coordinator::Start() {
  {
    absl::MutexLock lock(&mu_);
    if (started_ || stopped_) {
      return absl::FailedPreconditionError("coordinator already started or stopped");
    }
  }
  if (options_.agent_name.empty() || absl::StrContains(options_.agent_name, "/")) {
    return absl::InvalidArgumentError("etcd.agent_name must be non-empty and hold no '/'");
  }
  if (options_.vantage.empty() || absl::StrContains(options_.vantage, "/")) {
    return absl::InvalidArgumentError("etcd.vantage must be non-empty and hold no '/'");
  }
  if (!options_.vantages.empty() && std::find(options_.vantages.begin(), options_.vantages.end(),
                                              options_.vantage) == options_.vantages.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("etcd.vantage ", options_.vantage, " is not one of etcd.vantages"));
  }
  RETURN_IF_ERROR(ValidateEtcdOptions(options_.etcd));
  ASSIGN_OR_RETURN(std::unique_ptr<EtcdClient> inner, EtcdClient::Create(options_.etcd));
  client_ = std::make_unique<CountingClient>(std::move(inner), clock_, metrics_);
  {
    absl::MutexLock lock(&mu_);
    started_ = true;
  }
  absl::Status s = Connect();
  if (!s.ok()) {
    absl::MutexLock lock(&mu_);
    last_error_ = s.ToString();
  }
  UpdateMetrics();
  thread_ = std::thread([this] { Run(); });
  watchdog_ = std::thread([this] { WatchLost(); });
  return s;
}

void Coordinator::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
    if (!started_) return;
  }
  if (thread_.joinable()) thread_.join();
  if (watchdog_.joinable()) watchdog_.join();
  if (watch_ != nullptr) {
    watch_->Cancel();
    watch_.reset();
  }
  std::shared_ptr<SessionState> st;
  std::vector<std::string> groups;
  {
    absl::MutexLock lock(&mu_);
    st = std::move(state_);
    synced_ = false;
    groups = groups_;
  }
  if (st != nullptr) {
    // Revoking the lease deletes this agent's leader keys at once: the others take its groups
    // without waiting for the TTL.
    absl::Status s = st->session->Close();
    if (!s.ok()) logger_.Warn("could not revoke the etcd session", {{"error", s.ToString()}});
  }
  if (metrics_ != nullptr) {
    for (const std::string& g : groups)
      metrics_->SetGauge("foghorn_group_leader", {{"group", g}}, 0);
  }
  logger_.Info("coordinator stopped");
}

void Coordinator::DropSession() {
  if (watch_ != nullptr) {
    watch_->Cancel();
    watch_.reset();
  }
  std::shared_ptr<SessionState> old;
  {
    absl::MutexLock lock(&mu_);
    old = std::move(state_);
    synced_ = false;
  }
  // Destroyed here, outside the lock (its keep-alive thread is joined), unless a fence still
  // holds it: then by that worker.
}

absl::Status Coordinator::Connect() {
  DropSession();
  Session::Options so;
  so.ttl = ttl_;
  so.on_lost = [this](const absl::Status& s) {
    logger_.Warn("etcd session lost", {{"error", s.ToString()}});
    Wake();
  };
  ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Create(*client_, clock_, so));
  auto st = std::make_shared<SessionState>();
  st->session = std::move(session);
  st->keys = std::make_unique<LeaderKeys>(*client_, *st->session, clock_, options_.agent_name);
  const int64_t lease = st->session->lease_id();
  nlohmann::json me = {{"agent", options_.agent_name}, {"vantage", options_.vantage}};
  absl::StatusOr<int64_t> put =
      client_->Put(absl::StrCat(kAgents, options_.agent_name), me.dump(), lease);
  if (!put.ok()) {
    (void)st->session->Close();
    return put.status();
  }
  {
    absl::MutexLock lock(&mu_);
    state_ = st;
    last_error_.clear();
    // Everything published under the old lease went with it: write it all again.
    for (auto& [group, targets] : verdicts_) {
      for (auto& [target, agents] : targets) {
        auto it = agents.find(options_.agent_name);
        if (it == agents.end()) continue;
        it->second.lease = lease;
        pending_[{group, target}] = Pending{true, ++pending_seq_};
      }
    }
  }
  logger_.Info("etcd session created", {{"lease", lease}});
  return Resync(st);
}

absl::Status Coordinator::Resync(const std::shared_ptr<SessionState>& st) {
  (void)st;
  if (watch_ != nullptr) {
    watch_->Cancel();
    watch_.reset();
  }
  ASSIGN_OR_RETURN(RangeResult snapshot, client_->Get("", /*prefix=*/true));
  {
    absl::MutexLock lock(&mu_);
    agents_.clear();
    leaders_.clear();
    controls_.clear();
    intents_.clear();
    // Keep only this agent's own (local) verdicts; the rest comes from the snapshot.
    for (auto git = verdicts_.begin(); git != verdicts_.end();) {
      for (auto tit = git->second.begin(); tit != git->second.end();) {
        auto& agents = tit->second;
        for (auto ait = agents.begin(); ait != agents.end();) {
          ait = ait->first == options_.agent_name ? std::next(ait) : agents.erase(ait);
        }
        tit = agents.empty() ? git->second.erase(tit) : std::next(tit);
      }
      git = git->second.empty() ? verdicts_.erase(git) : std::next(git);
    }
    counts_.clear();
    for (const auto& [group, targets] : verdicts_) {
      for (const auto& [target, agents] : targets) {
        for (const auto& [agent, r] : agents) {
          Counts& c = counts_[agent];
          PublishedHealth h = HealthOf(r.verdict);
          if (h != PublishedHealth::kUnknown) ++c.opinion;
          if (h == PublishedHealth::kUnhealthy || h == PublishedHealth::kImpaired) ++c.down;
        }
      }
    }
    snapshot_revision_ = snapshot.revision;
    for (const KeyValue& kv : snapshot.kvs) (void)ApplyKvLocked(kv, /*deleted=*/false);
    synced_ = true;
    resync_needed_ = false;
    wake_ = true;
  }
  watch_ = client_->Watch(
      "", /*prefix=*/true, snapshot.revision + 1, [this](const WatchUpdate& u) { OnWatch(u); },
      [this](const absl::Status& s) {
        logger_.Debug("etcd watch reconnects", {{"error", s.ToString()}});
      });
  Notify({""});
  return absl::OkStatus();
}

void Coordinator::Run() {
  absl::Duration backoff = options_.retry_initial;
  absl::Duration wait = tick_;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || wake_; };
      mu_.AwaitWithTimeout(absl::Condition(&woken), wait);
      if (stopping_) return;
      wake_ = false;
    }
    std::shared_ptr<SessionState> st = state();
    absl::Status s;
    if (st == nullptr || st->session->lost()) {
      s = Connect();
    } else {
      bool resync;
      {
        absl::MutexLock lock(&mu_);
        resync = resync_needed_ || !synced_;
      }
      if (resync) s = Resync(st);
    }
    if (!s.ok()) {
      bool first;
      {
        absl::MutexLock lock(&mu_);
        first = last_error_.empty();
        last_error_ = s.ToString();
      }
      if (first) logger_.Warn("cannot reach etcd; retrying", {{"error", s.ToString()}});
      UpdateMetrics();
      wait = backoff;
      backoff = std::min(backoff * 2, options_.retry_max);
      continue;
    }
    backoff = options_.retry_initial;
    st = state();
    if (st != nullptr) {
      FlushVerdicts(st);
      Reconcile(st);
    }
    UpdateMetrics();
    wait = tick_;
  }
}

void Coordinator::FlushVerdicts(const std::shared_ptr<SessionState>& st) {
  if (!st->session->Valid(clock_.Now())) return;  // the keep-alive thread is on it
  struct Work {
    std::string group, target, key, value;
    bool write = true;
    uint64_t seq = 0;
  };
  std::vector<Work> work;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [gt, p] : pending_) {
      Work w;
      w.group = gt.first;
      w.target = gt.second;
      w.key = VerdictKey(w.group, w.target, options_.agent_name);
      w.write = p.write;
      w.seq = p.seq;
      if (p.write) {
        const VerdictRecord& r = verdicts_[w.group][w.target][options_.agent_name];
        w.value = EncodeVerdict(options_.agent_name, options_.vantage, r.verdict,
                                r.streak_start_wall, r.published_wall, r.lag_seconds);
      }
      work.push_back(std::move(w));
    }
  }
  // Many verdicts change at once in a region outage: write them in Txns of up to
  // kVerdictsPerTxn operations (no compares: always applied) rather than one Put each. etcd
  // refuses a Txn of more than --max-txn-ops (default 128) operations.
  constexpr size_t kVerdictsPerTxn = 64;
  const int64_t lease = st->session->lease_id();
  for (size_t begin = 0; begin < work.size(); begin += kVerdictsPerTxn) {
    const size_t end = std::min(work.size(), begin + kVerdictsPerTxn);
    std::vector<TxnOp> ops;
    ops.reserve(end - begin);
    for (size_t i = begin; i < end; ++i) {
      const Work& w = work[i];
      ops.push_back(w.write ? TxnOp::Put(w.key, w.value, lease) : TxnOp::Delete(w.key));
    }
    absl::StatusOr<TxnResult> r = client_->Txn({}, ops, {});
    if (!r.ok()) {
      logger_.Debug("verdict write failed; will retry", {{"error", r.status().ToString()}});
      if (EtcdUnreachable(r.status())) return;
      continue;
    }
    absl::MutexLock lock(&mu_);
    for (size_t i = begin; i < end; ++i) {
      auto it = pending_.find({work[i].group, work[i].target});
      if (it != pending_.end() && it->second.seq == work[i].seq) pending_.erase(it);
    }
  }
}

void Coordinator::Reconcile(const std::shared_ptr<SessionState>& st) {
  const absl::Time now = clock_.Now();
  if (!st->session->Valid(now)) return;
  const int64_t lease = st->session->lease_id();
  std::vector<std::pair<LeadershipView, int64_t>> views;  // with the held term
  bool register_again = false;
  {
    absl::MutexLock lock(&mu_);
    if (!synced_) return;
    auto self = agents_.find(options_.agent_name);
    register_again = self == agents_.end() || self->second.lease != lease;
    std::vector<std::string> live;
    live.reserve(agents_.size());
    for (const auto& [name, a] : agents_) live.push_back(name);
    std::set<std::string> consider(groups_.begin(), groups_.end());
    for (const auto& [group, l] : leaders_) {
      if (l.holder == options_.agent_name && l.lease == lease) consider.insert(group);
    }
    const std::set<std::string> watched(groups_.begin(), groups_.end());
    for (const std::string& group : consider) {
      LeadershipView v;
      v.group = group;
      v.self = options_.agent_name;
      v.live_agents = live;
      v.watched = watched.count(group) > 0;
      v.busy = busy_.count(group) > 0;
      v.fallback_after = ttl_;
      int64_t term = 0;
      auto it = leaders_.find(group);
      if (it != leaders_.end() && !it->second.holder.empty()) {
        v.holder = it->second.holder;
        v.held_by_self = it->second.holder == options_.agent_name && it->second.lease == lease;
        term = it->second.create_revision;
        empty_since_.erase(group);
      } else {
        v.empty_since = empty_since_.emplace(group, now).first->second;
      }
      views.emplace_back(std::move(v), term);
    }
  }
  if (register_again) {
    nlohmann::json me = {{"agent", options_.agent_name}, {"vantage", options_.vantage}};
    absl::Status s =
        client_->Put(absl::StrCat(kAgents, options_.agent_name), me.dump(), lease).status();
    if (!s.ok()) logger_.Debug("re-registering failed", {{"error", s.ToString()}});
  }
  std::set<std::string> changed;
  for (const auto& [view, term] : views) {
    switch (DecideLeadership(view, now)) {
      case LeadershipAction::kNone:
        break;
      case LeadershipAction::kCampaign: {
        absl::StatusOr<CampaignResult> r = st->keys->Campaign(view.group);
        if (!r.ok()) {
          logger_.Debug("campaign failed",
                        {{"group", view.group}, {"error", r.status().ToString()}});
          if (EtcdUnreachable(r.status())) return;
          break;
        }
        if (r->leader.holder.empty()) break;
        absl::MutexLock lock(&mu_);
        LeaderRecord& rec = leaders_[view.group];
        if (r->leader.create_revision > rec.mod_revision) {
          rec = LeaderRecord{r->leader.holder, r->leader.create_revision, r->leader.lease,
                             r->leader.create_revision};
          changed.insert(view.group);
        }
        if (r->won) {
          logger_.Info("leading group",
                       {{"group", view.group}, {"term", r->leader.create_revision}});
        }
        break;
      }
      case LeadershipAction::kResign: {
        const std::string key = LeaderKeys::LeaderKey(view.group);
        absl::StatusOr<TxnResult> r = client_->Txn(
            {Compare::CreateRevision(key, Compare::Op::kEqual, term)}, {TxnOp::Delete(key)}, {});
        if (!r.ok()) {
          logger_.Debug("resign failed", {{"group", view.group}, {"error", r.status().ToString()}});
          if (EtcdUnreachable(r.status())) return;
          break;
        }
        if (!r->succeeded) break;
        logger_.Info("handed group to its preferred agent", {{"group", view.group}});
        absl::MutexLock lock(&mu_);
        LeaderRecord& rec = leaders_[view.group];
        if (r->revision > rec.mod_revision) {
          rec = LeaderRecord{"", 0, 0, r->revision};
          changed.insert(view.group);
        }
        break;
      }
    }
  }
  Notify(changed);
}

void Coordinator::WatchLost() {
  // Losing (or regaining) coordination by time alone (the session's validity ran out while etcd
  // does not answer) changes every group's decision. The coordinator's own thread may be blocked
  // in an etcd call for seconds then, so this one looks on its own, every tick.
  for (;;) {
    bool flipped = false;
    {
      absl::MutexLock lock(&mu_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping),
                               std::min(tick_, absl::Milliseconds(250)))) {
        return;
      }
      const bool lost = !LostReasonLocked(clock_.Now()).empty();
      flipped = lost != reported_lost_;
      reported_lost_ = lost;
    }
    if (flipped) {
      Notify({""});
      UpdateMetrics();
    }
  }
}

void Coordinator::UpdateMetrics() {
  const absl::Time now = clock_.Now();
  std::vector<std::pair<std::string, bool>> leading;
  bool lost;
  bool flipped = false;
  {
    absl::MutexLock lock(&mu_);
    lost = !LostReasonLocked(now).empty();
    flipped = lost != reported_lost_;
    reported_lost_ = lost;
    const int64_t lease = state_ != nullptr ? state_->session->lease_id() : -1;
    for (const std::string& g : groups_) {
      auto it = leaders_.find(g);
      leading.emplace_back(g, !lost && it != leaders_.end() &&
                                  it->second.holder == options_.agent_name &&
                                  it->second.lease == lease);
    }
  }
  if (flipped) Notify({""});
  if (metrics_ == nullptr) return;
  metrics_->SetGauge("foghorn_coordination_lost", {}, lost ? 1 : 0);
  for (const auto& [g, l] : leading) {
    metrics_->SetGauge("foghorn_group_leader", {{"group", g}}, l ? 1 : 0);
  }
}

// ---------------------------------------------------------------------------------------------
// The cache.

void Coordinator::OnWatch(const WatchUpdate& update) {
  if (update.compacted) {
    absl::MutexLock lock(&mu_);
    resync_needed_ = true;
    wake_ = true;
    return;
  }
  std::set<std::string> changed;
  {
    absl::MutexLock lock(&mu_);
    for (const WatchEvent& ev : update.events) {
      if (ev.kv.mod_revision <= snapshot_revision_) continue;
      std::optional<std::string> g = ApplyKvLocked(ev.kv, ev.type == WatchEvent::Type::kDelete);
      if (g.has_value()) changed.insert(*g);
    }
    if (!changed.empty()) wake_ = true;  // leadership may need a campaign or a hand-off
  }
  Notify(changed);
}

void Coordinator::Notify(const std::set<std::string>& groups) {
  if (groups.empty()) return;
  std::function<void(const std::string&)> cb;
  {
    absl::MutexLock lock(&mu_);
    cb = on_change_;
  }
  if (!cb) return;
  if (groups.count("") > 0) {
    cb("");
    return;
  }
  for (const std::string& g : groups) cb(g);
}

std::optional<std::string> Coordinator::ApplyKvLocked(const KeyValue& kv, bool deleted) {
  absl::string_view key = kv.key;
  if (absl::StartsWith(key, kAgents)) {
    std::string name(key.substr(kAgents.size()));
    if (deleted) {
      if (agents_.erase(name) == 0) return std::nullopt;
      return std::string();
    }
    AgentRecord a;
    a.lease = kv.lease;
    nlohmann::json j = nlohmann::json::parse(kv.value, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("vantage") && j["vantage"].is_string()) {
      a.vantage = j["vantage"].get<std::string>();
    }
    agents_[name] = std::move(a);
    return std::string();
  }
  if (absl::StartsWith(key, kLeader)) {
    std::string group(key.substr(kLeader.size()));
    LeaderRecord& rec = leaders_[group];
    if (kv.mod_revision <= rec.mod_revision) return std::nullopt;  // already known
    rec = deleted ? LeaderRecord{"", 0, 0, kv.mod_revision}
                  : LeaderRecord{kv.value, kv.create_revision, kv.lease, kv.mod_revision};
    return group;
  }
  if (absl::StartsWith(key, kVerdicts)) {
    std::string group, target, agent;
    if (!ParseVerdictKey(key, &group, &target, &agent)) return std::nullopt;
    if (agent == options_.agent_name) return std::nullopt;  // the local record is authoritative
    if (deleted) {
      EraseRecordLocked(group, target, agent);
      return group;
    }
    nlohmann::json j = nlohmann::json::parse(kv.value, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return std::nullopt;
    VerdictRecord r;
    r.agent = agent;
    // Anything under the prefix may have been written by anyone: a field of the wrong type reads
    // as absent (nlohmann's value() would throw), never as a crash.
    auto str = [&j](const char* name) {
      auto it = j.find(name);
      return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    auto millis = [&j](const char* name) -> int64_t {
      auto it = j.find(name);
      return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : int64_t{0};
    };
    r.vantage = str("vantage");
    v1::Verdict v = v1::VERDICT_UNSPECIFIED;
    if (!v1::Verdict_Parse(str("verdict"), &v)) v = v1::VERDICT_UNKNOWN;
    r.verdict = v;
    r.streak_start_wall = FromMillis(millis("streak_start_ms"));
    r.published_wall = FromMillis(millis("published_ms"));
    if (auto it = j.find("lag_s"); it != j.end() && it->is_number()) {
      const double lag = it->get<double>();
      if (std::isfinite(lag) && lag >= 0 && lag < 1e9) r.lag_seconds = lag;
    }
    r.lease = kv.lease;
    r.mod_revision = kv.mod_revision;
    if (r.vantage.empty()) return std::nullopt;
    SetRecordLocked(group, target, std::move(r));
    return group;
  }
  if (absl::StartsWith(key, kIntents)) {
    std::string group(key.substr(kIntents.size()));
    ControlRecord& c = intents_[group];
    if (kv.mod_revision <= c.mod_revision) return std::nullopt;
    c.mod_revision = kv.mod_revision;
    c.deleted = deleted || !nlohmann::json::accept(kv.value);
    c.json = c.deleted ? std::string() : kv.value;
    return group;
  }
  if (absl::StartsWith(key, kControl)) {
    std::string name(key.substr(kControl.size()));
    ControlRecord& c = controls_[name];
    if (kv.mod_revision <= c.mod_revision) return std::nullopt;
    c.mod_revision = kv.mod_revision;
    c.deleted = deleted || !nlohmann::json::accept(kv.value);
    c.json = c.deleted ? std::string() : kv.value;
    return std::string();
  }
  return std::nullopt;
}

void Coordinator::SetRecordLocked(const std::string& group, const std::string& target,
                                  VerdictRecord r) {
  EraseRecordLocked(group, target, r.agent);
  Counts& c = counts_[r.agent];
  PublishedHealth h = HealthOf(r.verdict);
  if (h != PublishedHealth::kUnknown) ++c.opinion;
  if (h == PublishedHealth::kUnhealthy || h == PublishedHealth::kImpaired) ++c.down;
  std::string agent = r.agent;
  verdicts_[group][target][agent] = std::move(r);
}

void Coordinator::EraseRecordLocked(const std::string& group, const std::string& target,
                                    const std::string& agent) {
  auto git = verdicts_.find(group);
  if (git == verdicts_.end()) return;
  auto tit = git->second.find(target);
  if (tit == git->second.end()) return;
  auto ait = tit->second.find(agent);
  if (ait == tit->second.end()) return;
  Counts& c = counts_[agent];
  PublishedHealth h = HealthOf(ait->second.verdict);
  if (h != PublishedHealth::kUnknown) --c.opinion;
  if (h == PublishedHealth::kUnhealthy || h == PublishedHealth::kImpaired) --c.down;
  if (c.opinion == 0 && c.down == 0) counts_.erase(agent);
  tit->second.erase(ait);
  if (tit->second.empty()) git->second.erase(tit);
  if (git->second.empty()) verdicts_.erase(git);
}

bool Coordinator::ImpairedLocked(const std::string& agent) const {
  auto it = counts_.find(agent);
  if (it == counts_.end()) return false;
  const Counts& c = it->second;
  if (c.opinion == 0 || c.opinion < options_.impairment_min_targets) return false;
  return static_cast<double>(c.down) >=
         options_.impairment_fraction * static_cast<double>(c.opinion);
}

QuorumResult Coordinator::EvaluateLocked(const std::string& group, const TargetMap* targets,
                                         absl::string_view target, int vantage_quorum,
                                         absl::Time now) const {
  (void)group;
  QuorumRule rule;
  rule.configured_vantages = options_.vantages;
  if (rule.configured_vantages.empty()) rule.configured_vantages = {options_.vantage};
  rule.vantage_quorum = vantage_quorum;
  rule.max_verdict_age = options_.max_verdict_age;
  // Impairment looks at a vantage's whole picture (every group), kept incrementally in counts_;
  // EvaluateQuorum only sees this group, so its own check is off and impaired agents' verdicts
  // arrive as IMPAIRED.
  rule.impairment_min_targets = std::numeric_limits<int>::max();
  std::vector<PublishedVerdict> in;
  if (targets != nullptr) {
    auto it = targets->find(std::string(target));
    if (it != targets->end()) {
      const int64_t my_lease = state_ != nullptr ? state_->session->lease_id() : 0;
      for (const auto& [agent, r] : it->second) {
        PublishedVerdict v;
        v.vantage = r.vantage;
        v.agent = agent;
        v.target = std::string(target);
        v.health = ImpairedLocked(agent) ? PublishedHealth::kImpaired : HealthOf(r.verdict);
        v.failure_streak_start = clock_.FromWall(r.streak_start_wall);
        v.published_at = clock_.FromWall(r.published_wall);
        if (agent == options_.agent_name) {
          v.lease_alive = my_lease != 0;
        } else {
          auto a = agents_.find(agent);
          v.lease_alive = a != agents_.end() && a->second.lease == r.lease;
        }
        in.push_back(std::move(v));
      }
    }
  }
  return EvaluateQuorum(target, in, rule, now);
}

std::string Coordinator::LostReasonLocked(absl::Time now) const {
  if (!started_) return "coordinator not started";
  if (stopped_) return "coordinator stopped";
  if (state_ == nullptr) {
    return last_error_.empty() ? std::string("no etcd session")
                               : absl::StrCat("no etcd session: ", last_error_);
  }
  const Session& s = *state_->session;
  if (s.lost()) return absl::StrCat("etcd session lease ", s.lease_id(), " is lost");
  if (!s.Valid(now)) {
    return absl::StrCat("etcd session lease ", s.lease_id(), " not confirmed alive since ",
                        absl::FormatTime(s.valid_until()));
  }
  if (!synced_) return "not synchronised with etcd";
  absl::Time last = client_->last_ok();
  if (now - last > ttl_) {
    return absl::StrCat("no successful etcd exchange for ", absl::FormatDuration(now - last));
  }
  return std::string();
}

// ---------------------------------------------------------------------------------------------
// The agent's calls.

void Coordinator::SetGroups(std::vector<std::string> group_ids) {
  absl::MutexLock lock(&mu_);
  const std::set<std::string> keep(group_ids.begin(), group_ids.end());
  for (const std::string& g : groups_) {
    if (keep.count(g) > 0) continue;
    empty_since_.erase(g);
    auto git = verdicts_.find(g);
    if (git == verdicts_.end()) continue;
    std::vector<std::string> targets;
    for (const auto& [target, agents] : git->second) {
      if (agents.count(options_.agent_name) > 0) targets.push_back(target);
    }
    for (const std::string& t : targets) {
      EraseRecordLocked(g, t, options_.agent_name);
      pending_[{g, t}] = Pending{false, ++pending_seq_};
    }
  }
  groups_ = std::vector<std::string>(keep.begin(), keep.end());
  wake_ = true;
}

void Coordinator::SetVantageQuorum(const std::string& group, int vantage_quorum) {
  absl::MutexLock lock(&mu_);
  quorum_[group] = vantage_quorum;
}

void Coordinator::SetBusy(const std::string& group, bool busy) {
  absl::MutexLock lock(&mu_);
  if (busy) {
    busy_.insert(group);
    int64_t term = 0;
    auto it = leaders_.find(group);
    if (it != leaders_.end() && it->second.holder == options_.agent_name && state_ != nullptr &&
        it->second.lease == state_->session->lease_id()) {
      term = it->second.create_revision;
    }
    busy_term_[group] = term;
    return;
  }
  busy_term_.erase(group);
  if (busy_.erase(group) > 0) {
    wake_ = true;  // a hand-off it held back may be due now
  }
}

void Coordinator::PublishVerdict(const std::string& group, v1::ProbeTarget target,
                                 v1::Verdict verdict, absl::Time failure_streak_start,
                                 std::optional<double> lag_seconds) {
  const std::string t(TargetKeyName(target));
  absl::MutexLock lock(&mu_);
  auto git = verdicts_.find(group);
  if (git != verdicts_.end()) {
    auto tit = git->second.find(t);
    if (tit != git->second.end()) {
      auto ait = tit->second.find(options_.agent_name);
      if (ait != tit->second.end() && ait->second.verdict == verdict &&
          ait->second.streak_start_wall == failure_streak_start &&
          ait->second.lag_seconds == lag_seconds) {
        return;  // nothing new to say
      }
    }
  }
  VerdictRecord r;
  r.agent = options_.agent_name;
  r.vantage = options_.vantage;
  r.verdict = verdict;
  r.streak_start_wall = failure_streak_start;
  r.published_wall = clock_.WallNow();
  r.lag_seconds = lag_seconds;
  r.lease = state_ != nullptr ? state_->session->lease_id() : 0;
  SetRecordLocked(group, t, std::move(r));
  pending_[{group, t}] = Pending{true, ++pending_seq_};
  wake_ = true;
}

GroupCoordination Coordinator::Get(const std::string& group, absl::Time now) const {
  GroupCoordination out;
  absl::ReaderMutexLock lock(&mu_);
  out.lost_reason = LostReasonLocked(now);
  out.lost = !out.lost_reason.empty();
  out.live_agents = static_cast<int>(agents_.size());
  auto lit = leaders_.find(group);
  if (lit != leaders_.end() && !lit->second.holder.empty()) {
    out.leader_name = lit->second.holder;
    out.leader_revision = lit->second.create_revision;
    out.leader = !out.lost && lit->second.holder == options_.agent_name && state_ != nullptr &&
                 lit->second.lease == state_->session->lease_id();
  }
  int q = 0;
  auto qit = quorum_.find(group);
  if (qit != quorum_.end()) q = qit->second;
  if (auto iit = intents_.find(group); iit != intents_.end() && !iit->second.deleted) {
    out.intent_json = iit->second.json;
  }
  auto git = verdicts_.find(group);
  const TargetMap* targets = git != verdicts_.end() ? &git->second : nullptr;
  out.primary = EvaluateLocked(group, targets, "primary", q, now);
  out.secondary = EvaluateLocked(group, targets, "secondary", q, now);
  if (targets != nullptr) {
    for (const auto& [target, agents] : *targets) {
      for (const auto& [agent, r] : agents) {
        if (!r.lag_seconds.has_value()) continue;
        if (agent != options_.agent_name) {
          auto a = agents_.find(agent);
          if (a == agents_.end() || a->second.lease != r.lease) continue;
        }
        // Never later than now: a publisher whose clock runs ahead must not keep its sample
        // from ageing.
        absl::Time at = std::min(now, clock_.FromWall(r.published_wall));
        if (!out.lag_seconds.has_value() || at > out.lag_published_at) {
          out.lag_seconds = r.lag_seconds;
          out.lag_published_at = at;
        }
      }
    }
  }
  return out;
}

absl::Status Coordinator::CheckSessionFor(const SessionState& st, absl::string_view what) const {
  Session& s = *st.session;
  if (s.lost()) {
    return absl::FailedPreconditionError(absl::StrCat(what, ": etcd session lease ", s.lease_id(),
                                                      " of agent ", options_.agent_name,
                                                      " is lost"));
  }
  if (s.Valid(clock_.Now())) return absl::OkStatus();
  absl::Status k = s.KeepAliveNow();
  if (k.code() == absl::StatusCode::kNotFound) {
    return absl::FailedPreconditionError(absl::StrCat(what, ": etcd session lease ", s.lease_id(),
                                                      " of agent ", options_.agent_name,
                                                      " is lost"));
  }
  if (!k.ok()) return absl::UnavailableError(absl::StrCat(what, ": ", k.message()));
  if (!s.Valid(clock_.Now())) {
    return absl::UnavailableError(
        absl::StrCat(what, ": etcd session lease ", s.lease_id(), " not confirmed alive"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Coordinator::MyTerm(const SessionState& st, const std::string& group) {
  const int64_t lease = st.session->lease_id();
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = leaders_.find(group);
    if (it != leaders_.end() && it->second.holder == options_.agent_name &&
        it->second.lease == lease) {
      return it->second.create_revision;
    }
  }
  // The cache may lag behind a campaign won a moment ago: ask etcd.
  absl::StatusOr<std::optional<LeaderInfo>> info = st.keys->Leader(group);
  if (!info.ok()) return AsUnavailable(info.status());
  if (info->has_value() && (*info)->holder == options_.agent_name && (*info)->lease == lease) {
    return (*info)->create_revision;
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "agent ", options_.agent_name, " does not lead group ", group, " (",
      info->has_value()
          ? absl::StrCat("held by ", (*info)->holder, " since revision ", (*info)->create_revision)
          : std::string("nobody holds it"),
      ")"));
}

absl::Status Coordinator::FenceBeforeArm(const std::string& group, const std::string& intent_json,
                                         const IntentCheck& check) {
  if (!nlohmann::json::accept(intent_json)) {
    return absl::InvalidArgumentError(absl::StrCat("intent of group ", group, " is not JSON"));
  }
  std::shared_ptr<SessionState> st = state();
  if (st == nullptr) {
    return absl::UnavailableError(absl::StrCat("fence of group ", group, ": no etcd session"));
  }
  RETURN_IF_ERROR(CheckSessionFor(*st, absl::StrCat("fence of group ", group)));
  ASSIGN_OR_RETURN(int64_t term, MyTerm(*st, group));
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = busy_term_.find(group);
    if (it != busy_term_.end() && it->second != term) {
      return absl::FailedPreconditionError(
          absl::StrCat("fence of group ", group, ": the operation was decided ",
                       it->second == 0 ? std::string("while this agent did not lead the group")
                                       : absl::StrCat("under leadership term ", it->second),
                       ", and agent ", options_.agent_name, " leads it now under term ", term));
    }
  }
  int64_t intent_revision = -1;
  if (check) {
    absl::StatusOr<RangeResult> current = client_->Get(IntentKey(group), false);
    if (!current.ok()) return AsUnavailable(current.status());
    std::optional<std::string> value;
    intent_revision = 0;
    if (!current->kvs.empty()) {
      value = current->kvs[0].value;
      intent_revision = current->kvs[0].mod_revision;
    }
    RETURN_IF_ERROR(check(value));
  }
  absl::StatusOr<int64_t> r =
      st->keys->WriteIntentIfLeader(group, term, IntentKey(group), intent_json, intent_revision);
  return AsUnavailable(r.status());
}

absl::StatusOr<std::optional<std::string>> Coordinator::ReadIntent(const std::string& group) {
  if (client_ == nullptr) return absl::FailedPreconditionError("coordinator not started");
  absl::StatusOr<RangeResult> r = client_->Get(IntentKey(group), false);
  if (!r.ok()) return AsUnavailable(r.status());
  if (r->kvs.empty()) return std::optional<std::string>();
  return std::optional<std::string>(r->kvs[0].value);
}

absl::Status Coordinator::ClearIntent(const std::string& group) {
  std::shared_ptr<SessionState> st = state();
  if (st == nullptr) {
    return absl::UnavailableError(absl::StrCat("clear intent of group ", group, ": no session"));
  }
  RETURN_IF_ERROR(CheckSessionFor(*st, absl::StrCat("clear intent of group ", group)));
  ASSIGN_OR_RETURN(int64_t term, MyTerm(*st, group));
  const std::string key = LeaderKeys::LeaderKey(group);
  absl::StatusOr<TxnResult> r =
      client_->Txn({Compare::CreateRevision(key, Compare::Op::kEqual, term),
                    Compare::Value(key, Compare::Op::kEqual, options_.agent_name),
                    Compare::Lease(key, Compare::Op::kEqual, st->session->lease_id())},
                   {TxnOp::Delete(IntentKey(group))}, {TxnOp::Get(key)});
  if (!r.ok()) return AsUnavailable(r.status());
  if (!r->succeeded) {
    std::string holder = "nobody holds it";
    if (!r->results.empty() && !r->results[0].kvs.empty()) {
      holder = absl::StrCat("held by ", r->results[0].kvs[0].value, " since revision ",
                            r->results[0].kvs[0].create_revision);
    }
    return absl::FailedPreconditionError(
        absl::StrCat("no longer leader of group ", group, " (", holder, ")"));
  }
  return absl::OkStatus();
}

absl::Status Coordinator::PutControl(const std::string& key, const std::string& json) {
  if (client_ == nullptr) return absl::FailedPreconditionError("coordinator not started");
  ControlStore store(*client_);
  absl::StatusOr<int64_t> r = store.Put(key, json);
  if (!r.ok()) return AsUnavailable(r.status());
  bool changed = false;
  {
    absl::MutexLock lock(&mu_);
    ControlRecord& c = controls_[key];
    if (*r > c.mod_revision) {
      c = ControlRecord{json, false, *r};
      changed = true;
    }
  }
  if (changed) Notify({""});
  return absl::OkStatus();
}

absl::Status Coordinator::DeleteControl(const std::string& key) {
  if (client_ == nullptr) return absl::FailedPreconditionError("coordinator not started");
  ControlStore store(*client_);
  RETURN_IF_ERROR(AsUnavailable(store.Delete(key)));
  bool changed = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = controls_.find(key);
    if (it != controls_.end() && !it->second.deleted) {
      it->second.deleted = true;
      it->second.json.clear();
      changed = true;
    }
  }
  if (changed) Notify({""});
  return absl::OkStatus();
}

bool Coordinator::Synced() const {
  absl::ReaderMutexLock lock(&mu_);
  return synced_;
}

std::map<std::string, std::string> Coordinator::Controls() const {
  std::map<std::string, std::string> out;
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [key, c] : controls_) {
    if (!c.deleted) out.emplace(key, c.json);
  }
  return out;
}

void Coordinator::SetOnChange(std::function<void(const std::string& group)> on_change) {
  absl::MutexLock lock(&mu_);
  on_change_ = std::move(on_change);
}

}  // namespace foghorn::coord
