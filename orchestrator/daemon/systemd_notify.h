// Readiness for systemd: foghornd.service is Type=notify, so systemd (and `systemctl start`, and
// units ordered after foghornd) treat the agent as started only once it serves, not once the
// process exists. main.cc tells it READY=1 once the control API and /metrics listen, and
// STOPPING=1 when the orderly shutdown begins (so a stop is not mistaken for a crash).
//
// Outside systemd (no NOTIFY_SOCKET in the environment: a shell, a test, a container) every call
// does nothing and returns OK, so the daemon never needs to know how it was started.
#ifndef FOGHORN_ORCHESTRATOR_DAEMON_SYSTEMD_NOTIFY_H_
#define FOGHORN_ORCHESTRATOR_DAEMON_SYSTEMD_NOTIFY_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace foghorn::daemon {

// Sends `state` (newline-separated "KEY=value" assignments, see sd_notify(3)) to the service
// manager named by $NOTIFY_SOCKET. OK when sent or when there is no service manager to tell;
// UNAVAILABLE when the socket is named but the message could not be sent (the caller logs it: a
// unit that waits for readiness will time out). Thread-safe; never blocks on the manager.
absl::Status SystemdNotify(absl::string_view state);

// The states main.cc sends, with $MAINPID so systemd need not guess which process spoke.
absl::Status NotifyReady(absl::string_view status);  // READY=1 and STATUS=<status>
absl::Status NotifyStopping();                       // STOPPING=1

}  // namespace foghorn::daemon

#endif  // FOGHORN_ORCHESTRATOR_DAEMON_SYSTEMD_NOTIFY_H_
