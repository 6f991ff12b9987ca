#include "support/test_support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "evlib/digest.hpp"
#include "evlib/reader.hpp"
#include "evlib/scan.hpp"

namespace evlib::test {

std::string shared_data(const std::string& relative) { return std::string(EVLIB_SHARED_DATA) + "/" + relative; }

namespace {
// One fresh directory per test process (mkdtemp: never an earlier process's leftover, whatever
// its pid was), removed with everything in it when the process exits.
class ProcessTempRoot {
 public:
  ProcessTempRoot() {
    std::string pattern = (std::filesystem::temp_directory_path() / "evlib-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot create a directory like " + pattern);
    path_ = pattern;
  }
  ~ProcessTempRoot() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};
}  // namespace

std::string temp_dir() {
  static const ProcessTempRoot root;
  static std::atomic<int> counter{0};
  const std::string dir = root.path() + "/" + std::to_string(counter++);
  std::filesystem::create_directories(dir);
  return dir;
}

ScopedTempDir::ScopedTempDir() : path_(temp_dir()) {}
ScopedTempDir::~ScopedTempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_file(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string write_temp_file(const std::string& name, const std::vector<std::uint8_t>& bytes) {
  const std::string path = temp_dir() + "/" + name;
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
  return path;
}

std::vector<std::uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::uint8_t> hex_bytes(const std::string& hex) {
  std::vector<std::uint8_t> out;
  int hi = -1;
  for (char c : hex) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    const int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10;
    if (v < 0 || v > 15) throw std::invalid_argument("bad hex digit");
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  if (hi >= 0) throw std::invalid_argument("odd number of hex digits");
  return out;
}

std::vector<std::uint8_t> with_header(const std::string& header, const std::vector<std::uint8_t>& payload) {
  std::vector<std::uint8_t> out(header.begin(), header.end());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

std::vector<std::uint8_t> payload_of(const std::string& path) {
  const auto bytes = read_file(path);
  const auto offset = evlib::read_metadata(path).data_offset;
  if (offset > bytes.size()) throw std::runtime_error("data offset beyond the end of " + path);
  return {bytes.begin() + static_cast<std::ptrdiff_t>(offset), bytes.end()};
}

std::string write_events(const std::string& path, const WriteOptions& options, const EventBatch& events,
                         const TriggerBatch& triggers) {
  Writer w = Writer::create(path, options);
  w.write(events, triggers);
  w.close();
  return path;
}

std::string write_scene(const std::string& path, const std::string& format, const SceneOptions& scene,
                        std::size_t events, const std::string& compression) {
  SceneGenerator gen(scene);
  EventBatch batch = EventBatch::with_capacity(events);
  TriggerBatch triggers;
  gen.generate(batch, triggers, events);
  WriteOptions wo;
  wo.format = format;
  wo.width = scene.width;
  wo.height = scene.height;
  wo.compression = compression;
  return write_events(path, wo, batch, triggers);
}

bool file_exists(const std::string& path) { return std::filesystem::exists(path); }

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  return names;
}

int run_command(const std::string& command, std::string* out, std::string* err) {
  const std::string dir = temp_dir();
  const std::string out_path = dir + "/stdout", err_path = dir + "/stderr";
  const std::string full = "( " + command + " ) >" + out_path + " 2>" + err_path + " </dev/null";
  const int status = std::system(full.c_str());
  auto slurp = [](const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  if (out) *out = slurp(out_path);
  if (err) *err = slurp(err_path);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (status == -1 || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

EventBatch events_between(const EventBatch& all, std::int64_t t0, std::int64_t t1) {
  EventBatch out = EventBatch::with_capacity(all.size());
  for (std::size_t k = 0; k < all.size(); ++k) {
    if (all.t()[k] >= t0 && all.t()[k] < t1) out.push_back(all.t()[k], all.x()[k], all.y()[k], all.p()[k]);
  }
  return out;
}

namespace {
ReadOptions with_chunk(std::size_t chunk_events) {
  ReadOptions ro;
  if (chunk_events != 0) ro.chunk_events = chunk_events;
  return ro;
}
}  // namespace

void index_by_a_first_pass(const std::string& path, const std::string& cache, std::size_t chunk_events) {
  auto chunks = Scan(path, with_chunk(chunk_events)).index_dir(cache).chunks();
  while (chunks.next()) {
  }
}

ScannedWindow scan_window(const std::string& path, const std::string& cache, std::int64_t t0, std::int64_t t1,
                          std::size_t chunk_events) {
  const Recording window = Scan(path, with_chunk(chunk_events)).index_dir(cache).time(t0, t1).collect_recording();
  ScannedWindow out;
  out.digest = digest(window.events);
  out.words = window.stats.words;
  return out;
}

}  // namespace evlib::test
