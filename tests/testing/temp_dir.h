// A temporary directory per test, removed with everything in it when the object goes away.
#ifndef FOGHORN_TESTS_TESTING_TEMP_DIR_H_
#define FOGHORN_TESTS_TESTING_TEMP_DIR_H_

#include <string>

namespace foghorn::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  // Writes `content` to File(name) and returns that path.
  std::string Write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// Reads a whole file; aborts the test binary if it cannot.
std::string ReadFileOrDie(const std::string& path);

// The repository's source dir, and the test fixtures in it (tests/fixtures: public Azure data,
// provenance in tests/fixtures/README.md).
std::string SourceDir();
std::string FixturesDir();

}  // namespace foghorn::testing

#endif  // FOGHORN_TESTS_TESTING_TEMP_DIR_H_
