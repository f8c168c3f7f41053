// The ARM client for Microsoft.Sql failover groups: typed get/list/put/patch/delete and the three
// failover actions, over an http::HttpTransport, with bearer tokens from a TokenCredential, retries
// (RetryPolicy + BackoffPolicy), client-side throttling, LRO polling and, at its heart, idempotent
// failover. It is the only part of foghorn that talks to Azure.
//
// Calls block the calling thread (network waits and backoff/poll sleeps through the injected
// common::Sleeper); the agent runs them on a small fixed worker pool, never on the control loop.
#ifndef FOGHORN_ORCHESTRATOR_ARM_ARM_CLIENT_H_
#define FOGHORN_ORCHESTRATOR_ARM_ARM_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "orchestrator/arm/arm_status.h"
#include "orchestrator/arm/credentials.h"
#include "orchestrator/arm/lro_poller.h"
#include "orchestrator/arm/models.h"
#include "orchestrator/arm/request_throttle.h"
#include "orchestrator/arm/resource_id.h"
#include "orchestrator/arm/retry_policy.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/common/log.h"
#include "orchestrator/common/sleeper.h"
#include "orchestrator/http/http_transport.h"

namespace foghorn::arm {

inline constexpr std::string_view kDefaultArmEndpoint = "https://management.azure.com";
inline constexpr std::string_view kApiVersion = "2025-01-01";

struct ArmClientOptions {
  // ARM endpoint (sovereign clouds, the emulator's base_url()).
  std::string endpoint = std::string(kDefaultArmEndpoint);
  std::string api_version = std::string(kApiVersion);
  // Per-operation deadlines: a read (including its retries) and a mutation (including its LRO).
  absl::Duration read_deadline = absl::Minutes(2);
  absl::Duration operation_deadline = absl::Minutes(60);
  // Timeout of one HTTP exchange (bounded further by the operation deadline).
  absl::Duration attempt_timeout = absl::Seconds(60);
  RetryPolicy::Options retry;
  BackoffPolicy::Options backoff;
  std::uint64_t backoff_seed = 0x5eed;
  LroOptions lro;
  RequestThrottle::Options throttle;
  // After an accepted failover operation ended (or its status record vanished) while the target
  // still reads Secondary, the group is re-read (every lro.default_interval) for this long before
  // the call fails FAILED_PRECONDITION: ARM's read of the group may lag behind the operation's
  // end. The only settle window left; no POST ever follows it.
  absl::Duration accepted_settle = absl::Seconds(30);
  // At most this many failover POSTs per logical request may end with an unknown outcome (5xx,
  // timeout or reset after sending); then the call fails ABORTED.
  int max_failover_posts = 3;
  // At most this many 409 (FailoverGroupBusy) and 400 wrong-side answers per logical request, each
  // followed by a re-read and a growing backoff (Retry-After when given) before the next POST;
  // then the call fails ABORTED. 12 backoffs from the defaults add up to about 7 minutes, longer
  // than a failover operation normally runs.
  int max_conflict_answers = 12;
};

enum class FailoverKind { kPlanned, kForcedAllowDataLoss, kTryPlannedBeforeForced };
std::string_view FailoverKindName(FailoverKind kind);  // the URL action, e.g. "failover"

struct FailoverRequest {
  // The group as seen from the server that must become primary (the current secondary).
  FailoverGroupId target;
  FailoverKind kind = FailoverKind::kPlanned;
  // An operation accepted earlier (journaled from on_accepted before a crash): polled first.
  std::optional<OperationRef> resume_operation;
  // Called once, right after ARM accepted our POST and before polling, so the caller can journal
  // the operation URLs. Runs on the calling thread.
  std::function<void(const OperationRef&)> on_accepted;
  // x-ms-client-request-id for every request of this logical operation; generated when empty.
  std::string client_request_id;
};

enum class FailoverOutcome {
  kPosted,                // our POST was accepted and the operation completed
  kAlreadyPrimary,        // the first read showed the target already Primary: nothing was sent
  kCompletedAfterReread,  // an ambiguous outcome; a re-read showed the target Primary
  kResumed,               // the caller's resume_operation completed (or the group was Primary)
};
std::string_view FailoverOutcomeName(FailoverOutcome outcome);

struct FailoverResult {
  FailoverOutcome outcome = FailoverOutcome::kAlreadyPrimary;
  FailoverGroup group;                    // the final state, seen from the target server
  std::optional<OperationRef> operation;  // the operation followed, if any
  int posts_sent = 0;
  int posts_accepted = 0;  // never more than 1
  std::string client_request_id;
};

// Thread-safe: calls may run concurrently. `transport`, `credential`, `clock` and `sleeper` must
// outlive the client.
//
// Errors (see arm_status.h for the mapping): INVALID_ARGUMENT for a malformed id or body;
// NOT_FOUND, UNAUTHENTICATED, PERMISSION_DENIED as ARM says; UNAVAILABLE when retries ran out on
// 408/429/5xx/transport errors; ABORTED for 409 (busy); FAILED_PRECONDITION for wrong-side
// requests; DEADLINE_EXCEEDED when the per-operation deadline passed; CANCELLED (Get and List
// only) when the sleeper was cancelled while the read waited to retry or for the client-side
// throttle (Sleeper::SleepUnlessCancelled: the agent is stopping). Failover, CreateOrUpdate,
// Update and Delete are never cut short by a cancelled sleeper. Every message names the
// resource and carries the client request id and ARM's request/correlation ids; none holds a token.
class ArmClient {
 public:
  ArmClient(http::HttpTransport& transport, TokenCredential& credential, const common::Clock& clock,
            common::Sleeper& sleeper, common::Logger logger, ArmClientOptions options);

  absl::StatusOr<FailoverGroup> Get(const FailoverGroupId& id);
  // All groups on `server`, following nextLink.
  absl::StatusOr<std::vector<FailoverGroup>> List(const ServerId& server);
  // PUT (create or replace), sent to the primary; waits for the LRO and reads the group back.
  absl::StatusOr<FailoverGroup> CreateOrUpdate(const FailoverGroupId& id,
                                               const FailoverGroup& group);
  // PATCH, sent to the primary; waits for the LRO and reads the group back.
  absl::StatusOr<FailoverGroup> Update(const FailoverGroupId& id,
                                       const FailoverGroupUpdate& update);
  // DELETE; waits for the LRO. Deleting a group that is already gone is OK.
  absl::Status Delete(const FailoverGroupId& id);

  // Makes request.target's server the primary, idempotently (docs/arm-client.md has the argument):
  //  1. resume_operation, if given, is polled to its end first, and no POST is ever sent;
  //  2. the group is read on the target; if it is already Primary nothing is POSTed;
  //  3. otherwise a POST is sent; once ARM accepts one, no other POST is ever sent for this
  //     request, and the operation is polled to its end (through any number of transient status
  //     errors, until the operation deadline) and the group read back;
  //  4. after a POST that was not accepted (5xx, timeout or reset after sending, 409 busy, 400
  //     "request on primary"), any operation URL it named is followed, the group is re-read at
  //     once and, if the target is still Secondary, the same POST is sent again after a short
  //     growing backoff (Retry-After when given). ARM answers a POST during a running operation
  //     with 409 and a POST to the current primary with 400, so a repeated POST never moves the
  //     primary twice.
  // Fails with the operation's error if it ended Failed/Canceled; DEADLINE_EXCEEDED at the
  // operation deadline (resume with the operation URL); ABORTED when max_failover_posts POSTs had
  // unknown outcomes or max_conflict_answers busy/wrong-side answers came and the target is still
  // Secondary; FAILED_PRECONDITION when an accepted operation ended and the target stayed Secondary
  // for accepted_settle; anything Get can return before the first POST.
  absl::StatusOr<FailoverResult> Failover(const FailoverRequest& request);

  // A GET of one of ARM's other read APIs (Azure Monitor metrics, Resource Health,
  // replicationLinks, the Activity Log: azure_signals.h builds the URLs and parses the bodies).
  // `url` must be on the ARM endpoint (anything else fails FAILED_PRECONDITION before a token is
  // sent). Runs through the same credential, `subscription`'s reads budget, retries, read deadline
  // and cancellation as Get; returns the body of a 1xx-3xx answer. Errors as for Get, named by
  // `what`.
  absl::StatusOr<std::string> ReadBody(std::string_view what, const std::string& subscription,
                                       const std::string& url);
  // The ARM endpoint, without a trailing slash.
  const std::string& endpoint() const { return options_.endpoint; }

  // URL builders (endpoint + path + api-version).
  std::string GroupUrl(const FailoverGroupId& id) const;
  std::string ListUrl(const ServerId& server) const;
  std::string ActionUrl(const FailoverGroupId& id, FailoverKind kind) const;

 private:
  struct Call;

  Call NewCall(std::string_view what, const std::string& subscription, absl::Duration deadline,
               std::string client_request_id = "");
  // One request with retries per RetryPolicy. Returns 1xx-3xx answers; an error answer becomes a
  // status (StatusFromHttpError). `error_response`, when given, receives the last error answer.
  absl::StatusOr<http::HttpResponse> Execute(Call& call, std::string_view method,
                                             const std::string& url, const std::string& body,
                                             RequestKind kind, bool idempotent,
                                             http::HttpResponse* error_response = nullptr);
  // Waits `d` on the sleeper; false (at once) when `call` is interruptible and the sleeper was
  // cancelled.
  bool Wait(Call& call, absl::Duration d);
  // One attempt (throttle, token, send, observe). Transport errors come back as statuses.
  // `idempotent` false tells the transport never to re-send the request on its own.
  absl::StatusOr<http::HttpResponse> SendOnce(Call& call, std::string_view method,
                                              const std::string& url, const std::string& body,
                                              RequestKind kind, bool idempotent);
  absl::StatusOr<LroPoller::Result> WaitForOperation(Call& call, const OperationRef& op,
                                                     FinalStateVia via,
                                                     const std::string& resource_url,
                                                     const http::HttpHeaders& accepted_headers);
  absl::StatusOr<FailoverGroup> GetInCall(Call& call, const FailoverGroupId& id);
  absl::StatusOr<FailoverGroup> MutateAndReadBack(const FailoverGroupId& id,
                                                  std::string_view method, std::string body,
                                                  std::string_view what);
  std::string NewRequestId();

  http::HttpTransport& transport_;
  TokenCredential& credential_;
  const common::Clock& clock_;
  common::Sleeper& sleeper_;
  common::Logger logger_;
  const ArmClientOptions options_;
  RetryPolicy retry_;
  BackoffPolicy backoff_;
  RequestThrottle throttle_;
  std::atomic<std::uint64_t> request_counter_{0};
  const std::uint64_t instance_salt_;
};

}  // namespace foghorn::arm

#endif  // FOGHORN_ORCHESTRATOR_ARM_ARM_CLIENT_H_
