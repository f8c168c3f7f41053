// CurlHttpTransport against a plain-HTTP cpp-httplib server on 127.0.0.1 (TLS is covered by the
// emulator integration tests): request shape, User-Agent, keep-alive reuse and error mapping.
#include "orchestrator/arm/curl_http_transport.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace foghorn::arm {
namespace {

// A loopback port that refuses connections for as long as this object lives: bound, never
// listening, so no other process or test can take it meanwhile (a fixed port such as 1 can be).
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~RefusingPort() { close(fd_); }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;

class CurlHttpTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/echo", [this](const httplib::Request& req, httplib::Response& res) {
      user_agent_ = req.get_header_value("User-Agent");
      {
        std::lock_guard<std::mutex> lock(mu_);
        remote_ports_.insert(req.remote_port);
      }
      res.set_header("X-Ms-Request-Id", "rid-1");
      res.set_header("Retry-After", "3");
      res.status = 202;
      res.set_content(R"({"ok":true})", "application/json");
    });
    auto body_echo = [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.method + ":" + req.get_header_value("Content-Length") + ":" + req.body,
                      "text/plain");
    };
    server_.Post("/body", body_echo);
    server_.Put("/body", body_echo);
    server_.Patch("/body", body_echo);
    server_.Delete("/body", body_echo);
    server_.Get("/hang", [this](const httplib::Request&, httplib::Response& res) {
      release_.WaitForNotificationWithTimeout(absl::Seconds(30));
      res.set_content("late", "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op until the accept loop runs, so wait for it (bounded poll, no sleep).
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!server_.is_running() && absl::Now() < deadline) std::this_thread::yield();
    ASSERT_TRUE(server_.is_running());
  }
  void TearDown() override {
    if (!release_.HasBeenNotified()) release_.Notify();
    server_.stop();
    thread_.join();
  }
  std::string Url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::string user_agent_;
  std::mutex mu_;
  std::set<int> remote_ports_;
  absl::Notification release_;
};

TEST_F(CurlHttpTransportTest, ReturnsStatusHeadersAndBodyWithTheFoghornUserAgent) {
  CurlHttpTransport t;
  HttpRequest req;
  req.url = Url("/echo");
  auto r = t.Send(req);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(r->body, R"({"ok":true})");
  EXPECT_EQ(r->headers.Find("x-ms-request-id"), "rid-1");
  EXPECT_EQ(r->headers.Find("retry-after"), "3");
  EXPECT_EQ(user_agent_, "foghorn/" + FoghornVersion());
}

TEST_F(CurlHttpTransportTest, ReusesOneConnectionAcrossSequentialCalls) {
  CurlHttpTransport t;
  HttpRequest req;
  req.url = Url("/echo");
  for (int i = 0; i < 4; ++i) ASSERT_THAT(t.Send(req), IsOk());
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(remote_ports_.size(), 1u);
}

TEST_F(CurlHttpTransportTest, SendsBodiesAndAnExplicitZeroLengthForEmptyPosts) {
  CurlHttpTransport t;
  for (const char* method : {"POST", "PUT", "PATCH", "DELETE"}) {
    HttpRequest req;
    req.method = method;
    req.url = Url("/body");
    req.body = std::string(method) == "POST" ? "" : "{\"a\":1}";
    auto r = t.Send(req);
    ASSERT_THAT(r, IsOk()) << method;
    if (std::string(method) == "POST") {
      EXPECT_EQ(r->body, "POST:0:");
    } else {
      EXPECT_EQ(r->body, std::string(method) + ":7:{\"a\":1}");
    }
  }
}

TEST_F(CurlHttpTransportTest, TimeoutIsDeadlineExceededAndMaybeSent) {
  CurlHttpTransport t;
  HttpRequest req;
  req.url = Url("/hang");
  req.timeout = absl::Milliseconds(100);
  auto r = t.Send(req);
  release_.Notify();
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_TRUE(RequestMaybeSent(r.status()));
}

TEST_F(CurlHttpTransportTest, ConnectionRefusedIsUnavailableAndNotSent) {
  CurlHttpTransport t;
  RefusingPort refusing;
  HttpRequest req;
  req.url = refusing.Url("/x");
  req.timeout = absl::Seconds(10);
  auto r = t.Send(req);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_FALSE(RequestMaybeSent(r.status()));
}

TEST_F(CurlHttpTransportTest, ErrorMessagesLeaveOutTheQueryString) {
  CurlHttpTransport t;
  RefusingPort refusing;
  HttpRequest req;
  req.url = refusing.Url("/x?sig=secret-ish");
  req.timeout = absl::Seconds(10);
  auto r = t.Send(req);
  EXPECT_THAT(std::string(r.status().message()), ::testing::Not(::testing::HasSubstr("sig=")));
}

}  // namespace
}  // namespace foghorn::arm
