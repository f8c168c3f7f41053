#include "orchestrator/common/host_port.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace foghorn::common {
namespace {

using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using ::testing::HasSubstr;

constexpr ParseHostPortOptions kListen{.allow_port_zero = true, .default_port = std::nullopt};

TEST(ParseHostPortTest, AcceptsHostPortBracketedIpv6AndHostNames) {
  struct Case {
    std::string text;
    std::string host;
    int port;
    bool ipv6;
  };
  for (const Case& c : std::vector<Case>{
           {"127.0.0.1:7443", "127.0.0.1", 7443, false},
           {"[::1]:80", "::1", 80, true},
           {"[2001:db8::1]:65535", "2001:db8::1", 65535, true},
           {"localhost:1", "localhost", 1, false},
           {"sql-east.database.windows.net:1433", "sql-east.database.windows.net", 1433, false},
           {"Primary:1433", "Primary", 1433, false}}) {
    auto hp = ParseHostPort(c.text);
    ASSERT_THAT(hp, IsOk()) << c.text;
    EXPECT_EQ(hp->host, c.host) << c.text;
    EXPECT_EQ(hp->port, c.port) << c.text;
    EXPECT_EQ(hp->is_ipv6_literal, c.ipv6) << c.text;
  }
}

TEST(ParseHostPortTest, TakesPortZeroOnlyWhenAllowed) {
  EXPECT_THAT(ParseHostPort("127.0.0.1:0"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("(1-65535)")));
  EXPECT_THAT(ParseHostPort("[::1]:0"), StatusIs(absl::StatusCode::kInvalidArgument));
  auto hp = ParseHostPort("[::1]:0", kListen);
  ASSERT_THAT(hp, IsOk());
  EXPECT_EQ(hp->port, 0);
  EXPECT_THAT(ParseHostPort("h:-1", kListen),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("(0-65535)")));
}

TEST(ParseHostPortTest, RequiresThePortUnlessThereIsADefault) {
  for (const char* text : {"7443", "host", "[::1]", "h:", "[::1]:"}) {
    EXPECT_THAT(ParseHostPort(text), StatusIs(absl::StatusCode::kInvalidArgument)) << text;
  }
  auto named = ParseHostPort("foghorn.internal", {.default_port = 443});
  ASSERT_THAT(named, IsOk());
  EXPECT_EQ(named->port, 443);
  auto v6 = ParseHostPort("[::1]", {.default_port = 443});
  ASSERT_THAT(v6, IsOk());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 443);
  auto written = ParseHostPort("foghorn.internal:7443", {.default_port = 443});
  ASSERT_THAT(written, IsOk());
  EXPECT_EQ(written->port, 7443);
}

TEST(ParseHostPortTest, RefusesBadPorts) {
  for (const char* text : {"h:+5", "h: 5", "h:5 ", "h:70000", "h:65536", "h:123456", "h:0x10",
                           "h:00000080", "h:port"}) {
    EXPECT_THAT(ParseHostPort(text, kListen),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no valid port")))
        << text;
  }
}

TEST(ParseHostPortTest, RefusesMalformedHosts) {
  for (const char* text : {":7443", "::1:7443", "[::1]7443", "[::1:80", "[nope]:1", "[]:1",
                           "[127.0.0.1]:1", "999.1.1.1:1", "1.2.3:1", "host name:1", "-host:1",
                           "host-:1", "a..b:1", "user@host:1", "host/x:1"}) {
    EXPECT_THAT(ParseHostPort(text, kListen), StatusIs(absl::StatusCode::kInvalidArgument)) << text;
  }
  EXPECT_THAT(ParseHostPort("::1:7443"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("in brackets")));
}

TEST(ParseHostPortTest, QuotesTheTextInItsMessage) {
  EXPECT_THAT(ParseHostPort("h:99999"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"h:99999\"")));
}

TEST(IsLoopbackHostTest, KnowsLoopbackLiteralsAndLocalhost) {
  for (const char* host : {"127.0.0.1", "127.9.9.9", "127.255.255.255", "::1", "0::1",
                           "0:0:0:0:0:0:0:1", "localhost"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
}

TEST(IsLoopbackHostTest, RefusesEverythingElse) {
  for (const char* host : {"0.0.0.0", "::", "10.0.0.5", "128.0.0.1", "126.255.255.255",
                           "127.example", "127.0.0.1.evil.example", "127.1", "::ffff:127.0.0.1",
                           "2001:db8::1", "LOCALHOST", "localhost.", "foo.localhost", ""}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

TEST(IsLoopbackIpLiteralTest, DoesNotTrustNames) {
  EXPECT_TRUE(IsLoopbackIpLiteral("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackIpLiteral("::1"));
  EXPECT_FALSE(IsLoopbackIpLiteral("localhost"));
}

}  // namespace
}  // namespace foghorn::common
