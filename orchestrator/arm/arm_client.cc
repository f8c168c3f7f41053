#include "orchestrator/arm/arm_client.h"

#include <algorithm>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "orchestrator/common/status_macros.h"

namespace foghorn::arm {
namespace {

absl::string_view V(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::string TrimSlash(std::string_view s) {
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return std::string(s);
}

std::string OriginOf(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  size_t path = url.find_first_of("/?#", scheme + 3);
  return absl::AsciiStrToLower(V(url.substr(0, path)));
}

std::uint64_t SplitMix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Re-labels a status with the call's name and ids, keeping its code and payloads.
absl::Status Annotate(const absl::Status& s, std::string_view what, const RequestIds& ids) {
  if (s.ok() || absl::StartsWith(s.message(), "arm ")) return s;
  absl::Status out(s.code(), absl::StrCat("arm ", V(what), ": ", s.message(), ids.Suffix()));
  s.ForEachPayload(
      [&](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

bool IsWrongSideCode(const std::optional<std::string>& code) {
  return code && (absl::EqualsIgnoreCase(*code, V(kFailoverRequestOnPrimary)) ||
                  absl::EqualsIgnoreCase(*code, V(kFailoverGroupNotSecondary)));
}

}  // namespace

std::string_view FailoverKindName(FailoverKind kind) {
  switch (kind) {
    case FailoverKind::kPlanned:
      return "failover";
    case FailoverKind::kForcedAllowDataLoss:
      return "forceFailoverAllowDataLoss";
    case FailoverKind::kTryPlannedBeforeForced:
      return "tryPlannedBeforeForcedFailover";
  }
  return "failover";
}

std::string_view FailoverOutcomeName(FailoverOutcome outcome) {
  switch (outcome) {
    case FailoverOutcome::kPosted:
      return "posted";
    case FailoverOutcome::kAlreadyPrimary:
      return "already_primary";
    case FailoverOutcome::kCompletedAfterReread:
      return "completed_after_reread";
    case FailoverOutcome::kResumed:
      return "resumed";
  }
  return "unknown";
}

struct ArmClient::Call {
  explicit Call(common::Logger l) : log(std::move(l)) {}
  std::string what;
  std::string subscription;
  absl::Time deadline;
  RequestIds ids;
  common::Logger log;
  // A read on its own (Get, List): its waits end when the sleeper is cancelled (the agent is
  // stopping) and the call fails CANCELLED. A failover's or mutation's waits run on: SIGTERM lets
  // a running operation finish.
  bool interruptible = false;
};

bool ArmClient::Wait(Call& call, absl::Duration d) {
  if (call.interruptible) return sleeper_.SleepUnlessCancelled(d);
  sleeper_.SleepFor(d);
  return true;
}

ArmClient::ArmClient(http::HttpTransport& transport, TokenCredential& credential,
                     const common::Clock& clock, common::Sleeper& sleeper, common::Logger logger,
                     ArmClientOptions options)
    : transport_(transport),
      credential_(credential),
      clock_(clock),
      sleeper_(sleeper),
      logger_(std::move(logger)),
      options_([&] {
        options.endpoint = TrimSlash(options.endpoint);
        return std::move(options);
      }()),
      retry_(options_.retry),
      backoff_(options_.backoff, options_.backoff_seed),
      throttle_(clock, options_.throttle),
      instance_salt_(std::random_device{}() ^ (std::uint64_t{std::random_device{}()} << 32) ^
                     static_cast<std::uint64_t>(absl::ToUnixNanos(clock.Now()))) {}

std::string ArmClient::NewRequestId() {
  const std::uint64_t n = request_counter_.fetch_add(1, std::memory_order_relaxed);
  const std::uint64_t a = SplitMix(instance_salt_ + n);
  const std::uint64_t b = SplitMix(a ^ n);
  // RFC 4122 version 4 layout.
  return absl::StrFormat(
      "%08x-%04x-4%03x-%04x-%012x", static_cast<std::uint32_t>(a >> 32),
      static_cast<std::uint32_t>((a >> 16) & 0xffff), static_cast<std::uint32_t>(a & 0xfff),
      static_cast<std::uint32_t>(0x8000 | ((b >> 48) & 0x3fff)), b & 0xffffffffffffULL);
}

std::string ArmClient::GroupUrl(const FailoverGroupId& id) const {
  return absl::StrCat(options_.endpoint, id.Path(), "?api-version=", options_.api_version);
}

std::string ArmClient::ListUrl(const ServerId& server) const {
  return absl::StrCat(options_.endpoint, server.Path(),
                      "/failoverGroups?api-version=", options_.api_version);
}

std::string ArmClient::ActionUrl(const FailoverGroupId& id, FailoverKind kind) const {
  return absl::StrCat(options_.endpoint, id.Path(), "/", V(FailoverKindName(kind)),
                      "?api-version=", options_.api_version);
}

ArmClient::Call ArmClient::NewCall(std::string_view what, const std::string& subscription,
                                   absl::Duration deadline, std::string client_request_id) {
  Call call(logger_);
  call.what = std::string(what);
  call.subscription = subscription;
  call.deadline = clock_.Now() + deadline;
  call.ids.client_request_id =
      client_request_id.empty() ? NewRequestId() : std::move(client_request_id);
  call.log =
      logger_.With({{"arm_call", call.what}, {"client_request_id", call.ids.client_request_id}});
  return call;
}

absl::StatusOr<http::HttpResponse> ArmClient::SendOnce(Call& call, std::string_view method,
                                                       const std::string& url,
                                                       const std::string& body, RequestKind kind,
                                                       bool idempotent) {
  if (OriginOf(url) != OriginOf(options_.endpoint)) {
    // Never hand the bearer token to a host other than the configured ARM endpoint.
    return http::TransportError(
        absl::StatusCode::kFailedPrecondition,
        absl::StrCat("refusing to send credentials to ", http::UrlForLog(url),
                     ": not on the arm endpoint ", options_.endpoint),
        false);
  }
  absl::Duration wait = throttle_.Reserve(call.subscription, kind);
  if (wait > absl::ZeroDuration()) {
    if (clock_.Now() + wait > call.deadline) {
      throttle_.Release(call.subscription, kind);
      return http::TransportError(absl::StatusCode::kUnavailable,
                                  "client-side throttle: no request budget before the deadline",
                                  false);
    }
    call.log.Debug("client-side throttle wait", {{"wait_ms", absl::ToInt64Milliseconds(wait)}});
    if (!Wait(call, wait)) {
      throttle_.Release(call.subscription, kind);
      return http::TransportError(absl::StatusCode::kCancelled,
                                  "stopping: no request sent after the client-side throttle wait",
                                  false);
    }
  }
  absl::StatusOr<AccessToken> token = credential_.GetToken();
  if (!token.ok()) {
    throttle_.Release(call.subscription, kind);
    absl::Status s = token.status();
    http::SetRequestMaybeSent(s, false);
    return s;
  }
  const absl::Duration left = call.deadline - clock_.Now();
  if (left <= absl::ZeroDuration()) {
    return http::TransportError(absl::StatusCode::kDeadlineExceeded, "operation deadline passed",
                                false);
  }
  http::HttpRequest req;
  req.method = std::string(method);
  req.url = url;
  req.body = body;
  req.timeout = std::min(options_.attempt_timeout, left);
  req.idempotent = idempotent;  // a failover POST: the transport must never re-send it
  req.headers.Add("Authorization", absl::StrCat("Bearer ", token->token));
  req.headers.Add("Accept", "application/json");
  req.headers.Add("x-ms-client-request-id", call.ids.client_request_id);
  req.headers.Add("x-ms-correlation-request-id", call.ids.client_request_id);
  req.headers.Add("x-ms-return-client-request-id", "true");
  if (!body.empty()) req.headers.Add("Content-Type", "application/json");
  const absl::Time start = clock_.Now();
  absl::StatusOr<http::HttpResponse> r = transport_.Send(req);
  if (r.ok()) {
    call.ids.From(r->headers);
    throttle_.Observe(call.subscription, kind, r->headers);
  }
  if (call.log.Enabled(common::LogLevel::kDebug)) {
    call.log.Debug("arm request",
                   {{"method", std::string(method)},
                    {"url", http::UrlForLog(url)},
                    {"http_status", r.ok() ? r->status : 0},
                    {"error", r.ok() ? std::string() : std::string(r.status().message())},
                    {"request_id", call.ids.request_id},
                    {"correlation_request_id", call.ids.correlation_request_id},
                    {"latency_ms", absl::ToInt64Milliseconds(clock_.Now() - start)}});
  }
  return r;
}

absl::StatusOr<http::HttpResponse> ArmClient::Execute(Call& call, std::string_view method,
                                                      const std::string& url,
                                                      const std::string& body, RequestKind kind,
                                                      bool idempotent,
                                                      http::HttpResponse* error_response) {
  bool token_refreshed = false;
  for (int attempt = 1;; ++attempt) {
    absl::StatusOr<http::HttpResponse> r = SendOnce(call, method, url, body, kind, idempotent);
    if (r.ok() && r->status < 400) return r;
    if (r.ok() && r->status == 401 && !token_refreshed) {
      // An expired or revoked token: ARM rejected the request before acting on it, so even a
      // POST may be re-sent once with a fresh token.
      token_refreshed = true;
      credential_.Invalidate();
      call.log.Info("arm answered 401; refreshing the token", {{"attempt", attempt}});
      --attempt;
      continue;
    }
    absl::Status error = r.ok() ? StatusFromHttpError(call.what, *r, call.ids)
                                : Annotate(r.status(), call.what, call.ids);
    if (error_response != nullptr) *error_response = r.ok() ? *r : http::HttpResponse{};
    if (!retry_.ShouldRetry(r, attempt, idempotent)) return error;
    std::optional<absl::Duration> hint;
    if (r.ok()) hint = RetryAfterFromHeaders(r->headers, clock_.Now());
    const absl::Duration delay = hint.value_or(backoff_.Delay(attempt));
    if (clock_.Now() + delay >= call.deadline) return error;
    call.log.Warn("retrying arm request", {{"attempt", attempt},
                                           {"delay_ms", absl::ToInt64Milliseconds(delay)},
                                           {"error", std::string(error.message())}});
    if (!Wait(call, delay)) {
      // The agent is stopping: the retries are given up. Only reads get here (Call).
      return absl::CancelledError(
          absl::StrCat("stopping: not retried; last attempt: ", error.message()));
    }
  }
}

absl::StatusOr<LroPoller::Result> ArmClient::WaitForOperation(Call& call, const OperationRef& op,
                                                              FinalStateVia via,
                                                              const std::string& resource_url,
                                                              const http::HttpHeaders& accepted) {
  LroPoller poller(
      [&](const std::string& url) {
        absl::StatusOr<http::HttpResponse> r =
            SendOnce(call, "GET", url, "", RequestKind::kRead, true);
        if (r.ok() && r->status == 401) {
          // The token expired during a long operation: fetch a new one and poll again at once.
          credential_.Invalidate();
          r = SendOnce(call, "GET", url, "", RequestKind::kRead, true);
        }
        return r;
      },
      clock_, sleeper_, options_.lro, options_.backoff_seed);
  absl::Duration first = options_.lro.default_interval;
  if (auto hint = RetryAfterFromHeaders(accepted, clock_.Now())) {
    first = std::clamp(*hint, options_.lro.min_interval, options_.lro.max_interval);
  }
  return poller.Wait(op, via, resource_url, first, call.deadline, call.what, call.ids);
}

absl::StatusOr<FailoverGroup> ArmClient::GetInCall(Call& call, const FailoverGroupId& id) {
  ASSIGN_OR_RETURN(http::HttpResponse r,
                   Execute(call, "GET", GroupUrl(id), "", RequestKind::kRead, true));
  auto g = ParseFailoverGroup(r.body);
  if (!g.ok()) return Annotate(g.status(), call.what, call.ids);
  return g;
}

absl::StatusOr<FailoverGroup> ArmClient::Get(const FailoverGroupId& id) {
  RETURN_IF_ERROR(id.Validate());
  Call call = NewCall(absl::StrCat("get failover group ", id.ShortName()), id.subscription,
                      options_.read_deadline);
  call.interruptible = true;
  return GetInCall(call, id);
}

absl::StatusOr<std::vector<FailoverGroup>> ArmClient::List(const ServerId& server) {
  const FailoverGroupId probe{server.subscription, server.resource_group, server.server, "x"};
  RETURN_IF_ERROR(probe.Validate());
  Call call = NewCall(absl::StrCat("list failover groups on ", server.server), server.subscription,
                      options_.read_deadline);
  call.interruptible = true;
  std::vector<FailoverGroup> all;
  std::string url = ListUrl(server);
  for (int page = 0; !url.empty(); ++page) {
    if (page >= 1000) {
      return absl::InternalError(absl::StrCat("arm ", call.what, ": more than 1000 pages"));
    }
    ASSIGN_OR_RETURN(http::HttpResponse r, Execute(call, "GET", url, "", RequestKind::kRead, true));
    auto p = ParseFailoverGroupPage(r.body);
    if (!p.ok()) return Annotate(p.status(), call.what, call.ids);
    for (auto& g : p->value) all.push_back(std::move(g));
    if (p->next_link == url) {
      return absl::InternalError(absl::StrCat("arm ", call.what, ": nextLink loops"));
    }
    url = p->next_link;
  }
  return all;
}

absl::StatusOr<std::string> ArmClient::ReadBody(std::string_view what,
                                                const std::string& subscription,
                                                const std::string& url) {
  Call call = NewCall(what, subscription, options_.read_deadline);
  call.interruptible = true;
  ASSIGN_OR_RETURN(http::HttpResponse r, Execute(call, "GET", url, "", RequestKind::kRead, true));
  return std::move(r.body);
}

absl::StatusOr<FailoverGroup> ArmClient::MutateAndReadBack(const FailoverGroupId& id,
                                                           std::string_view method,
                                                           std::string body,
                                                           std::string_view what) {
  RETURN_IF_ERROR(id.Validate());
  Call call = NewCall(absl::StrCat(V(what), " failover group ", id.ShortName()), id.subscription,
                      options_.operation_deadline);
  const std::string url = GroupUrl(id);
  // PUT and PATCH carry the full desired state, so re-sending them is safe.
  ASSIGN_OR_RETURN(http::HttpResponse r,
                   Execute(call, method, url, body, RequestKind::kWrite, true));
  if (r.status == 202 || r.status == 201) {
    if (auto op = OperationRefFromHeaders(r.headers, url)) {
      call.log.Info("arm accepted operation",
                    {{"async_operation", http::UrlForLog(op->async_operation_url)},
                     {"location", http::UrlForLog(op->location_url)}});
      ASSIGN_OR_RETURN(LroPoller::Result w,
                       WaitForOperation(call, *op, FinalStateVia::kOriginalUri, url, r.headers));
      if (w.final_response) {
        auto g = ParseFailoverGroup(w.final_response->body);
        if (g.ok()) return g;
      }
      return GetInCall(call, id);
    }
  }
  if (r.status == 200 || r.status == 201) {
    auto g = ParseFailoverGroup(r.body);
    if (g.ok()) return g;
  }
  return GetInCall(call, id);
}

absl::StatusOr<FailoverGroup> ArmClient::CreateOrUpdate(const FailoverGroupId& id,
                                                        const FailoverGroup& group) {
  return MutateAndReadBack(id, "PUT", FailoverGroupToPutJson(group), "put");
}

absl::StatusOr<FailoverGroup> ArmClient::Update(const FailoverGroupId& id,
                                                const FailoverGroupUpdate& update) {
  return MutateAndReadBack(id, "PATCH", FailoverGroupUpdateToJson(update), "patch");
}

absl::Status ArmClient::Delete(const FailoverGroupId& id) {
  RETURN_IF_ERROR(id.Validate());
  Call call = NewCall(absl::StrCat("delete failover group ", id.ShortName()), id.subscription,
                      options_.operation_deadline);
  const std::string url = GroupUrl(id);
  absl::StatusOr<http::HttpResponse> r =
      Execute(call, "DELETE", url, "", RequestKind::kDelete, true);
  if (!r.ok()) {
    // A retried DELETE whose first attempt succeeded finds nothing: that is success.
    if (r.status().code() == absl::StatusCode::kNotFound) return absl::OkStatus();
    return r.status();
  }
  if (r->status == 202) {
    if (auto op = OperationRefFromHeaders(r->headers, url)) {
      return WaitForOperation(call, *op, FinalStateVia::kNone, url, r->headers).status();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<FailoverResult> ArmClient::Failover(const FailoverRequest& request) {
  RETURN_IF_ERROR(request.target.Validate());
  Call call =
      NewCall(absl::StrCat(V(FailoverKindName(request.kind)), " failover group ",
                           request.target.ShortName()),
              request.target.subscription, options_.operation_deadline, request.client_request_id);
  const std::string action_url = ActionUrl(request.target, request.kind);
  const std::string group_url = GroupUrl(request.target);

  FailoverResult result;
  result.client_request_id = call.ids.client_request_id;
  // `accepted`: a POST of this logical request was accepted (ours, or the resumed one). From then
  // on no POST is ever sent again.
  bool accepted = false;
  bool resumed = false;
  int unknown_posts = 0;  // POSTs whose answer left their outcome unknown
  int conflicts = 0;      // 409 busy and 400 wrong-side answers
  int refused = 0;        // POSTs not accepted, for the backoff before the next one
  absl::Status last_conflict;
  std::optional<absl::Duration> wait_before_post;
  std::optional<absl::Time> accepted_settle_until;
  std::optional<OperationRef> to_poll;
  if (request.resume_operation && !request.resume_operation->empty()) {
    to_poll = request.resume_operation;
    result.operation = request.resume_operation;
    accepted = resumed = true;
  }

  auto sleep_within = [&](absl::Duration d) -> absl::Status {
    if (clock_.Now() + d > call.deadline) {
      std::string follow =
          result.operation
              ? absl::StrCat("; follow ",
                             http::UrlForLog(result.operation->async_operation_url.empty()
                                                 ? result.operation->location_url
                                                 : result.operation->async_operation_url))
              : "";
      return absl::DeadlineExceededError(
          absl::StrCat("arm ", call.what, ": target not primary by the operation deadline", follow,
                       call.ids.Suffix()));
    }
    sleeper_.SleepFor(d);
    return absl::OkStatus();
  };
  auto finish = [&](FailoverOutcome outcome, FailoverGroup group) {
    result.outcome = outcome;
    result.group = std::move(group);
    call.log.Info("failover finished", {{"outcome", std::string(FailoverOutcomeName(outcome))},
                                        {"posts_sent", result.posts_sent},
                                        {"posts_accepted", result.posts_accepted}});
    return result;
  };
  // Once a POST may be in flight its outcome has to be learned, not guessed: a read that fails
  // transiently is tried again, with backoff, until the operation deadline. Before any POST an
  // error goes back to the caller (nothing was started).
  auto read_group = [&]() -> absl::StatusOr<FailoverGroup> {
    for (int n = 1;; ++n) {
      absl::StatusOr<FailoverGroup> g = GetInCall(call, request.target);
      const bool in_flight = accepted || result.posts_sent > 0;
      if (g.ok() || !in_flight ||
          (g.status().code() != absl::StatusCode::kUnavailable &&
           g.status().code() != absl::StatusCode::kDeadlineExceeded)) {
        return g;
      }
      call.log.Warn("reading the failover group failed; trying again",
                    {{"error", std::string(g.status().message())}});
      RETURN_IF_ERROR(sleep_within(backoff_.Delay(n)));
    }
  };
  auto backoff_after = [&](const http::HttpResponse& answer) -> absl::Duration {
    ++refused;
    if (auto hint = RetryAfterFromHeaders(answer.headers, clock_.Now())) return *hint;
    return backoff_.Delay(refused);
  };
  // An operation that ended Failed with OperationInterrupted was stopped by Azure (a
  // Microsoft-initiated failover of the group) and changed nothing: the group is read again and,
  // if the target is still Secondary, the POST may be sent again, as after a 409 (bounded by
  // max_conflict_answers). The read before every POST is what keeps this from failing over twice.
  auto interrupted = [&](const absl::Status& s) {
    if (!IsFailedOperation(s) || ErrorClassOf(s) != ErrorClass::kRereadThenRetry) return false;
    accepted = false;
    ++conflicts;
    last_conflict = s;
    wait_before_post = backoff_.Delay(++refused);
    call.log.Warn("failover operation interrupted; re-reading",
                  {{"error", std::string(s.message())}});
    return true;
  };

  for (;;) {
    // 1. Follow a known operation to its end before looking at the group.
    if (to_poll) {
      const OperationRef op = *std::exchange(to_poll, std::nullopt);
      absl::StatusOr<LroPoller::Result> w =
          WaitForOperation(call, op, FinalStateVia::kNone, group_url, http::HttpHeaders{});
      if (!w.ok()) {
        if (interrupted(w.status())) continue;
        if (IsFailedOperation(w.status()) ||
            w.status().code() == absl::StatusCode::kDeadlineExceeded) {
          return w.status();
        }
        // The poller gives up only when the status record itself is gone (404 and the like),
        // never on transient errors: the group tells what happened.
        call.log.Warn("operation status unreadable; reading the group",
                      {{"error", std::string(w.status().message())}});
      }
    }
    // 2. The group, as the target server sees it, is the truth. After a POST that was not
    // accepted this read comes at once: a lost answer to a fast operation ends here.
    ASSIGN_OR_RETURN(FailoverGroup group, read_group());
    if (group.replication_role == ReplicationRole::kPrimary) {
      FailoverOutcome outcome = FailoverOutcome::kAlreadyPrimary;
      if (result.posts_accepted > 0) {
        outcome = FailoverOutcome::kPosted;
      } else if (resumed) {
        outcome = FailoverOutcome::kResumed;
      } else if (result.posts_sent > 0) {
        outcome = FailoverOutcome::kCompletedAfterReread;
      }
      return finish(outcome, std::move(group));
    }
    const absl::Time now = clock_.Now();
    // 3. Accepted and ended, but not primary yet: only re-read, for a bounded time.
    if (accepted) {
      if (!accepted_settle_until) accepted_settle_until = now + options_.accepted_settle;
      if (now >= *accepted_settle_until) {
        return absl::FailedPreconditionError(absl::StrCat(
            "arm ", call.what, ": the accepted failover operation ended but the target is ",
            V(ReplicationRoleName(group.replication_role)), call.ids.Suffix()));
      }
      RETURN_IF_ERROR(sleep_within(options_.lro.default_interval));
      continue;
    }
    if (unknown_posts >= options_.max_failover_posts) {
      return absl::AbortedError(absl::StrCat("arm ", call.what, ": ", unknown_posts,
                                             " failover requests had unknown outcomes and the "
                                             "target is still secondary; re-read and retry",
                                             call.ids.Suffix()));
    }
    if (conflicts >= options_.max_conflict_answers) {
      absl::Status aborted = absl::AbortedError(absl::StrCat(
          "arm ", call.what, ": ", conflicts,
          " failover requests were refused as busy or wrong-side and the target is still "
          "secondary; re-read and retry; last answer: ",
          last_conflict.message()));
      // ARM's code and HTTP status of the last refusal (ArmErrorCode, HttpStatusOf).
      last_conflict.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
        aborted.SetPayload(url, payload);
      });
      return aborted;
    }
    // 4. The target is still Secondary after a POST that was not accepted: send the same POST
    // again after a short backoff. It is safe: if ARM acted on an earlier one, that operation is
    // either running (ARM answers 409) or done, and then the target is primary (ARM answers 400).
    if (wait_before_post) RETURN_IF_ERROR(sleep_within(*std::exchange(wait_before_post, {})));

    // 5. Exactly here, and only here, a failover POST is sent, always to `action_url`.
    ++result.posts_sent;
    call.log.Info("sending failover request", {{"attempt", result.posts_sent}});
    http::HttpResponse error_response;
    absl::StatusOr<http::HttpResponse> r =
        Execute(call, "POST", action_url, "", RequestKind::kWrite,
                /*idempotent=*/false, &error_response);
    if (r.ok()) {
      accepted = true;
      result.posts_accepted = 1;
      std::optional<OperationRef> op = r->status == 202 || r->status == 201
                                           ? OperationRefFromHeaders(r->headers, action_url)
                                           : std::nullopt;
      if (op) {
        result.operation = op;
        call.log.Info("failover accepted",
                      {{"async_operation", http::UrlForLog(op->async_operation_url)},
                       {"location", http::UrlForLog(op->location_url)}});
        if (request.on_accepted) request.on_accepted(*op);
        absl::StatusOr<LroPoller::Result> w =
            WaitForOperation(call, *op, FinalStateVia::kLocation, group_url, r->headers);
        if (!w.ok()) {
          if (interrupted(w.status())) continue;
          if (IsFailedOperation(w.status()) ||
              w.status().code() == absl::StatusCode::kDeadlineExceeded) {
            return w.status();
          }
          continue;  // the status record is gone: read the group (never re-POST: it was accepted)
        }
        if (w->final_response) {
          auto g = ParseFailoverGroup(w->final_response->body);
          if (g.ok() && g->replication_role == ReplicationRole::kPrimary) {
            return finish(FailoverOutcome::kPosted, *std::move(g));
          }
        }
      }
      continue;  // 200 (done synchronously) or no operation URL: read the group
    }
    const absl::Status& s = r.status();
    const ErrorClass error_class = ErrorClassOf(s);
    if (error_class == ErrorClass::kTerminal || error_class == ErrorClass::kNeedsHuman) {
      return s;  // OperationCancelled, GeoReplicationCannotBecomePrimaryDuringUndo, ...: no re-POST
    }
    if (HttpStatusOf(s) == 409 && error_class == ErrorClass::kRetryAfterBackoff) {
      // ConflictingSystemOperationInProgress (Azure's own maintenance or failover of the group),
      // a database still being added: the same POST later, after a re-read. Not counted against
      // max_conflict_answers (maintenance may outlast it); the operation deadline bounds it.
      wait_before_post = backoff_after(error_response);
      call.log.Warn("failover refused while another operation runs; re-reading",
                    {{"error", std::string(s.message())},
                     {"next_post_in_ms", absl::ToInt64Milliseconds(*wait_before_post)}});
      continue;
    }
    if (IsWrongSideCode(ArmErrorCode(s)) || s.code() == absl::StatusCode::kAborted) {
      // 400 "request on primary": the target is primary already (likely by an earlier POST of
      // ours) though a read said otherwise. 409 busy: an operation (maybe ours) runs on the group.
      // Either way: read again at once, back off before POSTing again, and count it.
      ++conflicts;
      last_conflict = s;
      wait_before_post = backoff_after(error_response);
      call.log.Warn("failover refused; re-reading",
                    {{"error", std::string(s.message())},
                     {"next_post_in_ms", absl::ToInt64Milliseconds(*wait_before_post)}});
      continue;
    }
    const bool unknown_outcome =
        http::RequestMaybeSent(s) &&
        (s.code() == absl::StatusCode::kUnavailable ||
         s.code() == absl::StatusCode::kDeadlineExceeded || s.code() == absl::StatusCode::kUnknown);
    if (!unknown_outcome) return s;
    ++unknown_posts;
    if (auto op = OperationRefFromHeaders(error_response.headers, action_url)) {
      to_poll = op;  // a 5xx that still names an operation: follow it
      result.operation = op;
    } else {
      wait_before_post = backoff_after(error_response);
    }
    call.log.Warn("failover outcome unknown; re-reading the group",
                  {{"error", std::string(s.message())}});
  }
}

}  // namespace foghorn::arm
