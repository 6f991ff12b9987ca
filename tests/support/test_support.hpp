#pragma once
// Helpers shared by the unit tests.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "evlib/event_batch.hpp"
#include "evlib/synth.hpp"
#include "evlib/writer.hpp"

namespace evlib::test {

// ---- real recordings ----
// The repository cannot ship real recordings (their licences forbid it), so tests that need one
// read it from the recordings directory: $EVLIB_RECORDINGS when set, else the directory the
// build configured (the CMake cache variable EVLIB_RECORDINGS). A missing recording skips the
// test with "missing real recording <path>"; under CI=true it fails it: CI must not pass by
// skipping. What such a test checks must also be checked on files the tests make themselves
// (RecordingsTest below runs a suite on both).

// The recordings directory.
std::string recordings_dir();
// Path of a real recording in the recordings directory, e.g. shared_data("evt3/x.raw"). A test
// that calls it starts with EVLIB_REQUIRE_RECORDINGS (or is a RecordingsTest).
std::string shared_data(const std::string& relative);
// Whether the environment says this is a CI run (CI=true or CI=1).
bool running_in_ci();
// The full path of the first of `relatives` missing from the recordings directory, or "".
std::string missing_recording(const std::vector<std::string>& relatives);

// Stops the test (a statement; in a TEST body, a SetUp() or a void helper) unless every
// recording named exists: skipped outside CI, failed under CI=true. Takes paths relative to the
// recordings directory, or one std::vector<std::string> of them.
#define EVLIB_REQUIRE_RECORDINGS(...)                                                                   \
  do {                                                                                                  \
    const std::string evlib_missing_recording_ = ::evlib::test::missing_recording({__VA_ARGS__});       \
    if (!evlib_missing_recording_.empty()) {                                                            \
      if (::evlib::test::running_in_ci()) {                                                             \
        FAIL() << "missing real recording " << evlib_missing_recording_ << " (CI=true: a required file)"; \
      }                                                                                                 \
      GTEST_SKIP() << "missing real recording " << evlib_missing_recording_;                            \
    }                                                                                                   \
  } while (false)

// ---- synthetic stand-ins ----
// Whether the tests can make a stand-in for this real recording: a file of the same format with
// the same geometry and event count (and the same layout traits where they matter: e.g. a DAT
// without geometry in its header), written with evlib's writers from a seeded SceneGenerator.
bool has_stand_in(const std::string& relative);
// The stand-in of a real recording, written on first use (once per test process).
std::string stand_in(const std::string& relative);

enum class Recordings { kSynthetic, kReal };
std::string recordings_param_name(const ::testing::TestParamInfo<Recordings>& info);
void PrintTo(Recordings recordings, std::ostream* os);

// A suite that runs every test twice: on the stand-ins (always) and on the real recordings
// (skipped, or failed under CI=true, when one of those the suite names is missing). Instantiate
// it with EVLIB_INSTANTIATE_ON_RECORDINGS(Suite).
class RecordingsTest : public ::testing::TestWithParam<Recordings> {
 protected:
  // `real_recordings`: every recording the suite's tests read (relative to the directory).
  explicit RecordingsTest(std::vector<std::string> real_recordings) : needed_(std::move(real_recordings)) {}
  void SetUp() override;
  bool real() const { return GetParam() == Recordings::kReal; }
  // The real recording in the real run, its stand-in in the synthetic one.
  std::string recording(const std::string& relative) const;
  // recording() of each of `relatives` this run has (the synthetic run lacks those without a
  // stand-in).
  std::vector<std::string> recordings(const std::vector<std::string>& relatives) const;

 private:
  std::vector<std::string> needed_;
};

#define EVLIB_INSTANTIATE_ON_RECORDINGS(suite)                                                        \
  INSTANTIATE_TEST_SUITE_P(On, suite,                                                                  \
                           ::testing::Values(::evlib::test::Recordings::kSynthetic, ::evlib::test::Recordings::kReal), \
                           ::evlib::test::recordings_param_name)

// A fresh empty directory for this test; removed by the OS tmp cleaner, not by us.
std::string temp_dir();
// A fresh directory removed (recursively) when the object goes out of scope. For tests that
// write many or large files.
class ScopedTempDir {
 public:
  ScopedTempDir();
  ~ScopedTempDir();
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};
// Writes bytes to path (replacing it).
void write_file(const std::string& path, const std::vector<std::uint8_t>& bytes);
// Writes bytes to a new file under temp_dir() and returns its path.
std::string write_temp_file(const std::string& name, const std::vector<std::uint8_t>& bytes);
std::vector<std::uint8_t> read_file(const std::string& path);
// Bytes from a hex string such as "2D 8B 00 60" (spaces ignored).
std::vector<std::uint8_t> hex_bytes(const std::string& hex);
// Concatenation helper: a header string followed by bytes.
std::vector<std::uint8_t> with_header(const std::string& header, const std::vector<std::uint8_t>& payload);

// The bytes of a file from its event payload on (metadata.data_offset from evlib::read_metadata).
std::vector<std::uint8_t> payload_of(const std::string& path);
// Writes events (and triggers) with evlib::Writer and closes the file; returns path.
std::string write_events(const std::string& path, const WriteOptions& options, const EventBatch& events,
                         const TriggerBatch& triggers = {});
// Generates `events` events of a seeded scene and writes them (with its triggers) as `format`
// at the scene's geometry, with WriteOptions::compression; returns path.
std::string write_scene(const std::string& path, const std::string& format, const SceneOptions& scene,
                        std::size_t events, const std::string& compression = "");
bool file_exists(const std::string& path);
// Names of the entries of a directory.
std::vector<std::string> list_dir(const std::string& dir);

// The events of [t0, t1) of `all`, in a new batch (a copy of `all` would share its columns).
EventBatch events_between(const EventBatch& all, std::int64_t t0, std::int64_t t1);
// Decodes `path` once with a Scan that caches its time index in `cache` (chunk_events 0: the
// default), as a first full pass does.
void index_by_a_first_pass(const std::string& path, const std::string& cache, std::size_t chunk_events = 0);
// The window [t0, t1) of `path` through a Scan with the index cached in `cache`: the digest of
// its events and the words it decoded (few when it sought).
struct ScannedWindow {
  std::string digest;
  std::uint64_t words = 0;
};
ScannedWindow scan_window(const std::string& path, const std::string& cache, std::int64_t t0, std::int64_t t1,
                          std::size_t chunk_events = 0);
// Runs a shell command; returns its exit status (-1 if it did not exit normally) and fills
// out / err with what it printed on stdout / stderr.
int run_command(const std::string& command, std::string* out = nullptr, std::string* err = nullptr);

}  // namespace evlib::test
