#include "orchestrator/executor/system_step_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "orchestrator/common/child_env.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/common/durations.h"

extern char** environ;

namespace foghorn::executor {
namespace {

constexpr size_t kMaxStdout = 64 * 1024;

int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

absl::Duration StepTimeout(const v1::Step& step) {
  return step.has_timeout() ? common::FromProtoDuration(step.timeout()) : absl::Minutes(5);
}

}  // namespace

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const std::map<std::string, std::string>& env,
                                         absl::Duration timeout,
                                         const std::vector<std::string>& inherit_env) {
  if (argv.empty()) return absl::InvalidArgumentError("exec: empty command");
  // The agent's environment holds its credentials: the child gets an allow-list only.
  std::vector<std::string> env_strings = common::ChildEnvironment(environ, inherit_env, env);
  std::vector<char*> c_argv, c_env;
  for (const auto& a : argv) c_argv.push_back(const_cast<char*>(a.c_str()));
  c_argv.push_back(nullptr);
  for (const auto& e : env_strings) c_env.push_back(const_cast<char*>(e.c_str()));
  c_env.push_back(nullptr);

  int out_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return absl::InternalError("exec: pipe failed");
  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return absl::InternalError("exec: pipe failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, c_argv[0], &actions, nullptr, c_argv.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    if (rc == ENOENT) return absl::NotFoundError(absl::StrCat("exec: no command ", argv[0]));
    return absl::InternalError(absl::StrCat("exec: cannot start ", argv[0], ": ", strerror(rc)));
  }
  int pidfd = PidfdOpen(pid);
  CommandResult result;
  const common::RealClock clock;  // monotonic: a wall-clock step does not end the wait early
  const absl::Time deadline = clock.Now() + timeout;
  bool exited = false;
  bool out_open = true;
  bool err_open = true;
  auto drain = [](int fd, std::string& into, bool& open) {
    char buf[4096];
    ssize_t got = read(fd, buf, sizeof(buf));
    if (got <= 0) {
      open = false;
    } else if (into.size() < kMaxStdout) {
      into.append(buf, static_cast<size_t>(got));
    }
  };
  while (!exited) {
    pollfd fds[3] = {{pidfd, POLLIN, 0},
                     {out_open ? out_pipe[0] : -1, POLLIN, 0},
                     {err_open ? err_pipe[0] : -1, POLLIN, 0}};
    absl::Duration left = deadline - clock.Now();
    if (left <= absl::ZeroDuration()) {
      result.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    // At most an hour per poll: poll takes an int of milliseconds (24.8 days at most).
    const int wait_ms =
        static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 3600 * 1000));
    int n = poll(fds, 3, wait_ms);
    if (n < 0 && errno != EINTR) break;
    if (out_open && (fds[1].revents & (POLLIN | POLLHUP)))
      drain(out_pipe[0], result.stdout_text, out_open);
    if (err_open && (fds[2].revents & (POLLIN | POLLHUP)))
      drain(err_pipe[0], result.stderr_text, err_open);
    if (fds[0].revents & POLLIN) exited = true;
  }
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  close(pidfd);
  close(out_pipe[0]);
  close(err_pipe[0]);
  if (!result.timed_out && WIFEXITED(wstatus)) result.exit_code = WEXITSTATUS(wstatus);
  return result;
}

SystemStepRunner::SystemStepRunner(http::HttpTransport& transport, common::Sleeper& sleeper,
                                   common::Logger logger, Hooks hooks)
    : transport_(transport),
      sleeper_(sleeper),
      logger_(std::move(logger)),
      hooks_(std::move(hooks)) {}

absl::Status SystemStepRunner::Run(const v1::Step& step, const journal::OperationRecord& op) {
  switch (step.action_case()) {
    case v1::Step::kExec:
      return RunExec(step, op);
    case v1::Step::kNotify:
      return RunNotify(step, op);
    case v1::Step::kWait:
      sleeper_.SleepFor(common::FromProtoDuration(step.wait().duration()));
      return absl::OkStatus();
    case v1::Step::kApproval:
      if (!hooks_.approval) return absl::UnimplementedError("approval steps need the agent");
      return hooks_.approval(step, op);
    case v1::Step::kProbeAssert:
      if (!hooks_.probe_assert) return absl::UnimplementedError("probe assertions need the agent");
      return hooks_.probe_assert(step, op);
    case v1::Step::ACTION_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(absl::StrCat("step ", step.name(), " has no action"));
}

absl::Status SystemStepRunner::Supports(const Hooks& hooks, const v1::Step& step) {
  if (step.has_approval() && !hooks.approval) {
    return absl::UnimplementedError("approval steps need the agent and its control API");
  }
  if (step.has_probe_assert() && !hooks.probe_assert) {
    return absl::UnimplementedError("probe assertions need the agent's health tracker");
  }
  return absl::OkStatus();
}

absl::Status SystemStepRunner::RunExec(const v1::Step& step, const journal::OperationRecord& op) {
  std::vector<std::string> argv(step.exec().argv().begin(), step.exec().argv().end());
  std::map<std::string, std::string> env(step.exec().env().begin(), step.exec().env().end());
  env["FOGHORN_GROUP"] = op.group_id;
  env["FOGHORN_OPERATION"] = op.id;
  env["FOGHORN_KIND"] = op.kind;
  env["FOGHORN_TARGET_SERVER"] = op.target_server;
  std::vector<std::string> inherit(step.exec().inherit_env().begin(),
                                   step.exec().inherit_env().end());
  absl::StatusOr<CommandResult> r = RunCommand(argv, env, StepTimeout(step), inherit);
  if (!r.ok()) return r.status();
  if (!r->stderr_text.empty()) {
    // Through the logger, whose redactor masks secrets a hook may print.
    logger_.Warn(
        "hook wrote to stderr",
        {{"step", step.name()}, {"operation", op.id}, {"stderr", r->stderr_text.substr(0, 4096)}});
  }
  if (r->timed_out) {
    return absl::DeadlineExceededError(absl::StrCat("hook ", step.name(), " timed out"));
  }
  if (r->exit_code != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("hook ", step.name(), " exited ", r->exit_code));
  }
  return absl::OkStatus();
}

absl::Status SystemStepRunner::RunNotify(const v1::Step& step, const journal::OperationRecord& op) {
  http::HttpRequest req;
  req.method = "POST";
  req.url = step.notify().url();
  req.secret_url = true;  // webhook tokens live in the path: errors name scheme and host only
  req.max_response_bytes = 64 << 10;  // a webhook's answer is read for its status only
  req.timeout = StepTimeout(step);
  req.headers.Set("Content-Type", "application/json");
  for (const auto& [k, v] : step.notify().headers()) req.headers.Set(k, v);
  req.body = nlohmann::json{{"source", "foghorn"},
                            {"event", "step"},
                            {"step", step.name()},
                            {"group", op.group_id},
                            {"operation", op.id},
                            {"kind", op.kind},
                            {"target_server", op.target_server},
                            {"reason", op.reason}}
                 .dump();
  absl::StatusOr<http::HttpResponse> resp = transport_.Send(req);
  if (!resp.ok()) return resp.status();
  if (resp->status < 200 || resp->status >= 300) {
    return absl::UnavailableError(
        absl::StrCat("webhook ", http::UrlForLog(req), " answered ", resp->status));
  }
  return absl::OkStatus();
}

}  // namespace foghorn::executor
