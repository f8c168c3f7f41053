// GET throughput of foghorn-armsim over HTTPS with keep-alive on loopback: the emulator must not be
// the bottleneck of later benchmarks (target: >= 5,000 requests/s on 2 cores).
//   build/bench/armsim_get_bench --benchmark_min_time=3
#include <httplib.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "tools/armsim/armsim_server.h"

namespace foghorn::armsim {
namespace {

constexpr char kPath[] =
    "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-foghorn/providers/"
    "Microsoft.Sql/servers/sql-east/failoverGroups/fog-orders?api-version=2025-01-01";

struct Fixture {
  std::string dir;
  std::unique_ptr<ArmSimServer> sim;
  Fixture() {
    char tmpl[] = "/tmp/armsim-bench-XXXXXX";
    dir = mkdtemp(tmpl);
    ArmSimOptions o;
    o.topology_path = std::string(FOGHORN_SOURCE_DIR) + "/tools/armsim/examples/topology.json";
    o.cert_dir = dir;
    o.data_plane = false;
    o.request_log_memory = 1000;
    auto s = ArmSimServer::Start(o);
    if (!s.ok()) std::abort();
    sim = *std::move(s);
  }
  ~Fixture() {
    sim->Shutdown();
    std::string cmd = "rm -rf " + dir;
    (void)!std::system(cmd.c_str());
  }
};

Fixture& GetFixture() {
  static Fixture f;  // destroyed at exit: stops the server and removes the certificates
  return f;
}

// Each benchmark thread is one keep-alive HTTPS client issuing sequential GETs.
void BM_GetFailoverGroupHttpsKeepAlive(benchmark::State& state) {
  Fixture& f = GetFixture();
  httplib::Client client(f.sim->base_url());
  client.set_ca_cert_path(f.sim->ca_cert_path().c_str());
  client.enable_server_certificate_verification(true);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);
  int64_t errors = 0;
  for (auto _ : state) {
    auto r = client.Get(kPath);
    if (!r || r->status != 200) ++errors;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["errors"] = static_cast<double>(errors);
  state.counters["req_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_GetFailoverGroupHttpsKeepAlive)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

}  // namespace
}  // namespace foghorn::armsim

BENCHMARK_MAIN();
