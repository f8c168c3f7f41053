#include "orchestrator/api/api_server.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "foghorn/v1/control.grpc.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "orchestrator/api/auth.h"
#include "orchestrator/api/convert.h"
#include "orchestrator/api/refusal_audit.h"
#include "orchestrator/api/request_limits.h"
#include "orchestrator/api/watch_hub.h"
#include "orchestrator/common/durations.h"
#include "orchestrator/common/files.h"
#include "orchestrator/common/host_port.h"
#include "orchestrator/common/status_macros.h"
#include "orchestrator/common/worker_pool.h"
#include "orchestrator/drill/report_html.h"
#include "orchestrator/drill/report_store.h"
#include "runbooks/loader.h"

namespace foghorn::api {
namespace {

constexpr char kDefaultListen[] = "127.0.0.1:7443";
constexpr char kServiceName[] = "foghorn.v1.ControlService";
constexpr int kDefaultPageSize = 50;
// Marks a handler's status as "the call is finished elsewhere".
constexpr char kDeferredPayload[] = "type.foghorn.dev/deferred";

// A TLS file named in the API settings (common::ReadFile, 1 MiB at most), NOT_FOUND naming
// `what` when it cannot be read.
absl::StatusOr<std::string> ReadFile(const std::string& path, const std::string& what) {
  absl::StatusOr<std::string> text = common::ReadFile(path, std::size_t{1} << 20);
  if (!text.ok()) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", what, " ", path, ": ", text.status().message()));
  }
  return text;
}

// True for 127.0.0.0/8, ::1 and localhost (common::IsLoopbackHost).
absl::StatusOr<bool> IsLoopbackListen(const std::string& listen) {
  absl::StatusOr<common::HostPort> address =
      common::ParseHostPort(listen, {.allow_port_zero = true, .default_port = std::nullopt});
  if (!address.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("api.listen: ", address.status().message()));
  }
  return common::IsLoopbackHost(address->host);
}

bool IsValidKind(v1::FailoverKind kind) { return v1::FailoverKind_IsValid(kind); }

int PageSize(int requested) { return requested == 0 ? kDefaultPageSize : requested; }

// A worker pool that refuses work beyond `threads + max_queued` tasks in flight, so a flood of
// calls is answered RESOURCE_EXHAUSTED instead of queueing without bound.
class BoundedPool {
 public:
  enum class Submitted { kQueued, kFull, kShutDown };

  BoundedPool(int threads, int max_queued)
      : pool_(std::max(threads, 1)), limit_(std::max(threads, 1) + std::max(max_queued, 0)) {}

  template <typename Fn>
  Submitted Submit(Fn fn) {
    if (in_flight_.fetch_add(1) >= limit_) {
      in_flight_.fetch_sub(1);
      return Submitted::kFull;
    }
    bool queued = pool_.Submit([this, fn = std::move(fn)]() mutable {
      fn();
      in_flight_.fetch_sub(1);
    });
    if (!queued) {
      in_flight_.fetch_sub(1);
      return Submitted::kShutDown;
    }
    return Submitted::kQueued;
  }

  void Shutdown() { pool_.Shutdown(); }

 private:
  common::WorkerPool pool_;
  const int limit_;
  std::atomic<int> in_flight_{0};
};

// The peer's address without its port ("ipv4:127.0.0.1:5000" -> "127.0.0.1"), for refusals of
// callers that have no name.
std::string PeerHost(const std::string& peer) {
  // gRPC percent-encodes the brackets of IPv6 peers ("ipv6:%5B::1%5D:5000").
  std::string p = absl::StrReplaceAll(
      peer, {{"%5B", "["}, {"%5D", "]"}, {"%5b", "["}, {"%5d", "]"}, {"%25", "%"}});
  for (const char* prefix : {"ipv4:", "ipv6:", "unix:"}) {
    if (absl::StartsWith(p, prefix)) p = p.substr(std::strlen(prefix));
  }
  absl::StatusOr<common::HostPort> address =
      common::ParseHostPort(p, {.allow_port_zero = true, .default_port = 0});
  if (address.ok()) return address->host;
  return EchoForMessage(p);
}

absl::Status Overloaded(const char* what) {
  return absl::ResourceExhaustedError(
      absl::StrCat("the agent is at its limit of ", what, "; retry with backoff"));
}

}  // namespace

class ApiServer::Impl final : public v1::ControlService::CallbackService {
 public:
  Impl(ApiServerDeps deps, Authenticator auth, Options options)
      : deps_(std::move(deps)),
        auth_(std::move(auth)),
        options_(options),
        pool_(options.worker_threads, options.max_queued_reads),
        operator_pool_(options.operator_threads, options.max_queued_mutations),
        readiness_pool_(options.readiness_threads, options.max_readiness_waiters),
        hub_(static_cast<std::size_t>(options.watch_queue_capacity)),
        refusals_(deps_.journal, deps_.clock, deps_.logger.With({{"component", "api-audit"}}),
                  deps_.metrics,
                  RefusalAuditor::Options{options.refusal_audit_queue, options.refusal_audit_burst,
                                          options.refusal_audit_rows_per_window,
                                          options.refusal_audit_window, absl::Seconds(5)}) {
    fanout_thread_ = std::thread([this] { RunFanout(); });
  }

  ~Impl() override { Shutdown(); }

  absl::Status Listen(const v1::ApiSettings& settings) {
    const std::string listen = settings.listen().empty() ? kDefaultListen : settings.listen();
    ASSIGN_OR_RETURN(bool loopback, IsLoopbackListen(listen));
    const v1::ApiTls& tls = settings.tls();
    const bool has_tls = !tls.cert_file().empty() || !tls.key_file().empty();
    if (has_tls && (tls.cert_file().empty() || tls.key_file().empty())) {
      return absl::InvalidArgumentError("api.tls needs both cert_file and key_file");
    }
    if (!tls.client_ca_file().empty() && !has_tls) {
      return absl::InvalidArgumentError("api.tls.client_ca_file needs cert_file and key_file");
    }
    if (!loopback && (!has_tls || auth_.open())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "api.listen ", listen,
          " is not a loopback address: the control API then requires tls and at least one token"));
    }
    std::shared_ptr<grpc::ServerCredentials> creds;
    if (has_tls) {
      grpc::SslServerCredentialsOptions ssl;
      ASSIGN_OR_RETURN(std::string cert, ReadFile(tls.cert_file(), "api.tls.cert_file"));
      ASSIGN_OR_RETURN(std::string key, ReadFile(tls.key_file(), "api.tls.key_file"));
      ssl.pem_key_cert_pairs.push_back({key, cert});
      if (!tls.client_ca_file().empty()) {
        ASSIGN_OR_RETURN(ssl.pem_root_certs,
                         ReadFile(tls.client_ca_file(), "api.tls.client_ca_file"));
        ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
      } else {
        ssl.client_certificate_request = GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
      }
      creds = grpc::SslServerCredentials(ssl);
    } else {
      creds = grpc::InsecureServerCredentials();
    }
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    builder.SetMaxReceiveMessageSize(options_.max_receive_message_bytes);
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options_.max_concurrent_streams);
    builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE, options_.max_metadata_bytes);
    // Connections with no call for this long are closed (Watch streams keep theirs open).
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, 10 * 60 * 1000);
    builder.AddListeningPort(listen, creds, &port_);
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
                       {"tls", has_tls ? (tls.client_ca_file().empty() ? "tls" : "mtls") : "off"},
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
      InvalidateReadiness(e.group_id);
    }
    absl::MutexLock lock(&fanout_mu_);
    if (fanout_stopping_) return;
    if (static_cast<int>(fanout_queue_.size()) >= options_.fanout_queue_capacity) {
      ++fanout_dropped_;
      return;
    }
    fanout_queue_.push_back(e);
  }

  std::size_t watch_subscribers() const { return hub_.subscribers(); }

  void Shutdown() {
    {
      absl::MutexLock lock(&mu_);
      if (shut_down_) return;
      shut_down_ = true;
    }
    {
      absl::MutexLock lock(&fanout_mu_);
      fanout_stopping_ = true;
    }
    if (fanout_thread_.joinable()) fanout_thread_.join();
    hub_.Close();
    AbandonReadiness();
    if (server_ != nullptr) {
      if (auto* health = server_->GetHealthCheckService()) health->Shutdown();
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
      server_->Wait();
    }
    pool_.Shutdown();
    operator_pool_.Shutdown();
    readiness_pool_.Shutdown();
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
          for (const runbooks::Diagnostic& d : loaded.diagnostics) {
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
          return AwaitReadiness(g, reactor, resp);
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
                                                     const v1::WatchRequest* req) override;

 private:
  friend class WatchReactor;

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
        InvalidateReadiness("");
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

  // The Watch fan-out thread: converts queued agent events and hands them to the subscriptions,
  // so the agent's threads never wait on subscribers.
  void RunFanout() {
    while (true) {
      std::deque<agent::AgentEvent> batch;
      std::uint64_t dropped = 0;
      {
        absl::MutexLock lock(&fanout_mu_);
        fanout_mu_.Await(absl::Condition(
            +[](Impl* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return self->fanout_stopping_ || !self->fanout_queue_.empty() ||
                     self->fanout_dropped_ > 0;
            },
            this));
        if (fanout_stopping_) return;
        batch.swap(fanout_queue_);
        dropped = fanout_dropped_;
        fanout_dropped_ = 0;
      }
      if (dropped > 0) {
        v1::WatchResponse missed;
        missed.set_kind(v1::EVENT_KIND_MISSED);
        missed.set_missed(dropped);
        missed.set_summary(absl::StrCat(dropped,
                                        " events missed: the agent published faster than "
                                        "the Watch fan-out could deliver"));
        SetTimestamp(deps_.clock.Now(), missed.mutable_at());
        hub_.Publish(std::move(missed));
        deps_.metrics.IncrementCounter("foghorn_api_watch_fanout_dropped_total", {},
                                       static_cast<double>(dropped));
      }
      for (const agent::AgentEvent& e : batch) {
        hub_.Publish(EventToProto(e, 0));
        deps_.metrics.IncrementCounter("foghorn_api_watch_events_total", {});
      }
    }
  }

  void Finish(grpc::ServerUnaryReactor* reactor, const char* method, const absl::Status& s) {
    // A handler that finishes the call later (AwaitReadiness) returns this marker.
    if (IsDeferred(s)) return;
    deps_.metrics.IncrementCounter(
        "foghorn_api_requests_total",
        {{"method", method}, {"code", absl::StatusCodeToString(s.code())}});
    reactor->Finish(ToGrpcStatus(s));
  }

 public:
  absl::StatusOr<Caller> Check(grpc::CallbackServerContext* ctx, Role required,
                               absl::string_view method) const {
    ASSIGN_OR_RETURN(Caller caller, auth_.Authenticate(Authorization(ctx)));
    RETURN_IF_ERROR(Authenticator::Authorize(caller, required, method));
    return caller;
  }

 private:
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

  static absl::Status DeferredStatus() {
    absl::Status s = absl::CancelledError("finished later");
    s.SetPayload(kDeferredPayload, absl::Cord("1"));
    return s;
  }
  static bool IsDeferred(const absl::Status& s) {
    return s.GetPayload(kDeferredPayload).has_value();
  }

  // Answers `resp` from a readiness result of `g` younger than readiness_reuse, or joins the
  // check of `g` that is running, or starts one on the readiness pool. Returns the Deferred()
  // marker when the call will be finished by the check.
  absl::Status AwaitReadiness(const agent::GroupSnapshot& g, grpc::ServerUnaryReactor* reactor,
                              v1::CheckReadinessResponse* resp) {
    const absl::Time now = deps_.clock.Now();
    absl::MutexLock lock(&readiness_mu_);
    if (readiness_closed_) return absl::UnavailableError("the agent is shutting down");
    Readiness& r = readiness_[g.id];
    if (r.result.has_value() && now - r.at < options_.readiness_reuse && now >= r.at) {
      *resp = *r.result;
      deps_.metrics.IncrementCounter("foghorn_api_readiness_reused_total", {});
      return absl::OkStatus();
    }
    if (readiness_waiting_ >= options_.max_readiness_waiters) {
      return Overloaded("callers waiting for readiness checks");
    }
    if (!r.running) {
      // Every run costs ARM reads from the budget failovers also need: runs start from a token
      // bucket (a burst of readiness_burst, then one per readiness_min_interval), whatever the
      // number of groups and callers.
      if (IsFinite(last_readiness_refill_) && now > last_readiness_refill_ &&
          options_.readiness_min_interval > absl::ZeroDuration()) {
        readiness_tokens_ = std::min<double>(
            options_.readiness_burst,
            readiness_tokens_ +
                absl::FDivDuration(now - last_readiness_refill_, options_.readiness_min_interval));
      }
      if (!IsFinite(last_readiness_refill_) || now > last_readiness_refill_) {
        last_readiness_refill_ = now;
      }
      if (readiness_tokens_ < 1) {
        return Overloaded("readiness runs (a burst, then one a second in all; retry shortly)");
      }
      BoundedPool::Submitted submitted =
          readiness_pool_.Submit([this, id = g.id, runbook = g.runbook, gen = r.generation] {
            RunReadiness(id, runbook, gen);
          });
      if (submitted == BoundedPool::Submitted::kFull) return Overloaded("readiness checks");
      if (submitted == BoundedPool::Submitted::kShutDown) {
        return absl::UnavailableError("the agent is shutting down");
      }
      r.running = true;
      readiness_tokens_ -= 1;
    }
    r.waiters.push_back({reactor, resp});
    ++readiness_waiting_;
    return DeferredStatus();
  }

  // Forgets the reused readiness result of `group_id` (every group when empty); a run in
  // progress still answers its waiters but its result is not reused.
  void InvalidateReadiness(const std::string& group_id) {
    absl::MutexLock lock(&readiness_mu_);
    if (group_id.empty()) {
      for (auto& [id, r] : readiness_) {
        r.result.reset();
        ++r.generation;
      }
      return;
    }
    auto it = readiness_.find(group_id);
    if (it != readiness_.end()) {
      it->second.result.reset();
      ++it->second.generation;
    }
  }

  void RunReadiness(const std::string& group_id, const v1::Runbook& runbook,
                    std::uint64_t generation) {
    drill::ReadinessReport report = deps_.drills->CheckReadiness(runbook);
    v1::CheckReadinessResponse result;
    result.set_ready(report.Ready());
    for (const drill::CheckResult& c : report.checks) *result.add_checks() = CheckToProto(c);
    result.set_current_primary(report.arm.current_primary);
    result.set_current_secondary(report.arm.current_secondary);
    std::vector<Waiter> waiters;
    {
      absl::MutexLock lock(&readiness_mu_);
      Readiness& r = readiness_[group_id];
      // Reused only when nothing changed while it ran (a pause, a decision, an operation).
      if (r.generation == generation) {
        r.result = result;
        r.at = deps_.clock.Now();
      }
      r.running = false;
      waiters.swap(r.waiters);
      readiness_waiting_ -= static_cast<int>(waiters.size());
    }
    deps_.metrics.IncrementCounter("foghorn_api_readiness_checks_total", {});
    for (const Waiter& w : waiters) {
      *w.resp = result;
      Finish(w.reactor, "CheckReadiness", absl::OkStatus());
    }
  }

  // At shutdown: answers every caller still waiting for a readiness run UNAVAILABLE (runs not
  // started yet are skipped by the pool's shutdown), so the server's wait does not hang on them.
  void AbandonReadiness() {
    std::vector<Waiter> waiters;
    {
      absl::MutexLock lock(&readiness_mu_);
      readiness_closed_ = true;
      for (auto& [id, r] : readiness_) {
        for (Waiter& w : r.waiters) waiters.push_back(w);
        r.waiters.clear();
      }
      readiness_waiting_ = 0;
    }
    for (const Waiter& w : waiters) {
      Finish(w.reactor, "CheckReadiness", absl::UnavailableError("the agent is shutting down"));
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

 public:
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

 private:
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

 public:
  // A Watch stream slot for `caller`: RESOURCE_EXHAUSTED beyond the limits.
  absl::Status AcquireWatch(const Caller& who) {
    const std::string& caller = who.name;
    absl::MutexLock lock(&mu_);
    if (watch_open_ >= options_.max_watch_subscribers) return Overloaded("Watch streams");
    // The last reserved_operator_watches slots are for operators and approvers (the CLI watches
    // before it requests a failover).
    if (who.role < Role::kOperator &&
        watch_open_ >= options_.max_watch_subscribers - options_.reserved_operator_watches) {
      return Overloaded("Watch streams for viewers");
    }
    int& mine = watch_by_caller_[caller];
    if (mine >= options_.max_watch_subscribers_per_caller) {
      if (mine == 0) watch_by_caller_.erase(caller);
      return Overloaded("Watch streams for this caller");
    }
    ++mine;
    ++watch_open_;
    return absl::OkStatus();
  }
  void ReleaseWatch(const std::string& caller) {
    absl::MutexLock lock(&mu_);
    --watch_open_;
    auto it = watch_by_caller_.find(caller);
    if (it != watch_by_caller_.end() && --it->second <= 0) watch_by_caller_.erase(it);
  }

  ApiServerDeps deps_;
  const Authenticator auth_;
  const Options options_;
  BoundedPool pool_;
  BoundedPool operator_pool_;
  BoundedPool readiness_pool_;
  std::atomic<int> validating_{0};
  WatchHub hub_;
  RefusalAuditor refusals_;

 private:
  struct Waiter {
    grpc::ServerUnaryReactor* reactor;
    v1::CheckReadinessResponse* resp;
  };
  struct Readiness {
    bool running = false;
    // Bumped by InvalidateReadiness: a run's result is reused only if it did not change.
    std::uint64_t generation = 0;
    absl::Time at = absl::InfinitePast();
    std::optional<v1::CheckReadinessResponse> result;
    std::vector<Waiter> waiters;
  };
  absl::Mutex readiness_mu_;
  std::map<std::string, Readiness> readiness_ ABSL_GUARDED_BY(readiness_mu_);
  int readiness_waiting_ ABSL_GUARDED_BY(readiness_mu_) = 0;
  double readiness_tokens_ ABSL_GUARDED_BY(readiness_mu_) = options_.readiness_burst;
  absl::Time last_readiness_refill_ ABSL_GUARDED_BY(readiness_mu_) = absl::InfinitePast();
  bool readiness_closed_ ABSL_GUARDED_BY(readiness_mu_) = false;

  absl::Mutex fanout_mu_;
  std::deque<agent::AgentEvent> fanout_queue_ ABSL_GUARDED_BY(fanout_mu_);
  std::uint64_t fanout_dropped_ ABSL_GUARDED_BY(fanout_mu_) = 0;
  bool fanout_stopping_ ABSL_GUARDED_BY(fanout_mu_) = false;
  std::thread fanout_thread_;

  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  absl::Mutex failover_mu_;
  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::string> ids_ ABSL_GUARDED_BY(mu_);
  int watch_open_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, int> watch_by_caller_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> reads_by_caller_ ABSL_GUARDED_BY(mu_);
  absl::Time ids_read_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// One Watch stream: subscribes (on the worker pool, since resolving group names reads the
// agent), writes SUBSCRIBED, then drains its subscription whenever the hub wakes it. At most one
// write is in flight; nothing here waits.
class WatchReactor final : public grpc::ServerWriteReactor<v1::WatchResponse> {
 public:
  WatchReactor(ApiServer::Impl* impl, grpc::CallbackServerContext* ctx, const v1::WatchRequest* req)
      : impl_(impl) {
    absl::StatusOr<Caller> caller = impl_->Check(ctx, Role::kViewer, "Watch");
    if (!caller.ok()) {
      FinishWith(caller.status());
      return;
    }
    if (absl::Status s = impl_->AcquireWatch(*caller); !s.ok()) {
      FinishWith(s);
      return;
    }
    caller_ = caller->name;
    v1::WatchRequest copy = *req;
    BoundedPool& pool = caller->role >= Role::kOperator && !impl_->auth_.open()
                            ? impl_->operator_pool_
                            : impl_->pool_;
    BoundedPool::Submitted submitted = pool.Submit([this, copy = std::move(copy)] { Setup(copy); });
    if (submitted == BoundedPool::Submitted::kFull) {
      FinishWith(Overloaded("queued read-only calls"));
    } else if (submitted == BoundedPool::Submitted::kShutDown) {
      FinishWith(absl::UnavailableError("the agent is shutting down"));
    }
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    current_.reset();
    if (!ok) {
      FinishLocked(absl::CancelledError("the stream broke"));
      return;
    }
    if (close_pending_) {
      FinishLocked(absl::UnavailableError("the agent is shutting down"));
      return;
    }
    PumpLocked();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    if (!writing_ && !setting_up_) FinishLocked(absl::CancelledError("cancelled by the client"));
  }

  void OnDone() override {
    std::shared_ptr<Subscription> sub;
    {
      absl::MutexLock lock(&mu_);
      sub = sub_;
    }
    if (caller_.has_value()) impl_->ReleaseWatch(*caller_);
    if (sub) {
      sub->Detach();
      impl_->hub_.Unsubscribe(sub);
      impl_->deps_.metrics.SetGauge("foghorn_api_watch_subscribers", {},
                                    static_cast<double>(impl_->hub_.subscribers()));
      if (sub->dropped() > 0) {
        impl_->deps_.metrics.IncrementCounter("foghorn_api_watch_dropped_total", {},
                                              static_cast<double>(sub->dropped()));
      }
    }
    delete this;
  }

 private:
  void Setup(const v1::WatchRequest& req) {
    absl::Status s = [&]() -> absl::Status {
      WatchFilter filter;
      for (const std::string& g : req.group_ids()) {
        ASSIGN_OR_RETURN(agent::GroupSnapshot snap, impl_->ResolveGroup(g));
        filter.group_ids.insert(snap.id);
      }
      for (int k : req.kinds()) {
        if (!v1::EventKind_IsValid(k) || k == v1::EVENT_KIND_UNSPECIFIED) {
          return absl::InvalidArgumentError(absl::StrCat("unknown event kind ", k));
        }
        filter.kinds.insert(k);
      }
      filter.operation_id = req.operation_id();
      std::shared_ptr<Subscription> sub = impl_->hub_.Subscribe(
          std::move(filter), [this] { Pump(); }, [this] { Close(); });
      if (sub == nullptr) return absl::UnavailableError("the agent is shutting down");
      absl::MutexLock lock(&mu_);
      sub_ = std::move(sub);
      return absl::OkStatus();
    }();
    absl::MutexLock lock(&mu_);
    setting_up_ = false;
    if (!s.ok()) {
      FinishLocked(s);
      return;
    }
    impl_->deps_.metrics.SetGauge("foghorn_api_watch_subscribers", {},
                                  static_cast<double>(impl_->hub_.subscribers()));
    if (cancelled_) {
      FinishLocked(absl::CancelledError("cancelled by the client"));
      return;
    }
    auto hello = std::make_shared<v1::WatchResponse>();
    hello->set_kind(v1::EVENT_KIND_SUBSCRIBED);
    hello->set_seq(impl_->hub_.last_seq());
    SetTimestamp(impl_->deps_.clock.Now(), hello->mutable_at());
    hello->set_summary("subscribed");
    current_ = std::move(hello);
    writing_ = true;
    StartWrite(current_.get());
  }

  void Pump() {
    absl::MutexLock lock(&mu_);
    PumpLocked();
  }

  void PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || writing_ || sub_ == nullptr) return;
    if (cancelled_) {
      FinishLocked(absl::CancelledError("cancelled by the client"));
      return;
    }
    current_ = sub_->Next();
    if (current_ == nullptr) return;
    writing_ = true;
    StartWrite(current_.get());
  }

  void Close() {
    absl::MutexLock lock(&mu_);
    if (writing_ || setting_up_) {
      close_pending_ = true;
      return;
    }
    FinishLocked(absl::UnavailableError("the agent is shutting down"));
  }

  void FinishWith(const absl::Status& s) {
    absl::MutexLock lock(&mu_);
    setting_up_ = false;
    FinishLocked(s);
  }

  void FinishLocked(const absl::Status& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    impl_->deps_.metrics.IncrementCounter(
        "foghorn_api_requests_total",
        {{"method", "Watch"}, {"code", absl::StatusCodeToString(s.code())}});
    Finish(ToGrpcStatus(s));
  }

  ApiServer::Impl* const impl_;
  // Set when the stream holds a Watch slot (released in OnDone).
  std::optional<std::string> caller_;
  absl::Mutex mu_;
  std::shared_ptr<Subscription> sub_ ABSL_GUARDED_BY(mu_);
  EventPtr current_ ABSL_GUARDED_BY(mu_);
  bool setting_up_ ABSL_GUARDED_BY(mu_) = true;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool close_pending_ ABSL_GUARDED_BY(mu_) = false;
};

grpc::ServerWriteReactor<v1::WatchResponse>* ApiServer::Impl::Watch(
    grpc::CallbackServerContext* ctx, const v1::WatchRequest* req) {
  return new WatchReactor(this, ctx, req);
}

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

void ApiServer::FlushRefusalAudit() { impl_->refusals_.Flush(); }

}  // namespace foghorn::api
