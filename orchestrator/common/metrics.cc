#include "orchestrator/common/metrics.h"

#include <cmath>
#include <cstdlib>

#include "fmt/format.h"

namespace foghorn::common {
namespace {

std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatLabels(const Labels& labels, const std::string& extra_key = "",
                         const std::string& extra_value = "") {
  if (labels.empty() && extra_key.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += fmt::format("{}=\"{}\"", k, EscapeLabelValue(v));
  }
  if (!extra_key.empty()) {
    if (!first) out += ',';
    out += fmt::format("{}=\"{}\"", extra_key, extra_value);
  }
  out += '}';
  return out;
}

std::string FormatNumber(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  return fmt::format("{}", v);
}

}  // namespace

const std::vector<double>& MetricsRegistry::DefaultBuckets() {
  static const std::vector<double>* const kBuckets =
      new std::vector<double>{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                              0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60};
  return *kBuckets;
}

void MetricsRegistry::Describe(const std::string& name, const std::string& help) {
  absl::MutexLock lock(&mu_);
  help_[name] = help;
}

MetricsRegistry::Family& MetricsRegistry::FamilyLocked(const std::string& name, Kind kind) {
  auto [it, inserted] = families_.try_emplace(name, Family{kind, {}, {}});
  if (!inserted && it->second.kind != kind) {
    fmt::print(stderr, "metrics: {} used as two kinds\n", name);
    std::abort();
  }
  return it->second;
}

void MetricsRegistry::IncrementCounter(const std::string& name, const Labels& labels,
                                       double delta) {
  absl::MutexLock lock(&mu_);
  FamilyLocked(name, Kind::kCounter).values[labels] += delta;
}

void MetricsRegistry::SetGauge(const std::string& name, const Labels& labels, double value) {
  absl::MutexLock lock(&mu_);
  FamilyLocked(name, Kind::kGauge).values[labels] = value;
}

void MetricsRegistry::Observe(const std::string& name, const Labels& labels, double value,
                              const std::vector<double>& buckets) {
  absl::MutexLock lock(&mu_);
  Family& f = FamilyLocked(name, Kind::kHistogram);
  auto [it, inserted] = f.histograms.try_emplace(labels);
  Histogram& h = it->second;
  if (inserted) {
    h.bounds = buckets;
    h.counts.assign(buckets.size() + 1, 0);
  }
  size_t i = 0;
  while (i < h.bounds.size() && value > h.bounds[i]) ++i;
  ++h.counts[i];
  h.sum += value;
  ++h.count;
}

double MetricsRegistry::Value(const std::string& name, const Labels& labels) const {
  absl::MutexLock lock(&mu_);
  auto f = families_.find(name);
  if (f == families_.end()) return 0;
  auto v = f->second.values.find(labels);
  return v == f->second.values.end() ? 0 : v->second;
}

std::uint64_t MetricsRegistry::Count(const std::string& name, const Labels& labels) const {
  absl::MutexLock lock(&mu_);
  auto f = families_.find(name);
  if (f == families_.end()) return 0;
  auto h = f->second.histograms.find(labels);
  return h == f->second.histograms.end() ? 0 : h->second.count;
}

std::string MetricsRegistry::Render() const {
  absl::MutexLock lock(&mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    auto help = help_.find(name);
    if (help != help_.end()) out += fmt::format("# HELP {} {}\n", name, help->second);
    const char* type = f.kind == Kind::kCounter ? "counter"
                       : f.kind == Kind::kGauge ? "gauge"
                                                : "histogram";
    out += fmt::format("# TYPE {} {}\n", name, type);
    for (const auto& [labels, v] : f.values) {
      out += fmt::format("{}{} {}\n", name, FormatLabels(labels), FormatNumber(v));
    }
    for (const auto& [labels, h] : f.histograms) {
      std::uint64_t cumulative = 0;
      for (size_t i = 0; i <= h.bounds.size(); ++i) {
        cumulative += h.counts[i];
        std::string le = i < h.bounds.size() ? FormatNumber(h.bounds[i]) : "+Inf";
        out += fmt::format("{}_bucket{} {}\n", name, FormatLabels(labels, "le", le), cumulative);
      }
      out += fmt::format("{}_sum{} {}\n", name, FormatLabels(labels), FormatNumber(h.sum));
      out += fmt::format("{}_count{} {}\n", name, FormatLabels(labels), h.count);
    }
  }
  return out;
}

}  // namespace foghorn::common
