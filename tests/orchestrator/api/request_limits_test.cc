// The control API's request bounds (request_limits.h), without a server: each rule at its limit
// (accepted) and one past it (refused), control bytes in ids, and short refusal messages.
#include "orchestrator/api/request_limits.h"

#include <cstdint>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace foghorn::api {
namespace {

using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

std::string Bytes(std::size_t n, char c = 'a') { return std::string(n, c); }

std::string Message(const absl::Status& s) { return std::string(s.message()); }

v1::RequestFailoverRequest Failover() {
  v1::RequestFailoverRequest r;
  r.set_group_id("sub/rg/fog");
  r.set_kind(v1::FAILOVER_KIND_PLANNED);
  r.set_reason("primary region down");
  r.set_request_id("2f1c7e9a-6a53-4d8e-9a3b-0b6e0f7b1c2d");
  return r;
}

TEST(RequestLimitsTest, AcceptsANormalRequestOfEveryKind) {
  EXPECT_THAT(ValidateRequest(v1::ListGroupsRequest()), IsOk());
  v1::GetGroupRequest get_group;
  get_group.set_group_id("fog");
  EXPECT_THAT(ValidateRequest(get_group), IsOk());
  EXPECT_THAT(ValidateRequest(v1::ListOperationsRequest()), IsOk());
  v1::GetOperationRequest get_op;
  get_op.set_operation_id("op-1");
  EXPECT_THAT(ValidateRequest(get_op), IsOk());
  v1::ListDecisionsRequest decisions;
  decisions.set_group_id("sub/rg/fog");
  decisions.set_page_size(50);
  EXPECT_THAT(ValidateRequest(decisions), IsOk());
  EXPECT_THAT(ValidateRequest(Failover()), IsOk());
  v1::CancelOperationRequest cancel;
  cancel.set_operation_id("op-1");
  cancel.set_reason("wrong group");
  EXPECT_THAT(ValidateRequest(cancel), IsOk());
  v1::ApproveDecisionRequest approve;
  approve.set_group_id("fog");
  approve.set_reason("confirmed with the on-call");
  EXPECT_THAT(ValidateRequest(approve), IsOk());
  v1::RejectDecisionRequest reject;
  reject.set_group_id("fog");
  reject.set_reason("false alarm");
  EXPECT_THAT(ValidateRequest(reject), IsOk());
  v1::PauseAutomationRequest pause;
  pause.set_reason("maintenance");
  pause.mutable_duration()->set_seconds(3600);
  EXPECT_THAT(ValidateRequest(pause), IsOk());
  EXPECT_THAT(ValidateRequest(v1::ResumeAutomationRequest()), IsOk());
  v1::WatchRequest watch;
  watch.add_group_ids("fog");
  watch.add_kinds(v1::EVENT_KIND_OPERATION);
  watch.set_operation_id("op-1");
  EXPECT_THAT(ValidateRequest(watch), IsOk());
  v1::ValidateRunbookRequest runbook;
  runbook.set_file_name("runbooks/prod.yaml");
  runbook.set_text("group: {}\n");
  EXPECT_THAT(ValidateRequest(runbook), IsOk());
  v1::StartDrillRequest drill;
  drill.set_group_id("fog");
  drill.set_reason("quarterly drill");
  drill.mutable_hold()->set_seconds(1800);
  EXPECT_THAT(ValidateRequest(drill), IsOk());
  v1::CheckReadinessRequest readiness;
  readiness.set_group_id("fog");
  EXPECT_THAT(ValidateRequest(readiness), IsOk());
  EXPECT_THAT(ValidateRequest(v1::ListDrillReportsRequest()), IsOk());
  v1::GetDrillReportRequest report;
  report.set_drill_id("drill-fog-20250101T000000Z");
  EXPECT_THAT(ValidateRequest(report), IsOk());
}

TEST(RequestLimitsTest, KeepsTheMessagesOfRequiredFields) {
  v1::GetGroupRequest get_group;
  EXPECT_THAT(ValidateRequest(get_group), StatusIs(kInvalid, "group_id is required"));
  v1::GetOperationRequest get_op;
  EXPECT_THAT(ValidateRequest(get_op), StatusIs(kInvalid, "operation_id is required"));
  v1::RequestFailoverRequest failover = Failover();
  failover.clear_reason();
  EXPECT_THAT(ValidateRequest(failover), StatusIs(kInvalid, "reason is required"));
  failover.set_dry_run(true);
  EXPECT_THAT(ValidateRequest(failover), IsOk());
  v1::CancelOperationRequest cancel;
  EXPECT_THAT(ValidateRequest(cancel), StatusIs(kInvalid, "operation_id is required"));
  cancel.set_operation_id("op-1");
  EXPECT_THAT(ValidateRequest(cancel), StatusIs(kInvalid, "reason is required"));
  v1::ApproveDecisionRequest approve;
  approve.set_group_id("fog");
  EXPECT_THAT(ValidateRequest(approve), StatusIs(kInvalid, "reason is required"));
  v1::RejectDecisionRequest reject;
  reject.set_reason("r");
  EXPECT_THAT(ValidateRequest(reject), StatusIs(kInvalid, "group_id is required"));
  v1::PauseAutomationRequest pause;
  EXPECT_THAT(ValidateRequest(pause), StatusIs(kInvalid, "reason is required"));
  v1::ValidateRunbookRequest runbook;
  EXPECT_THAT(ValidateRequest(runbook), StatusIs(kInvalid, "text is required"));
  v1::StartDrillRequest drill;
  drill.set_group_id("fog");
  EXPECT_THAT(ValidateRequest(drill), StatusIs(kInvalid, "reason is required"));
  drill.set_dry_run(true);
  EXPECT_THAT(ValidateRequest(drill), IsOk());
  v1::GetDrillReportRequest report;
  EXPECT_THAT(ValidateRequest(report), StatusIs(kInvalid, "drill_id is required"));
  v1::CheckReadinessRequest readiness;
  EXPECT_THAT(ValidateRequest(readiness), StatusIs(kInvalid, "group_id is required"));
}

TEST(RequestLimitsTest, GroupIdIsAcceptedAtItsLimitAndRefusedOnePast) {
  v1::GetGroupRequest req;
  req.set_group_id(Bytes(kMaxGroupIdBytes));
  EXPECT_THAT(ValidateRequest(req), IsOk());
  req.set_group_id(Bytes(kMaxGroupIdBytes + 1));
  EXPECT_THAT(ValidateRequest(req),
              StatusIs(kInvalid, "group_id is longer than 512 bytes (513 bytes)"));
  // The same bound wherever a group id is taken, optional or not.
  v1::ListOperationsRequest ops;
  ops.set_group_id(Bytes(kMaxGroupIdBytes + 1));
  EXPECT_THAT(ValidateRequest(ops), StatusIs(kInvalid, HasSubstr("group_id")));
  v1::PauseAutomationRequest pause;
  pause.set_reason("r");
  pause.set_group_id(Bytes(kMaxGroupIdBytes + 1));
  EXPECT_THAT(ValidateRequest(pause), StatusIs(kInvalid, HasSubstr("group_id")));
  v1::ResumeAutomationRequest resume;
  resume.set_group_id(Bytes(kMaxGroupIdBytes + 1));
  EXPECT_THAT(ValidateRequest(resume), StatusIs(kInvalid, HasSubstr("group_id")));
  v1::ListDrillReportsRequest reports;
  reports.set_group_id(Bytes(kMaxGroupIdBytes + 1));
  EXPECT_THAT(ValidateRequest(reports), StatusIs(kInvalid, HasSubstr("group_id")));
  v1::CheckReadinessRequest readiness;
  readiness.set_group_id(Bytes(kMaxGroupIdBytes + 1));
  EXPECT_THAT(ValidateRequest(readiness), StatusIs(kInvalid, HasSubstr("group_id")));
}

TEST(RequestLimitsTest, OperationAndRequestIdsAreBoundedAt128Bytes) {
  v1::GetOperationRequest get;
  get.set_operation_id(Bytes(kMaxOperationIdBytes));
  EXPECT_THAT(ValidateRequest(get), IsOk());
  get.set_operation_id(Bytes(kMaxOperationIdBytes + 1));
  EXPECT_THAT(ValidateRequest(get),
              StatusIs(kInvalid, HasSubstr("operation_id is longer than 128")));

  v1::RequestFailoverRequest failover = Failover();
  failover.set_request_id(Bytes(kMaxRequestIdBytes));
  EXPECT_THAT(ValidateRequest(failover), IsOk());
  failover.set_request_id(Bytes(kMaxRequestIdBytes + 1));
  EXPECT_THAT(ValidateRequest(failover),
              StatusIs(kInvalid, HasSubstr("request_id is longer than 128")));

  v1::StartDrillRequest drill;
  drill.set_group_id("fog");
  drill.set_reason("r");
  drill.set_request_id(Bytes(kMaxRequestIdBytes));
  EXPECT_THAT(ValidateRequest(drill), IsOk());
  drill.set_request_id(Bytes(kMaxRequestIdBytes + 1));
  EXPECT_THAT(ValidateRequest(drill), StatusIs(kInvalid, HasSubstr("request_id is longer")));

  v1::WatchRequest watch;
  watch.set_operation_id(Bytes(kMaxOperationIdBytes));
  EXPECT_THAT(ValidateRequest(watch), IsOk());
  watch.set_operation_id(Bytes(kMaxOperationIdBytes + 1));
  EXPECT_THAT(ValidateRequest(watch), StatusIs(kInvalid, HasSubstr("operation_id is longer")));
}

TEST(RequestLimitsTest, RefusesNulAndControlBytesInIdsWithoutEchoingThem) {
  v1::GetGroupRequest req;
  req.set_group_id(std::string("sub/rg/f\0g", 10));
  EXPECT_THAT(ValidateRequest(req),
              StatusIs(kInvalid, "group_id contains control byte 0x00 at offset 8"));
  req.set_group_id("fog\x1b[2J");
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, HasSubstr("control byte 0x1b")));
  req.set_group_id("fog\x7f");
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, HasSubstr("control byte 0x7f")));
  req.set_group_id("fog\n");
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, HasSubstr("control byte 0x0a")));

  v1::CancelOperationRequest cancel;
  cancel.set_operation_id(std::string("op\0", 3));
  cancel.set_reason("r");
  EXPECT_THAT(ValidateRequest(cancel), StatusIs(kInvalid, HasSubstr("operation_id contains")));
  v1::RequestFailoverRequest failover = Failover();
  failover.set_request_id("id\t1");
  EXPECT_THAT(ValidateRequest(failover), StatusIs(kInvalid, HasSubstr("request_id contains")));
  v1::ListGroupsRequest list;
  list.set_page_token(std::string("\0", 1));
  EXPECT_THAT(ValidateRequest(list), StatusIs(kInvalid, HasSubstr("page_token contains")));
  v1::ValidateRunbookRequest runbook;
  runbook.set_text("group: {}\n");
  runbook.set_file_name("a\rb.yaml");
  EXPECT_THAT(ValidateRequest(runbook), StatusIs(kInvalid, HasSubstr("file_name contains")));
}

TEST(RequestLimitsTest, ReasonsAllowLineBreaksButNoOtherControlBytes) {
  v1::ApproveDecisionRequest req;
  req.set_group_id("fog");
  req.set_reason("line one\n\tline two\r\n");
  EXPECT_THAT(ValidateRequest(req), IsOk());
  req.set_reason(std::string("ok\0hidden", 9));
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, HasSubstr("reason contains control byte")));
  req.set_reason("\x1b]0;innocent\x07");
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, HasSubstr("reason contains control byte")));
}

TEST(RequestLimitsTest, ReasonsAreBoundedAndAHugeOneGetsAShortMessage) {
  v1::RequestFailoverRequest req = Failover();
  req.set_reason(Bytes(kMaxReasonBytes));
  EXPECT_THAT(ValidateRequest(req), IsOk());
  req.set_reason(Bytes(kMaxReasonBytes + 1));
  EXPECT_THAT(ValidateRequest(req),
              StatusIs(kInvalid, "reason is longer than 1024 bytes (1025 bytes)"));
  req.set_reason(Bytes(1 << 20, 'x'));
  absl::Status s = ValidateRequest(req);
  EXPECT_THAT(s, StatusIs(kInvalid, HasSubstr("reason")));
  EXPECT_LT(s.message().size(), 200u);
  EXPECT_THAT(Message(s), Not(HasSubstr("xxxx")));

  req = Failover();
  req.set_override_holds(true);
  req.set_override_reason(Bytes(kMaxReasonBytes));
  EXPECT_THAT(ValidateRequest(req), IsOk());
  req.set_override_reason(Bytes(kMaxReasonBytes + 1));
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, HasSubstr("override_reason is longer")));

  for (bool dry_run : {false, true}) {
    // A dry run needs no reason, but one it carries is bounded all the same.
    v1::StartDrillRequest drill;
    drill.set_group_id("fog");
    drill.set_dry_run(dry_run);
    drill.set_reason(Bytes(kMaxReasonBytes + 1));
    EXPECT_THAT(ValidateRequest(drill), StatusIs(kInvalid, HasSubstr("reason is longer")));
  }
  v1::CancelOperationRequest cancel;
  cancel.set_operation_id("op-1");
  cancel.set_reason(Bytes(kMaxReasonBytes + 1));
  EXPECT_THAT(ValidateRequest(cancel), StatusIs(kInvalid, HasSubstr("reason is longer")));
  v1::RejectDecisionRequest reject;
  reject.set_group_id("fog");
  reject.set_reason(Bytes(kMaxReasonBytes + 1));
  EXPECT_THAT(ValidateRequest(reject), StatusIs(kInvalid, HasSubstr("reason is longer")));
  v1::PauseAutomationRequest pause;
  pause.set_reason(Bytes(kMaxReasonBytes + 1));
  EXPECT_THAT(ValidateRequest(pause), StatusIs(kInvalid, HasSubstr("reason is longer")));
}

TEST(RequestLimitsTest, RunbookTextUpTo1MiBAndFileNameUpTo256Bytes) {
  v1::ValidateRunbookRequest req;
  req.set_text(Bytes(kMaxRunbookTextBytes, '#'));
  EXPECT_THAT(ValidateRequest(req), IsOk());
  req.set_text(Bytes(kMaxRunbookTextBytes + 1, '#'));
  absl::Status s = ValidateRequest(req);
  EXPECT_THAT(s, StatusIs(kInvalid, "text is larger than 1 MiB (1048577 bytes)"));
  req.set_text("group: {}\n");
  req.set_file_name(Bytes(kMaxFileNameBytes));
  EXPECT_THAT(ValidateRequest(req), IsOk());
  req.set_file_name(Bytes(kMaxFileNameBytes + 1));
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, HasSubstr("file_name is longer than 256")));
}

TEST(RequestLimitsTest, PageSizeIsBetweenZeroAndOneThousand) {
  auto check = [](int page_size) {
    v1::ListGroupsRequest groups;
    groups.set_page_size(page_size);
    v1::ListOperationsRequest ops;
    ops.set_page_size(page_size);
    v1::ListDecisionsRequest decisions;
    decisions.set_group_id("fog");
    decisions.set_page_size(page_size);
    v1::ListDrillReportsRequest reports;
    reports.set_page_size(page_size);
    const absl::Status all[] = {ValidateRequest(groups), ValidateRequest(ops),
                                ValidateRequest(decisions), ValidateRequest(reports)};
    for (const absl::Status& s : all) EXPECT_EQ(s, all[0]) << page_size;
    return all[0];
  };
  EXPECT_THAT(check(0), IsOk());
  EXPECT_THAT(check(kMaxPageSize), IsOk());
  EXPECT_THAT(check(kMaxPageSize + 1),
              StatusIs(kInvalid, "page_size must be between 0 and 1000 (got 1001)"));
  EXPECT_THAT(check(-1), StatusIs(kInvalid, HasSubstr("page_size must be between 0 and 1000")));
  EXPECT_THAT(check(INT32_MIN), StatusIs(kInvalid, HasSubstr("page_size")));
}

TEST(RequestLimitsTest, RefusesUnknownFailoverKinds) {
  v1::RequestFailoverRequest req = Failover();
  for (v1::FailoverKind k :
       {v1::FAILOVER_KIND_UNSPECIFIED, v1::FAILOVER_KIND_AUTO, v1::FAILOVER_KIND_FORCED,
        v1::FAILOVER_KIND_TRY_PLANNED_BEFORE_FORCED}) {
    req.set_kind(k);
    EXPECT_THAT(ValidateRequest(req), IsOk()) << k;
  }
  req.set_kind(static_cast<v1::FailoverKind>(5));
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, "unknown kind 5"));
  req.set_kind(static_cast<v1::FailoverKind>(-1));
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, "unknown kind -1"));
}

TEST(RequestLimitsTest, PauseDurationIsNonNegativeAndAtMostAYear) {
  v1::PauseAutomationRequest req;
  req.set_reason("maintenance");
  const std::int64_t year = 365 * 24 * 3600;
  req.mutable_duration()->set_seconds(0);
  EXPECT_THAT(ValidateRequest(req), IsOk());
  req.mutable_duration()->set_seconds(year);
  EXPECT_THAT(ValidateRequest(req), IsOk());
  req.mutable_duration()->set_nanos(1);
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, "duration must be at most 365 days"));
  req.mutable_duration()->set_seconds(year + 1);
  req.mutable_duration()->set_nanos(0);
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, "duration must be at most 365 days"));
  req.mutable_duration()->set_seconds(-1);
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, "duration must not be negative"));
  req.mutable_duration()->set_seconds(0);
  req.mutable_duration()->set_nanos(-1);
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, "duration must not be negative"));
  // Malformed Durations: mixed signs, nanos past a second, seconds past protobuf's range.
  req.mutable_duration()->set_seconds(1);
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, HasSubstr("not a valid duration")));
  req.mutable_duration()->set_seconds(0);
  req.mutable_duration()->set_nanos(1000000000);
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, HasSubstr("not a valid duration")));
  req.mutable_duration()->set_seconds(INT64_MIN);
  req.mutable_duration()->set_nanos(0);
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, HasSubstr("not a valid duration")));
  req.mutable_duration()->set_seconds(INT64_MAX);
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, HasSubstr("not a valid duration")));
}

TEST(RequestLimitsTest, DrillHoldIsNonNegativeAndAtMostAWeek) {
  v1::StartDrillRequest req;
  req.set_group_id("fog");
  req.set_reason("drill");
  req.mutable_hold()->set_seconds(7 * 24 * 3600);
  EXPECT_THAT(ValidateRequest(req), IsOk());
  req.mutable_hold()->set_seconds(7 * 24 * 3600 + 1);
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, "hold must be at most 7 days"));
  req.mutable_hold()->set_seconds(-1);
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, "hold must not be negative"));
}

TEST(RequestLimitsTest, WatchFiltersAreBounded) {
  v1::WatchRequest req;
  for (int i = 0; i < kMaxWatchGroupIds; ++i) req.add_group_ids("fog-" + std::to_string(i));
  EXPECT_THAT(ValidateRequest(req), IsOk());
  req.add_group_ids("one-too-many");
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, "group_ids has 65 entries; at most 64"));

  req.clear_group_ids();
  req.add_group_ids("fog");
  req.add_group_ids(Bytes(kMaxGroupIdBytes + 1));
  EXPECT_THAT(ValidateRequest(req),
              StatusIs(kInvalid, HasSubstr("group_ids[1] is longer than 512 bytes")));
  req.set_group_ids(1, "");
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, "group_ids[1] is required"));
  req.set_group_ids(1, std::string("f\0g", 3));
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, HasSubstr("group_ids[1] contains")));

  req.clear_group_ids();
  for (int i = 0; i < kMaxWatchKinds; ++i) req.add_kinds(v1::EVENT_KIND_DECISION);
  EXPECT_THAT(ValidateRequest(req), IsOk());
  req.add_kinds(v1::EVENT_KIND_DECISION);
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, "kinds has 33 entries; at most 32"));

  req.clear_kinds();
  req.add_kinds(v1::EVENT_KIND_VERDICT);
  req.add_kinds(v1::EVENT_KIND_UNSPECIFIED);
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, "unknown event kind 0 in kinds[1]"));
  req.set_kinds(1, static_cast<v1::EventKind>(99));
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, HasSubstr("unknown event kind 99")));
}

TEST(RequestLimitsTest, DrillIdsFollowTheReportStoreRule) {
  v1::GetDrillReportRequest req;
  req.set_drill_id(Bytes(kMaxDrillIdBytes));
  EXPECT_THAT(ValidateRequest(req), IsOk());
  req.set_drill_id(Bytes(kMaxDrillIdBytes + 1));
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, HasSubstr("drill_id is longer than 128")));
  for (const char* bad : {"../etc", ".hidden", "a/b", "a\\b", "drill fog", "drill:fog"}) {
    req.set_drill_id(bad);
    EXPECT_THAT(ValidateRequest(req),
                StatusIs(kInvalid, AllOf(HasSubstr("drill_id"), HasSubstr("is malformed"))))
        << bad;
  }
  req.set_drill_id(std::string("drill\0", 6));
  EXPECT_THAT(ValidateRequest(req), StatusIs(kInvalid, HasSubstr("drill_id contains")));
}

TEST(RequestLimitsTest, EchoForMessageEscapesAndCaps) {
  EXPECT_EQ(EchoForMessage("drill-fog"), "drill-fog");
  EXPECT_EQ(EchoForMessage(std::string("a\0\n\"", 4)), "a\\x00\\n\\\"");
  EXPECT_EQ(EchoForMessage("\xc3\xa9"), "\\xc3\\xa9");
  const std::string huge(1 << 20, 'z');
  const std::string echoed = EchoForMessage(huge);
  EXPECT_EQ(echoed, Bytes(kMaxEchoBytes, 'z') + "...(1048576 bytes)");
  EXPECT_LE(EchoForMessage(std::string(4096, '\x01')).size(), kMaxEchoBytes + 32);
}

}  // namespace
}  // namespace foghorn::api
