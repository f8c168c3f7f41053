// Integration tests of the real prober against loopback servers: a TCP listener, a refusing
// port, a SYN black hole, an accept-and-hang listener, HTTP and HTTPS (custom CA) servers, DNS
// for localhost names and real commands.
#include "probes/system_prober.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/testing/temp_dir.h"
#include "tools/armsim/certificate.h"

namespace foghorn::probes {
namespace {

using ::testing::HasSubstr;

// A loopback socket bound to port 0; listening with `backlog` unless backlog < 0 (then it only
// holds the port, so connects are refused).
class LoopbackSocket {
 public:
  explicit LoopbackSocket(int backlog) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (backlog >= 0) {
      EXPECT_EQ(listen(fd_, backlog), 0);
    }
  }
  ~LoopbackSocket() { close(fd_); }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  int port() const { return port_; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class SystemProberTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SystemProber::Options options;
    options.arm_reader = &arm_;
    auto p = SystemProber::Create(options);
    ASSERT_TRUE(p.ok()) << p.status();
    prober_ = std::move(*p);
  }

  // Runs one attempt and waits (bounded) for its result.
  ProbeResult Run(const v1::ProbeSpec& spec, absl::Duration timeout = absl::Seconds(5),
                  ProbeContext context = {}) {
    absl::Notification done;
    ProbeResult result;
    prober_->Start(spec, context, timeout, [&](ProbeResult r) {
      result = std::move(r);
      done.Notify();
    });
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(timeout + absl::Seconds(10)));
    return result;
  }

  static v1::ProbeSpec Tcp(const std::string& address) {
    v1::ProbeSpec spec;
    spec.set_name("tcp");
    spec.mutable_tcp()->set_address(address);
    return spec;
  }
  static v1::ProbeSpec Http(const std::string& url) {
    v1::ProbeSpec spec;
    spec.set_name("http");
    spec.mutable_http()->set_url(url);
    return spec;
  }
  static v1::ProbeSpec Exec(std::vector<std::string> argv) {
    v1::ProbeSpec spec;
    spec.set_name("exec");
    for (auto& a : argv) spec.mutable_exec()->add_argv(a);
    return spec;
  }
  static v1::ProbeSpec Dns(const std::string& name) {
    v1::ProbeSpec spec;
    spec.set_name("dns");
    spec.mutable_dns()->set_name(name);
    return spec;
  }

  FakeFailoverGroupStateReader arm_;
  std::unique_ptr<SystemProber> prober_;
};

// An HTTP server on a loopback port, serving a few fixed routes.
class TestHttpServer {
 public:
  explicit TestHttpServer(std::unique_ptr<httplib::Server> server = nullptr)
      : server_(server ? std::move(server) : std::make_unique<httplib::Server>()) {
    server_->Get("/ok", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"role":"Primary","replication":{"lag_seconds":2.5}})",
                      "application/json");
    });
    server_->Get("/fail", [](const httplib::Request&, httplib::Response& res) {
      res.status = 503;
      res.set_content("down", "text/plain");
    });
    server_->Get("/header", [](const httplib::Request& req, httplib::Response& res) {
      res.status = req.get_header_value("X-Probe") == "yes" ? 200 : 400;
    });
    port_ = server_->bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    // bind_to_any_port() already listens: connects queue until the accept loop runs.
  }
  ~TestHttpServer() {
    server_->stop();
    thread_.join();
  }
  int port() const { return port_; }

 private:
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread thread_;
};

TEST_F(SystemProberTest, TcpConnectToAListenerSucceeds) {
  LoopbackSocket listener(16);
  EXPECT_EQ(Run(Tcp(listener.address())).outcome, ProbeOutcome::kSuccess);
}

TEST_F(SystemProberTest, TcpUsesTheContextAddressWhenTheSpecHasNone) {
  LoopbackSocket listener(16);
  ProbeContext context;
  context.default_address = listener.address();
  EXPECT_EQ(Run(Tcp(""), absl::Seconds(5), context).outcome, ProbeOutcome::kSuccess);
}

TEST_F(SystemProberTest, TcpConnectToARefusingPortFails) {
  LoopbackSocket bound_only(-1);
  ProbeResult r = Run(Tcp(bound_only.address()));
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_THAT(r.detail, HasSubstr("refused"));
}

TEST_F(SystemProberTest, TcpConnectToASynBlackHoleTimesOut) {
  LoopbackSocket listener(0);
  // Fill the accept queue (never accepted) so further SYNs are dropped.
  int filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(listener.port()));
  ASSERT_EQ(connect(filler, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ProbeResult r = Run(Tcp(listener.address()), absl::Milliseconds(300));
  close(filler);
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_THAT(r.detail, HasSubstr("timeout"));
}

TEST_F(SystemProberTest, TcpWithExpectFailsOnAnAcceptAndHangListener) {
  LoopbackSocket listener(16);  // The kernel completes the handshake; nobody ever answers.
  v1::ProbeSpec spec = Tcp(listener.address());
  spec.mutable_tcp()->set_send("PING\n");
  spec.mutable_tcp()->set_expect("PONG");
  ProbeResult r = Run(spec, absl::Milliseconds(300));
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_THAT(r.detail, HasSubstr("no expected reply"));
}

TEST_F(SystemProberTest, TcpWithExpectPassesWhenTheReplyArrives) {
  LoopbackSocket listener(16);
  std::thread server([&] {
    int c = accept(listener.fd(), nullptr, nullptr);
    char buf[16];
    ASSERT_GT(read(c, buf, sizeof(buf)), 0);
    ASSERT_EQ(write(c, "PONG\n", 5), 5);
    close(c);
  });
  v1::ProbeSpec spec = Tcp(listener.address());
  spec.mutable_tcp()->set_send("PING\n");
  spec.mutable_tcp()->set_expect("PONG");
  EXPECT_EQ(Run(spec).outcome, ProbeOutcome::kSuccess);
  server.join();
}

TEST_F(SystemProberTest, TcpToAnUnresolvableNameIsNotASuccess) {
  ProbeResult r = Run(Tcp("no-such-host.invalid:1433"));
  EXPECT_NE(r.outcome, ProbeOutcome::kSuccess);
  EXPECT_THAT(r.detail, HasSubstr("resolve"));
}

TEST_F(SystemProberTest, TcpResolvesLocalhostNames) {
  LoopbackSocket listener(16);
  EXPECT_EQ(Run(Tcp(absl::StrCat("localhost:", listener.port()))).outcome, ProbeOutcome::kSuccess);
}

TEST_F(SystemProberTest, HttpJudgesStatusBodyAndJsonAndReadsTheLagMetric) {
  TestHttpServer server;
  v1::ProbeSpec spec = Http(absl::StrCat("http://127.0.0.1:", server.port(), "/ok"));
  spec.mutable_http()->set_json_field("role");
  spec.mutable_http()->set_json_field_value("Primary");
  spec.mutable_http()->set_metric_json_field("replication.lag_seconds");
  ProbeResult r = Run(spec);
  EXPECT_EQ(r.outcome, ProbeOutcome::kSuccess) << r.detail;
  EXPECT_EQ(r.metric, 2.5);
  spec.mutable_http()->set_json_field_value("Secondary");
  EXPECT_EQ(Run(spec).outcome, ProbeOutcome::kFailure);
}

TEST_F(SystemProberTest, HttpFailsOnAnUnexpectedStatus) {
  TestHttpServer server;
  ProbeResult r = Run(Http(absl::StrCat("http://127.0.0.1:", server.port(), "/fail")));
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_THAT(r.detail, HasSubstr("503"));
}

TEST_F(SystemProberTest, HttpSendsConfiguredHeaders) {
  TestHttpServer server;
  v1::ProbeSpec spec = Http(absl::StrCat("http://127.0.0.1:", server.port(), "/header"));
  EXPECT_EQ(Run(spec).outcome, ProbeOutcome::kFailure);
  (*spec.mutable_http()->mutable_headers())["X-Probe"] = "yes";
  EXPECT_EQ(Run(spec).outcome, ProbeOutcome::kSuccess);
}

TEST_F(SystemProberTest, HttpToAnAcceptAndHangServerTimesOut) {
  LoopbackSocket listener(16);
  ProbeResult r =
      Run(Http(absl::StrCat("http://", listener.address(), "/")), absl::Milliseconds(300));
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_THAT(r.detail, HasSubstr("imeout"));
}

TEST_F(SystemProberTest, HttpToARefusingPortFails) {
  LoopbackSocket bound_only(-1);
  EXPECT_EQ(Run(Http(absl::StrCat("http://", bound_only.address(), "/"))).outcome,
            ProbeOutcome::kFailure);
}

TEST_F(SystemProberTest, HttpsTrustsACustomCaAndRejectsWithoutIt) {
  testing::TempDir dir;
  auto certs = armsim::GenerateCertificates(dir.path());
  ASSERT_TRUE(certs.ok()) << certs.status();
  TestHttpServer server(
      std::make_unique<httplib::SSLServer>(certs->cert.c_str(), certs->key.c_str()));
  v1::ProbeSpec spec = Http(absl::StrCat("https://127.0.0.1:", server.port(), "/ok"));
  spec.mutable_http()->set_ca_file(certs->ca_cert);
  EXPECT_EQ(Run(spec).outcome, ProbeOutcome::kSuccess);
  spec.mutable_http()->clear_ca_file();
  EXPECT_EQ(Run(spec).outcome, ProbeOutcome::kFailure);
  spec.mutable_http()->set_ca_file(dir.path() + "/missing.pem");
  EXPECT_EQ(Run(spec).outcome, ProbeOutcome::kUnknown);
}

TEST_F(SystemProberTest, DnsResolvesLocalhostToTheExpectedAddress) {
  v1::ProbeSpec spec = Dns("localhost");
  spec.mutable_dns()->add_expect_any("127.0.0.1");
  EXPECT_EQ(Run(spec).outcome, ProbeOutcome::kSuccess);
  spec.mutable_dns()->clear_expect_any();
  spec.mutable_dns()->add_expect_any("10.9.9.9");
  EXPECT_EQ(Run(spec).outcome, ProbeOutcome::kFailure);
}

TEST_F(SystemProberTest, DnsForAMissingNameIsNeverASuccess) {
  ProbeResult r = Run(Dns("no-such-host.invalid"));
  EXPECT_NE(r.outcome, ProbeOutcome::kSuccess);
}

TEST_F(SystemProberTest, ExecExitCodeDecides) {
  EXPECT_EQ(Run(Exec({"/bin/true"})).outcome, ProbeOutcome::kSuccess);
  EXPECT_EQ(Run(Exec({"/bin/false"})).outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(Run(Exec({"true"})).outcome, ProbeOutcome::kSuccess);  // Found on PATH.
}

TEST_F(SystemProberTest, ExecReadsAMetricFromStdout) {
  v1::ProbeSpec spec = Exec({"sh", "-c", "echo 2.5"});
  spec.mutable_exec()->set_metric_from_stdout(true);
  ProbeResult r = Run(spec);
  EXPECT_EQ(r.outcome, ProbeOutcome::kSuccess);
  EXPECT_EQ(r.metric, 2.5);
}

TEST_F(SystemProberTest, ExecPassesTheConfiguredEnvironment) {
  v1::ProbeSpec spec = Exec({"sh", "-c", "test \"$FOGHORN_PROBE_TEST\" = bar"});
  EXPECT_EQ(Run(spec).outcome, ProbeOutcome::kFailure);
  (*spec.mutable_exec()->mutable_env())["FOGHORN_PROBE_TEST"] = "bar";
  EXPECT_EQ(Run(spec).outcome, ProbeOutcome::kSuccess);
}

TEST_F(SystemProberTest, AMissingCommandIsUnknown) {
  ProbeResult r = Run(Exec({"/nonexistent/foghorn-probe"}));
  EXPECT_EQ(r.outcome, ProbeOutcome::kUnknown);
  EXPECT_THAT(r.detail, HasSubstr("spawn"));
  EXPECT_EQ(Run(Exec({"foghorn-no-such-command"})).outcome, ProbeOutcome::kUnknown);
}

TEST_F(SystemProberTest, ACommandOverItsTimeoutIsKilledAndFails) {
  ProbeResult r = Run(Exec({"sh", "-c", "sleep 30"}), absl::Milliseconds(200));
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_THAT(r.detail, HasSubstr("timeout"));
}

TEST_F(SystemProberTest, ArmStateReadsThroughTheReader) {
  FailoverGroupRef ref{"sub", "rg", "sql-east", "fog"};
  arm_.Set(ref, FailoverGroupState{v1::ROLE_PRIMARY, "CATCH_UP"});
  v1::ProbeSpec spec;
  spec.set_name("arm");
  spec.mutable_arm_state()->set_expect_role(v1::ROLE_PRIMARY);
  ProbeContext context;
  context.failover_group = ref;
  EXPECT_EQ(Run(spec, absl::Seconds(5), context).outcome, ProbeOutcome::kSuccess);
  arm_.Set(ref, absl::UnavailableError("arm unreachable"));
  EXPECT_EQ(Run(spec, absl::Seconds(5), context).outcome, ProbeOutcome::kUnknown);
}

}  // namespace
}  // namespace foghorn::probes
