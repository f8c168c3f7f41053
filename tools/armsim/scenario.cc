#include "tools/armsim/scenario.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "tools/armsim/vantages.h"

namespace foghorn::armsim {

using nlohmann::json;

namespace {

// The step without its scheduling fields: the body the admin API would get.
json StepBody(const json& step) {
  json body = step;
  body.erase("atMs");
  body.erase("action");
  return body;
}

}  // namespace

absl::StatusOr<std::vector<ScenarioStep>> ParseScenario(const std::string& json_text) {
  json root = json::parse(json_text, nullptr, false);
  if (root.is_discarded()) return absl::InvalidArgumentError("scenario: not valid JSON");
  auto steps = root.is_object() ? root.find("steps") : root.end();
  if (!root.is_object() || steps == root.end() || !steps->is_array()) {
    return absl::InvalidArgumentError("scenario: needs a \"steps\" array");
  }
  std::vector<ScenarioStep> out;
  for (size_t i = 0; i < steps->size(); ++i) {
    const json& s = (*steps)[i];
    std::string where = absl::StrCat("scenario: steps[", i, "]");
    if (!s.is_object()) return absl::InvalidArgumentError(where + ": must be an object");
    ScenarioStep step;
    auto at = s.find("atMs");
    if (at != s.end() && (!at->is_number() || at->get<double>() < 0)) {
      return absl::InvalidArgumentError(where + ".atMs: non-negative number");
    }
    step.at = at == s.end() ? absl::ZeroDuration() : absl::Milliseconds(at->get<double>());
    if (!s.contains("action") || !s["action"].is_string()) {
      return absl::InvalidArgumentError(where + ".action: missing");
    }
    step.action = s["action"].get<std::string>();
    step.args = s;
    if (step.action == "regionDown" || step.action == "regionUp") {
      if (!s.contains("region") || !s["region"].is_string()) {
        return absl::InvalidArgumentError(where + ".region: missing");
      }
      if (step.action == "regionDown") {
        json o = s;
        o.erase("atMs");
        o.erase("action");
        o.erase("region");
        auto outage = ParseOutage(o);
        if (!outage.ok())
          return absl::InvalidArgumentError(where + ": " + outage.status().ToString());
      }
    } else if (step.action == "partition") {
      auto p = ParsePartition(StepBody(s));
      if (!p.ok()) return absl::InvalidArgumentError(where + ": " + p.status().ToString());
    } else if (step.action == "heal") {
      for (const char* key : {"vantage", "region"}) {
        if (s.contains(key) && !s[key].is_string()) {
          return absl::InvalidArgumentError(absl::StrCat(where, ".", key, ": string"));
        }
      }
    } else if (step.action == "fault") {
      if (!s.contains("fault")) return absl::InvalidArgumentError(where + ".fault: missing");
      auto f = ParseFault(s["fault"]);
      if (!f.ok()) return absl::InvalidArgumentError(where + ": " + f.status().ToString());
    } else if (step.action == "writes" || step.action == "lag" ||
               step.action == "microsoftFailover") {
      if (!s.contains("failoverGroup") || !s["failoverGroup"].is_string()) {
        return absl::InvalidArgumentError(where + ".failoverGroup: missing");
      }
      if (step.action == "microsoftFailover" && s.contains("kind") && s["kind"] != "forced" &&
          s["kind"] != "planned") {
        return absl::InvalidArgumentError(where + ".kind: forced or planned");
      }
    } else if (step.action != "clearFaults" && step.action != "config") {
      return absl::InvalidArgumentError(where + ".action: unknown '" + step.action + "'");
    }
    out.push_back(std::move(step));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const ScenarioStep& a, const ScenarioStep& b) { return a.at < b.at; });
  return out;
}

absl::Status ApplyScenarioStep(ArmSimServer& server, const ScenarioStep& step) {
  const json& s = step.args;
  if (step.action == "regionDown") {
    json o = s;
    o.erase("atMs");
    o.erase("action");
    o.erase("region");
    auto outage = ParseOutage(o);
    if (!outage.ok()) return outage.status();
    server.SetRegionDown(s["region"].get<std::string>(), *outage);
  } else if (step.action == "regionUp") {
    server.SetRegionUp(s["region"].get<std::string>());
  } else if (step.action == "partition") {
    auto p = ParsePartition(StepBody(s));
    if (!p.ok()) return p.status();
    return server.Partition(p->vantage, p->region, p->mode);
  } else if (step.action == "heal") {
    return server.Heal(s.value("vantage", ""), s.value("region", ""));
  } else if (step.action == "fault") {
    auto f = ParseFault(s["fault"]);
    if (!f.ok()) return f.status();
    server.AddFault(*f);
  } else if (step.action == "clearFaults") {
    server.ClearFaults();
  } else if (step.action == "writes") {
    int64_t count = s.value("count", int64_t{1});
    return server.RecordWrites(s["failoverGroup"].get<std::string>(), count);
  } else if (step.action == "lag") {
    return server.SetReplicationLag(s["failoverGroup"].get<std::string>(),
                                    absl::Seconds(s.value("seconds", 0.0)));
  } else if (step.action == "microsoftFailover") {
    auto id =
        server.MicrosoftFailover(s["failoverGroup"].get<std::string>(),
                                 s.value("kind", "forced") == "planned", s.value("caller", ""));
    if (!id.ok()) return id.status();
  } else if (step.action == "config") {
    if (s.contains("operationDurationMs") && s["operationDurationMs"].is_number()) {
      server.SetOperationDuration(absl::Milliseconds(s["operationDurationMs"].get<double>()));
    }
    if (s.contains("retryAfterSeconds")) {
      server.SetRetryAfter(s["retryAfterSeconds"].is_number()
                               ? std::optional(absl::Seconds(s["retryAfterSeconds"].get<double>()))
                               : std::nullopt);
    }
  }
  return absl::OkStatus();
}

}  // namespace foghorn::armsim
