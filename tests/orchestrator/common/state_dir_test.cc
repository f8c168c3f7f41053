#include "orchestrator/common/state_dir.h"

#include <sys/stat.h>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace foghorn::common {
namespace {

using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0);
  return st.st_mode & 07777;
}

TEST(StateDirTest, CreatesAMissingDirectoryPrivate) {
  foghorn::testing::TempDir tmp;
  const std::string dir = tmp.File("a/state");
  ASSERT_THAT(PrepareStateDir(dir), IsOk());
  EXPECT_EQ(ModeOf(dir), 0700u);
  ASSERT_THAT(PrepareStateDir(dir), IsOk());  // idempotent
}

TEST(StateDirTest, RefusesADirectoryOthersCanWrite) {
  foghorn::testing::TempDir tmp;
  const std::string dir = tmp.File("state");
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(chmod(dir.c_str(), 0777), 0);
  absl::Status s = PrepareStateDir(dir);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_NE(s.message().find("0777"), std::string::npos) << s.message();
  ASSERT_EQ(chmod(dir.c_str(), 0770), 0);
  EXPECT_THAT(PrepareStateDir(dir), StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_EQ(chmod(dir.c_str(), 0750), 0);  // readable by the group is allowed
  EXPECT_THAT(PrepareStateDir(dir), IsOk());
}

TEST(StateDirTest, RefusesAFileInsteadOfADirectory) {
  foghorn::testing::TempDir tmp;
  EXPECT_THAT(PrepareStateDir(tmp.Write("file", "x")),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(StateDirTest, SecretFilesMustNotBeReadableByOthers) {
  foghorn::testing::TempDir tmp;
  const std::string token = tmp.Write("token", "t0k3n");
  ASSERT_EQ(chmod(token.c_str(), 0644), 0);
  EXPECT_THAT(CheckSecretFileMode(token), StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_THAT(PrivateFile(token), IsOk());
  EXPECT_EQ(ModeOf(token), 0600u);
  EXPECT_THAT(CheckSecretFileMode(token), IsOk());
  EXPECT_THAT(CheckSecretFileMode(tmp.File("missing")), IsOk());
}

}  // namespace
}  // namespace foghorn::common
