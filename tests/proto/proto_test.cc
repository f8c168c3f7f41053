// The generated library links, carries its descriptors, and the service has mock stubs.
#include "foghorn/v1/control.grpc.pb.h"
#include "foghorn/v1/control_mock.grpc.pb.h"
#include "foghorn/v1/runbook.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace foghorn {
namespace {

TEST(ProtoTest, RunbookRoundTripsThroughTheJsonMapping) {
  v1::Runbook rb;
  rb.mutable_group()->set_name("fog-1");
  rb.mutable_policy()->mutable_planned_grace()->set_seconds(60);
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(rb, &json).ok());
  v1::Runbook back;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &back).ok());
  EXPECT_EQ(back.group().name(), "fog-1");
  EXPECT_EQ(back.policy().planned_grace().seconds(), 60);
}

TEST(ProtoTest, ControlServiceHasAMockStub) {
  v1::MockControlServiceStub stub;
  EXPECT_CALL(stub, GetGroup).WillOnce(::testing::Return(grpc::Status::OK));
  grpc::ClientContext ctx;
  v1::GetGroupResponse resp;
  EXPECT_TRUE(stub.GetGroup(&ctx, {}, &resp).ok());
}

}  // namespace
}  // namespace foghorn
