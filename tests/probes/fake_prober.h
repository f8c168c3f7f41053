// A scripted Prober for scheduler and tracker tests: each Start() is recorded; results are
// answered immediately from a per-probe script, or held until the test answers them.
#ifndef FOGHORN_TESTS_PROBES_FAKE_PROBER_H_
#define FOGHORN_TESTS_PROBES_FAKE_PROBER_H_

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "probes/prober.h"

namespace foghorn::probes::testing {

class FakeProber final : public Prober {
 public:
  struct Call {
    std::string name;
    absl::Duration timeout;
  };

  // Results answered in order for probes named `name`; when the script runs out, `sticky`
  // (if set by SetDefault) answers, else the attempt is held.
  void Script(const std::string& name, std::vector<ProbeOutcome> outcomes) {
    for (ProbeOutcome o : outcomes) scripts_[name].push_back(o);
  }
  void SetDefault(const std::string& name, ProbeOutcome outcome) { defaults_[name] = outcome; }
  void ClearDefault(const std::string& name) { defaults_.erase(name); }

  void Start(const v1::ProbeSpec& spec, const ProbeContext& /*context*/, absl::Duration timeout,
             Callback done) override {
    calls_.push_back(Call{spec.name(), timeout});
    auto& script = scripts_[spec.name()];
    if (!script.empty()) {
      ProbeOutcome o = script.front();
      script.pop_front();
      Answer(std::move(done), o);
      return;
    }
    auto it = defaults_.find(spec.name());
    if (it != defaults_.end()) {
      Answer(std::move(done), it->second);
      return;
    }
    held_.push_back(std::move(done));
  }

  // Answers every held attempt with `outcome`.
  void ReleaseHeld(ProbeOutcome outcome) {
    auto held = std::move(held_);
    held_.clear();
    for (auto& cb : held) Answer(std::move(cb), outcome);
  }

  const std::vector<Call>& calls() const { return calls_; }
  size_t held() const { return held_.size(); }

 private:
  static void Answer(Callback done, ProbeOutcome o) {
    ProbeResult r;
    r.outcome = o;
    r.detail = ProbeOutcomeName(o);
    std::move(done)(std::move(r));
  }

  std::map<std::string, std::deque<ProbeOutcome>> scripts_;
  std::map<std::string, ProbeOutcome> defaults_;
  std::vector<Callback> held_;
  std::vector<Call> calls_;
};

// Collects events.
class RecordingSink final : public ProbeEventSink, public VerdictSink {
 public:
  void OnProbeEvent(const ProbeEvent& e) override { probe_events.push_back(e); }
  void OnVerdictChange(const VerdictEvent& e) override { verdicts.push_back(e); }
  std::vector<ProbeEvent> probe_events;
  std::vector<VerdictEvent> verdicts;
};

// Forwards probe events to several sinks (e.g. the tracker and a recorder).
class FanOutSink final : public ProbeEventSink {
 public:
  explicit FanOutSink(std::vector<ProbeEventSink*> sinks) : sinks_(std::move(sinks)) {}
  void OnProbeEvent(const ProbeEvent& e) override {
    for (ProbeEventSink* s : sinks_) s->OnProbeEvent(e);
  }

 private:
  std::vector<ProbeEventSink*> sinks_;
};

}  // namespace foghorn::probes::testing

#endif  // FOGHORN_TESTS_PROBES_FAKE_PROBER_H_
