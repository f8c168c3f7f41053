#include "orchestrator/common/text.h"

#include "absl/strings/str_cat.h"

namespace foghorn::common {
namespace {

bool IsContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

std::string Marker(std::size_t cut_bytes) {
  return absl::StrCat("\xE2\x80\xA6[truncated ", cut_bytes, " bytes]");  // U+2026 "…"
}

// The largest keep <= `keep` that does not split a UTF-8 sequence of `text`. A valid sequence
// has at most 3 continuation bytes; a longer run is not UTF-8 and is cut where it falls.
std::size_t Utf8Boundary(absl::string_view text, std::size_t keep) {
  std::size_t k = keep;
  for (int i = 0; i < 3 && k > 0 && k < text.size() && IsContinuationByte(text[k]); ++i) --k;
  if (k < text.size() && IsContinuationByte(text[k])) return keep;
  return k;
}

}  // namespace

std::string TruncateUtf8(absl::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  // The marker's length depends on how much is cut, which depends on the marker's length:
  // start from the longest marker (everything cut) and grow the prefix while a shorter marker
  // leaves room; then step back to a UTF-8 boundary, which can only cut more.
  std::size_t marker_size = Marker(text.size()).size();
  if (marker_size > max_bytes) {
    return std::string(text.substr(0, Utf8Boundary(text, max_bytes)));
  }
  std::size_t keep = max_bytes - marker_size;
  for (;;) {
    const std::size_t shorter = Marker(text.size() - keep).size();
    if (shorter >= marker_size) break;
    marker_size = shorter;
    keep = max_bytes - marker_size;
  }
  // Growing `keep` shrinks the count, and so the marker: keep + marker still fits. Moving back
  // to a boundary grows the count by at most 3 bytes, which can lengthen the marker by a digit.
  for (;;) {
    const std::size_t boundary = Utf8Boundary(text, keep);
    const std::string marker = Marker(text.size() - boundary);
    if (boundary + marker.size() <= max_bytes) {
      return absl::StrCat(text.substr(0, boundary), marker);
    }
    keep = boundary - 1;  // boundary > 0: a marker that fits with nothing kept fits here too
  }
}

void TruncateUtf8InPlace(std::string* text, std::size_t max_bytes) {
  if (text->size() <= max_bytes) return;
  *text = TruncateUtf8(*text, max_bytes);
}

}  // namespace foghorn::common
