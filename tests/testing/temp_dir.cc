#include "tests/testing/temp_dir.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "orchestrator/common/files.h"

namespace foghorn::testing {

TempDir::TempDir() {
  std::string base = std::filesystem::temp_directory_path().string() + "/foghorn-test-XXXXXX";
  if (mkdtemp(base.data()) == nullptr) std::abort();
  path_ = base;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::Write(const std::string& name, const std::string& content) const {
  std::string p = File(name);
  std::filesystem::create_directories(std::filesystem::path(p).parent_path());
  std::ofstream out(p, std::ios::binary);
  out << content;
  return p;
}

std::string ReadFileOrDie(const std::string& path) {
  absl::StatusOr<std::string> text = common::ReadFile(path);
  if (!text.ok()) {
    fprintf(stderr, "%s\n", text.status().ToString().c_str());
    std::abort();
  }
  return *std::move(text);
}

std::string SourceDir() {
#ifdef FOGHORN_SOURCE_DIR
  return FOGHORN_SOURCE_DIR;
#else
  return ".";
#endif
}

std::string FixturesDir() { return SourceDir() + "/tests/fixtures"; }

}  // namespace foghorn::testing
