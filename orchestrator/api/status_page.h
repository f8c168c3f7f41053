// The read-only status page foghornd serves on its metrics listener (docs/operations.md, "Status
// page"): one self-contained HTML page (no CDN; status_page_html.cc) and the two JSON endpoints it
// polls. Both endpoints need a viewer token when the control API has tokens (the same
// Authenticator and the same rule as the API's viewer calls, auth.h); the page itself carries no
// data and is served to anyone who reaches the listener.
//
//   GET /status              the page
//   GET /status/state.json   every group (roles, verdicts, decision stage with every reason, data
//                            loss estimate: the API's v1::FailoverGroup), the running operations
//                            with their steps, recent operations and decisions, drill reports
//   GET /status/events.json?after=SEQ
//                            the agent events after SEQ, as the control API's Watch stream
//                            carries them (v1::WatchResponse, same conversion, own numbering)
//
// JSON is proto3 JSON of the control API's messages with the proto's field names, so the page
// and `foghorn ... -o json` read the same shapes. HTTP plumbing lives in agent::MetricsServer;
// this class is independent of it (the daemon mounts Handle* as routes) and of gRPC.
//
// Thread-safety: every method may be called from any thread. Publish only copies the event into
// a bounded buffer (never blocks beyond a short critical section). State reads the agent's
// published snapshots and the journal on the caller's thread; its result is shared by every
// caller for `state_reuse`, so viewers cannot multiply journal reads.
#ifndef FOGHORN_ORCHESTRATOR_API_STATUS_PAGE_H_
#define FOGHORN_ORCHESTRATOR_API_STATUS_PAGE_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "foghorn/v1/agent.pb.h"
#include "orchestrator/agent/agent.h"
#include "orchestrator/agent/metrics_server.h"
#include "orchestrator/api/auth.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/drill/drill_launcher.h"
#include "orchestrator/journal/journal.h"

namespace foghorn::api {

// The page's markup, style and script (status_page_html.cc). It builds every element with
// textContent: nothing the agent reports is ever parsed as HTML.
absl::string_view StatusPageHtml();

struct StatusPageDeps {
  agent::Agent& agent;
  journal::Journal& journal;
  const common::Clock& clock;
  // Optional: running drills and stored drill reports.
  drill::DrillLauncher* drills = nullptr;
};

class StatusPage {
 public:
  struct Options {
    // How long one state.json answer is reused (agent clock).
    absl::Duration state_reuse = absl::Milliseconds(500);
    // Agent events kept for events.json; older ones are reported as missed.
    int event_buffer = 500;
    // Per state.json: recent operations, decisions (all groups) and drill reports.
    int recent_operations = 10;
    int recent_decisions = 20;
    int drill_reports = 10;
    // Groups whose decisions are read for the recent ones (those not healthy first).
    int decision_groups = 50;
  };

  // Reads the token values of `api` (auth.h: the same errors as the control API's start).
  static absl::StatusOr<std::unique_ptr<StatusPage>> Create(const v1::ApiSettings& api,
                                                            StatusPageDeps deps, Options options);

  // Keeps a copy of `e` for events.json. Called from agent threads; never blocks.
  void Publish(const agent::AgentEvent& e);

  // The routes (paths as above). 401 with `WWW-Authenticate: Bearer` when a token is needed and
  // missing or unknown; 403 when its role is below viewer (never: viewer is the lowest); 500 when
  // the journal cannot be read. Every JSON answer is `Cache-Control: no-store`.
  agent::HttpReply HandlePage(const agent::HttpGet& req) const;
  agent::HttpReply HandleState(const agent::HttpGet& req);
  agent::HttpReply HandleEvents(const agent::HttpGet& req);

  // The JSON documents without the HTTP wrapping (tests).
  absl::StatusOr<std::string> StateJson();
  std::string EventsJson(std::uint64_t after);

 private:
  StatusPage(Authenticator auth, StatusPageDeps deps, Options options)
      : auth_(std::move(auth)), deps_(deps), options_(options) {}
  // nullopt when `req` may read; the refusal otherwise.
  std::optional<agent::HttpReply> Refuse(const agent::HttpGet& req) const;
  absl::StatusOr<std::string> BuildState();

  const Authenticator auth_;
  StatusPageDeps deps_;
  const Options options_;

  absl::Mutex state_mu_;  // held while building: concurrent callers share one build
  std::string state_ ABSL_GUARDED_BY(state_mu_);
  absl::Time state_at_ ABSL_GUARDED_BY(state_mu_) = absl::InfinitePast();

  mutable absl::Mutex events_mu_;
  std::deque<std::pair<std::uint64_t, agent::AgentEvent>> events_ ABSL_GUARDED_BY(events_mu_);
  std::uint64_t seq_ ABSL_GUARDED_BY(events_mu_) = 0;
};

}  // namespace foghorn::api

#endif  // FOGHORN_ORCHESTRATOR_API_STATUS_PAGE_H_
