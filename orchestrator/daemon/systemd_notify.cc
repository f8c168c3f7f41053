#include "orchestrator/daemon/systemd_notify.h"

#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace foghorn::daemon {

absl::Status SystemdNotify(absl::string_view state) {
  // unset_environment = 0: the variable stays for every later notification (reload, stop).
  const std::string message(state);
  const int rc = sd_notify(0, message.c_str());
  if (rc < 0) {
    return absl::UnavailableError(absl::StrCat("sd_notify(", message, "): ", std::strerror(-rc)));
  }
  return absl::OkStatus();  // rc == 0: not run by a service manager, nothing to tell
}

absl::Status NotifyReady(absl::string_view status) {
  return SystemdNotify(
      absl::StrCat("READY=1\nSTATUS=", status, "\nMAINPID=", static_cast<long>(getpid())));
}

absl::Status NotifyStopping() { return SystemdNotify("STOPPING=1"); }

}  // namespace foghorn::daemon
