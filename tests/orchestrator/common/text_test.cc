#include "orchestrator/common/text.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace foghorn::common {
namespace {

using ::testing::EndsWith;
using ::testing::StartsWith;

constexpr char kEllipsis[] = "\xE2\x80\xA6";  // "…"

// True when `s` is well-formed UTF-8 (no split or stray sequence).
bool IsUtf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80           ? 1
                      : (c >> 5) == 0x6  ? 2
                      : (c >> 4) == 0xE  ? 3
                      : (c >> 3) == 0x1E ? 4
                                         : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

TEST(TruncateUtf8Test, LeavesEmptyTextEmpty) {
  EXPECT_EQ(TruncateUtf8("", 0), "");
  EXPECT_EQ(TruncateUtf8("", 64), "");
}

TEST(TruncateUtf8Test, LeavesTextOfExactlyTheLimitUnchanged) {
  const std::string text(64, 'a');
  EXPECT_EQ(TruncateUtf8(text, 64), text);
}

TEST(TruncateUtf8Test, CutsOneByteOverTheLimitAndSaysHowMuch) {
  const std::string text(65, 'a');
  const std::string out = TruncateUtf8(text, 64);
  EXPECT_EQ(out.size(), 64u);
  const std::string marker = std::string(kEllipsis) + "[truncated 24 bytes]";
  EXPECT_EQ(out, std::string(64 - marker.size(), 'a') + marker);
}

TEST(TruncateUtf8Test, FillsTheLimitExactlyWhenTheCountChangesTheMarkersLength) {
  // 10,000 bytes into 100: the count has 4 digits whatever is kept.
  const std::string out = TruncateUtf8(std::string(10'000, 'x'), 100);
  EXPECT_EQ(out.size(), 100u);
  EXPECT_THAT(out, EndsWith("[truncated 9925 bytes]"));
}

TEST(TruncateUtf8Test, NeverSplitsAMultiByteSequence) {
  // "é" is 2 bytes, "€" 3, "😀" 4: every cut position lands inside some sequence somewhere.
  const std::string unit = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";
  std::string text;
  for (int i = 0; i < 50; ++i) text += unit;
  for (std::size_t max = 30; max < 80; ++max) {
    const std::string out = TruncateUtf8(text, max);
    EXPECT_LE(out.size(), max) << max;
    EXPECT_TRUE(IsUtf8(out)) << max;
    EXPECT_THAT(out, EndsWith(" bytes]")) << max;
    const std::size_t kept = out.find(std::string(kEllipsis) + "[truncated ");
    ASSERT_NE(kept, std::string::npos) << max;
    EXPECT_EQ(out.substr(0, kept), text.substr(0, kept)) << max;
    EXPECT_EQ(out.substr(kept), std::string(kEllipsis) + "[truncated " +
                                    std::to_string(text.size() - kept) + " bytes]")
        << max;
    EXPECT_GE(kept + 3, max - (out.size() - kept)) << "cut more than one sequence back at " << max;
  }
}

TEST(TruncateUtf8Test, CutsTextThatIsNotUtf8WhereItFalls) {
  const std::string text(200, '\x80');  // continuation bytes only
  const std::string out = TruncateUtf8(text, 100);
  EXPECT_EQ(out.size(), 100u);
  EXPECT_THAT(out, StartsWith(std::string(70, '\x80')));
}

TEST(TruncateUtf8Test, KeepsOnlyAPrefixWhenTheMarkerDoesNotFit) {
  EXPECT_EQ(TruncateUtf8("abcdefghijklmnop", 5), "abcde");
  EXPECT_EQ(TruncateUtf8("ab\xE2\x82\xAC", 4), "ab");
  EXPECT_EQ(TruncateUtf8("abc", 0), "");
}

TEST(TruncateUtf8Test, TruncatesInPlace) {
  std::string fits = "short";
  TruncateUtf8InPlace(&fits, 5);
  EXPECT_EQ(fits, "short");
  std::string big(5'000, 'z');
  TruncateUtf8InPlace(&big, 4096);
  EXPECT_EQ(big.size(), 4096u);
  EXPECT_THAT(big, EndsWith("[truncated 928 bytes]"));
}

}  // namespace
}  // namespace foghorn::common
