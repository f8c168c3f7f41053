#include "tools/armsim/vantages.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "tools/armsim/topology.h"

namespace foghorn::armsim {

using nlohmann::json;

absl::Status ValidateVantageName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 63 && std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("vantage '", name, "': use 1-63 characters of A-Z a-z 0-9 . _ -"));
}

absl::StatusOr<Partition> ParsePartition(const json& j) {
  if (!j.is_object()) return absl::InvalidArgumentError("partition: must be a JSON object");
  Partition p;
  for (auto [key, out] : {std::pair<const char*, std::string*>{"vantage", &p.vantage},
                          std::pair<const char*, std::string*>{"region", &p.region}}) {
    auto v = j.find(key);
    if (v == j.end())
      return absl::InvalidArgumentError(absl::StrCat("partition.", key, ": missing"));
    if (!v->is_string() || v->get<std::string>().empty()) {
      return absl::InvalidArgumentError(absl::StrCat("partition.", key, ": non-empty string"));
    }
    *out = v->get<std::string>();
  }
  p.region = RegionKey(p.region);
  if (auto v = j.find("mode"); v != j.end()) {
    std::string m = v->is_string() ? v->get<std::string>() : "";
    if (m == "refuse") {
      p.mode = OutageMode::kRefuse;
    } else if (m == "blackhole") {
      p.mode = OutageMode::kBlackhole;
    } else {
      return absl::InvalidArgumentError("partition.mode: refuse or blackhole");
    }
  }
  return p;
}

VantageMap::VantageMap(std::vector<std::string> names) : names_(std::move(names)) {}

bool VantageMap::Has(const std::string& vantage) const {
  return std::find(names_.begin(), names_.end(), vantage) != names_.end();
}

absl::Status VantageMap::Cut(const Partition& p) {
  if (!Has(p.vantage)) {
    return absl::NotFoundError(absl::StrCat("vantage '", p.vantage, "' not found"));
  }
  if (p.region.empty()) return absl::InvalidArgumentError("partition: region is empty");
  absl::MutexLock lock(&mu_);
  cuts_[{p.vantage, RegionKey(p.region)}] = p.mode;
  return absl::OkStatus();
}

absl::Status VantageMap::Heal(const std::string& vantage, const std::string& region) {
  if (!vantage.empty() && !Has(vantage)) {
    return absl::NotFoundError(absl::StrCat("vantage '", vantage, "' not found"));
  }
  std::string key = RegionKey(region);
  absl::MutexLock lock(&mu_);
  for (auto it = cuts_.begin(); it != cuts_.end();) {
    bool match =
        (vantage.empty() || it->first.first == vantage) && (key.empty() || it->first.second == key);
    it = match ? cuts_.erase(it) : std::next(it);
  }
  return absl::OkStatus();
}

std::optional<OutageMode> VantageMap::CutMode(const std::string& vantage,
                                              const std::string& region) const {
  if (vantage.empty()) return std::nullopt;
  absl::MutexLock lock(&mu_);
  auto it = cuts_.find({vantage, region});
  if (it == cuts_.end()) return std::nullopt;
  return it->second;
}

json VantageMap::PartitionsJson() const {
  absl::MutexLock lock(&mu_);
  json out = json::array();
  for (const auto& [key, mode] : cuts_) {
    out.push_back({{"vantage", key.first},
                   {"region", key.second},
                   {"mode", mode == OutageMode::kBlackhole ? "blackhole" : "refuse"}});
  }
  return out;
}

}  // namespace foghorn::armsim
