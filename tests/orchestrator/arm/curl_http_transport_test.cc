// http::CurlHttpTransport against a plain-HTTP cpp-httplib server on 127.0.0.1 (TLS is covered by
// the emulator integration tests): request shape, User-Agent, keep-alive reuse and error mapping;
// and, against a raw-socket server that drops a connection without answering, that the transport
// never re-sends a non-idempotent request on its own.
#include "orchestrator/http/curl_http_transport.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

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
using ::testing::HasSubstr;

// A minimal HTTP/1.1 server on a raw loopback socket, one thread per connection. GETs are answered
// "200 ok" with keep-alive; any other request is read in full, counted, and answered by resetting
// the connection (no status line, no byte), as a server that dies mid-request would. It counts
// every request it read, per method, so a test sees requests the client never decided to send.
class DroppingServer {
 public:
  DroppingServer() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(listen_fd_, 16);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~DroppingServer() {
    shutdown(listen_fd_, SHUT_RDWR);
    close(listen_fd_);
    accept_thread_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int fd : open_) shutdown(fd, SHUT_RDWR);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int Requests(const std::string& method) {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_[method];
  }
  int Connections() {
    std::lock_guard<std::mutex> lock(mu_);
    return connections_;
  }

 private:
  void AcceptLoop() {
    for (;;) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      std::lock_guard<std::mutex> lock(mu_);
      ++connections_;
      open_.insert(fd);
      threads_.emplace_back([this, fd] { Serve(fd); });
    }
  }
  void Serve(int fd) {
    std::string buffer;
    char chunk[4096];
    for (;;) {
      size_t head_end;
      while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0) return Close(fd, false);
        buffer.append(chunk, static_cast<size_t>(n));
      }
      const std::string head = buffer.substr(0, head_end);
      const std::string method = head.substr(0, head.find(' '));
      size_t body_length = 0;
      if (size_t cl = head.find("Content-Length: "); cl != std::string::npos) {
        body_length = std::stoul(head.substr(cl + 16));
      }
      while (buffer.size() < head_end + 4 + body_length) {
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0) return Close(fd, false);
        buffer.append(chunk, static_cast<size_t>(n));
      }
      buffer.erase(0, head_end + 4 + body_length);
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++requests_[method];
      }
      if (method != "GET") return Close(fd, true);
      const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
      if (send(fd, answer.data(), answer.size(), MSG_NOSIGNAL) < 0) return Close(fd, false);
    }
  }
  void Close(int fd, bool reset) {
    if (reset) {
      linger l{1, 0};  // RST: the peer sees the connection die, not an orderly end
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    }
    std::lock_guard<std::mutex> lock(mu_);
    open_.erase(fd);
    close(fd);
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::thread accept_thread_;
  std::mutex mu_;
  std::set<int> open_;
  std::vector<std::thread> threads_;
  std::map<std::string, int> requests_;
  int connections_ = 0;
};

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
    server_.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      // 8 MiB streamed in chunks: a hostile webhook or a broken proxy.
      res.set_chunked_content_provider("text/plain", [](size_t, httplib::DataSink& sink) {
        const std::string chunk(64 << 10, 'x');
        for (int i = 0; i < 128; ++i) {
          if (!sink.write(chunk.data(), chunk.size())) return false;
        }
        sink.done();
        return true;
      });
    });
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
  http::CurlHttpTransport t;
  http::HttpRequest req;
  req.url = Url("/echo");
  auto r = t.Send(req);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(r->body, R"({"ok":true})");
  EXPECT_EQ(r->headers.Find("x-ms-request-id"), "rid-1");
  EXPECT_EQ(r->headers.Find("retry-after"), "3");
  EXPECT_EQ(user_agent_, "foghorn/" + http::FoghornVersion());
}

TEST_F(CurlHttpTransportTest, AResponseBodyBeyondTheLimitIsRefusedNotBuffered) {
  http::CurlHttpTransport t;
  http::HttpRequest req;
  req.url = Url("/big");
  req.max_response_bytes = 1 << 20;
  auto r = t.Send(req);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("larger than 1048576 bytes"));
  req.max_response_bytes = 16 << 20;
  auto whole = t.Send(req);
  ASSERT_THAT(whole, IsOk());
  EXPECT_EQ(whole->body.size(), 8u << 20);
}

TEST_F(CurlHttpTransportTest, ReusesOneConnectionAcrossSequentialCalls) {
  http::CurlHttpTransport t;
  http::HttpRequest req;
  req.url = Url("/echo");
  for (int i = 0; i < 4; ++i) ASSERT_THAT(t.Send(req), IsOk());
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(remote_ports_.size(), 1u);
}

TEST_F(CurlHttpTransportTest, SendsBodiesAndAnExplicitZeroLengthForEmptyPosts) {
  http::CurlHttpTransport t;
  for (const char* method : {"POST", "PUT", "PATCH", "DELETE"}) {
    http::HttpRequest req;
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
  http::CurlHttpTransport t;
  http::HttpRequest req;
  req.url = Url("/hang");
  req.timeout = absl::Milliseconds(100);
  auto r = t.Send(req);
  release_.Notify();
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_TRUE(http::RequestMaybeSent(r.status()));
}

TEST_F(CurlHttpTransportTest, ConnectionRefusedIsUnavailableAndNotSent) {
  http::CurlHttpTransport t;
  RefusingPort refusing;
  http::HttpRequest req;
  req.url = refusing.Url("/x");
  req.timeout = absl::Seconds(10);
  auto r = t.Send(req);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_FALSE(http::RequestMaybeSent(r.status()));
}

TEST_F(CurlHttpTransportTest, ErrorMessagesLeaveOutTheQueryString) {
  http::CurlHttpTransport t;
  RefusingPort refusing;
  http::HttpRequest req;
  req.url = refusing.Url("/x?sig=secret-ish");
  req.timeout = absl::Seconds(10);
  auto r = t.Send(req);
  EXPECT_THAT(std::string(r.status().message()), ::testing::Not(::testing::HasSubstr("sig=")));
}

// libcurl re-sends a request on a fresh connection when a reused keep-alive connection dies before
// any byte of the answer: harmless for a GET, a second failover for a POST. A non-idempotent
// request therefore never rides a reused connection, so there is nothing for libcurl to "retry".
TEST(CurlHttpTransportResendTest, NeverResendsAPostWhoseConnectionDiedBeforeAnswering) {
  DroppingServer server;
  http::CurlHttpTransport t;
  http::HttpRequest warm;
  warm.url = server.Url("/warm");
  ASSERT_THAT(t.Send(warm), IsOk());  // leaves an idle keep-alive connection in the pool
  http::HttpRequest post;
  post.method = "POST";
  post.url = server.Url("/failover");
  post.timeout = absl::Seconds(10);
  auto r = t.Send(post);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(http::RequestMaybeSent(r.status()));
  EXPECT_EQ(server.Requests("POST"), 1);
}

TEST(HttpRequestTest, IdempotencyFollowsTheMethodUnlessSetExplicitly) {
  http::HttpRequest r;
  for (const char* m : {"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}) {
    r.method = m;
    EXPECT_TRUE(http::IsIdempotent(r)) << m;
  }
  for (const char* m : {"POST", "PATCH"}) {
    r.method = m;
    EXPECT_FALSE(http::IsIdempotent(r)) << m;
  }
  r.idempotent = true;  // e.g. a token request: asking twice does no harm
  EXPECT_TRUE(http::IsIdempotent(r));
  r.method = "GET";
  r.idempotent = false;
  EXPECT_FALSE(http::IsIdempotent(r));
}

TEST(CurlHttpTransportResendTest, AnIdempotentRequestStillReusesTheKeepAliveConnection) {
  DroppingServer server;
  http::CurlHttpTransport t;
  http::HttpRequest get;
  get.url = server.Url("/a");
  for (int i = 0; i < 3; ++i) ASSERT_THAT(t.Send(get), IsOk());
  EXPECT_EQ(server.Requests("GET"), 3);
  EXPECT_EQ(server.Connections(), 1);
}

}  // namespace
}  // namespace foghorn::arm
