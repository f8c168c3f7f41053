// journal_fixture_writer PATH: writes the fixture journal (journal_fixture.h) to PATH with today's
// journal code, for tests/fixtures/journal/ (its README says when and how). PATH must not exist.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "orchestrator/common/fake_clock.h"
#include "orchestrator/journal/sqlite_journal.h"
#include "tests/orchestrator/journal/journal_fixture.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: journal_fixture_writer PATH\n");
    return 2;
  }
  const std::string path = argv[1];
  if (std::filesystem::exists(path)) {
    std::fprintf(stderr, "journal_fixture_writer: %s exists; not overwriting it\n", path.c_str());
    return 2;
  }
  foghorn::common::FakeClock clock(foghorn::journal::fixture::At(0));
  {
    auto journal = foghorn::journal::SqliteJournal::Open(path, clock);
    if (!journal.ok()) {
      std::fprintf(stderr, "journal_fixture_writer: %s\n", journal.status().ToString().c_str());
      return 1;
    }
    if (absl::Status s = foghorn::journal::fixture::WriteFixture(**journal, clock); !s.ok()) {
      std::fprintf(stderr, "journal_fixture_writer: %s\n", s.ToString().c_str());
      return 1;
    }
    if (absl::Status s = (*journal)->Flush(); !s.ok()) {
      std::fprintf(stderr, "journal_fixture_writer: %s\n", s.ToString().c_str());
      return 1;
    }
  }  // closing the last connection checkpoints the WAL into PATH and deletes it
  std::printf("wrote %s\n", path.c_str());
  return 0;
}
