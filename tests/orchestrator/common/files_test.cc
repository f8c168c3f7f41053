#include "orchestrator/common/files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace foghorn::common {
namespace {

using ::foghorn::testing::IsOk;
using ::foghorn::testing::IsOkAndHolds;
using ::foghorn::testing::StatusIs;
using ::foghorn::testing::TempDir;
using ::testing::HasSubstr;

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(ReadFileTest, ReadsTheWholeFileBytesAsWritten) {
  TempDir dir;
  const std::string content("line one\r\n\0binary\xff", 19);
  const std::string path = dir.Write("f.bin", content);
  EXPECT_THAT(ReadFile(path), IsOkAndHolds(content));
  EXPECT_THAT(ReadFile(dir.Write("empty", "")), IsOkAndHolds(""));
}

TEST(ReadFileTest, SaysWhyItCannotRead) {
  TempDir dir;
  EXPECT_THAT(ReadFile(dir.File("missing")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(dir.File("missing"))));
  EXPECT_THAT(ReadFile(dir.File("missing/below")), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ReadFile(dir.path()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("is a directory")));
  if (geteuid() != 0) {  // root reads anything
    const std::string secret = dir.Write("secret", "x");
    ASSERT_EQ(chmod(secret.c_str(), 0), 0);
    EXPECT_THAT(ReadFile(secret), StatusIs(absl::StatusCode::kPermissionDenied));
  }
}

TEST(ReadFileTest, RefusesFilesOverTheLimit) {
  TempDir dir;
  const std::string path = dir.Write("f", "0123456789");
  EXPECT_THAT(ReadFile(path, 10), IsOkAndHolds("0123456789"));
  EXPECT_THAT(ReadFile(path, 9),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("larger than 9 bytes")));
  EXPECT_THAT(ReadFile(path, 0), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(WriteFileAtomicallyTest, ReplacesTheFileWithTheModeAndLeavesNoTemporary) {
  TempDir dir;
  const std::string path = dir.Write("report.json", "old");
  ASSERT_THAT(WriteFileAtomically(path, "new content"), IsOk());
  EXPECT_THAT(ReadFile(path), IsOkAndHolds("new content"));
  EXPECT_EQ(ModeOf(path), 0600u);
  ASSERT_THAT(WriteFileAtomically(dir.File("public.html"), "<p>", 0644), IsOk());
  EXPECT_EQ(ModeOf(dir.File("public.html")), 0644u);
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    ++entries;
    EXPECT_THAT(e.path().filename().string(), ::testing::Not(HasSubstr(".tmp"))) << e.path();
  }
  EXPECT_EQ(entries, 2);
}

TEST(WriteFileAtomicallyTest, FailsWhenTheDirectoryIsMissing) {
  TempDir dir;
  EXPECT_THAT(WriteFileAtomically(dir.File("nope/f"), "x"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(dir.File("nope/f"))));
}

}  // namespace
}  // namespace foghorn::common
