// foghorn-armsim: the ARM failover-group / Entra ID / SQL endpoint emulator as a standalone
// server. Prints one JSON line with its base URL, port, CA path and data-plane endpoints (shared
// and per vantage) on stdout (and into --port-file), then serves until SIGINT/SIGTERM. See
// docs/armsim.md.
#include <signal.h>
#include <stdlib.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "nlohmann/json.hpp"
#include "orchestrator/common/files.h"
#include "tools/armsim/armsim_server.h"
#include "tools/armsim/scenario.h"

namespace {

using foghorn::armsim::ArmSimOptions;
using foghorn::armsim::ArmSimServer;

constexpr char kUsage[] = R"(usage: foghorn-armsim [flags]
  --topology=FILE            topology JSON (default: none)
  --host=ADDR --port=N       listen address (default 127.0.0.1:0 = any free port)
  --plain-http               serve HTTP instead of HTTPS
  --cert-dir=DIR             where ca.pem/cert.pem/key.pem are generated (default: a new temp dir)
  --cert=FILE --key=FILE [--ca=FILE]   use this certificate instead
  --operation-duration-ms=N  how long each long-running operation takes (default 2000)
  --retry-after-s=N          send Retry-After on 202s and running polls (default: none)
  --page-size=N              failover groups per list page (default 50)
  --strict-auth              ARM calls need a bearer token issued by the token endpoints
  --throttling               enforce ARM subscription token buckets (429 + Retry-After)
  --request-log=FILE         append a JSON line per request
  --port-file=FILE           write the startup JSON line to FILE too
  --scenario=FILE            timed admin actions (see docs/armsim.md)
  --region-down=REGION[:control|data|both][:refuse|blackhole]   (repeatable)
  --fault=JSON               inject a fault at start (repeatable)
  --threads=N                HTTP worker threads (default 16)
  --no-data-plane            do not open the TCP listeners
  --metrics-delay-s=N        Azure Monitor ingestion delay of a 1-minute bucket (default 90)
  --health-down-delay-s=N    Resource Health turns Unavailable N s into an outage (default 180)
  --health-up-delay-s=N      and Available N s after it ends (default 120)
  --seeding-s=N              databases added to a group through ARM seed for N s (default 0)
  --vantage=NAME             a vantage with its own data-plane endpoints (repeatable; adds to
                             the topology's "vantages")
)";

int Fail(const std::string& msg) {
  std::cerr << "foghorn-armsim: " << msg << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  ArmSimOptions options;
  std::string port_file, scenario_path;
  std::vector<std::string> region_downs, faults;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string key = arg, value;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      key = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    auto as_int = [&](int* out) { return absl::SimpleAtoi(value, out); };
    int n = 0;
    if (key == "--help" || key == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (key == "--topology") {
      options.topology_path = value;
    } else if (key == "--host") {
      options.host = value;
    } else if (key == "--port" && as_int(&n)) {
      options.port = n;
    } else if (key == "--plain-http") {
      options.tls = false;
    } else if (key == "--cert-dir") {
      options.cert_dir = value;
    } else if (key == "--cert") {
      options.cert_file = value;
    } else if (key == "--key") {
      options.key_file = value;
    } else if (key == "--ca") {
      options.ca_file = value;
    } else if (key == "--operation-duration-ms" && as_int(&n) && n >= 0) {
      options.operation_duration = absl::Milliseconds(n);
    } else if (key == "--retry-after-s" && as_int(&n) && n >= 0) {
      options.retry_after = absl::Seconds(n);
    } else if (key == "--page-size" && as_int(&n) && n > 0) {
      options.page_size = n;
    } else if (key == "--strict-auth") {
      options.strict_auth = true;
    } else if (key == "--throttling") {
      options.throttling = true;
    } else if (key == "--request-log") {
      options.request_log_path = value;
    } else if (key == "--port-file") {
      port_file = value;
    } else if (key == "--scenario") {
      scenario_path = value;
    } else if (key == "--region-down") {
      region_downs.push_back(value);
    } else if (key == "--fault") {
      faults.push_back(value);
    } else if (key == "--threads" && as_int(&n) && n >= 2) {
      options.threads = n;
    } else if (key == "--no-data-plane") {
      options.data_plane = false;
    } else if (key == "--metrics-delay-s" && as_int(&n) && n >= 0) {
      options.signals.metrics_ingestion_delay = absl::Seconds(n);
    } else if (key == "--health-down-delay-s" && as_int(&n) && n >= 0) {
      options.signals.health_down_delay = absl::Seconds(n);
    } else if (key == "--health-up-delay-s" && as_int(&n) && n >= 0) {
      options.signals.health_up_delay = absl::Seconds(n);
    } else if (key == "--seeding-s" && as_int(&n) && n >= 0) {
      options.signals.seeding_duration = absl::Seconds(n);
    } else if (key == "--vantage" && !value.empty()) {
      options.vantages.push_back(value);
    } else {
      std::cerr << kUsage;
      return Fail("bad flag '" + arg + "'");
    }
  }
  if (options.tls && options.cert_file.empty() && options.cert_dir.empty()) {
    char tmpl[] = "/tmp/foghorn-armsim-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return Fail("cannot create a certificate directory");
    options.cert_dir = tmpl;
  }
  std::vector<foghorn::armsim::ScenarioStep> steps;
  if (!scenario_path.empty()) {
    absl::StatusOr<std::string> text = foghorn::common::ReadFile(scenario_path);
    if (!text.ok()) return Fail("scenario: " + std::string(text.status().message()));
    auto parsed = foghorn::armsim::ParseScenario(*text);
    if (!parsed.ok()) return Fail(parsed.status().ToString());
    steps = *std::move(parsed);
  }
  std::vector<foghorn::armsim::FaultSpec> fault_specs;
  for (const auto& f : faults) {
    auto j = nlohmann::json::parse(f, nullptr, false);
    auto spec = foghorn::armsim::ParseFault(j.is_discarded() ? nlohmann::json() : j);
    if (!spec.ok()) return Fail(spec.status().ToString());
    fault_specs.push_back(*spec);
  }

  // Block the stop signals before any thread starts, so only sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto server = ArmSimServer::Start(options);
  if (!server.ok()) return Fail(server.status().ToString());
  ArmSimServer& sim = **server;
  for (const auto& f : fault_specs) sim.AddFault(f);
  for (const auto& rd : region_downs) {
    std::vector<std::string> parts = absl::StrSplit(rd, ':');
    foghorn::armsim::RegionOutage outage;
    for (size_t i = 1; i < parts.size(); ++i) {
      if (parts[i] == "control") {
        outage.data_plane = false;
      } else if (parts[i] == "data") {
        outage.control_plane = false;
      } else if (parts[i] == "blackhole") {
        outage.mode = foghorn::armsim::OutageMode::kBlackhole;
      } else if (parts[i] != "both" && parts[i] != "refuse") {
        return Fail("bad --region-down '" + rd + "'");
      }
    }
    sim.SetRegionDown(parts[0], outage);
  }

  nlohmann::json hello = {{"baseUrl", sim.base_url()},
                          {"port", sim.port()},
                          {"caCert", sim.ca_cert_path()},
                          {"endpoints", nlohmann::json::object()}};
  const nlohmann::json state = sim.State();
  for (const auto& [name, server_json] : state["servers"].items()) {
    hello["endpoints"]["server:" + name] = sim.ServerEndpoint(name);
  }
  for (const auto& [name, fg] : state["failoverGroups"].items()) {
    hello["endpoints"]["fg:" + name + ":rw"] = sim.ReadWriteListener(name);
    hello["endpoints"]["fg:" + name + ":ro"] = sim.ReadOnlyListener(name);
  }
  for (const std::string& vantage : sim.Vantages()) {
    nlohmann::json endpoints = nlohmann::json::object();
    for (const auto& [name, address] : sim.Endpoints(vantage)) endpoints[name] = address;
    hello["vantages"][vantage] = {{"endpoints", endpoints},
                                  {"sqlBaseUrl", sim.VantageBaseUrl(vantage)}};
  }
  std::string line = hello.dump();
  if (!port_file.empty()) {
    absl::Status written = foghorn::common::WriteFileAtomically(port_file, line + "\n", 0644);
    if (!written.ok()) return Fail(written.ToString());
  }
  std::cout << line << std::endl;

  absl::Notification stopping;
  std::thread scenario([&] {
    absl::Time start = absl::Now();
    for (const auto& step : steps) {
      if (stopping.WaitForNotificationWithDeadline(start + step.at)) return;
      if (auto s = foghorn::armsim::ApplyScenarioStep(sim, step); !s.ok()) {
        std::cerr << "foghorn-armsim: scenario step " << step.action << ": " << s.ToString()
                  << "\n";
      }
    }
  });
  int sig = 0;
  sigwait(&stop_signals, &sig);
  stopping.Notify();
  scenario.join();
  sim.Shutdown();
  return 0;
}
