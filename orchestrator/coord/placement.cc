#include "orchestrator/coord/placement.h"

#include <algorithm>
#include <utility>

namespace foghorn::coord {
namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr uint64_t kFnvPrime = 1099511628211ULL;

uint64_t Fnv(uint64_t h, absl::string_view s) {
  // Length first, so ("ab", "c") and ("a", "bc") differ.
  uint64_t n = s.size();
  for (int i = 0; i < 8; ++i) {
    h = (h ^ ((n >> (8 * i)) & 0xff)) * kFnvPrime;
  }
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * kFnvPrime;
  return h;
}

uint64_t Mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

uint64_t PlacementScore(absl::string_view agent, absl::string_view group) {
  return Mix(Fnv(Fnv(kFnvOffset, agent), group));
}

std::vector<std::string> RankAgents(absl::Span<const std::string> live_agents,
                                    absl::string_view group) {
  std::vector<std::pair<uint64_t, std::string>> scored;
  for (const std::string& a : live_agents) {
    if (a.empty()) continue;
    scored.emplace_back(PlacementScore(a, group), a);
  }
  std::sort(scored.begin(), scored.end(), [](const auto& x, const auto& y) {
    if (x.first != y.first) return x.first > y.first;
    return x.second < y.second;
  });
  std::vector<std::string> out;
  for (auto& [score, name] : scored) {
    if (!out.empty() && out.back() == name) continue;
    if (std::find(out.begin(), out.end(), name) != out.end()) continue;
    out.push_back(std::move(name));
  }
  return out;
}

std::string PreferredAgent(absl::Span<const std::string> live_agents, absl::string_view group) {
  std::vector<std::string> ranked = RankAgents(live_agents, group);
  return ranked.empty() ? std::string() : ranked.front();
}

}  // namespace foghorn::coord
