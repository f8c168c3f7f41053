#include "orchestrator/arm/arm_status.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/orchestrator/arm/fake_http_transport.h"

namespace foghorn::arm {
namespace {

using ::testing::HasSubstr;

struct MappingCase {
  int http_status;
  const char* arm_code;
  absl::StatusCode want;
};

class HttpMappingTest : public ::testing::TestWithParam<MappingCase> {};

TEST_P(HttpMappingTest, PicksTheCodeByWhatTheCallerShouldDo) {
  const MappingCase& c = GetParam();
  EXPECT_EQ(StatusCodeForHttp(c.http_status, c.arm_code), c.want)
      << c.http_status << " " << c.arm_code;
}

INSTANTIATE_TEST_SUITE_P(
    Table, HttpMappingTest,
    ::testing::Values(
        MappingCase{429, "SubscriptionTooManyRequests", absl::StatusCode::kUnavailable},
        MappingCase{408, "", absl::StatusCode::kUnavailable},
        MappingCase{500, "OperationTimedOut", absl::StatusCode::kUnavailable},
        MappingCase{502, "", absl::StatusCode::kUnavailable},
        MappingCase{503, "TooManyRequests", absl::StatusCode::kUnavailable},
        MappingCase{504, "GatewayTimeout", absl::StatusCode::kUnavailable},
        MappingCase{409, "FailoverGroupBusy", absl::StatusCode::kAborted},
        MappingCase{409, "ConflictingServerOperation", absl::StatusCode::kAborted},
        MappingCase{409, "FailoverGroupAlreadyExists", absl::StatusCode::kAlreadyExists},
        MappingCase{400, "FailoverGroupFailoverRequestOnPrimary",
                    absl::StatusCode::kFailedPrecondition},
        MappingCase{400, "FailoverGroupNotSecondary", absl::StatusCode::kFailedPrecondition},
        MappingCase{400, "FailoverGroupUpdateOrDeleteRequestOnSecondary",
                    absl::StatusCode::kFailedPrecondition},
        MappingCase{400, "PlannedFailoverTimedOut", absl::StatusCode::kFailedPrecondition},
        MappingCase{400, "InvalidFailoverGroupRegion", absl::StatusCode::kInvalidArgument},
        MappingCase{401, "InvalidAuthenticationToken", absl::StatusCode::kUnauthenticated},
        MappingCase{403, "AuthorizationFailed", absl::StatusCode::kPermissionDenied},
        MappingCase{404, "ResourceNotFound", absl::StatusCode::kNotFound},
        MappingCase{412, "", absl::StatusCode::kFailedPrecondition},
        MappingCase{418, "", absl::StatusCode::kInvalidArgument},
        MappingCase{302, "", absl::StatusCode::kUnknown}));

TEST(ArmStatusTest, ErrorKeepsArmCodeMessageAndRequestIds) {
  http::HttpResponse r =
      testing::Response(409, testing::ArmErrorBody("FailoverGroupBusy", "Failover Group is busy"),
                        {{"x-ms-request-id", "req-1"}, {"x-ms-correlation-request-id", "corr-1"}});
  RequestIds ids;
  ids.client_request_id = "client-1";
  ids.From(r.headers);
  absl::Status s = StatusFromHttpError("failover failover group b/fg", r, ids);
  EXPECT_EQ(s.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(std::string(s.message()), HasSubstr("FailoverGroupBusy"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("b/fg"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("client-request-id=client-1"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("request-id=req-1"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("correlation-id=corr-1"));
  EXPECT_EQ(ArmErrorCode(s), "FailoverGroupBusy");
  EXPECT_EQ(HttpStatusOf(s), 409);
  EXPECT_FALSE(IsFailedOperation(s));
}

TEST(ArmStatusTest, FailedOperationsKeepTheirCode) {
  OperationStatus op;
  op.state = OperationState::kFailed;
  op.error = ArmError{"PlannedFailoverTimedOut", "timed out", ""};
  absl::Status s = StatusFromFailedOperation("failover", op, {});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(IsFailedOperation(s));
  EXPECT_EQ(ArmErrorCode(s), "PlannedFailoverTimedOut");
  op.state = OperationState::kCanceled;
  op.error = ArmError{"OperationCancelled", "", ""};
  EXPECT_EQ(StatusFromFailedOperation("x", op, {}).code(), absl::StatusCode::kCancelled);
  op.state = OperationState::kFailed;
  op.error = ArmError{"OperationTimedOut", "", ""};
  EXPECT_EQ(StatusFromFailedOperation("x", op, {}).code(), absl::StatusCode::kUnavailable);
  op.error = ArmError{"SomethingElse", "", ""};
  EXPECT_EQ(StatusFromFailedOperation("x", op, {}).code(), absl::StatusCode::kAborted);
}

TEST(ArmStatusTest, NonJsonErrorBodiesStillMapByHttpStatus) {
  absl::Status s =
      StatusFromHttpError("get", testing::Response(502, "<html>Bad Gateway</html>"), {});
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(ArmErrorCode(s).has_value());
}

TEST(ErrorClassTest, EveryDocumentedCodeHasItsClass) {
  struct Case {
    const char* code;
    ErrorClass want;
  };
  for (const Case& c :
       std::vector<Case>{{"FailoverGroupBusy", ErrorClass::kRereadThenRetry},
                         {"failovergroupnotsecondary", ErrorClass::kRereadThenRetry},
                         {"OperationInterrupted", ErrorClass::kRereadThenRetry},
                         {"IncorrectReplicationLinkState", ErrorClass::kRereadThenRetry},
                         {"ConflictingSystemOperationInProgress", ErrorClass::kRetryAfterBackoff},
                         {"DatabaseBeingAddedToFailoverGroup", ErrorClass::kRetryAfterBackoff},
                         {"UpdateSloInProgress", ErrorClass::kRetryAfterBackoff},
                         {"OperationTimedOut", ErrorClass::kRetryAfterBackoff},
                         {"PlannedFailoverTimedOutForDatabase", ErrorClass::kTerminal},
                         {"DatabaseBelongsToOtherFailoverGroup", ErrorClass::kTerminal},
                         {"FailoverGroupCreateOrUpdateRequestInvalid", ErrorClass::kTerminal},
                         {"OperationCancelled", ErrorClass::kNeedsHuman},
                         {"FailoverGroupDnsRecordInUse", ErrorClass::kNeedsHuman},
                         {"GeoReplicationCannotBecomePrimaryDuringUndo", ErrorClass::kNeedsHuman},
                         {"InvalidAddSecondaryPermission", ErrorClass::kNeedsHuman},
                         {"SomethingNew", ErrorClass::kUnclassified},
                         {"", ErrorClass::kUnclassified}}) {
    EXPECT_EQ(ClassifyArmErrorCode(c.code), c.want) << c.code;
  }
}

TEST(ErrorClassTest, ConflictsThatStopAutomationAreNotRetriedHigherUp) {
  EXPECT_EQ(StatusCodeForHttp(409, "FailoverGroupDnsRecordInUse"),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(StatusCodeForHttp(409, "DatabaseBelongsToOtherFailoverGroup"),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(StatusCodeForHttp(409, "ConflictingSystemOperationInProgress"),
            absl::StatusCode::kAborted);
  EXPECT_EQ(StatusCodeForHttp(409, "OperationInterrupted"), absl::StatusCode::kAborted);
  EXPECT_EQ(StatusCodeForHttp(400, "IncorrectReplicationLinkState"), absl::StatusCode::kAborted);
  EXPECT_EQ(StatusCodeForFailedOperation(OperationState::kFailed, "OperationInterrupted"),
            absl::StatusCode::kAborted);
  EXPECT_EQ(StatusCodeForFailedOperation(OperationState::kFailed, "OperationCancelled"),
            absl::StatusCode::kFailedPrecondition);
  absl::Status s = StatusFromHttpError(
      "x", testing::Response(409, testing::ArmErrorBody("OperationCancelled", "m")), {});
  EXPECT_EQ(ErrorClassOf(s), ErrorClass::kNeedsHuman);
  EXPECT_EQ(ErrorClassOf(absl::UnavailableError("no code")), ErrorClass::kUnclassified);
}

}  // namespace
}  // namespace foghorn::arm
