// Control-API throughput and Watch fan-out, end to end over loopback gRPC against a real agent
// with 1,000 groups (AgentHarness: fake probes and ARM, real SQLite journal).
//   1. Unary reads: C concurrent clients (each its own channel) call GetGroup on random groups
//      for S seconds; reports reads/s and p50/p99 latency. Then the same for GetOperation and
//      ListGroups(page_size=50).
//   2. Fan-out: 100 Watch subscribers; a failover runs while E events stamped with the real time
//      are published (one every 2 ms); reports the delivery lag (receipt - publish) p50/p99/max
//      over all subscribers, and any MISSED events.
//   api_bench [clients=16] [seconds=5] [subscribers=100] [events=500]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "foghorn/v1/control.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "orchestrator/api/convert.h"
#include "tests/orchestrator/api/agent_harness.h"

namespace {

using foghorn::testing::AgentHarness;

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

using Call = std::function<grpc::Status(foghorn::v1::ControlService::Stub&, std::mt19937&)>;

void Reads(const std::string& name, const std::string& address, int clients, int seconds,
           const Call& call) {
  std::vector<std::vector<double>> lat(clients);
  std::atomic<int> errors{0};
  const absl::Time end = absl::Now() + absl::Seconds(seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      grpc::ChannelArguments args;
      args.SetInt("grpc.channel_id", c);  // a separate connection per client
      auto stub = foghorn::v1::ControlService::NewStub(
          grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
      std::mt19937 rng(c);
      while (absl::Now() < end) {
        absl::Time t0 = absl::Now();
        grpc::Status s = call(*stub, rng);
        lat[c].push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
        if (!s.ok()) ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  std::printf("%-28s clients=%d  %8.0f reads/s  p50 %.2f ms  p99 %.2f ms  errors %d\n",
              name.c_str(), clients, static_cast<double>(all.size()) / seconds,
              Percentile(all, 0.50), Percentile(all, 0.99), errors.load());
}

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return ctx;
}

}  // namespace

int main(int argc, char** argv) {
  const int clients = argc > 1 ? std::atoi(argv[1]) : 16;
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 5;
  const int subscribers = argc > 3 ? std::atoi(argv[3]) : 100;
  const int events = argc > 4 ? std::atoi(argv[4]) : 500;
  std::string dir = std::filesystem::temp_directory_path() / "foghorn-api-bench-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) return 1;
  foghorn::testing::HarnessOptions options;
  options.groups = 1000;
  auto made = AgentHarness::Create(dir, options);
  if (!made.ok()) {
    std::fprintf(stderr, "%s\n", made.status().ToString().c_str());
    return 1;
  }
  AgentHarness& h = **made;
  const std::string address = h.address();
  std::printf("agent with %d groups on %s, %u hardware threads\n", options.groups, address.c_str(),
              std::thread::hardware_concurrency());

  // One operation to read back.
  auto stub = foghorn::v1::ControlService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  foghorn::v1::RequestFailoverRequest fr;
  fr.set_group_id(AgentHarness::GroupId(999));
  fr.set_kind(foghorn::v1::FAILOVER_KIND_PLANNED);
  fr.set_reason("bench");
  fr.set_request_id("bench-read");
  foghorn::v1::RequestFailoverResponse started;
  if (!stub->RequestFailover(Ctx().get(), fr, &started).ok()) return 1;
  h.RunDue();
  const std::string op_id = started.operation().id();

  Reads("GetGroup", address, clients, seconds, [](auto& s, std::mt19937& rng) {
    foghorn::v1::GetGroupRequest req;
    req.set_group_id(AgentHarness::GroupId(static_cast<int>(rng() % 1000)));
    foghorn::v1::GetGroupResponse resp;
    return s.GetGroup(Ctx().get(), req, &resp);
  });
  Reads("GetOperation", address, clients, seconds, [&](auto& s, std::mt19937&) {
    foghorn::v1::GetOperationRequest req;
    req.set_operation_id(op_id);
    foghorn::v1::GetOperationResponse resp;
    return s.GetOperation(Ctx().get(), req, &resp);
  });
  Reads("ListGroups(page_size=50)", address, clients, seconds, [](auto& s, std::mt19937&) {
    foghorn::v1::ListGroupsRequest req;
    req.set_page_size(50);
    foghorn::v1::ListGroupsResponse resp;
    return s.ListGroups(Ctx().get(), req, &resp);
  });

  // Fan-out.
  absl::Mutex mu;
  std::vector<double> lags;
  std::atomic<uint64_t> missed{0};
  std::atomic<int> done{0};
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::thread> readers;
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto watch_stub = foghorn::v1::ControlService::NewStub(channel);
  for (int i = 0; i < subscribers; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    readers.emplace_back([&, ctx = contexts.back().get()] {
      auto reader = watch_stub->Watch(ctx, foghorn::v1::WatchRequest());
      foghorn::v1::WatchResponse e;
      std::vector<double> mine;
      while (reader->Read(&e)) {
        if (e.kind() == foghorn::v1::EVENT_KIND_MISSED) missed += e.missed();
        if (e.summary() == "bench") {
          mine.push_back(
              absl::ToDoubleMilliseconds(absl::Now() - foghorn::api::FromTimestamp(e.at())));
        }
        if (e.summary() == "bench-end") break;
      }
      ctx->TryCancel();
      while (reader->Read(&e)) {
      }
      (void)reader->Finish();
      absl::MutexLock lock(&mu);
      lags.insert(lags.end(), mine.begin(), mine.end());
      ++done;
    });
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (h.server()->watch_subscribers() < static_cast<size_t>(subscribers) &&
         absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  fr.set_group_id(AgentHarness::GroupId(0));
  fr.set_request_id("bench-fanout");
  if (!stub->RequestFailover(Ctx().get(), fr, &started).ok()) return 1;
  foghorn::agent::AgentEvent e;
  e.detail = foghorn::agent::OperationStepChanged{};
  e.group_id = AgentHarness::GroupId(0);
  e.summary = "bench";
  for (int i = 0; i < events; ++i) {
    e.at = absl::Now();
    h.server()->Publish(e);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  e.summary = "bench-end";
  h.server()->Publish(e);
  for (auto& t : readers) t.join();
  std::printf(
      "Watch fan-out                subscribers=%d events=%d  deliveries %zu  lag p50 %.2f ms"
      "  p99 %.2f ms  max %.2f ms  missed %llu\n",
      subscribers, events, lags.size(), Percentile(lags, 0.5), Percentile(lags, 0.99),
      lags.empty() ? 0.0 : *std::max_element(lags.begin(), lags.end()),
      static_cast<unsigned long long>(missed.load()));
  h.Shutdown();
  std::filesystem::remove_all(dir);
  return 0;
}
