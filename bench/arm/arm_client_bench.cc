// foghorn's ARM client against foghorn-armsim (in-process, HTTPS, keep-alive), in one run with the
// official Python (azure-mgmt-sql) and JS (@azure/arm-sql) SDKs against the same emulator:
//   * GETs per second and client CPU per GET (the calling thread's CPU for foghorn, the SDK
//     process's own CPU for Python and JS), and the ratios;
//   * the overhead of a complete failover LRO beyond the emulator's operation time.
// Run: build/bench/arm_client_bench [gets=5000] [sdk_gets=1000]
// The SDKs are skipped (and said so) when not installed.
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"
#include "orchestrator/arm/arm_client.h"
#include "orchestrator/http/curl_http_transport.h"
#include "tools/armsim/armsim_server.h"

namespace foghorn::arm {
namespace {

constexpr char kSub[] = "00000000-1111-2222-3333-444444444444";

double ThreadCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec +
         u.ru_stime.tv_usec / 1e6;
}

struct Figures {
  std::string name;
  bool ok = false;
  std::string note;
  int n = 0;
  double wall_s = 0;
  double cpu_s = 0;
  double PerSecond() const { return n / wall_s; }
  double CpuUsPerGet() const { return cpu_s / n * 1e6; }
};

Figures RunScript(const std::string& name, const std::string& command) {
  Figures f;
  f.name = name;
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) {
    f.note = "could not start";
    return f;
  }
  std::array<char, 4096> buf{};
  while (fgets(buf.data(), buf.size(), p) != nullptr) out += buf.data();
  int rc = pclose(p);
  auto j = nlohmann::json::parse(out.substr(0, out.find_last_of('}') + 1), nullptr, false);
  if (rc != 0 || j.is_discarded() || !j.is_object()) {
    f.note = absl::StrCat("failed (exit ", rc, "): ", out.substr(0, 300));
    return f;
  }
  if (j.contains("skipped")) {
    f.note = absl::StrCat("skipped: ", j["skipped"].get<std::string>());
    return f;
  }
  f.ok = true;
  f.n = j["n"].get<int>();
  f.wall_s = j["wall_s"].get<double>();
  f.cpu_s = j["cpu_s"].get<double>();
  return f;
}

class NullSink final : public common::LogSink {
 public:
  void Write(common::LogLevel, std::string_view) override {}
};

int Main(int argc, char** argv) {
  const int gets = argc > 1 ? std::atoi(argv[1]) : 5000;
  const int sdk_gets = argc > 2 ? std::atoi(argv[2]) : 1000;
  char tmpl[] = "/tmp/arm-bench-XXXXXX";
  const std::string dir = mkdtemp(tmpl);

  armsim::ArmSimOptions so;
  so.topology_path = std::string(FOGHORN_SOURCE_DIR) + "/tools/armsim/examples/topology.json";
  so.cert_dir = dir;
  so.data_plane = false;
  so.request_log_memory = 1000;
  so.operation_duration = absl::Seconds(1);
  auto sim = armsim::ArmSimServer::Start(so);
  if (!sim.ok()) {
    std::fprintf(stderr, "armsim: %s\n", sim.status().ToString().c_str());
    return 1;
  }
  const std::string token = (*sim)->IssueToken();

  common::RealClock clock;
  common::RealSleeper sleeper;
  http::CurlHttpTransport::Options to;
  to.ca_file = (*sim)->ca_cert_path();
  http::CurlHttpTransport transport(to);
  StaticTokenCredential::Options sto;
  sto.token = token;
  StaticTokenCredential credential(clock, sto, nullptr);
  common::Logger logger(std::make_shared<NullSink>(), std::make_shared<common::Redactor>(), clock,
                        {common::LogLevel::kInfo, common::LogFormat::kJson});
  ArmClientOptions o;
  o.endpoint = (*sim)->base_url();
  o.throttle.enabled = false;  // measure the client, not ARM's 25 reads/s budget
  o.lro.default_interval = absl::Milliseconds(250);
  ArmClient client(transport, credential, clock, sleeper, logger, o);
  const FailoverGroupId id{kSub, "rg-foghorn", "sql-east", "fog-orders"};

  // --- foghorn GETs ---
  for (int i = 0; i < 200; ++i) {
    if (!client.Get(id).ok()) {
      std::fprintf(stderr, "warm-up GET failed\n");
      return 1;
    }
  }
  Figures fog;
  fog.name = "foghorn (C++, libcurl)";
  fog.n = gets;
  const double c0 = ThreadCpuSeconds();
  const absl::Time w0 = absl::Now();
  int errors = 0;
  for (int i = 0; i < gets; ++i) errors += client.Get(id).ok() ? 0 : 1;
  fog.wall_s = absl::ToDoubleSeconds(absl::Now() - w0);
  fog.cpu_s = ThreadCpuSeconds() - c0;
  fog.ok = errors == 0;
  if (!fog.ok) fog.note = absl::StrCat(errors, " errors");

  // --- the SDKs, one after the other, against the same emulator ---
  const std::string args = absl::StrCat(" '", (*sim)->base_url(), "' '", (*sim)->ca_cert_path(),
                                        "' '", token, "' ", sdk_gets);
  Figures py = RunScript("Python azure-mgmt-sql",
                         absl::StrCat("/usr/bin/python3 ", FOGHORN_SOURCE_DIR,
                                      "/bench/arm/python_sdk_get.py", args, " 2>&1"));
  Figures js =
      RunScript("JS @azure/arm-sql",
                absl::StrCat("node ", FOGHORN_SOURCE_DIR, "/bench/arm/js_sdk_get.mjs", args, " ",
                             FOGHORN_SOURCE_DIR, "/tools/node/node_modules 2>&1"));

  std::printf("ARM GET of one failover group, HTTPS keep-alive to foghorn-armsim on 127.0.0.1\n");
  std::printf("%-26s %8s %12s %16s\n", "client", "GETs", "GETs/s", "client CPU us/GET");
  for (const Figures* f : {&fog, &py, &js}) {
    if (f->ok) {
      std::printf("%-26s %8d %12.0f %16.1f\n", f->name.c_str(), f->n, f->PerSecond(),
                  f->CpuUsPerGet());
    } else {
      std::printf("%-26s %s\n", f->name.c_str(), f->note.c_str());
    }
  }
  for (const Figures* f : {&py, &js}) {
    if (f->ok && fog.ok) {
      std::printf("ratio %s / foghorn: CPU per GET %.1fx, GETs/s %.2fx\n", f->name.c_str(),
                  f->CpuUsPerGet() / fog.CpuUsPerGet(), f->PerSecond() / fog.PerSecond());
    }
  }

  // --- failover LRO overhead beyond the emulator's operation time ---
  const absl::Duration op = so.operation_duration;
  absl::Duration total;
  double lro_cpu = 0;
  const int rounds = 4;
  for (int i = 0; i < rounds; ++i) {
    FailoverRequest req;
    req.target = {kSub, "rg-foghorn", i % 2 == 0 ? "sql-west" : "sql-east", "fog-orders"};
    const double cc = ThreadCpuSeconds();
    const absl::Time t0 = absl::Now();
    auto r = client.Failover(req);
    total += absl::Now() - t0;
    lro_cpu += ThreadCpuSeconds() - cc;
    if (!r.ok() || r->outcome != FailoverOutcome::kPosted) {
      std::printf("failover %d failed: %s\n", i, r.status().ToString().c_str());
      return 1;
    }
  }
  const absl::Duration mean = total / rounds;
  std::printf(
      "failover LRO (GET, POST, polls every %s with no Retry-After, final GET): mean %s for an "
      "emulator operation of %s -> overhead %s (goal: < one poll interval, %s); client CPU %.0f "
      "us per failover\n",
      absl::FormatDuration(o.lro.default_interval).c_str(), absl::FormatDuration(mean).c_str(),
      absl::FormatDuration(op).c_str(), absl::FormatDuration(mean - op).c_str(),
      absl::FormatDuration(o.lro.default_interval).c_str(), lro_cpu / rounds * 1e6);

  (*sim)->Shutdown();
  std::string rm = "rm -rf " + dir;
  (void)!std::system(rm.c_str());
  return 0;
}

}  // namespace
}  // namespace foghorn::arm

int main(int argc, char** argv) { return foghorn::arm::Main(argc, argv); }
