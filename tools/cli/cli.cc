#include "tools/cli/cli.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "foghorn/v1/control.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "orchestrator/common/durations.h"
#include "orchestrator/common/files.h"
#include "orchestrator/common/host_port.h"

namespace foghorn::cli {
namespace {

constexpr char kUsage[] = R"(foghorn: the command line for foghornd's control API

Usage: foghorn [connection flags] <command> [args] [flags]

Commands:
  status                      overview of every group and the global pause
  groups                      list failover groups
  group <group>               one group: roles, verdicts, decision, pause, history
  failover <group>            request a failover and follow it live
  drill <group>               run a DR drill (fail over, verify, hold, fail back)
  readiness <group>           run the readiness checks of a group
  reports [group]             list drills and their reports
  report <drill-id>           one drill report (--html for the page)
  ops                         list operations
  op <operation-id>           one operation with its steps
  approve <group>             approve the failover a group waits for
  reject <group>              reject the failover a group waits for
  pause [<group>|--all]       pause automation
  resume [<group>|--all]      resume automation
  watch                       stream events
  runbook validate <file>...  check runbook files

Connection flags (or environment):
  --addr host:port            FOGHORN_ADDR (default 127.0.0.1:7443)
  --token T                   FOGHORN_TOKEN (bearer token)
  --token-file F              FOGHORN_TOKEN_FILE
  --ca F                      FOGHORN_CA (TLS trusting this CA; without it a non-loopback
                              --addr uses TLS with the system CA store: tokens never travel
                              in clear text beyond this machine)
  --cert F --key F            FOGHORN_CERT, FOGHORN_KEY (client certificate for mutual TLS)
  --tls-server-name N         FOGHORN_TLS_SERVER_NAME (override the name checked in the cert)
  --timeout D                 FOGHORN_TIMEOUT (per call, default 30s)
  -o, --output table|json     FOGHORN_OUTPUT (default table)

Run 'foghorn <command> --help' for a command's flags. Exit codes: 0 ok, 1 failed outcome,
2 usage, 3 agent unreachable, 4 auth, 5 not found, 6 refused by state, 7 other error.
)";

struct CommandHelp {
  const char* usage;
  const char* text;
};

const std::map<std::string, CommandHelp>& Helps() {
  static const auto* helps = new std::map<std::string, CommandHelp>{
      {"status",
       {"foghorn status",
        "Shows counts of healthy, failing, paused and busy groups, the "
        "global pause, and every group."}},
      {"groups", {"foghorn groups", "Lists the failover groups the agent watches."}},
      {"group",
       {"foghorn group <group> [--history N]",
        "Shows one group (id or unique name): roles and verdicts, the last decision with its "
        "reasons, the data-loss estimate, pause state, probes and the last N decisions "
        "(default 5)."}},
      {"failover",
       {"foghorn failover <group> --reason R [--kind planned|forced|try-planned|auto]\n"
        "                 [--request-id ID] [--dry-run] [--no-wait] [--override-holds REASON]",
        "Requests a failover (kind default auto: what the engine would do now) and follows its "
        "steps live until it ends, then prints a summary. --dry-run prints the plan and the "
        "gating decision and changes nothing. --request-id makes retries safe: the same id "
        "returns the same operation and never fails over twice (default: a random id). "
        "--no-wait returns once the operation is accepted. Forced kinds need the approver role "
        "(or another person's approval). A pause, maintenance window, cooldown or blast-radius "
        "cap refuses the request; an approver may start it anyway with --override-holds and the "
        "reason, which is audited (explicit kind only). Exit 0 when it succeeded, 1 when it "
        "failed."}},
      {"drill",
       {"foghorn drill <group> [--reason R] [--hold DURATION] [--dry-run] [--wait]\n"
        "              [--request-id ID]",
        "Starts a DR drill from the group's runbook: preflight (readiness checks), planned "
        "failover to the partner, verify, hold (the runbook's drill.hold, or --hold), planned "
        "failback, verify, report. Without --wait it returns once the drill is started and "
        "prints its id. --wait follows the steps live and ends with the summary (RTO per "
        "direction, data lost, checks, what to fix); exit 0 when the drill passed, 1 when it "
        "failed or was aborted. --dry-run prints the plan and the checks as they stand and "
        "changes nothing. --request-id makes retries safe (default: a random id)."}},
      {"readiness",
       {"foghorn readiness <group>",
        "Runs every readiness check of the group now (ARM access, roles, replication, databases, "
        "failover policy, listeners, operation in flight, pause) and prints each with its reason "
        "and fix. Exit 0 when ready (warnings allowed), 1 when a check fails."}},
      {"reports",
       {"foghorn reports [group] [--limit N]",
        "Lists drills: the running ones, then stored reports newest first (default 20)."}},
      {"report",
       {"foghorn report <drill-id> [--html]",
        "Shows one drill's report (the summary; -o json prints the full JSON report). --html "
        "prints the self-contained HTML page instead (redirect it to a file)."}},
      {"ops",
       {"foghorn ops [--group G] [--limit N]", "Lists operations, newest first (default 20)."}},
      {"op", {"foghorn op <operation-id>", "Shows one operation with its steps."}},
      {"approve",
       {"foghorn approve <group> --reason R [--allow-data-loss-over-budget]",
        "Approves the failover the group waits for (approver role)."}},
      {"reject",
       {"foghorn reject <group> --reason R", "Rejects the failover the group waits for."}},
      {"pause",
       {"foghorn pause (<group> | --all) --reason R [--for DURATION]",
        "Pauses automation for one group or all, until resumed or for DURATION (e.g. 30m, 2h)."}},
      {"resume", {"foghorn resume (<group> | --all)", "Resumes automation."}},
      {"watch",
       {"foghorn watch [--group G]... [--kind verdict|decision|step|operation]...\n"
        "              [--operation ID] [--count N]",
        "Streams events as they happen (one line each, or one JSON object per line with "
        "-o json) until interrupted, or until N events were shown."}},
      {"runbook",
       {"foghorn runbook validate <file>...",
        "Checks runbook files on the agent and prints every problem as file:line:column. Exit 1 "
        "when any file has problems."}},
  };
  return *helps;
}

int ExitFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return kExitOk;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      return kExitUsage;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return kExitUnavailable;
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return kExitAuth;
    case grpc::StatusCode::NOT_FOUND:
      return kExitNotFound;
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::ALREADY_EXISTS:
      return kExitRefused;
    default:
      return kExitError;
  }
}

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "invalid argument";
    case grpc::StatusCode::UNAVAILABLE:
      return "unavailable";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "deadline exceeded";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "unauthenticated";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "permission denied";
    case grpc::StatusCode::NOT_FOUND:
      return "not found";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "refused";
    case grpc::StatusCode::ABORTED:
      return "busy";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "already exists";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "not implemented";
    default:
      return "error";
  }
}

// Parsed command line: positional args and --flags (repeatable).
struct Args {
  std::vector<std::string> positional;
  std::multimap<std::string, std::string> flags;
  std::set<std::string> switches;

  std::optional<std::string> Get(const std::string& name) const {
    auto it = flags.find(name);
    if (it == flags.end()) return std::nullopt;
    return it->second;
  }
  std::vector<std::string> All(const std::string& name) const {
    std::vector<std::string> out;
    for (auto [it, end] = flags.equal_range(name); it != end; ++it) out.push_back(it->second);
    return out;
  }
  bool Has(const std::string& name) const { return switches.count(name) > 0; }
};

const std::set<std::string>& SwitchNames() {
  static const auto* s = new std::set<std::string>{
      "help", "dry-run", "no-wait", "all", "allow-data-loss-over-budget", "wait", "html"};
  return *s;
}

// Accepts --flag value, --flag=value and -o value; anything unknown is a usage error.
bool ParseArgs(const std::vector<std::string>& in, Args* out, std::string* error) {
  static const std::set<std::string> kValueFlags = {
      "addr",    "token",   "token-file", "ca",    "cert",       "key",           "tls-server-name",
      "timeout", "output",  "reason",     "kind",  "request-id", "group",         "limit",
      "for",     "history", "operation",  "count", "hold",       "override-holds"};
  for (size_t i = 0; i < in.size(); ++i) {
    std::string a = in[i];
    if (a == "-h") a = "--help";
    if (a == "-o") a = "--output";
    if (!absl::StartsWith(a, "--") || a == "--") {
      out->positional.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (SwitchNames().count(name)) {
      if (value) {
        *error = absl::StrCat("--", name, " takes no value");
        return false;
      }
      out->switches.insert(name);
      continue;
    }
    if (!kValueFlags.count(name)) {
      *error = absl::StrCat("unknown flag --", name);
      return false;
    }
    if (!value) {
      if (i + 1 >= in.size()) {
        *error = absl::StrCat("--", name, " needs a value");
        return false;
      }
      value = in[++i];
    }
    out->flags.emplace(name, *value);
  }
  return true;
}

// common::ReadFile for call sites that word their own error.
std::string ReadFile(const std::string& path, bool* ok) {
  absl::StatusOr<std::string> text = common::ReadFile(path);
  *ok = text.ok();
  return text.ok() ? *std::move(text) : std::string();
}

std::string FormatTime(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(t.seconds()),
                          absl::UTCTimeZone());
}

std::string FormatDuration(const google::protobuf::Duration& d) {
  return absl::FormatDuration(common::FromProtoDuration(d));
}

// Measured figures, to the millisecond.
std::string FormatMeasured(const google::protobuf::Duration& d) {
  return absl::FormatDuration(absl::Trunc(common::FromProtoDuration(d), absl::Milliseconds(1)));
}

// "FAILOVER_KIND_PLANNED" -> "planned".
std::string Short(const std::string& enum_name, const std::string& prefix) {
  std::string s = absl::StartsWith(enum_name, prefix) ? enum_name.substr(prefix.size()) : enum_name;
  return absl::AsciiStrToLower(s);
}
std::string KindName(v1::FailoverKind k) {
  return Short(v1::FailoverKind_Name(k), "FAILOVER_KIND_");
}
std::string VerdictName(v1::Verdict v) { return Short(v1::Verdict_Name(v), "VERDICT_"); }
std::string StageName(v1::DecisionStage s) {
  return Short(v1::DecisionStage_Name(s), "DECISION_STAGE_");
}
std::string OpStateName(v1::OperationState s) {
  return Short(v1::OperationState_Name(s), "OPERATION_STATE_");
}
std::string StepStateName(v1::StepState s) { return Short(v1::StepState_Name(s), "STEP_STATE_"); }

// True for a step or end event of the drill started with `request_id`.
bool IsEventOfDrill(const v1::WatchResponse& e, const std::string& request_id) {
  switch (e.detail_case()) {
    case v1::WatchResponse::kOperationStep:
      return e.operation_step().drill() && e.operation_step().request_id() == request_id;
    case v1::WatchResponse::kOperation:
      return e.operation().drill() && e.operation().request_id() == request_id;
    default:
      return false;
  }
}

void PrintTable(std::ostream& out, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], r[i].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t i = 0; i < cells.size(); ++i) {
      s += cells[i];
      if (i + 1 < cells.size()) s += std::string(width[i] - cells[i].size() + 2, ' ');
    }
    out << s << "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
}

class Cli {
 public:
  Cli(std::ostream& out, std::ostream& err, const Getenv& getenv)
      : out_(out), err_(err), getenv_(getenv) {}

  int Run(const std::vector<std::string>& argv) {
    std::string error;
    if (!ParseArgs(argv, &args_, &error)) {
      err_ << "foghorn: " << error << "\n";
      return kExitUsage;
    }
    if (args_.positional.empty() || args_.positional[0] == "help") {
      if (args_.positional.size() > 1) return Help(args_.positional[1]);
      (args_.positional.empty() && !args_.Has("help") ? err_ : out_) << kUsage;
      return args_.positional.empty() && !args_.Has("help") ? kExitUsage : kExitOk;
    }
    const std::string cmd = args_.positional[0];
    if (!Helps().count(cmd)) {
      err_ << "foghorn: unknown command \"" << cmd << "\"\n\n" << kUsage;
      return kExitUsage;
    }
    if (args_.Has("help")) return Help(cmd);
    std::string output = Flag("output", "FOGHORN_OUTPUT", "table");
    if (output != "table" && output != "json") return Usage(cmd, "--output must be table or json");
    json_ = output == "json";
    std::optional<absl::Duration> timeout =
        common::ParseDurationText(Flag("timeout", "FOGHORN_TIMEOUT", "30s"));
    if (!timeout || *timeout <= absl::ZeroDuration()) {
      return Usage(cmd, "--timeout must be a positive duration such as 30s");
    }
    timeout_ = *timeout;
    if (int rc = Connect(cmd); rc != kExitOk) return rc;
    if (cmd == "status") return Status();
    if (cmd == "groups") return Groups();
    if (cmd == "group") return GroupCmd();
    if (cmd == "failover") return Failover();
    if (cmd == "drill") return Drill();
    if (cmd == "readiness") return Readiness();
    if (cmd == "reports") return Reports();
    if (cmd == "report") return ReportCmd();
    if (cmd == "ops") return Ops();
    if (cmd == "op") return Op();
    if (cmd == "approve") return Approve(true);
    if (cmd == "reject") return Approve(false);
    if (cmd == "pause") return Pause();
    if (cmd == "resume") return Resume();
    if (cmd == "watch") return Watch();
    if (cmd == "runbook") return Runbook();
    return kExitUsage;
  }

 private:
  int Help(const std::string& cmd) {
    auto it = Helps().find(cmd);
    if (it == Helps().end()) {
      err_ << "foghorn: unknown command \"" << cmd << "\"\n";
      return kExitUsage;
    }
    out_ << "Usage: " << it->second.usage << "\n\n"
         << it->second.text << "\n\n"
         << "Connection flags (--addr, --token, --ca, ...) and -o json apply to every command; "
            "see 'foghorn --help'.\n";
    return kExitOk;
  }

  int Usage(const std::string& cmd, const std::string& message) {
    err_ << "foghorn " << cmd << ": " << message << "\n";
    auto it = Helps().find(cmd);
    if (it != Helps().end()) err_ << "Usage: " << it->second.usage << "\n";
    return kExitUsage;
  }

  std::string Flag(const std::string& name, const std::string& env, const std::string& def) {
    if (auto v = args_.Get(name)) return *v;
    std::string e = env.empty() ? "" : getenv_(env);
    return e.empty() ? def : e;
  }

  int Connect(const std::string& cmd) {
    addr_ = Flag("addr", "FOGHORN_ADDR", "127.0.0.1:7443");
    token_ = Flag("token", "FOGHORN_TOKEN", "");
    std::string token_file = Flag("token-file", "FOGHORN_TOKEN_FILE", "");
    if (token_.empty() && !token_file.empty()) {
      bool ok = false;
      token_ = std::string(absl::StripAsciiWhitespace(ReadFile(token_file, &ok)));
      if (!ok) return Usage(cmd, "cannot read the token file " + token_file);
    }
    std::string ca = Flag("ca", "FOGHORN_CA", "");
    std::string cert = Flag("cert", "FOGHORN_CERT", "");
    std::string key = Flag("key", "FOGHORN_KEY", "");
    std::shared_ptr<grpc::ChannelCredentials> creds;
    grpc::ChannelArguments channel_args;
    if (!ca.empty() || !cert.empty()) {
      grpc::SslCredentialsOptions ssl;
      bool ok = true;
      if (!ca.empty()) ssl.pem_root_certs = ReadFile(ca, &ok);
      if (!ok) return Usage(cmd, "cannot read the CA file " + ca);
      if (cert.empty() != key.empty()) return Usage(cmd, "--cert and --key go together");
      if (!cert.empty()) {
        ssl.pem_cert_chain = ReadFile(cert, &ok);
        if (!ok) return Usage(cmd, "cannot read the certificate " + cert);
        ssl.pem_private_key = ReadFile(key, &ok);
        if (!ok) return Usage(cmd, "cannot read the key " + key);
      }
      creds = grpc::SslCredentials(ssl);
      std::string server_name = Flag("tls-server-name", "FOGHORN_TLS_SERVER_NAME", "");
      if (!server_name.empty()) channel_args.SetSslTargetNameOverride(server_name);
    } else if (IsLoopbackTarget(addr_)) {
      creds = grpc::InsecureChannelCredentials();
    } else {
      // Beyond loopback the bearer token must not travel in clear text: TLS with the system's
      // CA store (no --ca given).
      creds = grpc::SslCredentials(grpc::SslCredentialsOptions());
      std::string server_name = Flag("tls-server-name", "FOGHORN_TLS_SERVER_NAME", "");
      if (!server_name.empty()) channel_args.SetSslTargetNameOverride(server_name);
    }
    stub_ = v1::ControlService::NewStub(grpc::CreateCustomChannel(addr_, creds, channel_args));
    return kExitOk;
  }

  std::unique_ptr<grpc::ClientContext> Ctx(bool with_deadline = true) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (with_deadline) ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
    if (!token_.empty()) ctx->AddMetadata("authorization", "Bearer " + token_);
    return ctx;
  }

  int Fail(const grpc::Status& s) {
    err_ << "foghorn: " << CodeName(s.error_code()) << ": " << s.error_message() << "\n";
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
      err_ << "(is foghornd running and listening on " << addr_
           << "? set --addr or FOGHORN_ADDR; for TLS set --ca)\n";
    }
    return ExitFor(s.error_code());
  }

  void PrintJson(const google::protobuf::Message& m, bool pretty = true) {
    google::protobuf::util::JsonPrintOptions o;
    o.add_whitespace = pretty;
    o.preserve_proto_field_names = true;
    std::string s;
    (void)google::protobuf::util::MessageToJsonString(m, &s, o);
    out_ << s << (pretty && absl::EndsWith(s, "\n") ? "" : "\n");
  }

  std::optional<std::string> Positional(size_t i) {
    if (args_.positional.size() <= i) return std::nullopt;
    return args_.positional[i];
  }

  static std::string Health(const v1::TargetHealth& h) {
    return absl::StrCat(h.server().empty() ? "?" : h.server(), " (", VerdictName(h.verdict()), ")");
  }
  static std::string PauseText(const v1::PauseState& p) {
    if (!p.paused()) return "-";
    return absl::StrCat(p.global() ? "all " : "", "until ",
                        p.has_until() ? FormatTime(p.until()) : "resumed");
  }
  static std::string OpText(const std::string& op) { return op.empty() ? "-" : op; }

  std::vector<std::vector<std::string>> GroupRows(const v1::ListGroupsResponse& r) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& g : r.groups()) {
      rows.push_back({g.id(), Health(g.primary()), Health(g.secondary()),
                      g.has_last_decision() ? StageName(g.last_decision().stage()) : "-",
                      PauseText(g.pause()), OpText(g.operation_in_flight())});
    }
    return rows;
  }

  int Status() {
    v1::ListGroupsResponse r;
    grpc::Status s = stub_->ListGroups(Ctx().get(), {}, &r);
    if (!s.ok()) return Fail(s);
    if (json_) {
      PrintJson(r);
      return kExitOk;
    }
    int healthy = 0, failing = 0, paused = 0, busy = 0;
    for (const auto& g : r.groups()) {
      auto stage = g.last_decision().stage();
      if (stage == v1::DECISION_STAGE_HEALTHY) ++healthy;
      if (stage != v1::DECISION_STAGE_HEALTHY && stage != v1::DECISION_STAGE_UNSPECIFIED) ++failing;
      if (g.pause().paused()) ++paused;
      if (!g.operation_in_flight().empty()) ++busy;
    }
    out_ << "agent:        " << addr_ << "\n"
         << "groups:       " << r.groups_size() << " (" << healthy << " healthy, " << failing
         << " not healthy, " << paused << " paused, " << busy << " failing over)\n"
         << "global pause: "
         << (r.global_pause().paused()
                 ? absl::StrCat(PauseText(r.global_pause()), ": ", r.global_pause().reason())
                 : "no")
         << "\n\n";
    PrintTable(out_, {"GROUP", "PRIMARY", "SECONDARY", "STAGE", "PAUSED", "OPERATION"},
               GroupRows(r));
    return kExitOk;
  }

  int Groups() {
    v1::ListGroupsResponse r;
    grpc::Status s = stub_->ListGroups(Ctx().get(), {}, &r);
    if (!s.ok()) return Fail(s);
    if (json_) {
      PrintJson(r);
      return kExitOk;
    }
    PrintTable(out_, {"GROUP", "PRIMARY", "SECONDARY", "STAGE", "PAUSED", "OPERATION"},
               GroupRows(r));
    return kExitOk;
  }

  int GroupCmd() {
    auto id = Positional(1);
    if (!id) return Usage("group", "which group?");
    int history = 5;
    if (auto h = args_.Get("history"); h && (!absl::SimpleAtoi(*h, &history) || history < 0)) {
      return Usage("group", "--history must be a number");
    }
    v1::GetGroupRequest req;
    req.set_group_id(*id);
    v1::GetGroupResponse r;
    grpc::Status s = stub_->GetGroup(Ctx().get(), req, &r);
    if (!s.ok()) return Fail(s);
    v1::ListDecisionsResponse decisions;
    if (history > 0) {
      v1::ListDecisionsRequest dreq;
      dreq.set_group_id(r.group().id());
      dreq.set_page_size(history);
      s = stub_->ListDecisions(Ctx().get(), dreq, &decisions);
      if (!s.ok()) return Fail(s);
    }
    if (json_) {
      PrintJson(r);
      if (history > 0) PrintJson(decisions);
      return kExitOk;
    }
    const v1::FailoverGroup& g = r.group();
    const v1::Decision& d = g.last_decision();
    out_ << "group:          " << g.id() << "\n"
         << "primary:        " << Health(g.primary())
         << (g.primary().has_unhealthy_since()
                 ? " since " + FormatTime(g.primary().unhealthy_since())
                 : "")
         << "\n"
         << "secondary:      " << Health(g.secondary())
         << (g.secondary().has_unhealthy_since()
                 ? " since " + FormatTime(g.secondary().unhealthy_since())
                 : "")
         << "\n"
         << "roles from ARM: " << (g.roles_from_arm() ? "yes" : "no (runbook)") << "\n"
         << "approval mode:  " << Short(g.approval_mode(), "APPROVAL_MODE_") << "\n"
         << "lag:            "
         << (g.has_replication_lag() ? FormatDuration(g.replication_lag()) + " at " +
                                           FormatTime(g.replication_lag_sampled_at())
                                     : "unknown")
         << "\n"
         << "paused:         " << PauseText(g.pause())
         << (g.pause().paused() ? ": " + g.pause().reason() : "") << "\n"
         << "operation:      " << OpText(g.operation_in_flight()) << "\n"
         << "decision:       " << StageName(d.stage())
         << (d.action() ? " -> " + KindName(d.action()) : "")
         << (d.intended() && !d.action() ? " (intended " + KindName(d.intended()) + ")" : "")
         << "\n";
    if (d.has_estimated_data_loss()) {
      out_ << "data loss est.: " << FormatDuration(d.estimated_data_loss()) << "\n";
    }
    if (d.has_outage_began()) out_ << "outage began:   " << FormatTime(d.outage_began()) << "\n";
    for (const auto& reason : d.reasons()) {
      out_ << "  - " << reason.code() << ": " << reason.text() << "\n";
    }
    out_ << "probes:         ";
    std::vector<std::string> probes;
    for (const auto& p : g.probes()) {
      probes.push_back(p.name() + "@" + Short(v1::ProbeTarget_Name(p.target()), "PROBE_TARGET_"));
    }
    out_ << absl::StrJoin(probes, ", ") << "\n";
    if (history > 0) {
      out_ << "\nrecent decisions:\n";
      std::vector<std::vector<std::string>> rows;
      for (const auto& rec : decisions.decisions()) {
        rows.push_back({FormatTime(rec.decided_at()), StageName(rec.stage()),
                        rec.action() ? KindName(rec.action()) : "-", rec.summary()});
      }
      PrintTable(out_, {"AT", "STAGE", "ACTION", "SUMMARY"}, rows);
    }
    return kExitOk;
  }

  static std::string RandomRequestId() {
    std::random_device rd;
    std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd());
    return absl::StrCat("cli-", absl::Hex(gen(), absl::kZeroPad16));
  }

  int Failover() {
    auto group = Positional(1);
    if (!group) return Usage("failover", "which group?");
    const bool dry_run = args_.Has("dry-run");
    auto reason = args_.Get("reason");
    if (!reason && !dry_run) return Usage("failover", "--reason is required");
    std::string kind_text = args_.Get("kind").value_or("auto");
    v1::FailoverKind kind;
    if (kind_text == "planned") {
      kind = v1::FAILOVER_KIND_PLANNED;
    } else if (kind_text == "forced") {
      kind = v1::FAILOVER_KIND_FORCED;
    } else if (kind_text == "try-planned" || kind_text == "try-planned-before-forced") {
      kind = v1::FAILOVER_KIND_TRY_PLANNED_BEFORE_FORCED;
    } else if (kind_text == "auto") {
      kind = v1::FAILOVER_KIND_AUTO;
    } else {
      return Usage("failover", "--kind must be planned, forced, try-planned or auto");
    }
    v1::RequestFailoverRequest req;
    req.set_group_id(*group);
    req.set_kind(kind);
    req.set_reason(reason.value_or(""));
    req.set_request_id(args_.Get("request-id").value_or(dry_run ? "" : RandomRequestId()));
    req.set_dry_run(dry_run);
    if (auto override_reason = args_.Get("override-holds")) {
      if (override_reason->empty()) {
        return Usage("failover", "--override-holds needs the reason for the override");
      }
      req.set_override_holds(true);
      req.set_override_reason(*override_reason);
    }

    // Subscribe before asking, so no step can be missed.
    std::unique_ptr<grpc::ClientContext> watch_ctx;
    std::unique_ptr<grpc::ClientReader<v1::WatchResponse>> watch;
    const bool follow = !dry_run && !args_.Has("no-wait");
    if (follow) {
      watch_ctx = Ctx(/*with_deadline=*/false);
      v1::WatchRequest wreq;
      wreq.add_group_ids(*group);
      wreq.add_kinds(v1::EVENT_KIND_OPERATION_STEP);
      wreq.add_kinds(v1::EVENT_KIND_OPERATION);
      watch = stub_->Watch(watch_ctx.get(), wreq);
      v1::WatchResponse first;
      if (!watch->Read(&first)) {
        // The failover matters more than its live steps: ask anyway and poll the operation.
        grpc::Status ws = watch->Finish();
        err_ << "foghorn: cannot watch the operation's steps (" << ws.error_message()
             << "); requesting the failover anyway and polling it\n";
        watch.reset();
      }
    }
    v1::RequestFailoverResponse r;
    grpc::Status s = stub_->RequestFailover(Ctx().get(), req, &r);
    if (!s.ok()) {
      if (watch) watch_ctx->TryCancel();
      return Fail(s);
    }
    if (dry_run) {
      if (json_) {
        PrintJson(r);
        return kExitOk;
      }
      const v1::FailoverPlan& p = r.plan();
      out_ << "dry run: would fail over " << *group << " (" << KindName(p.kind()) << ") from "
           << p.source_server() << " to " << p.target_server() << "\n"
           << "pre steps:  " << (p.pre_steps().empty() ? "-" : absl::StrJoin(p.pre_steps(), ", "))
           << "\n"
           << "post steps: " << (p.post_steps().empty() ? "-" : absl::StrJoin(p.post_steps(), ", "))
           << "\n"
           << "engine now: " << r.decision().summary() << "\n";
      return kExitOk;
    }
    const std::string op_id = r.operation().id();
    if (!json_) {
      out_ << (r.created() ? "started" : "already requested (same request id):") << " operation "
           << op_id << ": " << KindName(r.operation().kind()) << " failover of "
           << r.operation().group_id() << " to " << r.operation().target_server() << " (request id "
           << r.operation().request_id() << ")\n";
    }
    if (!follow) {
      if (json_) PrintJson(r);
      return kExitOk;
    }
    // Follow until the operation ends (or it had already ended before we asked).
    bool ended = r.operation().state() >= v1::OPERATION_STATE_SUCCEEDED;
    if (watch == nullptr) {
      for (int failures = 0; !ended;) {
        absl::SleepFor(absl::Seconds(1));
        v1::GetOperationRequest greq;
        greq.set_operation_id(op_id);
        v1::GetOperationResponse op;
        grpc::Status gs = stub_->GetOperation(Ctx().get(), greq, &op);
        if (gs.ok()) {
          failures = 0;
          ended = op.operation().state() >= v1::OPERATION_STATE_SUCCEEDED;
        } else if (++failures >= 30) {
          err_ << "foghorn: lost the agent while following operation " << op_id
               << "; it may still be running: 'foghorn op " << op_id << "'\n";
          return Fail(gs);
        }
      }
      return PrintOperationSummary(op_id);
    }
    v1::WatchResponse e;
    while (!ended && watch->Read(&e)) {
      if (e.kind() == v1::EVENT_KIND_MISSED) {
        if (!json_) out_ << "  (" << e.missed() << " events missed; the summary is complete)\n";
        continue;
      }
      if (e.operation_id() != op_id) continue;
      if (json_) {
        PrintJson(e, /*pretty=*/false);
      } else if (e.kind() == v1::EVENT_KIND_OPERATION_STEP) {
        out_ << "  " << FormatTime(e.at()) << "  " << e.summary() << "\n";
      }
      if (e.kind() == v1::EVENT_KIND_OPERATION) ended = true;
    }
    watch_ctx->TryCancel();
    while (watch->Read(&e)) {
    }
    (void)watch->Finish();
    return PrintOperationSummary(op_id);
  }

  int PrintOperationSummary(const std::string& op_id) {
    v1::GetOperationRequest greq;
    greq.set_operation_id(op_id);
    v1::GetOperationResponse op;
    grpc::Status s = stub_->GetOperation(Ctx().get(), greq, &op);
    if (!s.ok()) return Fail(s);
    const v1::Operation& o = op.operation();
    if (json_) {
      PrintJson(op);
    } else {
      absl::Duration took = absl::Seconds(o.updated_at().seconds() - o.created_at().seconds());
      out_ << "operation " << o.id() << " " << OpStateName(o.state()) << " after "
           << absl::FormatDuration(took) << ": " << o.outcome() << "\n";
    }
    if (o.state() == v1::OPERATION_STATE_SUCCEEDED) return kExitOk;
    if (o.state() == v1::OPERATION_STATE_PENDING || o.state() == v1::OPERATION_STATE_RUNNING) {
      if (!json_) out_ << "(still running: follow it with 'foghorn op " << o.id() << "')\n";
      return kExitOk;
    }
    return kExitFailed;
  }

  int Drill() {
    auto group = Positional(1);
    if (!group) return Usage("drill", "which group?");
    const bool dry_run = args_.Has("dry-run");
    v1::StartDrillRequest req;
    req.set_group_id(*group);
    req.set_reason(args_.Get("reason").value_or("drill requested with the foghorn CLI"));
    req.set_dry_run(dry_run);
    req.set_request_id(args_.Get("request-id").value_or(dry_run ? "" : RandomRequestId()));
    if (auto h = args_.Get("hold")) {
      std::optional<absl::Duration> d = common::ParseDurationText(*h);
      if (!d) return Usage("drill", "--hold must be a duration such as 30s");
      common::ToProtoDuration(*d, req.mutable_hold());
    }
    const bool follow = !dry_run && args_.Has("wait");

    // Subscribe before asking, so no step can be missed; events are printed by a reader thread
    // while this thread polls the report (a drill that cannot start sends no event at all).
    std::unique_ptr<grpc::ClientContext> watch_ctx;
    std::unique_ptr<grpc::ClientReader<v1::WatchResponse>> watch;
    if (follow) {
      watch_ctx = Ctx(/*with_deadline=*/false);
      v1::WatchRequest wreq;
      wreq.add_group_ids(*group);
      wreq.add_kinds(v1::EVENT_KIND_OPERATION_STEP);
      wreq.add_kinds(v1::EVENT_KIND_OPERATION);
      watch = stub_->Watch(watch_ctx.get(), wreq);
      v1::WatchResponse first;
      if (!watch->Read(&first)) return Fail(watch->Finish());
    }
    v1::StartDrillResponse r;
    grpc::Status s = stub_->StartDrill(Ctx().get(), req, &r);
    if (!s.ok()) {
      if (watch) {
        watch_ctx->TryCancel();
        v1::WatchResponse e;
        while (watch->Read(&e)) {
        }
        (void)watch->Finish();
      }
      return Fail(s);
    }
    if (dry_run) {
      if (json_) {
        PrintJson(r);
        return kExitOk;
      }
      out_ << r.plan().summary() << "\n\nplan:\n";
      for (const auto& st : r.plan().steps())
        out_ << "  " << st.name() << ": " << st.detail() << "\n";
      out_ << "\n";
      PrintChecks(r.plan().checks());
      PrintFixes(r.plan().fixes());
      return kExitOk;
    }
    if (!json_) {
      out_ << (r.created() ? "started drill " : "already requested (same request id): drill ")
           << (r.drill_id().empty() ? r.operation().id() : r.drill_id()) << " of " << *group
           << " (request id " << r.request_id() << ")\n";
    }
    if (!follow) {
      if (json_) PrintJson(r);
      return kExitOk;
    }
    const std::string request_id = r.request_id().empty() ? req.request_id() : r.request_id();
    absl::Mutex mu;
    bool operation_ended = false;
    std::thread reader([&] {
      v1::WatchResponse e;
      while (watch->Read(&e)) {
        if (e.kind() == v1::EVENT_KIND_MISSED) continue;
        if (!IsEventOfDrill(e, request_id)) continue;
        absl::MutexLock lock(&mu);
        if (json_) {
          PrintJson(e, /*pretty=*/false);
        } else if (e.kind() == v1::EVENT_KIND_OPERATION_STEP) {
          out_ << "  " << FormatTime(e.at()) << "  " << e.summary() << "\n";
        }
        out_.flush();
        if (e.kind() == v1::EVENT_KIND_OPERATION) operation_ended = true;
      }
    });
    v1::GetDrillReportResponse report;
    grpc::Status rs;
    for (;;) {
      v1::GetDrillReportRequest greq;
      greq.set_drill_id(r.drill_id());
      report.Clear();
      rs = stub_->GetDrillReport(Ctx().get(), greq, &report);
      if (!rs.ok() || report.report().outcome() != v1::DRILL_OUTCOME_RUNNING) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    // Let the last events (published just before the report was written) reach the screen.
    {
      absl::MutexLock lock(&mu);
      mu.AwaitWithTimeout(absl::Condition(&operation_ended), absl::Seconds(2));
    }
    watch_ctx->TryCancel();
    reader.join();
    (void)watch->Finish();
    if (!rs.ok()) return Fail(rs);
    return PrintDrillReport(report);
  }

  void PrintChecks(const google::protobuf::RepeatedPtrField<v1::ReadinessCheck>& checks) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& c : checks) {
      rows.push_back(
          {c.name(), Short(v1::CheckStatus_Name(c.status()), "CHECK_STATUS_"), c.reason()});
    }
    PrintTable(out_, {"CHECK", "STATUS", "REASON"}, rows);
  }

  void PrintFixes(const google::protobuf::RepeatedPtrField<std::string>& fixes) {
    if (fixes.empty()) return;
    out_ << "\nto fix:\n";
    for (const auto& f : fixes) out_ << "  - " << f << "\n";
  }

  std::string DrillOutcomeName(v1::DrillOutcome o) {
    return Short(v1::DrillOutcome_Name(o), "DRILL_OUTCOME_");
  }

  // The summary of a finished drill; exit 0 when it passed (or is a plan), 1 otherwise.
  int PrintDrillReport(const v1::GetDrillReportResponse& resp) {
    const v1::DrillReport& r = resp.report();
    if (json_) {
      if (!resp.report_json().empty()) {
        out_ << resp.report_json() << "\n";
      } else {
        PrintJson(resp);
      }
    } else {
      out_ << "drill " << r.drill_id() << " " << DrillOutcomeName(r.outcome()) << ": "
           << r.summary() << "\n";
      out_ << "group:     " << r.group_id() << " (primary " << r.original_primary() << " -> "
           << r.partner() << ", ends on " << (r.final_primary().empty() ? "-" : r.final_primary())
           << ")\n";
      out_ << "started:   " << FormatTime(r.started_at()) << "\n"
           << "finished:  " << FormatTime(r.finished_at()) << "\n";
      if (!r.operation_id().empty()) out_ << "operation: " << r.operation_id() << "\n";
      for (const auto& d : r.directions()) {
        out_ << d.name() << " " << d.from_server() << " -> " << d.to_server() << ": "
             << (d.completed() ? "completed" : "NOT completed") << ", RTO "
             << (d.has_rto() ? FormatMeasured(d.rto()) : std::string("not measured"))
             << " (listener outage " << FormatMeasured(d.listener_outage()) << ", "
             << d.failed_samples() << " failed samples), " << d.posts_accepted()
             << " failover POST(s), data lost: " << d.data_lost_writes() << " writes ("
             << d.data_loss_basis() << ")\n";
      }
      if (!r.steps().empty()) {
        out_ << "\n";
        std::vector<std::vector<std::string>> rows;
        for (const auto& st : r.steps()) {
          rows.push_back({st.name(), st.state(), FormatTime(st.started_at()),
                          FormatTime(st.finished_at()), st.detail()});
        }
        PrintTable(out_, {"STEP", "STATE", "STARTED", "FINISHED", "DETAIL"}, rows);
      }
      if (!r.checks().empty()) {
        out_ << "\n";
        PrintChecks(r.checks());
      }
      PrintFixes(r.fixes());
      if (!resp.html_path().empty()) {
        out_ << "\nreport: " << resp.json_path() << "\n        " << resp.html_path() << "\n";
      }
    }
    switch (r.outcome()) {
      case v1::DRILL_OUTCOME_PASSED:
      case v1::DRILL_OUTCOME_PLANNED:
      case v1::DRILL_OUTCOME_RUNNING:
        return kExitOk;
      default:
        return kExitFailed;
    }
  }

  int Readiness() {
    auto group = Positional(1);
    if (!group) return Usage("readiness", "which group?");
    v1::CheckReadinessRequest req;
    req.set_group_id(*group);
    v1::CheckReadinessResponse r;
    grpc::Status s = stub_->CheckReadiness(Ctx().get(), req, &r);
    if (!s.ok()) return Fail(s);
    if (json_) {
      PrintJson(r);
    } else {
      out_ << *group << ": " << (r.ready() ? "ready" : "NOT ready") << " (primary "
           << (r.current_primary().empty() ? "unknown" : r.current_primary()) << ", secondary "
           << (r.current_secondary().empty() ? "unknown" : r.current_secondary()) << ")\n\n";
      PrintChecks(r.checks());
      google::protobuf::RepeatedPtrField<std::string> fixes;
      for (const auto& c : r.checks()) {
        if (!c.fix().empty()) *fixes.Add() = c.name() + ": " + c.fix();
      }
      PrintFixes(fixes);
    }
    return r.ready() ? kExitOk : kExitFailed;
  }

  int Reports() {
    v1::ListDrillReportsRequest req;
    req.set_group_id(Positional(1).value_or(""));
    int limit = 20;
    if (auto l = args_.Get("limit"); l && (!absl::SimpleAtoi(*l, &limit) || limit <= 0)) {
      return Usage("reports", "--limit must be a positive number");
    }
    req.set_page_size(limit);
    v1::ListDrillReportsResponse r;
    grpc::Status s = stub_->ListDrillReports(Ctx().get(), req, &r);
    if (!s.ok()) return Fail(s);
    if (json_) {
      PrintJson(r);
      return kExitOk;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& d : r.reports()) {
      rows.push_back({d.drill_id(), d.group_id(),
                      DrillOutcomeName(d.outcome()) + (d.dry_run() ? " (dry run)" : ""),
                      FormatTime(d.started_at()), FormatTime(d.finished_at())});
    }
    PrintTable(out_, {"DRILL", "GROUP", "OUTCOME", "STARTED", "FINISHED"}, rows);
    return kExitOk;
  }

  int ReportCmd() {
    auto id = Positional(1);
    if (!id) return Usage("report", "which drill?");
    v1::GetDrillReportRequest req;
    req.set_drill_id(*id);
    req.set_include_html(args_.Has("html"));
    v1::GetDrillReportResponse r;
    grpc::Status s = stub_->GetDrillReport(Ctx().get(), req, &r);
    if (!s.ok()) return Fail(s);
    if (args_.Has("html")) {
      if (r.html().empty()) {
        err_ << "foghorn report: drill " << *id << " has no HTML page yet ("
             << DrillOutcomeName(r.report().outcome()) << ")\n";
        return kExitFailed;
      }
      out_ << r.html();
      return kExitOk;
    }
    return PrintDrillReport(r);
  }

  int Ops() {
    v1::ListOperationsRequest req;
    req.set_group_id(args_.Get("group").value_or(""));
    int limit = 20;
    if (auto l = args_.Get("limit"); l && (!absl::SimpleAtoi(*l, &limit) || limit <= 0)) {
      return Usage("ops", "--limit must be a positive number");
    }
    req.set_page_size(limit);
    v1::ListOperationsResponse r;
    grpc::Status s = stub_->ListOperations(Ctx().get(), req, &r);
    if (!s.ok()) return Fail(s);
    if (json_) {
      PrintJson(r);
      return kExitOk;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& o : r.operations()) {
      rows.push_back({o.id(), o.group_id(), o.drill() ? "drill" : KindName(o.kind()),
                      OpStateName(o.state()), o.requested_by(), FormatTime(o.created_at())});
    }
    PrintTable(out_, {"OPERATION", "GROUP", "KIND", "STATE", "BY", "CREATED"}, rows);
    return kExitOk;
  }

  int Op() {
    auto id = Positional(1);
    if (!id) return Usage("op", "which operation?");
    v1::GetOperationRequest req;
    req.set_operation_id(*id);
    v1::GetOperationResponse r;
    grpc::Status s = stub_->GetOperation(Ctx().get(), req, &r);
    if (!s.ok()) return Fail(s);
    if (json_) {
      PrintJson(r);
      return kExitOk;
    }
    const v1::Operation& o = r.operation();
    out_ << "operation:  " << o.id() << "\n"
         << "group:      " << o.group_id() << "\n"
         << "kind:       " << (o.drill() ? "drill" : KindName(o.kind())) << "\n"
         << "state:      " << OpStateName(o.state()) << "\n"
         << "target:     " << o.target_server() << "\n"
         << "by:         " << o.requested_by() << "\n"
         << "reason:     " << o.reason() << "\n"
         << "request id: " << o.request_id() << "\n"
         << "created:    " << FormatTime(o.created_at()) << "\n"
         << "updated:    " << FormatTime(o.updated_at()) << "\n"
         << "outcome:    " << (o.outcome().empty() ? "-" : o.outcome()) << "\n\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& st : o.steps()) {
      rows.push_back({std::to_string(st.seq()), st.name(), StepStateName(st.state()),
                      FormatTime(st.started_at()), FormatTime(st.finished_at()), st.detail()});
    }
    PrintTable(out_, {"#", "STEP", "STATE", "STARTED", "FINISHED", "DETAIL"}, rows);
    return kExitOk;
  }

  int Approve(bool approve) {
    const std::string cmd = approve ? "approve" : "reject";
    auto group = Positional(1);
    if (!group) return Usage(cmd, "which group?");
    auto reason = args_.Get("reason");
    if (!reason) return Usage(cmd, "--reason is required");
    grpc::Status s;
    v1::FailoverGroup g;
    if (approve) {
      v1::ApproveDecisionRequest req;
      req.set_group_id(*group);
      req.set_reason(*reason);
      req.set_allow_data_loss_over_budget(args_.Has("allow-data-loss-over-budget"));
      v1::ApproveDecisionResponse r;
      s = stub_->ApproveDecision(Ctx().get(), req, &r);
      g = r.group();
    } else {
      v1::RejectDecisionRequest req;
      req.set_group_id(*group);
      req.set_reason(*reason);
      v1::RejectDecisionResponse r;
      s = stub_->RejectDecision(Ctx().get(), req, &r);
      g = r.group();
    }
    if (!s.ok()) return Fail(s);
    if (json_)
      PrintJson(g);
    else
      out_ << (approve ? "approved" : "rejected") << " the pending failover of " << g.id() << "\n";
    return kExitOk;
  }

  int Pause() {
    auto group = Positional(1);
    const bool all = args_.Has("all");
    if (group.has_value() == all) return Usage("pause", "name one group or --all");
    auto reason = args_.Get("reason");
    if (!reason) return Usage("pause", "--reason is required");
    v1::PauseAutomationRequest req;
    req.set_group_id(group.value_or(""));
    req.set_reason(*reason);
    if (auto f = args_.Get("for")) {
      std::optional<absl::Duration> d = common::ParseDurationText(*f);
      if (!d || *d <= absl::ZeroDuration()) {
        return Usage("pause", "--for must be a positive duration such as 30m");
      }
      common::ToProtoDuration(*d, req.mutable_duration());
    }
    v1::PauseAutomationResponse r;
    grpc::Status s = stub_->PauseAutomation(Ctx().get(), req, &r);
    if (!s.ok()) return Fail(s);
    if (json_)
      PrintJson(r);
    else
      out_ << "paused " << (all ? "all groups" : *group) << " " << PauseText(r.pause()) << "\n";
    return kExitOk;
  }

  int Resume() {
    auto group = Positional(1);
    const bool all = args_.Has("all");
    if (group.has_value() == all) return Usage("resume", "name one group or --all");
    v1::ResumeAutomationRequest req;
    req.set_group_id(group.value_or(""));
    v1::ResumeAutomationResponse r;
    grpc::Status s = stub_->ResumeAutomation(Ctx().get(), req, &r);
    if (!s.ok()) return Fail(s);
    if (json_)
      PrintJson(r);
    else
      out_ << "resumed " << (all ? "all groups" : *group) << "\n";
    return kExitOk;
  }

  int Watch() {
    v1::WatchRequest req;
    for (const auto& g : args_.All("group")) req.add_group_ids(g);
    static const std::map<std::string, v1::EventKind> kKinds = {
        {"verdict", v1::EVENT_KIND_VERDICT},
        {"decision", v1::EVENT_KIND_DECISION},
        {"step", v1::EVENT_KIND_OPERATION_STEP},
        {"operation", v1::EVENT_KIND_OPERATION}};
    for (const auto& k : args_.All("kind")) {
      auto it = kKinds.find(k);
      if (it == kKinds.end())
        return Usage("watch", "--kind must be verdict, decision, step or operation");
      req.add_kinds(it->second);
    }
    req.set_operation_id(args_.Get("operation").value_or(""));
    int count = -1;
    if (auto c = args_.Get("count"); c && (!absl::SimpleAtoi(*c, &count) || count <= 0)) {
      return Usage("watch", "--count must be a positive number");
    }
    auto ctx = Ctx(/*with_deadline=*/false);
    auto reader = stub_->Watch(ctx.get(), req);
    v1::WatchResponse e;
    int shown = 0;
    while (count != 0 && reader->Read(&e)) {
      if (e.kind() == v1::EVENT_KIND_SUBSCRIBED) continue;
      if (json_) {
        PrintJson(e, /*pretty=*/false);
      } else {
        std::string kind = Short(v1::EventKind_Name(e.kind()), "EVENT_KIND_");
        out_ << FormatTime(e.at()) << "  " << kind << "  "
             << (e.group_id().empty() ? "-" : e.group_id()) << "  " << e.summary() << "\n";
      }
      out_.flush();
      if (count > 0 && ++shown == count) break;
    }
    if (count > 0 && shown == count) {
      ctx->TryCancel();
      while (reader->Read(&e)) {
      }
      (void)reader->Finish();
      return kExitOk;
    }
    grpc::Status s = reader->Finish();
    if (!s.ok()) return Fail(s);
    return kExitOk;
  }

  int Runbook() {
    if (Positional(1) != "validate" || args_.positional.size() < 3) {
      return Usage("runbook", "use: foghorn runbook validate <file>...");
    }
    int rc = kExitOk;
    for (size_t i = 2; i < args_.positional.size(); ++i) {
      const std::string& file = args_.positional[i];
      bool ok = false;
      std::string text = ReadFile(file, &ok);
      if (!ok) {
        err_ << "foghorn: cannot read " << file << "\n";
        rc = kExitUsage;
        continue;
      }
      v1::ValidateRunbookRequest req;
      req.set_file_name(file);
      req.set_text(text);
      v1::ValidateRunbookResponse r;
      grpc::Status s = stub_->ValidateRunbook(Ctx().get(), req, &r);
      if (!s.ok()) return Fail(s);
      if (json_) {
        PrintJson(r, /*pretty=*/false);
      } else if (r.valid()) {
        out_ << file << ": ok (" << r.group_id() << ")\n";
      } else {
        for (const auto& d : r.diagnostics()) {
          out_ << d.file();
          if (d.line() > 0) out_ << ":" << d.line() << ":" << d.column();
          out_ << ": " << (d.field_path().empty() ? "" : d.field_path() + ": ") << d.message()
               << "\n";
        }
      }
      if (!r.valid() && rc == kExitOk) rc = kExitFailed;
    }
    return rc;
  }

  std::ostream& out_;
  std::ostream& err_;
  const Getenv& getenv_;
  Args args_;
  bool json_ = false;
  absl::Duration timeout_;
  std::string addr_;
  std::string token_;
  std::unique_ptr<v1::ControlService::Stub> stub_;
};

}  // namespace

int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
           const Getenv& getenv) {
  Cli cli(out, err, getenv);
  return cli.Run(args);
}

// (cli.h) `target` ("host:port", "[v6]:port", "unix:...", "dns:///host:port") stays on this
// machine: a loopback IP literal, "localhost", or a unix socket.
bool IsLoopbackTarget(std::string target) {
  if (target.rfind("unix:", 0) == 0 || target.rfind("unix-abstract:", 0) == 0) return true;
  if (target.rfind("dns:///", 0) == 0) target = target.substr(7);
  if (target.rfind("ipv4:", 0) == 0) target = target.substr(5);
  if (target.rfind("ipv6:", 0) == 0) target = target.substr(5);
  // gRPC's default port; the port does not matter here, only a malformed target does.
  absl::StatusOr<common::HostPort> address = common::ParseHostPort(target, {.default_port = 443});
  return address.ok() && common::IsLoopbackHost(address->host);
}

}  // namespace foghorn::cli
