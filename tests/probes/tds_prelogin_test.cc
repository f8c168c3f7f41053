// tcp probes with tds_prelogin: the PRELOGIN request we send, the response parser (well-formed,
// partial and malformed answers), and the real prober against a tiny loopback TDS responder that
// answers well, answers garbage, or never answers.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "probes/result_checks.h"
#include "probes/system_prober.h"

namespace foghorn::probes {
namespace {

using ::testing::HasSubstr;

// A PRELOGIN response as SQL Server sends it: VERSION 16.0.1000.0, ENCRYPTION off, INSTOPT, and
// the terminator.
std::string GoodResponse() {
  std::string payload;
  // Table: 3 tokens * 5 bytes + terminator = 16 bytes; data follows.
  payload += std::string("\x00\x00\x10\x00\x06", 5);  // VERSION at 16, 6 bytes
  payload += std::string("\x01\x00\x16\x00\x01", 5);  // ENCRYPTION at 22, 1 byte
  payload += std::string("\x02\x00\x17\x00\x01", 5);  // INSTOPT at 23, 1 byte
  payload += '\xff';
  payload += std::string("\x10\x00\x03\xe8\x00\x00", 6);  // 16.0.1000
  payload += std::string("\x02", 1);
  payload += std::string("\x00", 1);
  const size_t length = 8 + payload.size();
  std::string header = std::string("\x04\x01", 2);
  header += static_cast<char>(length >> 8);
  header += static_cast<char>(length & 0xff);
  header += std::string("\x00\x00\x01\x00", 4);
  return header + payload;
}

TEST(TdsPreloginParserTest, RequestIsAWellFormedPreloginPacket) {
  const std::string req = TdsPreloginRequest();
  ASSERT_GE(req.size(), 8u);
  EXPECT_EQ(static_cast<unsigned char>(req[0]), 0x12);
  EXPECT_EQ(static_cast<unsigned char>(req[1]), 0x01);
  EXPECT_EQ((static_cast<unsigned char>(req[2]) << 8) | static_cast<unsigned char>(req[3]),
            static_cast<int>(req.size()));
  // The same option-table rules hold for it (checked by re-typing it as a response).
  std::string as_reply = req;
  as_reply[0] = 0x04;
  EXPECT_EQ(ParseTdsPreloginReply(as_reply).state, TdsParse::kValid);
}

TEST(TdsPreloginParserTest, AcceptsAWholeResponseAndWaitsForAPartialOne) {
  const std::string good = GoodResponse();
  TdsPreloginReply r = ParseTdsPreloginReply(good);
  EXPECT_EQ(r.state, TdsParse::kValid) << r.error;
  EXPECT_EQ(r.version, "16.0.1000");
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_EQ(ParseTdsPreloginReply(good.substr(0, n)).state, TdsParse::kNeedMore) << n;
  }
}

TEST(TdsPreloginParserTest, MalformedAnswersAreRejected) {
  const std::string good = GoodResponse();
  auto with = [&](size_t i, char c) {
    std::string s = good;
    s[i] = c;
    return s;
  };
  struct Case {
    std::string data;
    const char* why;
  };
  const Case cases[] = {
      {"HTTP/1.1 400 Bad Request\r\n\r\n", "packet type"},
      {with(0, '\x12'), "packet type"},
      {with(3, '\x04'), "packet length"},       // shorter than a header
      {with(2, '\x20'), "packet length"},       // 8 KiB
      {with(1, '\x00'), "split over packets"},  // not end of message
      {good + "x", "bytes after"},              // trailing garbage
      {std::string("\x04\x01\x00\x0d\x00\x00\x01\x00\x01\x00\x05\x00\x00", 13),
       "terminator"},                                // one empty option, no 0xFF
      {with(8 + 15, '\x05'), "outside the packet"},  // 0xFF replaced: the table runs on
      {with(8 + 2, '\x7f'), "outside the packet"},   // VERSION offset past the end
      {with(8 + 4, '\x02'), "shorter than 6"},       // VERSION too short
      {with(8, '\x03'), "no VERSION"},               // first token renamed THREADID
  };
  for (const Case& c : cases) {
    TdsPreloginReply r = ParseTdsPreloginReply(c.data);
    EXPECT_EQ(r.state, TdsParse::kMalformed) << c.why;
    EXPECT_THAT(r.error, HasSubstr(c.why));
  }
}

// A one-connection TDS responder on 127.0.0.1:0. `answer` is written after the first bytes
// arrive (empty: never answer). Bounded: every wait has a 10 s poll timeout.
class TdsResponder {
 public:
  explicit TdsResponder(std::string answer) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    EXPECT_EQ(listen(fd_, 4), 0);
    thread_ = std::thread([this, answer = std::move(answer)] { Serve(answer); });
  }
  ~TdsResponder() {
    thread_.join();
    close(fd_);
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  std::string received() const { return received_; }

 private:
  static bool Readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, 10000) == 1;
  }
  void Serve(const std::string& answer) {
    if (!Readable(fd_)) return;
    int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;
    char buf[4096];
    if (Readable(c)) {
      ssize_t n = recv(c, buf, sizeof(buf), 0);
      if (n > 0) received_.assign(buf, static_cast<size_t>(n));
    }
    if (!answer.empty()) send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
    // Hold the connection until the prober closes it.
    while (Readable(c) && recv(c, buf, sizeof(buf), 0) > 0) {
    }
    close(c);
  }
  int fd_ = -1;
  int port_ = 0;
  std::string received_;
  std::thread thread_;
};

class TdsProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = SystemProber::Create({});
    ASSERT_TRUE(p.ok()) << p.status();
    prober_ = std::move(*p);
  }
  ProbeResult Run(const std::string& address, absl::Duration timeout) {
    v1::ProbeSpec spec;
    spec.set_name("tds");
    spec.mutable_tcp()->set_address(address);
    spec.mutable_tcp()->set_tds_prelogin(true);
    absl::Notification done;
    ProbeResult result;
    prober_->Start(spec, {}, timeout, [&](ProbeResult r) {
      result = std::move(r);
      done.Notify();
    });
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(timeout + absl::Seconds(10)));
    return result;
  }
  std::unique_ptr<SystemProber> prober_;
};

TEST_F(TdsProbeTest, PassesOnAWellFormedPreloginResponse) {
  TdsResponder server(GoodResponse());
  ProbeResult r = Run(server.address(), absl::Seconds(5));
  EXPECT_EQ(r.outcome, ProbeOutcome::kSuccess) << r.detail;
  EXPECT_THAT(r.detail, HasSubstr("16.0.1000"));
  prober_->Shutdown();  // closes the socket, so the responder's thread ends
}

TEST_F(TdsProbeTest, FailsOnAnAnswerThatIsNotTds) {
  TdsResponder server("SSH-2.0-OpenSSH_9.2\r\n");
  ProbeResult r = Run(server.address(), absl::Seconds(5));
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_THAT(r.detail, HasSubstr("malformed prelogin response"));
  EXPECT_EQ(static_cast<unsigned char>(server.received().at(0)), 0x12);
}

TEST_F(TdsProbeTest, FailsAtTheTimeoutWhenTheListenerNeverAnswers) {
  TdsResponder server("");
  ProbeResult r = Run(server.address(), absl::Milliseconds(300));
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_THAT(r.detail, HasSubstr("timeout"));
}

}  // namespace
}  // namespace foghorn::probes
