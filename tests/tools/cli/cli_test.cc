// The foghorn CLI in process against a real API server and agent (AgentHarness): output, JSON,
// live failover progress, environment settings, --help everywhere, and the exit codes.
#include "tools/cli/cli.h"

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/orchestrator/api/agent_harness.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tools/cli/command_table.h"
#include "tools/cli/output.h"

namespace foghorn::cli {
namespace {

using ::foghorn::testing::AgentHarness;
using ::foghorn::testing::HarnessOptions;
using ::foghorn::testing::IsOk;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;

struct Result {
  int code;
  std::string out;
  std::string err;
};

class CliTest : public ::testing::Test {
 protected:
  void Start(HarnessOptions options = {}) {
    auto h = AgentHarness::Create(dir_.path(), std::move(options));
    ASSERT_THAT(h, IsOk());
    h_ = std::move(h).value();
    env_["FOGHORN_ADDR"] = h_->address();
  }
  void TearDown() override {
    if (h_) h_->Shutdown();
  }
  Result Run(const std::string& command_line) {
    std::vector<std::string> args = absl::StrSplit(command_line, ' ', absl::SkipEmpty());
    std::ostringstream out, err;
    int code = RunCli(args, out, err, [this](const std::string& name) {
      auto it = env_.find(name);
      return it == env_.end() ? std::string() : it->second;
    });
    return {code, out.str(), err.str()};
  }

  foghorn::testing::TempDir dir_;
  std::unique_ptr<AgentHarness> h_;
  std::map<std::string, std::string> env_;
};

TEST_F(CliTest, GroupsPrintsATableOrJson) {
  HarnessOptions o;
  o.groups = 2;
  Start(o);
  Result r = Run("groups");
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("GROUP"));
  EXPECT_THAT(r.out,
              ContainsRegex("sub/rg/fog +srv-a \\(healthy\\) +srv-b \\(healthy\\) +healthy"));
  EXPECT_THAT(r.out, HasSubstr("sub/rg/fog-1"));
  r = Run("groups -o json");
  ASSERT_EQ(r.code, kExitOk) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["groups"].size(), 2u);
  EXPECT_EQ(j["groups"][0]["primary"]["server"], "srv-a");
}

TEST_F(CliTest, ConnectionFlagsComeBeforeOrAfterTheCommand) {
  Start();
  for (const char* line : {"-o json groups", "groups -o json", "groups --output=json",
                           "--output json groups --timeout 5s"}) {
    Result r = Run(line);
    ASSERT_EQ(r.code, kExitOk) << line << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["groups"].size(), 1u) << line;
  }
  env_["FOGHORN_OUTPUT"] = "json";
  EXPECT_NO_THROW(nlohmann::json::parse(Run("groups").out));
  EXPECT_THAT(Run("groups -o table").out, HasSubstr("GROUP"));
}

TEST_F(CliTest, StatusSummarisesGroupsAndTheGlobalPause) {
  Start();
  ASSERT_EQ(Run("pause --all --reason freeze").code, kExitOk);
  Result r = Run("status");
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("1 (1 healthy, 0 not healthy, 1 paused, 0 failing over)"));
  EXPECT_THAT(r.out, HasSubstr("global pause: all until resumed: freeze"));
  ASSERT_EQ(Run("resume --all").code, kExitOk);
  EXPECT_THAT(Run("status").out, HasSubstr("global pause: no"));
}

TEST_F(CliTest, GroupShowsTheDecisionReasonsAndHistory) {
  Start();
  Result r = Run("group fog");
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("decision:       healthy"));
  EXPECT_THAT(r.out, HasSubstr("PRIMARY_HEALTHY"));
  EXPECT_THAT(r.out, HasSubstr("recent decisions:"));
  EXPECT_THAT(r.out, HasSubstr("a-tcp@primary"));
}

TEST_F(CliTest, GroupShowsTheLastScheduledReadinessRun) {
  agent::FunctionReadinessSource source([](const v1::Runbook&) {
    return std::vector<agent::ReadinessCheck>{
        {"failover_permission", agent::ReadinessState::kOk, "the identity may fail over"},
        {"secondary_link", agent::ReadinessState::kFailing, "db1: SUSPENDED, GEO"}};
  });
  HarnessOptions o;
  o.readiness_source = &source;
  Start(o);
  Result r = Run("group fog");
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("readiness:      checked "));
  EXPECT_THAT(r.out, HasSubstr("  - pass failover_permission: the identity may fail over"));
  EXPECT_THAT(r.out, HasSubstr("  - fail secondary_link: db1: SUSPENDED, GEO"));
}

TEST_F(CliTest, FailoverShowsLiveStepsAndASummaryAndIsIdempotentByRequestId) {
  Start();
  Result r = Run("failover fog --kind planned --reason test --request-id r1");
  ASSERT_EQ(r.code, kExitOk) << r.err << r.out;
  EXPECT_THAT(r.out, HasSubstr("started operation"));
  EXPECT_THAT(r.out, HasSubstr("pre:announce"));
  EXPECT_THAT(r.out, HasSubstr("arm:failover done"));
  EXPECT_THAT(r.out, ContainsRegex("operation [^ ]+ succeeded after"));
  r = Run("failover fog --kind planned --reason test --request-id r1");
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("already requested (same request id)"));
  EXPECT_EQ(h_->arm().AcceptedTotal(), 1);
  r = Run("ops");
  EXPECT_THAT(r.out, ContainsRegex("sub/rg/fog +planned +succeeded +local"));
}

TEST_F(CliTest, AFailoverIsStillRequestedAndFollowedWhenTheAgentRefusesTheWatch) {
  HarnessOptions o;
  o.api_options.max_watch_subscribers = 0;  // every Watch is RESOURCE_EXHAUSTED
  Start(o);
  Result r = Run("failover fog --kind planned --reason test --request-id w1");
  ASSERT_EQ(r.code, kExitOk) << r.err << r.out;
  EXPECT_THAT(r.err, HasSubstr("cannot watch the operation's steps"));
  EXPECT_THAT(r.out, HasSubstr("started operation"));
  EXPECT_THAT(r.out, ContainsRegex("operation [^ ]+ succeeded after"));
  EXPECT_EQ(h_->arm().AcceptedTotal(), 1);
}

TEST_F(CliTest, ADryRunPrintsThePlanAndChangesNothing) {
  Start();
  Result r = Run("failover fog --kind forced --dry-run");
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("would fail over fog (forced) from srv-a to srv-b"));
  EXPECT_THAT(r.out, HasSubstr("pre steps:  announce"));
  h_->RunDue();
  EXPECT_EQ(h_->arm().AcceptedTotal(), 0);
  EXPECT_TRUE(h_->journal().ListOperations("", 0)->empty());
}

TEST_F(CliTest, OverrideHoldsStartsAFailoverAPauseHoldsAndTheAuditSaysWhy) {
  Start();  // no tokens: the caller is the approver "local"
  ASSERT_EQ(Run("pause fog --reason freeze").code, kExitOk);
  Result r = Run("failover fog --kind planned --reason move --no-wait");
  EXPECT_EQ(r.code, kExitRefused);
  EXPECT_THAT(r.err, HasSubstr("automation paused"));
  EXPECT_EQ(Run("failover fog --kind planned --reason move --override-holds=").code, kExitUsage);
  r = Run("failover fog --kind planned --reason move --override-holds CHG-42");
  ASSERT_EQ(r.code, kExitOk) << r.err << r.out;
  EXPECT_EQ(h_->arm().AcceptedTotal(), 1);
  auto trail = h_->journal().AuditTrail(0);
  ASSERT_THAT(trail, IsOk());
  bool audited = false;
  for (const auto& a : *trail) {
    audited |= a.action == "OverrideHolds" && a.actor == "local" &&
               a.detail.find("CHG-42") != std::string::npos;
  }
  EXPECT_TRUE(audited);
}

TEST_F(CliTest, OpShowsTheStepsOfAnOperation) {
  Start();
  ASSERT_EQ(Run("failover fog --kind planned --reason t --request-id op1").code, kExitOk);
  auto ops = h_->journal().ListOperations("", 0);
  ASSERT_THAT(ops, IsOk());
  ASSERT_EQ(ops->size(), 1u);
  Result r = Run("op " + (*ops)[0].id);
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("state:      succeeded"));
  EXPECT_THAT(r.out, ContainsRegex("2 +arm:failover +done"));
}

TEST_F(CliTest, ExitCodesTellScriptsWhatHappened) {
  Start();
  EXPECT_EQ(Run("group sub/rg/none").code, kExitNotFound);
  EXPECT_EQ(Run("failover fog --kind planned").code, kExitUsage);  // no reason
  EXPECT_EQ(Run("failover fog --kind sideways --reason x").code, kExitUsage);
  EXPECT_EQ(Run("frobnicate").code, kExitUsage);
  EXPECT_EQ(Run("groups --bogus").code, kExitUsage);
  EXPECT_EQ(Run("").code, kExitUsage);
  EXPECT_EQ(Run("failover fog --reason x").code, kExitRefused);  // auto while healthy
  EXPECT_EQ(Run("approve fog --reason x").code, kExitRefused);   // nothing waits
  EXPECT_EQ(Run("drill fog --hold soon").code, kExitUsage);
  EXPECT_EQ(Run("report ../x").code, kExitUsage);
  EXPECT_EQ(Run("report drill-nope").code, kExitNotFound);
  EXPECT_EQ(Run("pause fog").code, kExitUsage);  // no reason
  EXPECT_EQ(Run("pause fog --reason x --for soon").code, kExitUsage);
  EXPECT_EQ(Run("pause fog --reason x --for 30m").code, kExitOk);
  EXPECT_EQ(Run("resume fog").code, kExitOk);
  EXPECT_EQ(Run("reject fog --reason x").code, kExitRefused);
  Result r = Run("groups --addr 127.0.0.1:1 --timeout 2s");
  EXPECT_EQ(r.code, kExitUnavailable);
  EXPECT_THAT(r.err, HasSubstr("is foghornd running"));
}

TEST_F(CliTest, DrillWaitFollowsTheStepsAndEndsWithTheSummary) {
  Start();
  Result r = Run("drill fog --hold 0s --wait");
  ASSERT_EQ(r.code, kExitOk) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("started drill drill-fog-"));
  EXPECT_THAT(r.out, HasSubstr("drill preflight done"));
  EXPECT_THAT(r.out, HasSubstr("drill verify_failback done"));
  EXPECT_THAT(r.out, ContainsRegex("drill drill-fog-[0-9TZ.-]+ passed"));
  EXPECT_THAT(r.out,
              ContainsRegex("failover srv-a -> srv-b: completed, RTO .*1 failover POST\\(s\\), "
                            "data lost: 0 writes"));
  EXPECT_THAT(r.out, HasSubstr("failback srv-b -> srv-a: completed"));
  EXPECT_THAT(r.out, HasSubstr("group_roles"));
  EXPECT_THAT(r.out, HasSubstr(".html"));
  EXPECT_EQ(h_->arm().Accepted("fog"), 2);
}

TEST_F(CliTest, DrillDryRunPrintsThePlanAndChangesNothing) {
  Start();
  Result r = Run("drill fog --dry-run --hold 45s");
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("dry run: would fail fog over from srv-a to srv-b"));
  EXPECT_THAT(r.out, HasSubstr("hold: hold 45s"));
  EXPECT_THAT(r.out, HasSubstr("failover_policy"));
  EXPECT_EQ(h_->arm().AcceptedTotal(), 0);
}

TEST_F(CliTest, ReadinessPrintsEveryCheckAndExitsByTheResult) {
  Start();
  Result r = Run("readiness fog");
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("fog: ready (primary srv-a, secondary srv-b)"));
  EXPECT_THAT(r.out, ContainsRegex("group_roles +pass"));
  EXPECT_THAT(r.out, HasSubstr("to fix:"));  // the harness's group warns (no policy, no dbs)
  ASSERT_EQ(Run("pause fog --reason maintenance").code, kExitOk);
  r = Run("readiness fog");
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_THAT(r.out, ContainsRegex("not_paused +fail"));
}

TEST_F(CliTest, ReportsListDrillsAndReportShowsOneAsTextJsonOrHtml) {
  Start();
  ASSERT_EQ(Run("drill fog --hold 0s --wait").code, kExitOk);
  Result r = Run("reports");
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, ContainsRegex("drill-fog-[0-9TZ.-]+ +sub/rg/fog +passed"));
  const size_t at = r.out.find("drill-fog-");
  const std::string id = r.out.substr(at, r.out.find(' ', at) - at);
  EXPECT_EQ(Run("reports fog").code, kExitOk);
  r = Run("report " + id);
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("drill " + id + " passed"));
  r = Run("report " + id + " -o json");
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["drill_id"], id);
  r = Run("report " + id + " --html");
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("<svg"));
  EXPECT_THAT(r.out, HasSubstr("step-mark"));
}

TEST_F(CliTest, RunbookValidatePrintsEveryProblemWithItsLocation) {
  Start();
  std::string good = dir_.Write("good.yaml", AgentHarness::RunbookText(3, "automatic", false));
  std::string bad_text = AgentHarness::RunbookText(3, "sometimes", false);
  std::string bad = dir_.Write("bad.yaml", bad_text);
  Result r = Run("runbook validate " + good);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("ok (sub/rg/fog-3)"));
  r = Run("runbook validate " + good + " " + bad);
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_THAT(r.out, ContainsRegex("bad\\.yaml:[0-9]+:[0-9]+: policy\\.approval_mode"));
  EXPECT_EQ(Run("runbook validate " + dir_.File("missing.yaml")).code, kExitUsage);
}

TEST_F(CliTest, EveryCommandHasHelp) {
  for (const char* cmd :
       {"status", "groups", "group", "failover", "drill", "readiness", "reports", "report", "ops",
        "op", "approve", "reject", "pause", "resume", "watch", "runbook"}) {
    std::ostringstream out, err;
    EXPECT_EQ(RunCli({cmd, "--help"}, out, err, [](const std::string&) { return ""; }), kExitOk)
        << cmd;
    EXPECT_THAT(out.str(), HasSubstr(std::string("Usage: foghorn ") + cmd)) << cmd;
  }
  std::ostringstream out, err;
  EXPECT_EQ(RunCli({"--help"}, out, err, [](const std::string&) { return ""; }), kExitOk);
  EXPECT_THAT(out.str(), HasSubstr("Exit codes"));
}

TEST_F(CliTest, TokensComeFromFlagsOrTheEnvironment) {
  HarnessOptions o;
  v1::ApiToken* t = o.api.add_tokens();
  t->set_name("ops-bot");
  t->set_role(v1::API_ROLE_VIEWER);
  t->set_token_file(dir_.Write("viewer.token", "viewer-token-0123456789"));
  Start(o);
  EXPECT_EQ(Run("groups").code, kExitAuth);
  EXPECT_EQ(Run("groups --token viewer-token-0123456789").code, kExitOk);
  env_["FOGHORN_TOKEN_FILE"] = dir_.File("viewer.token");
  EXPECT_EQ(Run("groups").code, kExitOk);
  Result r = Run("pause fog --reason x");
  EXPECT_EQ(r.code, kExitAuth);
  EXPECT_THAT(r.err, HasSubstr("permission denied"));
}

TEST_F(CliTest, WatchPrintsEventsAsJsonLines) {
  Start();
  Result r;
  std::thread watcher([&] { r = Run("watch --kind operation --count 1 -o json"); });
  // Wait (bounded) until the stream is subscribed, then cause an event.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (h_->server()->watch_subscribers() == 0 && absl::Now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_EQ(h_->server()->watch_subscribers(), 1u);
  ASSERT_EQ(Run("failover fog --kind planned --reason w --no-wait").code, kExitOk);
  watcher.join();
  ASSERT_EQ(r.code, kExitOk) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["kind"], "EVENT_KIND_OPERATION");
  EXPECT_EQ(j["group_id"], "sub/rg/fog");
  EXPECT_EQ(j["operation"]["state"], "OPERATION_STATE_SUCCEEDED") << r.out;
}

// Runs the CLI with no agent and an empty environment (parsing, help and usage errors only).
Result RunOffline(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int code = RunCli(args, out, err, [](const std::string&) { return ""; });
  return {code, out.str(), err.str()};
}

TEST(CliTableTest, TheCommandTableIsSound) {
  EXPECT_THAT(CheckCommandTable(), ::testing::IsEmpty());
}

TEST(CliTableTest, EveryCommandInTheTableIsInTheOverviewHasAHandlerAndItsOwnHelp) {
  Result overview = RunOffline({"--help"});
  ASSERT_EQ(overview.code, kExitOk);
  for (const CommandSpec& c : Commands()) {
    const std::string name(c.name);
    EXPECT_THAT(overview.out, ContainsRegex("\n  " + name + "[ \n]")) << name;
    EXPECT_NE(c.handler, nullptr) << name;
    Result help = RunOffline({name, "--help"});
    EXPECT_EQ(help.code, kExitOk) << name;
    EXPECT_THAT(help.out, HasSubstr("Usage: foghorn " + name)) << name;
    for (const FlagSpec& f : c.flags)
      EXPECT_THAT(help.out, HasSubstr("--" + std::string(f.name))) << name;
    EXPECT_EQ(RunOffline({"help", name}).out, help.out) << name;
  }
  for (const FlagSpec& f : ConnectionFlags()) {
    EXPECT_THAT(overview.out, HasSubstr("--" + std::string(f.name)));
    EXPECT_THAT(overview.out, HasSubstr(std::string(f.env)));
  }
}

TEST(CliTableTest, AnUnknownFlagIsAUsageError) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"groups", "--bogus"},
           {"--bogus", "groups"},
           {"failover", "fog", "--reason", "x", "--bogus=1"},
           {"groups", "--reason", "x"},  // a flag of other commands, not of groups
       }) {
    Result r = RunOffline(args);
    EXPECT_EQ(r.code, kExitUsage) << args[0] << " " << args[1];
    EXPECT_THAT(r.err, HasSubstr("unknown flag --")) << args[0] << " " << args[1];
    EXPECT_EQ(r.out, "");
  }
  Result r = RunOffline({"pause", "fog", "--reason", "x", "--all=yes"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("--all takes no value"));
  r = RunOffline({"--reason", "x", "pause", "fog"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("--reason goes after the command"));
}

TEST(CliTableTest, ValuesAreCheckedAgainstTheTableBeforeTheAgentIsCalled) {
  Result r = RunOffline({"ops", "--limit", "0"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err,
              HasSubstr("foghorn ops: --limit must be a positive number\nUsage: foghorn ops"));
  r = RunOffline({"watch", "--kind", "step", "--kind", "sideways"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("--kind must be verdict, decision, step or operation"));
  r = RunOffline({"pause", "--reason", "x"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("name one group or --all"));
  r = RunOffline({"pause", "fog", "--all", "--reason", "x"});
  EXPECT_EQ(r.code, kExitUsage);
  r = RunOffline({"runbook", "check", "a.yaml"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("use: foghorn runbook validate <file>..."));
  r = RunOffline({"groups", "-o", "yaml"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("--output must be table or json"));
  r = RunOffline({"groups", "extra"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("unexpected argument \"extra\""));
  r = RunOffline({"frobnicate"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("unknown command \"frobnicate\""));
  EXPECT_THAT(r.err, HasSubstr("Commands:"));
  r = RunOffline({});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("Commands:"));
  EXPECT_EQ(RunOffline({"help"}).code, kExitOk);
  EXPECT_EQ(RunOffline({"help", "frobnicate"}).code, kExitUsage);
}

TEST(CliTargetTest, OnlyLoopbackTargetsGoWithoutTls) {
  for (const char* t : {"127.0.0.1:7443", "127.1.2.3:1", "localhost:7443", "[::1]:7443",
                        "unix:/run/foghorn.sock", "dns:///127.0.0.1:7443"}) {
    EXPECT_TRUE(IsLoopbackTarget(t)) << t;
  }
  for (const char* t : {"10.0.0.5:7443", "foghorn.internal:7443", "[2001:db8::1]:7443",
                        "127.0.0.1.evil.example:7443", "0.0.0.0:7443"}) {
    EXPECT_FALSE(IsLoopbackTarget(t)) << t;
  }
}

// --- issue 17: CLI polish ---

namespace polish {

google::protobuf::Timestamp At(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  ts.set_nanos(
      static_cast<int32_t>((t - absl::FromUnixSeconds(ts.seconds())) / absl::Nanoseconds(1)));
  return ts;
}

TEST(CliOutputTest, TimesAreShownInTheViewersZoneWithTheirAge) {
  const absl::Time at = absl::FromUnixSeconds(1767225620);  // 2026-01-01T00:00:20Z
  const absl::TimeZone tokyo = absl::FixedTimeZone(9 * 3600);
  EXPECT_EQ(FormatTimeIn(At(at), tokyo, at + absl::Seconds(12)),
            absl::StrCat("2026-01-01 09:00:20 ", absl::FormatTime("%Z", at, tokyo), " (12s ago)"));
  EXPECT_EQ(FormatTimeIn(At(at), absl::UTCTimeZone(), at + absl::Minutes(3)),
            "2026-01-01 00:00:20 UTC (3m ago)");
  EXPECT_EQ(FormatTimeIn(google::protobuf::Timestamp(), tokyo, at), "-");
}

TEST(CliOutputTest, AgesReadAsPeopleSayThem) {
  EXPECT_EQ(FormatAge(absl::Milliseconds(400)), "just now");
  EXPECT_EQ(FormatAge(absl::Seconds(12)), "12s ago");
  EXPECT_EQ(FormatAge(absl::Seconds(150)), "2m ago");
  EXPECT_EQ(FormatAge(absl::Minutes(125)), "2h5m ago");
  EXPECT_EQ(FormatAge(absl::Hours(3)), "3h ago");
  EXPECT_EQ(FormatAge(absl::Hours(50)), "2d ago");
  EXPECT_EQ(FormatAge(-absl::Seconds(5)), "in 5s");
}

TEST(CliOutputTest, ASubSecondFailoverKeepsItsFractions) {
  const absl::Time start = absl::FromUnixSeconds(1767225620) + absl::Milliseconds(900);
  const absl::Duration took = Elapsed(At(start), At(start + absl::Milliseconds(412)));
  EXPECT_EQ(took, absl::Milliseconds(412));
  EXPECT_EQ(absl::FormatDuration(took), "412ms");
  EXPECT_EQ(absl::FormatDuration(Elapsed(At(start), At(start + absl::Milliseconds(1500)))), "1.5s");
}

// The package's /etc/foghorn/agent.yaml (packaging/agent.yaml) serves the control API where the
// CLI looks by default, so `foghorn status` needs no flag on an installed host.
TEST(CliDefaultsTest, TheDefaultAddressIsWhereThePackagedConfigListens) {
  std::ifstream in(std::string(FOGHORN_SOURCE_DIR) + "/packaging/agent.yaml");
  ASSERT_TRUE(in.good());
  std::string line, listen;
  bool in_api = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != ' ' && line[0] != '#') in_api = absl::StartsWith(line, "api:");
    const size_t at = line.find("listen:");
    if (in_api && at != std::string::npos) {
      listen = std::string(absl::StripAsciiWhitespace(
          line.substr(at + 7, line.find('#') == std::string::npos ? std::string::npos
                                                                  : line.find('#') - at - 7)));
      break;
    }
  }
  const FlagSpec* addr = FindFlag(*FindCommand("status"), "addr");
  ASSERT_NE(addr, nullptr);
  EXPECT_EQ(listen, addr->default_value);
  EXPECT_EQ(addr->env, "FOGHORN_ADDR");
}

}  // namespace polish

TEST_F(CliTest, EventsPrintsRecentDecisionsAndOperationsInLocalTimeWithTheirAge) {
  Start();
  ASSERT_EQ(Run("failover fog --kind planned --reason events --no-wait").code, kExitOk);
  h_->Run(absl::Seconds(3));
  Result r = Run("events --group fog --limit 50");
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, ContainsRegex("decision  sub/rg/fog  HEALTHY"));
  EXPECT_THAT(r.out, ContainsRegex("operation  sub/rg/fog  planned succeeded"));
  // Local time with the age, never the UTC "Z" form.
  EXPECT_THAT(r.out, ContainsRegex("[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} [^ ]+ \\([^)]*ago\\)"));
  EXPECT_THAT(r.out, Not(ContainsRegex("T[0-9:]{8}Z")));
}

TEST_F(CliTest, EventsFollowTailsTheLiveStreamAfterTheHistory) {
  Start();
  Result r;
  std::thread follower([&] { r = Run("events --follow --count 1 --limit 1 -o json"); });
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (h_->server()->watch_subscribers() == 0 && absl::Now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_EQ(h_->server()->watch_subscribers(), 1u);
  ASSERT_EQ(Run("failover fog --kind planned --reason follow --no-wait").code, kExitOk);
  follower.join();
  ASSERT_EQ(r.code, kExitOk) << r.err;
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << r.out;  // one from the history, one live
  // The history is read after the subscription, so it may already hold the new operation.
  EXPECT_THAT(nlohmann::json::parse(lines[0])["kind"].get<std::string>(),
              ::testing::AnyOf("EVENT_KIND_DECISION", "EVENT_KIND_OPERATION"));
  EXPECT_EQ(nlohmann::json::parse(lines[1])["group_id"], "sub/rg/fog");
}

TEST_F(CliTest, AnAbortedDrillsSummaryNamesBothServersOfTheRunbook) {
  Start();
  h_->arm().SetGetError("srv-b", absl::UnavailableError("region down"));
  Result r = Run("drill fog --hold 0s --wait");
  EXPECT_EQ(r.code, kExitFailed) << r.out << r.err;
  EXPECT_THAT(r.out, Not(HasSubstr("(primary  -> ")));
  EXPECT_THAT(r.out, HasSubstr("(primary srv-a -> srv-b, ends on srv-a)"));
}

}  // namespace
}  // namespace foghorn::cli
