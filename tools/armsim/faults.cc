#include "tools/armsim/faults.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tools/armsim/signals.h"

namespace foghorn::armsim {

using nlohmann::json;

absl::StatusOr<FaultSpec> ParseFault(const json& j) {
  if (!j.is_object()) return absl::InvalidArgumentError("fault: must be a JSON object");
  FaultSpec f;
  auto kind = j.find("kind");
  if (kind == j.end()) return absl::InvalidArgumentError("fault.kind: missing");
  std::string k = kind->is_number_integer() ? std::to_string(kind->get<int>())
                  : kind->is_string()       ? kind->get<std::string>()
                                            : "";
  static const std::map<std::string, FaultSpec::Kind> kinds = {
      {"429", FaultSpec::Kind::kHttp429},
      {"500", FaultSpec::Kind::kHttp500},
      {"503", FaultSpec::Kind::kHttp503},
      {"504", FaultSpec::Kind::kHttp504},
      {"latency", FaultSpec::Kind::kLatency},
      {"reset_before", FaultSpec::Kind::kResetBefore},
      {"reset_after", FaultSpec::Kind::kResetAfter},
      {"fail_operation", FaultSpec::Kind::kFailOperation},
      {"arm_error", FaultSpec::Kind::kArmError}};
  auto it = kinds.find(k);
  if (it == kinds.end()) return absl::InvalidArgumentError("fault.kind: unknown '" + k + "'");
  f.kind = it->second;
  auto str = [&](const char* key, std::string* out) -> absl::Status {
    auto v = j.find(key);
    if (v == j.end()) return absl::OkStatus();
    if (!v->is_string()) return absl::InvalidArgumentError(absl::StrCat("fault.", key, ": string"));
    *out = v->get<std::string>();
    return absl::OkStatus();
  };
  for (auto [key, out] :
       std::vector<std::pair<const char*, std::string*>>{{"route", &f.route},
                                                         {"method", &f.method},
                                                         {"server", &f.server},
                                                         {"failoverGroup", &f.failover_group},
                                                         {"errorCode", &f.error_code},
                                                         {"errorMessage", &f.error_message}}) {
    if (auto s = str(key, out); !s.ok()) return s;
  }
  if (auto v = j.find("count"); v != j.end()) {
    if (!v->is_number_integer()) return absl::InvalidArgumentError("fault.count: integer");
    f.count = v->get<int>();
  }
  if (auto v = j.find("probability"); v != j.end()) {
    if (!v->is_number() || v->get<double>() < 0 || v->get<double>() > 1) {
      return absl::InvalidArgumentError("fault.probability: number in [0,1]");
    }
    f.probability = v->get<double>();
  }
  if (auto v = j.find("seed"); v != j.end()) {
    if (!v->is_number_unsigned()) return absl::InvalidArgumentError("fault.seed: unsigned");
    f.seed = v->get<uint64_t>();
  }
  if (auto v = j.find("latencyMs"); v != j.end()) {
    if (!v->is_number() || v->get<double>() < 0 || v->get<double>() > 600000) {
      return absl::InvalidArgumentError("fault.latencyMs: number in [0,600000]");
    }
    f.latency = absl::Milliseconds(v->get<double>());
  }
  if (auto v = j.find("retryAfterSeconds"); v != j.end()) {
    if (!v->is_number_integer()) return absl::InvalidArgumentError("fault.retryAfterSeconds");
    f.retry_after_seconds = v->get<int>();
  }
  if (f.kind == FaultSpec::Kind::kArmError) {
    if (!j.contains("errorCode") || f.error_code.empty()) {
      return absl::InvalidArgumentError("fault.errorCode: required for arm_error");
    }
    std::optional<ArmErrorInfo> known = FailoverGroupError(f.error_code);
    f.http_status = known ? known->status : 400;
    if (!j.contains("errorMessage")) {
      f.error_message = known ? known->message : "The request was refused by the emulator.";
    }
    if (auto v = j.find("status"); v != j.end()) {
      if (!v->is_number_integer() || v->get<int>() < 400 || v->get<int>() > 599) {
        return absl::InvalidArgumentError("fault.status: integer in [400,599]");
      }
      f.http_status = v->get<int>();
    }
  }
  return f;
}

absl::StatusOr<RegionOutage> ParseOutage(const json& j) {
  RegionOutage o;
  if (j.is_null()) return o;
  if (!j.is_object()) return absl::InvalidArgumentError("outage: must be a JSON object");
  if (auto v = j.find("controlPlane"); v != j.end()) {
    if (!v->is_boolean()) return absl::InvalidArgumentError("outage.controlPlane: boolean");
    o.control_plane = v->get<bool>();
  }
  if (auto v = j.find("dataPlane"); v != j.end()) {
    if (!v->is_boolean()) return absl::InvalidArgumentError("outage.dataPlane: boolean");
    o.data_plane = v->get<bool>();
  }
  if (auto v = j.find("mode"); v != j.end()) {
    std::string m = v->is_string() ? v->get<std::string>() : "";
    if (m == "refuse") {
      o.mode = OutageMode::kRefuse;
    } else if (m == "blackhole") {
      o.mode = OutageMode::kBlackhole;
    } else {
      return absl::InvalidArgumentError("outage.mode: refuse or blackhole");
    }
  }
  return o;
}

std::string FaultKindName(FaultSpec::Kind kind) {
  switch (kind) {
    case FaultSpec::Kind::kHttp429:
      return "429";
    case FaultSpec::Kind::kHttp500:
      return "500";
    case FaultSpec::Kind::kHttp503:
      return "503";
    case FaultSpec::Kind::kHttp504:
      return "504";
    case FaultSpec::Kind::kLatency:
      return "latency";
    case FaultSpec::Kind::kResetBefore:
      return "reset_before";
    case FaultSpec::Kind::kResetAfter:
      return "reset_after";
    case FaultSpec::Kind::kFailOperation:
      return "fail_operation";
    case FaultSpec::Kind::kArmError:
      return "arm_error";
  }
  return "unknown";
}

int FaultInjector::Add(FaultSpec spec) {
  absl::MutexLock lock(&mu_);
  int id = next_id_++;
  std::mt19937_64 rng(spec.seed);
  faults_.push_back({id, std::move(spec), rng, 0});
  return id;
}

void FaultInjector::Remove(int id) {
  absl::MutexLock lock(&mu_);
  faults_.erase(std::remove_if(faults_.begin(), faults_.end(),
                               [id](const ActiveFault& f) { return f.id == id; }),
                faults_.end());
}

void FaultInjector::Clear() {
  absl::MutexLock lock(&mu_);
  faults_.clear();
}

std::optional<FaultSpec> FaultInjector::Match(const std::string& route, const std::string& method,
                                              const std::string& server,
                                              const std::string& failover_group) {
  absl::MutexLock lock(&mu_);
  bool is_arm = route != "token" && route != "imds";
  for (auto& f : faults_) {
    const FaultSpec& s = f.spec;
    if (s.count >= 0 && f.hits >= s.count) continue;
    if (s.route != "any" && s.route != route && !(s.route == "arm" && is_arm)) continue;
    if (!s.method.empty() && !absl::EqualsIgnoreCase(s.method, method)) continue;
    if (!s.server.empty() && s.server != server) continue;
    if (!s.failover_group.empty() && s.failover_group != failover_group) continue;
    if (s.probability < 1.0) {
      std::uniform_real_distribution<double> dist(0.0, 1.0);
      if (dist(f.rng) >= s.probability) continue;
    }
    ++f.hits;
    return s;
  }
  return std::nullopt;
}

json FaultInjector::ToJson() const {
  absl::MutexLock lock(&mu_);
  json out = json::array();
  for (const auto& f : faults_) {
    out.push_back({{"id", f.id},
                   {"kind", FaultKindName(f.spec.kind)},
                   {"route", f.spec.route},
                   {"count", f.spec.count},
                   {"hits", f.hits}});
  }
  return out;
}

}  // namespace foghorn::armsim
