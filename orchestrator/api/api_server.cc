#include "orchestrator/api/api_server.h"

#include <chrono>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "foghorn/v1/control.grpc.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "orchestrator/api/auth.h"
#include "orchestrator/api/convert.h"
#include "orchestrator/api/watch_hub.h"
#include "orchestrator/common/status_macros.h"
#include "orchestrator/common/worker_pool.h"
#include "runbooks/loader.h"

namespace foghorn::api {
namespace {

constexpr char kDefaultListen[] = "127.0.0.1:7443";
constexpr char kServiceName[] = "foghorn.v1.ControlService";
constexpr std::size_t kMaxRunbookBytes = 1 << 20;
constexpr std::size_t kMaxRequestIdLength = 128;
constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 1000;

absl::StatusOr<std::string> ReadFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", what, " ", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// True for 127.0.0.0/8, ::1 and localhost.
absl::StatusOr<bool> IsLoopbackListen(const std::string& listen) {
  std::string host;
  std::string port;
  if (absl::StartsWith(listen, "[")) {
    size_t close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat("api.listen \"", listen, "\" is not host:port"));
    }
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    size_t colon = listen.rfind(':');
    if (colon == std::string::npos || listen.find(':') != colon) {
      return absl::InvalidArgumentError(
          absl::StrCat("api.listen \"", listen, "\" is not host:port"));
    }
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  int port_number = 0;
  if (!absl::SimpleAtoi(port, &port_number) || port_number < 0 || port_number > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("api.listen \"", listen, "\" has a bad port"));
  }
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

bool IsValidKind(v1::FailoverKind kind) { return v1::FailoverKind_IsValid(kind); }

int PageSize(int requested) { return requested == 0 ? kDefaultPageSize : requested; }

absl::Status CheckPageSize(int page_size) {
  if (page_size < 0 || page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size must be between 0 and ", kMaxPageSize));
  }
  return absl::OkStatus();
}

}  // namespace

class ApiServer::Impl final : public v1::ControlService::CallbackService {
 public:
  Impl(ApiServerDeps deps, Authenticator auth, Options options)
      : deps_(std::move(deps)),
        auth_(std::move(auth)),
        pool_(options.worker_threads),
        hub_(static_cast<std::size_t>(options.watch_queue_capacity)) {}

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

  void Publish(const agent::AgentEvent& e) {
    hub_.Publish(EventToProto(e, 0));
    deps_.metrics.IncrementCounter("foghorn_api_watch_events_total", {});
  }

  std::size_t watch_subscribers() const { return hub_.subscribers(); }

  void Shutdown() {
    {
      absl::MutexLock lock(&mu_);
      if (shut_down_) return;
      shut_down_ = true;
    }
    hub_.Close();
    if (server_ != nullptr) {
      if (auto* health = server_->GetHealthCheckService()) health->Shutdown();
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
      server_->Wait();
    }
    pool_.Shutdown();
  }

  // --- the service ---

  grpc::ServerUnaryReactor* ListGroups(grpc::CallbackServerContext* ctx,
                                       const v1::ListGroupsRequest* req,
                                       v1::ListGroupsResponse* resp) override {
    return Unary(ctx, "ListGroups", Role::kViewer, "",
                 [this, req, resp](const Caller&) { return DoListGroups(*req, resp); });
  }

  grpc::ServerUnaryReactor* GetGroup(grpc::CallbackServerContext* ctx,
                                     const v1::GetGroupRequest* req,
                                     v1::GetGroupResponse* resp) override {
    return Unary(ctx, "GetGroup", Role::kViewer, "", [this, req, resp](const Caller&) {
      ASSIGN_OR_RETURN(agent::GroupSnapshot g, ResolveGroup(req->group_id()));
      *resp->mutable_group() = ToProto(g);
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* ListOperations(grpc::CallbackServerContext* ctx,
                                           const v1::ListOperationsRequest* req,
                                           v1::ListOperationsResponse* resp) override {
    return Unary(ctx, "ListOperations", Role::kViewer, "", [this, req, resp](const Caller&) {
      RETURN_IF_ERROR(CheckPageSize(req->page_size()));
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
    return Unary(ctx, "GetOperation", Role::kViewer, "", [this, req, resp](const Caller&) {
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
    return Unary(ctx, "ListDecisions", Role::kViewer, "", [this, req, resp](const Caller&) {
      RETURN_IF_ERROR(CheckPageSize(req->page_size()));
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
    return Unary(ctx, "RequestFailover", Role::kOperator, req->group_id(),
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
    return Unary(ctx, "CancelOperation", Role::kOperator, req->operation_id(),
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
    return Unary(ctx, "ApproveDecision", Role::kApprover, req->group_id(),
                 [this, req, resp](const Caller& caller) {
                   return DoApprove(caller, "ApproveDecision", req->group_id(), true,
                                    req->allow_data_loss_over_budget(), req->reason(),
                                    resp->mutable_group());
                 });
  }

  grpc::ServerUnaryReactor* RejectDecision(grpc::CallbackServerContext* ctx,
                                           const v1::RejectDecisionRequest* req,
                                           v1::RejectDecisionResponse* resp) override {
    return Unary(ctx, "RejectDecision", Role::kApprover, req->group_id(),
                 [this, req, resp](const Caller& caller) {
                   return DoApprove(caller, "RejectDecision", req->group_id(), false, false,
                                    req->reason(), resp->mutable_group());
                 });
  }

  grpc::ServerUnaryReactor* PauseAutomation(grpc::CallbackServerContext* ctx,
                                            const v1::PauseAutomationRequest* req,
                                            v1::PauseAutomationResponse* resp) override {
    return Unary(ctx, "PauseAutomation", Role::kOperator, req->group_id(),
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
    return Unary(ctx, "ResumeAutomation", Role::kOperator, req->group_id(),
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
    return Unary(ctx, "ValidateRunbook", Role::kViewer, "", [req, resp](const Caller&) {
      if (req->text().empty()) return absl::InvalidArgumentError("text is required");
      if (req->text().size() > kMaxRunbookBytes) {
        return absl::InvalidArgumentError("text is larger than 1 MiB");
      }
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
    });
  }

  grpc::ServerUnaryReactor* StartDrill(grpc::CallbackServerContext* ctx,
                                       const v1::StartDrillRequest* req,
                                       v1::StartDrillResponse* resp) override {
    return Unary(ctx, "StartDrill", Role::kOperator, req->group_id(),
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
    return Unary(ctx, "CheckReadiness", Role::kViewer, "", [this, req, resp](const Caller&) {
      RETURN_IF_ERROR(DrillsEnabled());
      ASSIGN_OR_RETURN(agent::GroupSnapshot g, ResolveGroup(req->group_id()));
      drill::ReadinessReport r = deps_.drills->CheckReadiness(g.runbook);
      resp->set_ready(r.Ready());
      for (const drill::CheckResult& c : r.checks) *resp->add_checks() = CheckToProto(c);
      resp->set_current_primary(r.arm.current_primary);
      resp->set_current_secondary(r.arm.current_secondary);
      return absl::OkStatus();
    });
  }

  grpc::ServerUnaryReactor* ListDrillReports(grpc::CallbackServerContext* ctx,
                                             const v1::ListDrillReportsRequest* req,
                                             v1::ListDrillReportsResponse* resp) override {
    return Unary(ctx, "ListDrillReports", Role::kViewer, "",
                 [this, req, resp](const Caller&) { return DoListDrillReports(*req, resp); });
  }

  grpc::ServerUnaryReactor* GetDrillReport(grpc::CallbackServerContext* ctx,
                                           const v1::GetDrillReportRequest* req,
                                           v1::GetDrillReportResponse* resp) override {
    return Unary(ctx, "GetDrillReport", Role::kViewer, "",
                 [this, req, resp](const Caller&) { return DoGetDrillReport(*req, resp); });
  }

  grpc::ServerWriteReactor<v1::WatchResponse>* Watch(grpc::CallbackServerContext* ctx,
                                                     const v1::WatchRequest* req) override;

 private:
  friend class WatchReactor;

  // Authenticates and authorizes inline (no I/O), then runs `fn` on the worker pool and finishes
  // the call with its status. Refused calls of mutating methods (non-empty audit target or a
  // role above viewer) are audited.
  template <typename Fn>
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* ctx, const char* method,
                                  Role required, std::string target, Fn fn) {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    absl::StatusOr<Caller> caller = Check(ctx, required, method);
    if (!caller.ok()) {
      if (required != Role::kViewer) {
        std::string actor = caller.status().code() == absl::StatusCode::kPermissionDenied
                                ? CallerName(ctx)
                                : "unauthenticated";
        Submit(reactor, method, [this, actor, method, target, s = caller.status()] {
          Audit(actor, method, target, "refused", s.ToString());
          return s;
        });
      } else {
        Finish(reactor, method, caller.status());
      }
      return reactor;
    }
    Submit(reactor, method, [fn = std::move(fn), c = *caller]() mutable { return fn(c); });
    return reactor;
  }

  template <typename Fn>
  void Submit(grpc::ServerUnaryReactor* reactor, const char* method, Fn fn) {
    bool submitted = pool_.Submit([this, reactor, method, fn = std::move(fn)]() mutable {
      absl::Status s = fn();
      Finish(reactor, method, s);
    });
    if (!submitted) Finish(reactor, method, absl::UnavailableError("the agent is shutting down"));
  }

  void Finish(grpc::ServerUnaryReactor* reactor, const char* method, const absl::Status& s) {
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
        deps_.journal.Audit({0, deps_.clock.Now(), actor, action, target, detail, outcome});
    if (!s.ok()) {
      deps_.logger.Error("cannot write the audit trail",
                         {{"action", action}, {"actor", actor}, {"error", s.ToString()}});
    }
  }

  absl::Time GlobalPausedUntil() {
    absl::MutexLock lock(&mu_);
    return global_paused_until_;
  }

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
    if (req.page_size() < 0) return absl::InvalidArgumentError("page_size must not be negative");
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
    absl::MutexLock lock(&mu_);
    if (global_paused_until_ > now) {
      pause->set_paused(true);
      pause->set_global(true);
      if (IsFinite(global_paused_until_))
        SetTimestamp(global_paused_until_, pause->mutable_until());
      pause->set_reason(global_pause_reason_);
    }
    return absl::OkStatus();
  }

  absl::Status DoRequestFailover(const Caller& caller, const v1::RequestFailoverRequest& req,
                                 v1::RequestFailoverResponse* resp) {
    if (req.reason().empty() && !req.dry_run()) {
      return absl::InvalidArgumentError("reason is required");
    }
    if (!IsValidKind(req.kind())) return absl::InvalidArgumentError("unknown kind");
    if (req.request_id().size() > kMaxRequestIdLength) {
      return absl::InvalidArgumentError("request_id is longer than 128 characters");
    }
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
    if (req.request_id().size() > kMaxRequestIdLength) {
      return absl::InvalidArgumentError("request_id is longer than 128 characters");
    }
    drill::DrillRequest dr;
    if (req.has_hold()) {
      ASSIGN_OR_RETURN(absl::Duration hold, FromDuration(req.hold()));
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
      resp->set_drill_id(plan.drill_id);
      resp->set_created(false);
      *resp->mutable_plan() = DrillReportToProto(plan);
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
            for (const drill::ReportSummary& sum : *list) {
              auto rep = store->Read(sum.drill_id);
              if (rep.ok() && rep->operation_id == launch.existing->id) {
                resp->set_drill_id(sum.drill_id);
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
    RETURN_IF_ERROR(CheckPageSize(req.page_size()));
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
      ASSIGN_OR_RETURN(std::vector<drill::ReportSummary> stored, store->List(group_id, limit));
      for (const drill::ReportSummary& sum : stored) {
        if (resp->reports_size() >= limit) break;
        if (listed.count(sum.drill_id)) continue;
        *resp->add_reports() = DrillSummaryToProto(sum);
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
          s->set_state(st.state == journal::StepState::kIntent ? "running"
                                                               : journal::StepStateName(st.state));
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
    *resp->mutable_report() = DrillReportToProto(report);
    if (info.has_value()) {
      resp->mutable_report()->set_requested_by(info->requested_by);
      resp->mutable_report()->set_reason(info->reason);
    }
    resp->set_report_json(drill::ReportToJson(report));
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
    ASSIGN_OR_RETURN(absl::Duration d, FromDuration(req.duration()));
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
    if (group_id.empty()) {
      absl::MutexLock lock(&mu_);
      global_paused_until_ = until;
      global_pause_reason_ = req.reason();
    }
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
    if (group_id.empty()) {
      absl::MutexLock lock(&mu_);
      global_paused_until_ = absl::InfinitePast();
      global_pause_reason_.clear();
    }
    return absl::OkStatus();
  }

 public:
  ApiServerDeps deps_;
  const Authenticator auth_;
  common::WorkerPool pool_;
  WatchHub hub_;

 private:
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  absl::Mutex failover_mu_;
  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time global_paused_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::string global_pause_reason_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> ids_ ABSL_GUARDED_BY(mu_);
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
    v1::WatchRequest copy = *req;
    bool submitted = impl_->pool_.Submit([this, copy = std::move(copy)] { Setup(copy); });
    if (!submitted) FinishWith(absl::UnavailableError("the agent is shutting down"));
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

}  // namespace foghorn::api
