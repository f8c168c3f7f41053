#include "tests/testing/temp_dir.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

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
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    fprintf(stderr, "cannot read %s\n", path.c_str());
    std::abort();
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string SourceDir() {
#ifdef FOGHORN_SOURCE_DIR
  return FOGHORN_SOURCE_DIR;
#else
  return ".";
#endif
}

std::string SharedDir() {
  if (const char* env = std::getenv("FOGHORN_SHARED_DIR")) return env;
  return SourceDir() + "/../shared";
}

}  // namespace foghorn::testing
