// What the journal costs its callers (SQLite on the state dir's disk, synchronous=FULL):
//  * BM_DecisionBurst: a mass outage's burst of 1,000 decisions, as the control loop sees it
//    (time on the calling thread, the agent lock held), batched (background writer) against
//    one commit per record on the caller's thread (how decisions were written before);
//  * BM_OperationWrites: durable operation and step writes from 1..64 threads at once (each
//    thread: create an operation, begin and end a step), with their commits shared (group commit).
// Run on a real disk (the default temp dir must not be tmpfs, or fsync costs nothing):
//   build/bench/journal_bench --benchmark_counters_tabular=true
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/journal/sqlite_journal.h"

namespace foghorn::journal {
namespace {

std::string FreshPath(const std::string& name) {
  static std::atomic<int> n{0};
  std::string dir = absl::StrCat(std::filesystem::temp_directory_path().string(),
                                 "/foghorn-journal-bench-", ::getpid());
  std::filesystem::create_directories(dir);
  std::string path = absl::StrCat(dir, "/", name, "-", n++, ".db");
  std::filesystem::remove(path);
  return path;
}

constexpr int kBurst = 1000;

void BM_DecisionBurst(benchmark::State& state) {
  const bool batched = state.range(0) == 1;
  common::RealClock clock;
  SqliteJournal::Options options;
  if (!batched) {
    // The queue holds one record and the next write commits it: one transaction per record on
    // the caller's thread.
    options.background_writer = false;
    options.max_queued = 1;
    options.max_batch = 1;
  }
  auto journal = SqliteJournal::Open(FreshPath("decisions"), clock, options);
  if (!journal.ok()) {
    state.SkipWithError(journal.status().ToString().c_str());
    return;
  }
  DecisionRecord d;
  d.state = "CONFIRMED_DOWN";
  d.action = "planned";
  d.reasons_json = R"([{"code":"PLANNED_GRACE_ELAPSED"}])";
  d.summary = "PLANNED: sql-east down for 0s; planned grace of 0s elapsed";
  for (auto _ : state) {
    for (int i = 0; i < kBurst; ++i) {
      d.group_id = absl::StrCat("sub/rg/fog-", i);
      benchmark::DoNotOptimize((*journal)->RecordDecision(d));
    }
    state.PauseTiming();
    benchmark::DoNotOptimize((*journal)->Flush());
    state.ResumeTiming();
  }
  SqliteJournal::WriterStats stats = (*journal)->writer_stats();
  state.counters["per_decision_us"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kBurst,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["records_per_commit"] =
      stats.committed > 0 ? static_cast<double>(stats.committed) / stats.batches : 0;
  state.SetLabel(batched ? "batched" : "one commit per record");
}
BENCHMARK(BM_DecisionBurst)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->UseRealTime();

std::unique_ptr<SqliteJournal> shared_journal;
common::RealClock shared_clock;

void BM_OperationWrites(benchmark::State& state) {
  if (state.thread_index() == 0) {
    shared_journal = std::move(SqliteJournal::Open(FreshPath("ops"), shared_clock)).value();
  }
  // Every thread starts after thread 0 set the journal up (the framework syncs threads here).
  for (auto _ : state) {
    OperationRecord op;
    op.group_id = absl::StrCat("sub/rg/fog-", state.thread_index());
    op.kind = "planned";
    auto created = shared_journal->CreateOperation(op);
    auto step = shared_journal->BeginStep(created->operation.id, "arm:failover", "");
    benchmark::DoNotOptimize(shared_journal->EndStep(step->id, StepState::kDone, ""));
  }
  state.counters["writes_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * 3, benchmark::Counter::kIsRate);
  if (state.thread_index() == 0) {
    SqliteJournal::WriterStats stats = shared_journal->writer_stats();
    state.counters["writes_per_commit"] =
        stats.sync_transactions > 0
            ? static_cast<double>(stats.sync_writes) / stats.sync_transactions
            : 0;
    shared_journal.reset();
  }
}
BENCHMARK(BM_OperationWrites)->ThreadRange(1, 64)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace foghorn::journal

BENCHMARK_MAIN();
