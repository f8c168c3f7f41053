#include "runbooks/loader.h"

#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/common/durations.h"
#include "orchestrator/decision/policy.h"
#include "orchestrator/decision/replay.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace foghorn::runbooks {
namespace {

using ::foghorn::common::FromProtoDuration;
using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// 13 lines; tests append from line 14.
constexpr char kBase[] = R"(group:
  subscription_id: sub-1
  resource_group: rg-1
  name: fog-1
  primary_server: srv-a
  secondary_server: srv-b
probes:
  - name: p1
    target: primary
    tcp: {}
  - name: s1
    target: secondary
    tcp: {}
)";

std::vector<std::string> Errors(const std::string& text, const std::string& file = "x.yaml") {
  LoadResult r = LoadRunbookSources({{file, text}});
  std::vector<std::string> out;
  for (const config::Diagnostic& d : r.diagnostics) out.push_back(d.ToString());
  return out;
}

// A "billion laughs": a 1 KB string aliased 300 times per rule, the rule aliased 600 times:
// 5 KB of YAML that expands to 180 MB of protobuf if every alias is materialised.
TEST(LoaderTest, RefusesADocumentWhoseAliasesExpandPastTheLimit) {
  const std::string big(1000, 'x');
  std::string names, rules;
  for (int i = 0; i < 300; ++i) names += i ? ", *s" : "*s";
  for (int i = 0; i < 600; ++i) rules += ", *r";
  const std::string text =
      "group: {subscription_id: sub, resource_group: rg, name: fog, primary_server: srv-a, "
      "secondary_server: srv-b}\nprobes:\n  - {name: &s " +
      big + ", target: primary, tcp: {}}\nhealth_rules: [&r {target: primary, probes: [" + names +
      "]}" + rules + "]\n";
  ASSERT_LT(text.size(), 6000u);
  LoadResult r = LoadRunbookSources({{"bomb.yaml", text}});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.runbooks.empty());
  ASSERT_FALSE(r.diagnostics.empty());
  EXPECT_THAT(r.diagnostics.back().ToString(), HasSubstr("bomb.yaml:"));
  EXPECT_THAT(r.diagnostics.back().ToString(), HasSubstr("YAML aliases are expanded"));
}

TEST(LoaderTest, RefusesACommandThatWouldInheritTheAgentsCredentials) {
  std::string text = std::string(kBase) +
                     "pre_steps:\n  - name: hook\n    exec:\n      argv: [/bin/true]\n"
                     "      inherit_env: [SITE, AZURE_CLIENT_SECRET]\n";
  EXPECT_THAT(Errors(text),
              ElementsAre(HasSubstr("x.yaml:18:27: pre_steps[0].exec.inherit_env[1]: "
                                    "AZURE_CLIENT_SECRET holds the agent's credentials")));
}

TEST(LoaderTest, ReportsAtMostAHundredErrorsPerDocument) {
  std::string text = std::string(kBase);
  for (int i = 0; i < 500; ++i) text += "unknown_" + std::to_string(i) + ": 1\n";
  std::vector<std::string> errors = Errors(text);
  EXPECT_LE(errors.size(), 110u);
  EXPECT_THAT(errors, Contains(HasSubstr("more than 100 errors")));
}

TEST(LoaderTest, EveryExampleRunbookLoadsAndValidatesTogether) {
  std::vector<std::string> paths;
  for (const auto& e :
       std::filesystem::directory_iterator(testing::SourceDir() + "/runbooks/examples")) {
    if (e.path().extension() == ".yaml") paths.push_back(e.path().string());
  }
  ASSERT_EQ(paths.size(), 4u);
  LoadResult r = LoadRunbookFiles(paths);
  EXPECT_THAT(r.status(), IsOk());
  EXPECT_EQ(r.runbooks.size(), 4u);
  for (const LoadedRunbook& rb : r.runbooks) {
    EXPECT_THAT(decision::PolicyFromProto(rb.runbook.policy()).status(), IsOk()) << rb.file;
  }
}

TEST(LoaderTest, ExampleOutageTimelineReplaysToPlannedThenTryPlannedBeforeForced) {
  absl::StatusOr<v1::Runbook> rb =
      LoadRunbookFile(testing::SourceDir() + "/runbooks/examples/automatic.yaml");
  ASSERT_THAT(rb.status(), IsOk());
  absl::StatusOr<decision::Policy> policy = decision::PolicyFromProto(rb->policy());
  ASSERT_THAT(policy.status(), IsOk());
  decision::ReplayOptions options;
  options.policy = *policy;
  auto decisions = decision::Replay(
      testing::ReadFileOrDie(testing::SourceDir() + "/runbooks/examples/region-outage.jsonl"),
      options);
  ASSERT_THAT(decisions.status(), IsOk());
  std::vector<v1::FailoverKind> actions;
  for (const auto& d : *decisions) {
    if (d.decision.action != v1::FAILOVER_KIND_UNSPECIFIED) actions.push_back(d.decision.action);
  }
  EXPECT_THAT(actions,
              ElementsAre(v1::FAILOVER_KIND_PLANNED, v1::FAILOVER_KIND_TRY_PLANNED_BEFORE_FORCED));
  EXPECT_EQ(decisions->back().decision.stage, decision::Stage::kHealthy);
}

TEST(LoaderTest, MinimalRunbookGetsEveryDefault) {
  LoadResult r = LoadRunbookSources({{"x.yaml", kBase}});
  ASSERT_THAT(r.status(), IsOk());
  const v1::Runbook& rb = r.runbooks[0].runbook;
  EXPECT_EQ(rb.group().arm_endpoint(), "https://management.azure.com");
  EXPECT_EQ(rb.group().cloud(), v1::AZURE_CLOUD_PUBLIC);
  EXPECT_EQ(rb.group().secondary_resource_group(), "rg-1");
  const v1::ProbeSpec& p = rb.probes(0);
  EXPECT_EQ(FromProtoDuration(p.interval()), absl::Seconds(5));
  EXPECT_EQ(FromProtoDuration(p.timeout()), absl::Seconds(2));
  EXPECT_EQ(p.unhealthy_threshold(), 3);
  EXPECT_EQ(p.healthy_threshold(), 2);
  ASSERT_EQ(rb.health_rules_size(), 2);
  EXPECT_EQ(rb.health_rules(0).target(), v1::PROBE_TARGET_PRIMARY);
  EXPECT_THAT(rb.health_rules(0).probes(), ElementsAre("p1"));
  EXPECT_EQ(rb.health_rules(0).quorum(), v1::QUORUM_MODE_ALL);
  EXPECT_EQ(FromProtoDuration(rb.policy().planned_grace()), decision::kDefaultPlannedGrace);
  EXPECT_EQ(FromProtoDuration(rb.policy().data_loss_grace()), decision::kDefaultDataLossGrace);
  EXPECT_EQ(FromProtoDuration(rb.policy().data_loss_budget()), decision::kDefaultDataLossBudget);
  EXPECT_EQ(FromProtoDuration(rb.policy().cooldown()), decision::kDefaultCooldown);
  EXPECT_EQ(rb.policy().approval_mode(), v1::APPROVAL_MODE_APPROVE_FORCED);
  EXPECT_TRUE(rb.drill().fail_back());
  EXPECT_EQ(FromProtoDuration(rb.drill().hold()), absl::Minutes(10));
  EXPECT_EQ(FromProtoDuration(rb.drill().verify_poll_interval()), absl::Seconds(2));
  EXPECT_THAT(rb.drill().verify_probes(), ElementsAre("p1"));
}

TEST(LoaderTest, ADrillsVerifyPollIntervalIsRead) {
  LoadResult r = LoadRunbookSources(
      {{"x.yaml", std::string(kBase) + "drill:\n  verify_poll_interval: 500ms\n"}});
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ(FromProtoDuration(r.runbooks[0].runbook.drill().verify_poll_interval()),
            absl::Milliseconds(500));
}

TEST(LoaderTest, DefaultsAgreeWithTheDecisionEnginesOwnDefaults) {
  LoadResult r = LoadRunbookSources({{"x.yaml", kBase}});
  ASSERT_THAT(r.status(), IsOk());
  absl::StatusOr<decision::Policy> loaded =
      decision::PolicyFromProto(r.runbooks[0].runbook.policy());
  ASSERT_THAT(loaded.status(), IsOk());
  const decision::Policy engine;
  EXPECT_EQ(loaded->confirm_after, engine.confirm_after);
  EXPECT_EQ(loaded->planned_grace, engine.planned_grace);
  EXPECT_EQ(loaded->data_loss_grace, engine.data_loss_grace);
  EXPECT_EQ(loaded->data_loss_budget, engine.data_loss_budget);
  EXPECT_EQ(loaded->cooldown, engine.cooldown);
  EXPECT_EQ(loaded->approval_mode, engine.approval_mode);
  EXPECT_EQ(loaded->reevaluate_interval, engine.reevaluate_interval);
}

TEST(LoaderTest, DefaultStepsGetNamesTimeoutsAndAbort) {
  LoadResult r = LoadRunbookSources({{"x.yaml", std::string(kBase) + R"(pre_steps:
  - notify: {url: "https://hooks.example/x"}
  - wait: {duration: 30s}
  - approval: {}
)"}});
  ASSERT_THAT(r.status(), IsOk());
  const auto& steps = r.runbooks[0].runbook.pre_steps();
  EXPECT_EQ(steps[0].name(), "notify-1");
  EXPECT_EQ(FromProtoDuration(steps[0].timeout()), absl::Minutes(5));
  EXPECT_EQ(steps[0].on_failure(), v1::ON_FAILURE_ABORT);
  EXPECT_EQ(FromProtoDuration(steps[1].timeout()), absl::Seconds(90));
  EXPECT_EQ(steps[2].name(), "approval-3");
  EXPECT_EQ(FromProtoDuration(steps[2].timeout()), absl::Hours(1));
}

TEST(LoaderTest, EnumsAcceptFullAndShortNames) {
  for (const char* mode :
       {"approve_forced", "APPROVAL_MODE_APPROVE_FORCED", "approve-forced", "APPROVE_FORCED"}) {
    LoadResult r = LoadRunbookSources(
        {{"x.yaml", std::string(kBase) + "policy:\n  approval_mode: " + mode + "\n"}});
    ASSERT_THAT(r.status(), IsOk()) << mode;
    EXPECT_EQ(r.runbooks[0].runbook.policy().approval_mode(), v1::APPROVAL_MODE_APPROVE_FORCED);
  }
}

TEST(LoaderTest, MapsAndRepeatedFieldsAreFilled) {
  LoadResult r = LoadRunbookSources({{"x.yaml", std::string(kBase) + R"(post_steps:
  - name: hook
    exec:
      argv: [a, b]
      env: {K1: v1, K2: v2}
)"}});
  ASSERT_THAT(r.status(), IsOk());
  const v1::ExecStep& e = r.runbooks[0].runbook.post_steps(0).exec();
  EXPECT_THAT(e.argv(), ElementsAre("a", "b"));
  EXPECT_EQ(e.env().at("K2"), "v2");
}

// One error class per test, with the exact file:line:column and field path.

TEST(LoaderErrorTest, UnknownKeyNamesTheKeyAndSuggestsTheField) {
  EXPECT_THAT(Errors(std::string(kBase) + "policy:\n  planned_grase: 1m\n"),
              ElementsAre("x.yaml:15:3: policy.planned_grase: unknown field \"planned_grase\" "
                          "(did you mean \"planned_grace\"?)"));
}

TEST(LoaderErrorTest, InvalidDurationPointsAtTheValue) {
  EXPECT_THAT(Errors(std::string(kBase) + "policy:\n  planned_grace: 5 minutes\n"),
              ElementsAre("x.yaml:15:18: policy.planned_grace: invalid duration \"5 minutes\" "
                          "(write e.g. 30s, 5m, 1h, 1h30m)"));
}

TEST(LoaderErrorTest, DurationOutOfRange) {
  EXPECT_THAT(Errors(std::string(kBase) + "policy:\n  cooldown: 400d\n"),
              ElementsAre("x.yaml:15:13: policy.cooldown: duration \"400d\" out of range "
                          "(at most 365d)"));
}

TEST(LoaderErrorTest, WrongTypes) {
  EXPECT_THAT(Errors(std::string(kBase) + "policy: fast\n"),
              ElementsAre("x.yaml:14:9: policy: expected a mapping, got a scalar"));
  EXPECT_THAT(Errors(std::string(kBase) + "policy:\n  blast_radius_cap: many\n"),
              ElementsAre("x.yaml:15:21: policy.blast_radius_cap: expected an integer, got "
                          "\"many\""));
  EXPECT_THAT(Errors(std::string(kBase) + "policy:\n  blast_radius_cap: 99999999999\n"),
              ElementsAre("x.yaml:15:21: policy.blast_radius_cap: integer 99999999999 out of "
                          "range"));
  EXPECT_THAT(Errors(std::string(kBase) + "policy:\n  prefer_try_planned_before_forced: 1\n"),
              ElementsAre("x.yaml:15:37: policy.prefer_try_planned_before_forced: expected true "
                          "or false, got \"1\""));
  EXPECT_THAT(Errors(std::string(kBase) + "health_rules: primary\n"),
              ElementsAre("x.yaml:14:15: health_rules: expected a list, got a scalar"));
}

TEST(LoaderErrorTest, UnknownEnumValueListsTheChoices) {
  EXPECT_THAT(Errors(std::string(kBase) + "policy:\n  approval_mode: yolo\n"),
              ElementsAre("x.yaml:15:18: policy.approval_mode: unknown value \"yolo\" (expected "
                          "one of: automatic, approve_forced, approve_all, observe_only)"));
}

TEST(LoaderErrorTest, MissingRequiredFieldPointsAtTheParent) {
  std::string text = kBase;
  text.replace(text.find("  secondary_server: srv-b\n"), 26, "");
  EXPECT_THAT(Errors(text),
              ElementsAre("x.yaml:2:3: group.secondary_server: missing required field"));
  EXPECT_THAT(Errors("probes: []\n"), Contains("x.yaml:1:1: group: missing required field"));
}

TEST(LoaderErrorTest, ProbeWithoutAKindIsReported) {
  EXPECT_THAT(Errors(std::string(kBase) + "  - name: p2\n    target: primary\n"),
              ElementsAre("x.yaml:14:5: probes[2]: missing one of tcp, http, dns, arm_state, "
                          "exec, azure_metric, resource_health, replication_link"));
}

TEST(LoaderErrorTest, TwoMembersOfAOneofAreRejected) {
  EXPECT_THAT(Errors(std::string(kBase) + "    dns: {name: x}\n"),
              ElementsAre("x.yaml:14:5: probes[1].dns: only one of tcp, http, dns, arm_state, "
                          "exec, azure_metric, resource_health, replication_link may be set; "
                          "\"tcp\" is already set"));
}

TEST(LoaderTest, AzureSignalProbeKindsAreRead) {
  LoadResult r = LoadRunbookSources({{"x.yaml", std::string(kBase) + R"(  - name: lag
    target: primary
    metric_kind: replication_lag_seconds
    azure_metric: {database: orders, aggregation: maximum, max_value: 600, max_sample_age: 4m}
  - name: health
    target: primary
    resource_health: {down_states: [Unavailable, Degraded]}
  - name: link
    target: secondary
    replication_link: {database: orders, expect_role: secondary, partner_server: srv-a}
  - name: tds
    target: primary
    tcp: {tds_prelogin: true}
)"}});
  ASSERT_THAT(r.diagnostics, IsEmpty()) << r.diagnostics[0].ToString();
  ASSERT_EQ(r.runbooks.size(), 1u);
  const auto& probes = r.runbooks[0].runbook.probes();
  ASSERT_EQ(probes.size(), 6);
  EXPECT_EQ(probes[2].azure_metric().database(), "orders");
  EXPECT_TRUE(probes[2].azure_metric().has_max_value());
  EXPECT_DOUBLE_EQ(probes[2].azure_metric().max_value(), 600);
  EXPECT_FALSE(probes[2].azure_metric().has_min_value());
  EXPECT_EQ(FromProtoDuration(probes[2].azure_metric().max_sample_age()), absl::Minutes(4));
  EXPECT_THAT(probes[3].resource_health().down_states(), ElementsAre("Unavailable", "Degraded"));
  EXPECT_EQ(probes[4].replication_link().expect_role(), v1::ROLE_SECONDARY);
  EXPECT_TRUE(probes[5].tcp().tds_prelogin());
}

TEST(LoaderErrorTest, AzureSignalProbeProblemsNameFileLineAndField) {
  EXPECT_THAT(
      Errors(std::string(kBase) + "  - name: lag\n    target: primary\n    azure_metric: {}\n"),
      ElementsAre("x.yaml:16:19: probes[2].azure_metric.database: missing required field",
                  "x.yaml:16:19: probes[2].azure_metric.metric: must be set (or metric_kind: "
                  "METRIC_KIND_REPLICATION_LAG_SECONDS)"));
  EXPECT_THAT(Errors(std::string(kBase) +
                     "  - name: link\n    target: secondary\n    replication_link: {databse: x}\n"),
              Contains(HasSubstr("x.yaml:16:24: probes[2].replication_link.databse")));
  EXPECT_THAT(
      Errors(std::string(kBase) + "  - name: lag\n    target: primary\n"
                                  "    metric_kind: replication_lag_seconds\n"
                                  "    azure_metric: {database: orders, aggregation: median}\n"),
      ElementsAre("x.yaml:17:51: probes[2].azure_metric.aggregation: unknown aggregation "
                  "\"median\" (Average, Minimum, Maximum, Total, Count)"));
}

TEST(LoaderErrorTest, ReferenceToAnUndefinedProbe) {
  EXPECT_THAT(Errors(std::string(kBase) + "health_rules:\n  - target: primary\n    probes: [p1, "
                                          "nope]\n"),
              ElementsAre("x.yaml:16:18: health_rules[0].probes[1]: reference to undefined "
                          "probe \"nope\""));
  EXPECT_THAT(Errors(std::string(kBase) + "post_steps:\n  - probe_assert: {probe: ghost, "
                                          "expect: healthy}\n"),
              ElementsAre("x.yaml:15:27: post_steps[0].probe_assert.probe: reference to "
                          "undefined probe \"ghost\""));
  EXPECT_THAT(Errors(std::string(kBase) + "drill:\n  verify_probes: [p1, ghost]\n"),
              ElementsAre("x.yaml:15:23: drill.verify_probes[1]: reference to undefined probe "
                          "\"ghost\""));
}

TEST(LoaderErrorTest, ADrillsVerifyPollIntervalIsPositiveAndBounded) {
  EXPECT_THAT(Errors(std::string(kBase) + "drill:\n  verify_poll_interval: 0s\n"),
              ElementsAre("x.yaml:15:25: drill.verify_poll_interval: must be greater than 0"));
  EXPECT_THAT(Errors(std::string(kBase) + "drill:\n  verify_poll_interval: 2m\n"),
              ElementsAre("x.yaml:15:25: drill.verify_poll_interval: must be at most 1m, got 2m"));
  EXPECT_THAT(
      Errors(std::string(kBase) + "drill:\n  verify_timeout: 10s\n  verify_poll_interval: 30s\n"),
      ElementsAre("x.yaml:16:25: drill.verify_poll_interval: must be at most "
                  "drill.verify_timeout (10s), got 30s"));
}

TEST(LoaderErrorTest, PlannedGraceMustNotExceedDataLossGrace) {
  EXPECT_THAT(
      Errors(std::string(kBase) + "policy:\n  planned_grace: 20m\n  data_loss_grace: 15m\n"),
      ElementsAre("x.yaml:15:18: policy.planned_grace: planned_grace 20m must not "
                  "exceed data_loss_grace 15m"));
}

TEST(LoaderErrorTest, ThresholdsMustBeAtLeastOne) {
  EXPECT_THAT(Errors(std::string(kBase) + "    unhealthy_threshold: 0\n"),
              ElementsAre("x.yaml:14:26: probes[1].unhealthy_threshold: must be at least 1, got "
                          "0"));
  EXPECT_THAT(Errors(std::string(kBase) + "    healthy_threshold: -2\n"),
              ElementsAre("x.yaml:14:24: probes[1].healthy_threshold: must be at least 1, got "
                          "-2"));
}

TEST(LoaderErrorTest, TimeoutMustBeBelowTheInterval) {
  EXPECT_THAT(Errors(std::string(kBase) + "    interval: 3s\n    timeout: 3s\n"),
              ElementsAre("x.yaml:15:14: probes[1].timeout: timeout 3s must be less than "
                          "interval 3s"));
}

TEST(LoaderErrorTest, PrimaryAndSecondaryMustDiffer) {
  std::string text = kBase;
  text.replace(text.find("secondary_server: srv-b"), 23, "secondary_server: SRV-A");
  std::vector<std::string> errors = Errors(text);
  EXPECT_THAT(errors, Contains("x.yaml:6:21: group.secondary_server: primary and secondary are "
                               "the same server \"srv-a\""));
}

TEST(LoaderErrorTest, KOfNMustBeWithinRange) {
  EXPECT_THAT(Errors(std::string(kBase) +
                     "health_rules:\n  - target: primary\n    probes: [p1]\n    quorum: "
                     "k_of_n\n    k: 2\n"),
              ElementsAre("x.yaml:18:8: health_rules[0].k: k must be between 1 and the number "
                          "of probes (1), got 2"));
}

TEST(LoaderErrorTest, InvalidYamlNamesTheLine) {
  std::vector<std::string> errors = Errors("group:\n  name: [unclosed\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("x.yaml:"));
  EXPECT_THAT(errors[0], HasSubstr("invalid YAML"));
  EXPECT_THAT(Errors("- a\n- b\n"),
              ElementsAre("x.yaml:1:1: expected a mapping at the top level, got a list"));
}

TEST(LoaderErrorTest, DuplicateKeysAreRejected) {
  EXPECT_THAT(Errors(std::string(kBase) + "policy:\n  cooldown: 1h\n  cooldown: 2h\n"),
              ElementsAre("x.yaml:16:3: policy.cooldown: duplicate key"));
}

TEST(LoaderErrorTest, EveryErrorIsReportedNotJustTheFirst) {
  std::vector<std::string> errors =
      Errors(std::string(kBase) +
             "policy:\n  planned_grace: soon\n  cooldown: forever\n  approval_mode: maybe\n"
             "  bogus: 1\n");
  EXPECT_EQ(errors.size(), 4u);
  LoadResult r = LoadRunbookSources(
      {{"x.yaml", std::string(kBase) + "policy:\n  planned_grace: soon\n  cooldown: 1x\n"}});
  EXPECT_THAT(r.status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("policy.planned_grace")));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("\nx.yaml:16:13: policy.cooldown"));
}

TEST(LoaderErrorTest, DuplicateGroupAcrossFilesNamesBothFiles) {
  LoadResult r = LoadRunbookSources({{"a.yaml", kBase}, {"b.yaml", kBase}});
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].ToString(),
            "b.yaml:2:3: group: failover group sub-1/rg-1/fog-1 is already defined in "
            "a.yaml:2:3");
  EXPECT_EQ(r.diagnostics[0].file, "b.yaml");
  EXPECT_EQ(r.diagnostics[0].line, 2);
  EXPECT_EQ(r.diagnostics[0].column, 3);
  EXPECT_EQ(r.diagnostics[0].field_path, "group");
}

TEST(LoaderErrorTest, UnreadableFileIsADiagnostic) {
  LoadResult r = LoadRunbookFiles({"/nonexistent/foghorn.yaml"});
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].ToString(), "/nonexistent/foghorn.yaml: cannot read file");
}

TEST(LoaderErrorTest, LoadRunbookFileReturnsInvalidArgumentWithLocation) {
  testing::TempDir dir;
  const std::string path = dir.Write("bad.yaml", std::string(kBase) + "policy:\n  cooldown: x\n");
  EXPECT_THAT(LoadRunbookFile(path),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad.yaml:15:13")));
}

}  // namespace
}  // namespace foghorn::runbooks
