#pragma once
// Helpers shared by the unit tests.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "evlib/event_batch.hpp"
#include "evlib/synth.hpp"
#include "evlib/writer.hpp"

namespace evlib::test {

// Path of a file in ../shared/data (the real recordings), e.g. shared_data("evt3/x.raw").
std::string shared_data(const std::string& relative);
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
