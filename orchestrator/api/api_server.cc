#include "orchestrator/api/api_server.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "foghorn/v1/control.grpc.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "orchestrator/api/auth.h"
#include "orchestrator/api/bounded_pool.h"
#include "orchestrator/api/convert.h"
#include "orchestrator/api/refusal_audit.h"
#include "orchestrator/api/request_limits.h"
#include "orchestrator/api/server_credentials.h"
#include "orchestrator/api/shared_readiness.h"
#include "orchestrator/api/watch_streams.h"
#include "orchestrator/common/durations.h"
#include "orchestrator/common/status_macros.h"
#include "orchestrator/drill/report_html.h"
#include "orchestrator/drill/report_store.h"
#include "runbooks/loader.h"

namespace foghorn::api {
namespace {

constexpr char kServiceName[] = "foghorn.v1.ControlService";
constexpr int kDefaultPageSize = 50;

bool IsValidKind(v1::FailoverKind kind) { return v1::FailoverKind_IsValid(kind); }

int PageSize(int requested) { return requested == 0 ? kDefaultPageSize : requested; }

}  // namespace

class ApiServer::Impl final : public v1::ControlService::CallbackService {
 public:
  Impl(ApiServerDeps deps, Authenticator auth, Options options)
      : deps_(std::move(deps)),
        auth_(std::move(auth)),
        options_(options),
        pool_(options.worker_threads, options.max_queued_reads),
        operator_pool_(options.operator_threads, options.max_queued_mutations),
        readiness_(
            deps_.drills, deps_.clock, deps_.metrics,
            [this](grpc::ServerUnaryReactor* reactor, const absl::Status& s) {
              Finish(reactor, "CheckReadiness", s);
            },
            SharedReadiness::Options{options.readiness_threads, options.max_readiness_waiters,
                                     options.readiness_reuse, options.readiness_min_interval,
                                     options.readiness_burst}),
        watches_(WatchStreamsDeps(),
                 WatchStreams::Options{options.watch_queue_capacity, options.max_watch_subscribers,
                                       options.max_watch_subscribers_per_caller,
                                       options.reserved_operator_watches,
                                       options.fanout_queue_capacity}),
        refusals_(deps_.journal, deps_.clock, deps_.logger.With({{"component", "api-audit"}}),
                  deps_.metrics,
                  RefusalAuditor::Options{options.refusal_audit_queue, options.refusal_audit_burst,
                                          options.refusal_audit_rows_per_window,
                                          options.refusal_audit_window, absl::Seconds(5)}) {}

  ~Impl() override { Shutdown(); }

  absl::Status Listen(const v1::ApiSettings& settings) {
    ASSIGN_OR_RETURN(ListenSecurity security, ResolveListenSecurity(settings, auth_.open()));
    const std::string& listen = security.listen;
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    builder.SetMaxReceiveMessageSize(options_.max_receive_message_bytes);
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options_.max_concurrent_streams);
    builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE, options_.max_metadata_bytes);
    // Connections with no call for this long are closed (Watch streams keep theirs open).
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, 10 * 60 * 1000);
    builder.AddListeningPort(listen, security.credentials, &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port_ == 0) {
      return absl::UnavailableError(absl::StrCat("cannot listen on ", listen));
    }
    if (auto* health = server_->GetHealthCheckService()) {
      health->SetServingStatus(true);
      health->SetServingStatus(kServiceName, true);
    }
    deps_.logger.Info("control API listening",
                      {{"listen", listen},
                       {"port", std::to_string(port_)},
                       {"tls", security.tls_mode},
                       {"auth", auth_.open() ? "none (every caller is \"local\")" : "tokens"}});
    return absl::OkStatus();
  }

  int port() const { return port_; }

  // Called by agent threads, often under the agent's lock: only queues.
  void Publish(const agent::AgentEvent& e) {
    // A decision or an operation can change what readiness reports (an operation in flight, a
    // hold): the next check runs afresh.
    if (e.kind() == agent::AgentEvent::Kind::kDecision ||
        e.kind() == agent::AgentEvent::Kind::kOperation) {
      readiness_.Invalidate(e.group_id);
    }
    watches_.Publish(e);
  }

  std::size_t watch_subscribers() const { return watches_.subscribers(); }

  void FlushRefusalAudit() { refusals_.Flush(); }

  void Shutdown() {
    {
      absl::MutexLock lock(&mu_);
      if (shut_down_) return;
      shut_down_ = true;
    }
    watches_.Close();
    readiness_.Abandon();
    if (server_ != nullptr) {
      if (auto* health = server_->GetHealthCheckService()) health->Shutdown();
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
      server_->Wait();
    }
    pool_.Shutdown();
    operator_pool_.Shutdown();
    readiness_.Shutdown();
    refusals_.Shutdown();
  }

  // --- the service ---

  grpc::ServerUnaryReactor* ListGroups(grpc::CallbackServerContext* ctx,
                                       const v1::ListGroupsRequest* req,
                                       v1::ListGroupsResponse* resp) override {
    return Unary(ctx, "ListGroups", Role::kViewer, "", *req,
                 [this, req, resp](const Caller&) { return DoListGroups(*req, resp); });
  }

  grpc::ServerUnaryReactor* GetGroup(grpc::CallbackServerContext* ctx,
                                     const v1::GetGroupRequest* req,
                                     v1::GetGroupResponse* resp) override {
    return Unary(ctx, "GetGroup", Role::kViewer, "", *req, [this, req, resp](const Caller&) {
      ASSIGN_OR_RETURN(agent::GroupSnapshot g, ResolveGroup(req->group_id()));
      *resp->mutable_group() = ToProto(g);
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* ListOperations(grpc::CallbackServerContext* ctx,
                                           const v1::ListOperationsRequest* req,
                                           v1::ListOperationsResponse* resp) override {
    return Unary(ctx, "ListOperations", Role::kViewer, "", *req, [this, req, resp](const Caller&) {
      std::string group_id;
      if (!req->group_id().empty()) {
        ASSIGN_OR_RETURN(agent::GroupSnapshot g, ResolveGroup(req->group_id()));
        group_id = g.id;
      }
      ASSIGN_OR_RETURN(std::vector<journal::OperationRecord> ops,
                       deps_.journal.ListOperations(group_id, PageSize(req->page_size())));
      for (const journal::OperationRecord& op : ops) {
        std::vector<journal::StepRecord> steps;
        if (req->include_steps()) {
          ASSIGN_OR_RETURN(steps, deps_.journal.Steps(op.id));
        }
        *resp->add_operations() = OperationToProto(op, steps);
      }
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* GetOperation(grpc::CallbackServerContext* ctx,
                                         const v1::GetOperationRequest* req,
                                         v1::GetOperationResponse* resp) override {
    return Unary(ctx, "GetOperation", Role::kViewer, "", *req, [this, req, resp](const Caller&) {
      if (req->operation_id().empty()) {
        return absl::InvalidArgumentError("operation_id is required");
      }
      ASSIGN_OR_RETURN(journal::OperationRecord op,
                       deps_.journal.GetOperation(req->operation_id()));
      ASSIGN_OR_RETURN(std::vector<journal::StepRecord> steps, deps_.journal.Steps(op.id));
      *resp->mutable_operation() = OperationToProto(op, steps);
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* ListDecisions(grpc::CallbackServerContext* ctx,
                                          const v1::ListDecisionsRequest* req,
                                          v1::ListDecisionsResponse* resp) override {
    return Unary(ctx, "ListDecisions", Role::kViewer, "", *req, [this, req, resp](const Caller&) {
      ASSIGN_OR_RETURN(agent::GroupSnapshot g, ResolveGroup(req->group_id()));
      ASSIGN_OR_RETURN(std::vector<journal::DecisionRecord> decisions,
                       deps_.journal.Decisions(g.id, PageSize(req->page_size())));
      for (const journal::DecisionRecord& d : decisions) {
        *resp->add_decisions() = DecisionRecordToProto(d);
      }
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* RequestFailover(grpc::CallbackServerContext* ctx,
                                            const v1::RequestFailoverRequest* req,
                                            v1::RequestFailoverResponse* resp) override {
    return Unary(ctx, "RequestFailover", Role::kOperator, req->group_id(), *req,
                 [this, req, resp](const Caller& caller) {
                   absl::Status s = DoRequestFailover(caller, *req, resp);
                   // The agent audits the failovers it starts; everything else is audited here.
                   if (!s.ok() || req->dry_run() || !resp->created()) {
                     Audit(caller.name, "RequestFailover", req->group_id(),
                           absl::StrCat(v1::FailoverKind_Name(req->kind()),
                                        req->dry_run() ? " (dry run)" : "",
                                        " request_id=", req->request_id(), ": ", req->reason(),
                                        req->override_holds() ? " (override_holds: " : "",
                                        req->override_reason(), req->override_holds() ? ")" : ""),
                           !s.ok()          ? s.ToString()
                           : req->dry_run() ? "dry run ok"
                                            : "existing operation " + resp->operation().id());
                   }
                   return s;
                 });
  }

  grpc::ServerUnaryReactor* CancelOperation(grpc::CallbackServerContext* ctx,
                                            const v1::CancelOperationRequest* req,
                                            v1::CancelOperationResponse* resp) override {
    return Unary(ctx, "CancelOperation", Role::kOperator, req->operation_id(), *req,
                 [this, req, resp](const Caller& caller) {
                   absl::Status s = DoCancel(caller.name, *req, resp);
                   // A cancel the agent accepted is audited by the agent.
                   if (!s.ok()) {
                     Audit(caller.name, "CancelOperation", req->operation_id(), req->reason(),
                           s.ToString());
                   }
                   return s;
                 });
  }

  grpc::ServerUnaryReactor* ApproveDecision(grpc::CallbackServerContext* ctx,
                                            const v1::ApproveDecisionRequest* req,
                                            v1::ApproveDecisionResponse* resp) override {
    return Unary(ctx, "ApproveDecision", Role::kApprover, req->group_id(), *req,
                 [this, req, resp](const Caller& caller) {
                   return DoApprove(caller, "ApproveDecision", req->group_id(), true,
                                    req->allow_data_loss_over_budget(), req->reason(),
                                    resp->mutable_group());
                 });
  }

  grpc::ServerUnaryReactor* RejectDecision(grpc::CallbackServerContext* ctx,
                                           const v1::RejectDecisionRequest* req,
                                           v1::RejectDecisionResponse* resp) override {
    return Unary(ctx, "RejectDecision", Role::kApprover, req->group_id(), *req,
                 [this, req, resp](const Caller& caller) {
                   return DoApprove(caller, "RejectDecision", req->group_id(), false, false,
                                    req->reason(), resp->mutable_group());
                 });
  }

  grpc::ServerUnaryReactor* PauseAutomation(grpc::CallbackServerContext* ctx,
                                            const v1::PauseAutomationRequest* req,
                                            v1::PauseAutomationResponse* resp) override {
    return Unary(ctx, "PauseAutomation", Role::kOperator, req->group_id(), *req,
                 [this, req, resp](const Caller& caller) {
                   absl::Status s = DoPause(caller, *req, resp);
                   if (!s.ok()) {
                     Audit(caller.name, "PauseAutomation", req->group_id(), req->reason(),
                           s.ToString());
                   }
                   return s;
                 });
  }

  grpc::ServerUnaryReactor* ResumeAutomation(grpc::CallbackServerContext* ctx,
                                             const v1::ResumeAutomationRequest* req,
                                             v1::ResumeAutomationResponse*) override {
    return Unary(ctx, "ResumeAutomation", Role::kOperator, req->group_id(), *req,
                 [this, req](const Caller& caller) {
                   absl::Status s = DoResume(caller, *req);
                   if (!s.ok()) {
                     Audit(caller.name, "ResumeAutomation", req->group_id(), "", s.ToString());
                   }
                   return s;
                 });
  }

  grpc::ServerUnaryReactor* ValidateRunbook(grpc::CallbackServerContext* ctx,
                                            const v1::ValidateRunbookRequest* req,
                                            v1::ValidateRunbookResponse* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    absl::StatusOr<Caller> caller = Check(ctx, Role::kViewer, "ValidateRunbook");
    if (!caller.ok()) {
      Finish(reactor, "ValidateRunbook", caller.status());
      return reactor;
    }
    if (absl::Status invalid = ValidateRequest(*req); !invalid.ok()) {
      Finish(reactor, "ValidateRunbook", invalid);
      return reactor;
    }
    // Loading a large runbook can take a second and ~150 MB: one at a time, claimed before the
    // call is queued (so no number of callers can park runbook texts in the queue).
    if (validating_.fetch_add(1) >= 1) {
      validating_.fetch_sub(1);
      Finish(reactor, "ValidateRunbook",
             Overloaded("concurrent ValidateRunbook calls (one at a time)"));
      return reactor;
    }
    Submit(
        pool_, reactor, "ValidateRunbook",
        [req, resp]() -> absl::Status {
          const std::string file = req->file_name().empty() ? "runbook.yaml" : req->file_name();
          runbooks::LoadResult loaded = runbooks::LoadRunbookSources({{file, req->text()}});
          for (const config::Diagnostic& d : loaded.diagnostics) {
            v1::RunbookDiagnostic* pd = resp->add_diagnostics();
            pd->set_file(d.file);
            pd->set_line(d.line);
            pd->set_column(d.column);
            pd->set_field_path(d.field_path);
            pd->set_message(d.message);
          }
          resp->set_valid(loaded.ok());
          if (!loaded.runbooks.empty()) {
            resp->set_group_id(agent::GroupId(loaded.runbooks.front().runbook.group()));
          }
          return absl::OkStatus();
        },
        [this] { validating_.fetch_sub(1); });
    return reactor;
  }

  grpc::ServerUnaryReactor* StartDrill(grpc::CallbackServerContext* ctx,
                                       const v1::StartDrillRequest* req,
                                       v1::StartDrillResponse* resp) override {
    return Unary(ctx, "StartDrill", Role::kOperator, req->group_id(), *req,
                 [this, req, resp](const Caller& caller) {
                   absl::Status s = DoStartDrill(caller, *req, resp);
                   Audit(caller.name, "StartDrill", req->group_id(),
                         absl::StrCat(req->dry_run() ? "(dry run) " : "",
                                      "request_id=", req->request_id(), ": ", req->reason()),
                         !s.ok()          ? s.ToString()
                         : req->dry_run() ? "dry run ok"
                         : resp->created()
                             ? "started drill " + resp->drill_id()
                             : absl::StrCat("existing drill ", resp->drill_id(), " (operation ",
                                            resp->operation().id(), ")"));
                   return s;
                 });
  }

  grpc::ServerUnaryReactor* CheckReadiness(grpc::CallbackServerContext* ctx,
                                           const v1::CheckReadinessRequest* req,
                                           v1::CheckReadinessResponse* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    absl::StatusOr<Caller> caller = Check(ctx, Role::kViewer, "CheckReadiness");
    if (!caller.ok()) {
      Finish(reactor, "CheckReadiness", caller.status());
      return reactor;
    }
    if (absl::Status invalid = ValidateRequest(*req); !invalid.ok()) {
      Finish(reactor, "CheckReadiness", invalid);
      return reactor;
    }
    if (!TakeReadSlot(caller->name)) {
      Finish(reactor, "CheckReadiness", Overloaded("read-only calls in flight for this caller"));
      return reactor;
    }
    // Resolving the group reads the agent: on the read pool. The check itself runs on the
    // readiness pool, shared by every caller asking about the same group meanwhile.
    Submit(
        pool_, reactor, "CheckReadiness",
        [this, reactor, req, resp]() -> absl::Status {
          RETURN_IF_ERROR(DrillsEnabled());
          ASSIGN_OR_RETURN(agent::GroupSnapshot g, ResolveGroup(req->group_id()));
          return readiness_.Await(g, reactor, resp);
        },
        [this, name = caller->name] { ReleaseReadSlot(name); });
    return reactor;
  }

  grpc::ServerUnaryReactor* ListDrillReports(grpc::CallbackServerContext* ctx,
                                             const v1::ListDrillReportsRequest* req,
                                             v1::ListDrillReportsResponse* resp) override {
    return Unary(ctx, "ListDrillReports", Role::kViewer, "", *req,
                 [this, req, resp](const Caller&) { return DoListDrillReports(*req, resp); });
  }

  grpc::ServerUnaryReactor* GetDrillReport(grpc::CallbackServerContext* ctx,
                                           const v1::GetDrillReportRequest* req,
                                           v1::GetDrillReportResponse* resp) override {
    return Unary(ctx, "GetDrillReport", Role::kViewer, "", *req,
                 [this, req, resp](const Caller&) { return DoGetDrillReport(*req, resp); });
  }

  grpc::ServerWriteReactor<v1::WatchResponse>* Watch(grpc::CallbackServerContext* ctx,
                                                     const v1::WatchRequest* req) override {
    return watches_.Open(ctx, req);
  }

 private:
  // Authenticates and authorizes inline (no I/O), then runs `fn` on the pool for its role (reads
  // for viewers, mutations above) and finishes the call with its status. Refused calls of
  // mutating methods (a role above viewer) are audited through the refusal auditor, which
  // aggregates a caller's repeated refusals; when its queue is full the call is answered
  // RESOURCE_EXHAUSTED.
  template <typename Req, typename Fn>
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* ctx, const char* method,
                                  Role required, std::string target, const Req& req, Fn fn) {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    absl::StatusOr<Caller> caller = Check(ctx, required, method);
    if (!caller.ok()) {
      absl::Status answer = caller.status();
      if (required != Role::kViewer) {
        RefusalAuditor::Caller who = caller.status().code() == absl::StatusCode::kPermissionDenied
                                         ? RefusalAuditor::Caller{CallerName(ctx), true}
                                         : RefusalAuditor::Caller{PeerHost(ctx->peer()), false};
        absl::Status audited = refusals_.Refused(who, method, target, caller.status());
        if (!audited.ok()) answer = audited;
      }
      Finish(reactor, method, answer);
      return reactor;
    }
    // Field sizes, enums and filters are checked before the call takes a thread (a refused
    // mutating call is audited like any refusal).
    if (absl::Status invalid = ValidateRequest(req); !invalid.ok()) {
      if (required != Role::kViewer) {
        absl::Status audited = refusals_.Refused({caller->name, true}, method, target, invalid);
        if (!audited.ok()) invalid = audited;
      }
      Finish(reactor, method, invalid);
      return reactor;
    }
    if (required == Role::kViewer) {
      // Reads by operators and approvers (the CLI's Watch-then-failover flow, GetOperation while
      // a failover runs) use the operators' pool: viewers cannot queue in front of them.
      if (caller->role >= Role::kOperator && !auth_.open()) {
        Submit(operator_pool_, reactor, method,
               [fn = std::move(fn), c = *caller]() mutable { return fn(c); });
        return reactor;
      }
      if (!TakeReadSlot(caller->name)) {
        Finish(reactor, method, Overloaded("read-only calls in flight for this caller"));
        return reactor;
      }
      Submit(
          pool_, reactor, method, [fn = std::move(fn), c = *caller]() mutable { return fn(c); },
          [this, name = caller->name] { ReleaseReadSlot(name); });
    } else {
      // A pause, a resume, a failover or a drill changes what readiness reports.
      Submit(operator_pool_, reactor, method, [this, fn = std::move(fn), c = *caller]() mutable {
        absl::Status s = fn(c);
        readiness_.Invalidate("");
        return s;
      });
    }
    return reactor;
  }

  // Runs `fn` on `pool` and finishes the call with its status; `done` runs once afterwards (or at
  // once when the pool refuses the call).
  template <typename Fn>
  void Submit(BoundedPool& pool, grpc::ServerUnaryReactor* reactor, const char* method, Fn fn,
              std::function<void()> done = nullptr) {
    BoundedPool::Submitted submitted =
        pool.Submit([this, reactor, method, fn = std::move(fn), done]() mutable {
          absl::Status s = fn();
          if (done) done();
          Finish(reactor, method, s);
        });
    if (submitted != BoundedPool::Submitted::kQueued && done) done();
    if (submitted == BoundedPool::Submitted::kFull) {
      Finish(reactor, method,
             Overloaded(&pool == &pool_ ? "queued read-only calls" : "queued mutating calls"));
    } else if (submitted == BoundedPool::Submitted::kShutDown) {
      Finish(reactor, method, absl::UnavailableError("the agent is shutting down"));
    }
  }

  void Finish(grpc::ServerUnaryReactor* reactor, const char* method, const absl::Status& s) {
    // A handler that finishes the call later (SharedReadiness::Await) returns this marker.
    if (IsDeferred(s)) return;
    deps_.metrics.IncrementCounter(
        "foghorn_api_requests_total",
        {{"method", method}, {"code", absl::StatusCodeToString(s.code())}});
    reactor->Finish(ToGrpcStatus(s));
  }

  absl::StatusOr<Caller> Check(grpc::CallbackServerContext* ctx, Role required,
                               absl::string_view method) const {
    ASSIGN_OR_RETURN(Caller caller, auth_.Authenticate(Authorization(ctx)));
    RETURN_IF_ERROR(Authenticator::Authorize(caller, required, method));
    return caller;
  }

  // What the Watch streams need: authentication, group names, and the pool for the caller's
  // role (operators' and approvers' streams set up on the mutations pool, as their reads do).
  WatchStreams::Deps WatchStreamsDeps() {
    return {deps_.clock, deps_.metrics,
            [this](grpc::CallbackServerContext* ctx) { return Check(ctx, Role::kViewer, "Watch"); },
            [this](const std::string& id_or_name) -> absl::StatusOr<std::string> {
              ASSIGN_OR_RETURN(agent::GroupSnapshot g, ResolveGroup(id_or_name));
              return g.id;
            },
            [this](const Caller& caller, std::function<void()> setup) {
              BoundedPool& pool =
                  caller.role >= Role::kOperator && !auth_.open() ? operator_pool_ : pool_;
              return pool.Submit(std::move(setup));
            }};
  }

  static absl::string_view Authorization(grpc::CallbackServerContext* ctx) {
    const auto& md = ctx->client_metadata();
    auto it = md.find("authorization");
    if (it == md.end()) return "";
    return absl::string_view(it->second.data(), it->second.size());
  }

  std::string CallerName(grpc::CallbackServerContext* ctx) const {
    absl::StatusOr<Caller> c = auth_.Authenticate(Authorization(ctx));
    return c.ok() ? c->name : "unauthenticated";
  }

  void Audit(const std::string& actor, const std::string& action, const std::string& target,
             const std::string& detail, const std::string& outcome) {
    absl::Status s =
        deps_.journal.Audit({0, absl::InfinitePast(), actor, action, target, detail, outcome});
    if (!s.ok()) {
      deps_.logger.Error("cannot write the audit trail",
                         {{"action", action}, {"actor", actor}, {"error", s.ToString()}});
    }
  }

  // A read-only call slot of `caller` (a token name, or "local"): at most
  // max_reads_per_caller in flight, so one viewer cannot fill the read pool's queue.
  bool TakeReadSlot(const std::string& caller) {
    absl::MutexLock lock(&mu_);
    int& n = reads_by_caller_[caller];
    if (n >= options_.max_reads_per_caller) return false;
    ++n;
    return true;
  }
  void ReleaseReadSlot(const std::string& caller) {
    absl::MutexLock lock(&mu_);
    auto it = reads_by_caller_.find(caller);
    if (it != reads_by_caller_.end() && --it->second <= 0) reads_by_caller_.erase(it);
  }

  absl::Time GlobalPausedUntil() { return deps_.agent.GlobalPause().first; }

  v1::FailoverGroup ToProto(const agent::GroupSnapshot& g) {
    return GroupToProto(g, deps_.clock.Now(), GlobalPausedUntil());
  }

  // An id, or a failover group name that exactly one watched group has.
  absl::StatusOr<agent::GroupSnapshot> ResolveGroup(const std::string& id_or_name) {
    if (id_or_name.empty()) return absl::InvalidArgumentError("group_id is required");
    absl::StatusOr<agent::GroupSnapshot> g = deps_.agent.Group(id_or_name);
    if (g.ok() || g.status().code() != absl::StatusCode::kNotFound ||
        absl::StrContains(id_or_name, "/")) {
      return g;
    }
    std::vector<agent::GroupSnapshot> matches;
    for (agent::GroupSnapshot& s : deps_.agent.Groups()) {
      if (s.runbook.group().name() == id_or_name) matches.push_back(std::move(s));
    }
    if (matches.size() == 1) return std::move(matches.front());
    if (matches.empty()) return g.status();
    return absl::InvalidArgumentError(absl::StrCat("several groups are named ", id_or_name,
                                                   ": use the full id <subscription>/<rg>/<name>"));
  }

  // Sorted group ids, cached for a second: a page then costs one snapshot per group on it
  // instead of one per watched group (the set changes only when runbooks are reloaded).
  std::vector<std::string> GroupIds() {
    const absl::Time now = deps_.clock.Now();
    {
      absl::MutexLock lock(&mu_);
      if (now - ids_read_at_ < absl::Seconds(1)) return ids_;
    }
    std::vector<std::string> ids;
    for (const agent::GroupSnapshot& g : deps_.agent.Groups()) ids.push_back(g.id);
    std::sort(ids.begin(), ids.end());
    absl::MutexLock lock(&mu_);
    ids_ = ids;
    ids_read_at_ = now;
    return ids;
  }

  absl::Status DoListGroups(const v1::ListGroupsRequest& req, v1::ListGroupsResponse* resp) {
    const absl::Time now = deps_.clock.Now();
    const absl::Time global = GlobalPausedUntil();
    if (req.page_size() == 0 && req.page_token().empty()) {
      std::vector<agent::GroupSnapshot> groups = deps_.agent.Groups();
      std::sort(groups.begin(), groups.end(),
                [](const auto& a, const auto& b) { return a.id < b.id; });
      for (const agent::GroupSnapshot& g : groups)
        *resp->add_groups() = GroupToProto(g, now, global);
    } else {
      std::vector<std::string> ids = GroupIds();
      auto it = std::upper_bound(ids.begin(), ids.end(), req.page_token());
      if (req.page_token().empty()) it = ids.begin();
      for (; it != ids.end(); ++it) {
        if (req.page_size() > 0 && resp->groups_size() == req.page_size()) {
          resp->set_next_page_token(resp->groups(resp->groups_size() - 1).id());
          break;
        }
        absl::StatusOr<agent::GroupSnapshot> g = deps_.agent.Group(*it);
        if (!g.ok()) continue;  // removed since the ids were read
        *resp->add_groups() = GroupToProto(*g, now, global);
      }
    }
    v1::PauseState* pause = resp->mutable_global_pause();
    const auto [until, reason] = deps_.agent.GlobalPause();
    if (until > now) {
      pause->set_paused(true);
      pause->set_global(true);
      if (IsFinite(until)) SetTimestamp(until, pause->mutable_until());
      pause->set_reason(reason);
    }
    return absl::OkStatus();
  }

  absl::Status DoRequestFailover(const Caller& caller, const v1::RequestFailoverRequest& req,
                                 v1::RequestFailoverResponse* resp) {
    if (req.reason().empty() && !req.dry_run()) {
      return absl::InvalidArgumentError("reason is required");
    }
    if (!IsValidKind(req.kind())) return absl::InvalidArgumentError("unknown kind");
    if (absl::StartsWith(req.request_id(), "auto/")) {
      // The agent's own ids: a person must not pre-claim (then cancel) the operation an outage
      // would start, to suppress the automatic failover.
      return absl::InvalidArgumentError(
          "request ids starting with auto/ are reserved for the agent");
    }
    ASSIGN_OR_RETURN(agent::GroupSnapshot g, ResolveGroup(req.group_id()));
    agent::FailoverRequest fr;
    fr.group_id = g.id;
    fr.kind = req.kind() == v1::FAILOVER_KIND_UNSPECIFIED ? v1::FAILOVER_KIND_AUTO : req.kind();
    fr.requested_by = caller.name;
    fr.reason = req.reason();
    fr.request_id = req.request_id();
    fr.dry_run = req.dry_run();
    // Roles beyond the method's: a kind that may lose data, and an override of the holds, need
    // an approver (the agent decides with the group's state; manual_request.h).
    fr.approver = caller.role >= Role::kApprover;
    fr.override_holds = req.override_holds();
    fr.override_reason = req.override_reason();
    // Requests are serialised (they are rare and each is one journal insert), so a retry racing
    // the original finds its operation journaled instead of seeing the group busy.
    absl::MutexLock serial(&failover_mu_);
    absl::StatusOr<agent::FailoverResponse> r = deps_.agent.RequestFailover(fr);
    if (!r.ok() && r.status().code() == absl::StatusCode::kAborted && !req.request_id().empty() &&
        !req.dry_run()) {
      // A concurrent retry of the same request holds the group: it is the same operation.
      ASSIGN_OR_RETURN(auto existing, deps_.journal.FindByRequestId(req.request_id()));
      if (existing && existing->group_id == g.id) {
        agent::FailoverResponse same;
        same.operation = *existing;
        same.created = false;
        same.kind = OperationKindToProto(existing->kind);
        r = same;
      }
    }
    if (!r.ok()) return r.status();
    if (!req.dry_run()) *resp->mutable_operation() = OperationToProto(r->operation, {});
    resp->set_created(r->created);
    v1::FailoverPlan* plan = resp->mutable_plan();
    plan->set_kind(r->kind);
    plan->set_source_server(g.roles.primary_server);
    plan->set_target_server(req.dry_run() || r->operation.target_server.empty()
                                ? g.roles.secondary_server
                                : r->operation.target_server);
    for (const auto& step : g.runbook.pre_steps()) plan->add_pre_steps(step.name());
    for (const auto& step : g.runbook.post_steps()) plan->add_post_steps(step.name());
    if (r->created || req.dry_run()) *resp->mutable_decision() = DecisionToProto(r->decision);
    return absl::OkStatus();
  }

  absl::Status DrillsEnabled() const {
    if (deps_.drills == nullptr) {
      return absl::UnimplementedError(
          "drills are not enabled on this agent (it was started without a drill runner)");
    }
    return absl::OkStatus();
  }

  absl::Status DoStartDrill(const Caller& caller, const v1::StartDrillRequest& req,
                            v1::StartDrillResponse* resp) {
    RETURN_IF_ERROR(DrillsEnabled());
    if (req.reason().empty() && !req.dry_run()) {
      return absl::InvalidArgumentError("reason is required");
    }
    if (absl::StartsWith(req.request_id(), "auto/")) {
      return absl::InvalidArgumentError(
          "request ids starting with auto/ are reserved for the agent");
    }
    drill::DrillRequest dr;
    if (req.has_hold()) {
      ASSIGN_OR_RETURN(absl::Duration hold, common::FromProtoDurationChecked(req.hold()));
      if (hold < absl::ZeroDuration()) {
        return absl::InvalidArgumentError("hold must not be negative");
      }
      dr.hold = hold;
    }
    ASSIGN_OR_RETURN(agent::GroupSnapshot g, ResolveGroup(req.group_id()));
    dr.dry_run = req.dry_run();
    dr.requested_by = caller.name;
    dr.reason = req.reason();
    dr.request_id = req.request_id();
    if (req.dry_run()) {
      ASSIGN_OR_RETURN(drill::DrillReport plan, deps_.drills->Plan(g.runbook, dr));
      resp->set_drill_id(plan.drill_id());
      resp->set_created(false);
      *resp->mutable_plan() = DrillReportForApi(plan);
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(drill::DrillLauncher::Launch launch, deps_.drills->Start(g.runbook, dr));
    resp->set_drill_id(launch.drill_id);
    resp->set_created(launch.created);
    resp->set_request_id(launch.request_id);
    if (launch.existing.has_value()) {
      *resp->mutable_operation() = OperationToProto(*launch.existing, {});
      if (resp->drill_id().empty()) {
        // Started by an earlier agent process: the report (if saved) names the operation.
        if (drill::ReportStore* store = deps_.drills->reports()) {
          auto list = store->List(g.id, 0);
          if (list.ok()) {
            for (const v1::DrillReportSummary& sum : *list) {
              auto rep = store->Read(sum.drill_id());
              if (rep.ok() && rep->operation_id() == launch.existing->id) {
                resp->set_drill_id(sum.drill_id());
                break;
              }
            }
          }
        }
      }
    }
    return absl::OkStatus();
  }

  absl::Status DoListDrillReports(const v1::ListDrillReportsRequest& req,
                                  v1::ListDrillReportsResponse* resp) {
    RETURN_IF_ERROR(DrillsEnabled());
    const int limit = PageSize(req.page_size());
    std::string group_id;
    if (!req.group_id().empty()) {
      ASSIGN_OR_RETURN(agent::GroupSnapshot g, ResolveGroup(req.group_id()));
      group_id = g.id;
    }
    std::set<std::string> listed;
    for (const drill::DrillLauncher::Info& d : deps_.drills->Drills()) {
      if (!d.running || (!group_id.empty() && d.group_id != group_id)) continue;
      if (resp->reports_size() >= limit) break;
      v1::DrillReportSummary* s = resp->add_reports();
      s->set_drill_id(d.drill_id);
      s->set_group_id(d.group_id);
      s->set_outcome(v1::DRILL_OUTCOME_RUNNING);
      if (IsFinite(d.started_at)) SetTimestamp(d.started_at, s->mutable_started_at());
      listed.insert(d.drill_id);
    }
    if (drill::ReportStore* store = deps_.drills->reports()) {
      ASSIGN_OR_RETURN(std::vector<v1::DrillReportSummary> stored, store->List(group_id, limit));
      for (v1::DrillReportSummary& sum : stored) {
        if (resp->reports_size() >= limit) break;
        if (listed.count(sum.drill_id())) continue;
        *resp->add_reports() = std::move(sum);
      }
    }
    return absl::OkStatus();
  }

  absl::Status DoGetDrillReport(const v1::GetDrillReportRequest& req,
                                v1::GetDrillReportResponse* resp) {
    RETURN_IF_ERROR(DrillsEnabled());
    const std::string& id = req.drill_id();
    if (id.empty()) return absl::InvalidArgumentError("drill_id is required");
    if (absl::StrContains(id, "/") || absl::StrContains(id, "\\") || id[0] == '.') {
      return absl::InvalidArgumentError(absl::StrCat("drill_id \"", id, "\" is malformed"));
    }
    std::optional<drill::DrillLauncher::Info> info = deps_.drills->Find(id);
    if (info.has_value() && info->running) {
      v1::DrillReport* r = resp->mutable_report();
      r->set_drill_id(id);
      r->set_group_id(info->group_id);
      r->set_outcome(v1::DRILL_OUTCOME_RUNNING);
      r->set_requested_by(info->requested_by);
      r->set_reason(info->reason);
      if (IsFinite(info->started_at)) SetTimestamp(info->started_at, r->mutable_started_at());
      ASSIGN_OR_RETURN(std::optional<journal::OperationRecord> op,
                       deps_.journal.FindByRequestId(info->request_id));
      if (op.has_value()) {
        r->set_operation_id(op->id);
        ASSIGN_OR_RETURN(std::vector<journal::StepRecord> steps, deps_.journal.Steps(op->id));
        for (const journal::StepRecord& st : steps) {
          v1::DrillStep* s = r->add_steps();
          s->set_name(st.name);
          s->set_state(DrillStepStateToProto(st.state));
          s->set_detail(st.detail);
          if (IsFinite(st.started_at)) SetTimestamp(st.started_at, s->mutable_started_at());
          if (IsFinite(st.finished_at)) SetTimestamp(st.finished_at, s->mutable_finished_at());
        }
      }
      return absl::OkStatus();
    }
    if (info.has_value() && !info->report.has_value()) {
      v1::DrillReport* r = resp->mutable_report();
      r->set_drill_id(id);
      r->set_group_id(info->group_id);
      r->set_outcome(v1::DRILL_OUTCOME_ERROR);
      r->set_summary(absl::StrCat("the drill could not run: ", info->error.ToString()));
      r->set_requested_by(info->requested_by);
      r->set_reason(info->reason);
      if (IsFinite(info->started_at)) SetTimestamp(info->started_at, r->mutable_started_at());
      return absl::OkStatus();
    }
    drill::DrillReport report;
    drill::ReportStore* store = deps_.drills->reports();
    if (store != nullptr) {
      absl::StatusOr<drill::DrillReport> read = store->Read(id);
      if (read.ok()) {
        report = std::move(read).value();
        resp->set_json_path(absl::StrCat(store->dir(), "/", id, ".json"));
        resp->set_html_path(absl::StrCat(store->dir(), "/", id, ".html"));
      } else if (!info.has_value()) {
        return read.status();
      } else {
        report = *info->report;
      }
    } else if (info.has_value()) {
      report = *info->report;
    } else {
      return absl::NotFoundError(absl::StrCat("no drill report ", id));
    }
    *resp->mutable_report() = DrillReportForApi(report);
    if (info.has_value()) {
      resp->mutable_report()->set_requested_by(info->requested_by);
      resp->mutable_report()->set_reason(info->reason);
    }
    ASSIGN_OR_RETURN(std::string report_json, drill::ReportToJson(report));
    resp->set_report_json(std::move(report_json));
    if (req.include_html()) resp->set_html(drill::RenderReportHtml(report));
    return absl::OkStatus();
  }

  absl::Status DoCancel(const std::string& caller_name, const v1::CancelOperationRequest& req,
                        v1::CancelOperationResponse* resp) {
    if (req.operation_id().empty()) return absl::InvalidArgumentError("operation_id is required");
    if (req.reason().empty()) return absl::InvalidArgumentError("reason is required");
    ASSIGN_OR_RETURN(journal::OperationRecord op, deps_.journal.GetOperation(req.operation_id()));
    *resp->mutable_operation() = OperationToProto(op, {});
    if (journal::IsFinished(op.state)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "operation ", op.id, " already finished (", journal::OperationStateName(op.state), ")"));
    }
    absl::Status s = deps_.agent.CancelOperation(op.id, caller_name, req.reason());
    // The agent reports a finished operation as NOT_FOUND; to the API it is a state problem.
    if (s.code() == absl::StatusCode::kNotFound) return absl::FailedPreconditionError(s.message());
    return s;
  }

  absl::Status DoApprove(const Caller& caller, const char* method, const std::string& group,
                         bool approve, bool allow_over_budget, const std::string& reason,
                         v1::FailoverGroup* out) {
    absl::Status s = [&]() -> absl::Status {
      if (reason.empty()) return absl::InvalidArgumentError("reason is required");
      ASSIGN_OR_RETURN(agent::GroupSnapshot g, ResolveGroup(group));
      RETURN_IF_ERROR(deps_.agent.Approve(g.id, approve, allow_over_budget, caller.name, reason));
      ASSIGN_OR_RETURN(agent::GroupSnapshot after, deps_.agent.Group(g.id));
      *out = ToProto(after);
      return absl::OkStatus();
    }();
    // The agent audits a granted or rejected approval; refusals are audited here.
    if (!s.ok()) Audit(caller.name, method, group, reason, s.ToString());
    return s;
  }

  absl::Status DoPause(const Caller& caller, const v1::PauseAutomationRequest& req,
                       v1::PauseAutomationResponse* resp) {
    if (req.reason().empty()) return absl::InvalidArgumentError("reason is required");
    ASSIGN_OR_RETURN(absl::Duration d, common::FromProtoDurationChecked(req.duration()));
    if (d < absl::ZeroDuration())
      return absl::InvalidArgumentError("duration must not be negative");
    const absl::Time now = deps_.clock.Now();
    const absl::Time until = d == absl::ZeroDuration() ? absl::InfiniteFuture() : now + d;
    std::string group_id;
    if (!req.group_id().empty()) {
      ASSIGN_OR_RETURN(agent::GroupSnapshot g, ResolveGroup(req.group_id()));
      group_id = g.id;
    }
    RETURN_IF_ERROR(deps_.agent.Pause(group_id, until, req.reason(), caller.name));
    v1::PauseState* p = resp->mutable_pause();
    p->set_paused(true);
    if (IsFinite(until)) SetTimestamp(until, p->mutable_until());
    p->set_reason(req.reason());
    p->set_global(group_id.empty());
    return absl::OkStatus();
  }

  absl::Status DoResume(const Caller& caller, const v1::ResumeAutomationRequest& req) {
    std::string group_id;
    if (!req.group_id().empty()) {
      ASSIGN_OR_RETURN(agent::GroupSnapshot g, ResolveGroup(req.group_id()));
      group_id = g.id;
    }
    RETURN_IF_ERROR(deps_.agent.Resume(group_id, caller.name));
    return absl::OkStatus();
  }

  ApiServerDeps deps_;
  const Authenticator auth_;
  const Options options_;
  BoundedPool pool_;
  BoundedPool operator_pool_;
  std::atomic<int> validating_{0};
  SharedReadiness readiness_;
  WatchStreams watches_;
  RefusalAuditor refusals_;

  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  absl::Mutex failover_mu_;
  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::string> ids_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> reads_by_caller_ ABSL_GUARDED_BY(mu_);
  absl::Time ids_read_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

ApiServer::ApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ApiServer::~ApiServer() { Shutdown(); }

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(const v1::ApiSettings& settings,
                                                            ApiServerDeps deps) {
  return Start(settings, std::move(deps), Options{});
}

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(const v1::ApiSettings& settings,
                                                            ApiServerDeps deps, Options options) {
  ASSIGN_OR_RETURN(Authenticator auth, Authenticator::FromSettings(settings));
  auto impl = std::make_unique<Impl>(std::move(deps), std::move(auth), options);
  RETURN_IF_ERROR(impl->Listen(settings));
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(impl)));
}

int ApiServer::port() const { return impl_->port(); }

void ApiServer::Publish(const agent::AgentEvent& e) { impl_->Publish(e); }

void ApiServer::Shutdown() { impl_->Shutdown(); }

std::size_t ApiServer::watch_subscribers() const { return impl_->watch_subscribers(); }

void ApiServer::FlushRefusalAudit() { impl_->FlushRefusalAudit(); }

}  // namespace foghorn::api
