#include "support/test_support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string_view>

#include "evlib/digest.hpp"
#include "evlib/reader.hpp"
#include "evlib/scan.hpp"

namespace evlib::test {

std::string recordings_dir() {
  const char* from_environment = std::getenv("EVLIB_RECORDINGS");
  return from_environment != nullptr && *from_environment != '\0' ? from_environment : EVLIB_RECORDINGS_DIR;
}

std::string shared_data(const std::string& relative) { return recordings_dir() + "/" + relative; }

bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && (std::string_view(ci) == "true" || std::string_view(ci) == "1");
}

std::string missing_recording(const std::vector<std::string>& relatives) {
  for (const auto& relative : relatives) {
    const std::string path = shared_data(relative);
    if (!std::filesystem::is_regular_file(path)) return path;
  }
  return "";
}

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

// ---- synthetic stand-ins ----

namespace {

struct StandIn {
  const char* real;       // the real recording it stands in for
  const char* file_name;  // in the process's temporary directory
  const char* format;
  SceneOptions scene;
  std::size_t events;
  bool geometry_in_header;
};

// Event counts, geometries, time spans and the absence of triggers are those of the real
// recordings, so that tests written for them hold for both.
const StandIn kStandIns[] = {
    {"evt3/evt3_test_pedestrians.raw", "pedestrians.raw", "evt3",
     {.width = 1280, .height = 720, .seed = 11, .event_rate = 1e5, .t_start = 5'840'000, .run_fraction = 0.3}, 5'000, true},
    {"evt2/evt2_sample.raw", "evt2_sample.raw", "evt2",
     {.width = 640, .height = 480, .seed = 12, .event_rate = 1e7, .t_start = 1'317'888}, 539'481, true},
    {"dat/NCARS_obj_004397_td.dat", "ncars.dat", "dat", {.width = 54, .height = 61, .seed = 13, .event_rate = 5e4}, 4'407, false},
    {"npy/NCARS_obj_004397_td.expelliarmus.npy", "ncars.npy", "npy", {.width = 54, .height = 61, .seed = 13, .event_rate = 5e4},
     4'407, true},
    {"npy/evt3_test_pedestrians.expelliarmus.npy", "pedestrians.npy", "npy",
     {.width = 1280, .height = 720, .seed = 11, .event_rate = 1e5, .t_start = 5'840'000, .run_fraction = 0.3}, 5'000, true},
    {"text/slider_depth_events_chunk.txt", "slider_depth.txt", "text",
     {.width = 240, .height = 180, .seed = 14, .event_rate = 2.9e5, .t_start = 3'811}, 50'000, true},
    {"aedat4/tonic_sample.aedat4", "tonic_sample.aedat4", "aedat4",
     {.width = 320, .height = 240, .seed = 15, .event_rate = 2e5, .t_start = 1'605'537'493'718'345}, 111'954, true},
    // evlib writes no AEDAT 2.0: write_aedat2() below.
    {"aedat2/IMU_translBoxes.aedat", "IMU_translBoxes.aedat", "aedat2",
     {.width = 240, .height = 180, .seed = 16, .event_rate = 7.85e4, .t_start = 294'976'755}, 162'771, true},
};

// A jAER AEDAT 2.0 file from a DAVIS240C: big-endian (address, time) records, the address
// holding the axes flipped (x = 239 - x field, y = 179 - y field); every fifth record is an
// APS/IMU record (bit 31), which readers skip and count, as in real DAVIS files.
void write_aedat2(const std::string& path, const EventBatch& events) {
  const std::string header =
      "#!AER-DAT2.0\r\n# AEChip: eu.seebetter.ini.chips.davis.DAVIS240C\r\n#End Of ASCII Header\r\n";
  std::vector<std::uint8_t> bytes(header.begin(), header.end());
  auto put_record = [&bytes](std::uint32_t address, std::int64_t t) {
    for (const std::uint32_t v : {address, static_cast<std::uint32_t>(t)}) {
      for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<std::uint8_t>(v >> shift));
    }
  };
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i % 5 == 4) put_record(0x80000000u, events.t()[i]);
    const std::uint32_t x_field = 239u - events.x()[i], y_field = 179u - events.y()[i];
    put_record(y_field << 22 | x_field << 12 | std::uint32_t{events.p()[i]} << 11, events.t()[i]);
  }
  write_file(path, bytes);
}

const StandIn* find_stand_in(const std::string& relative) {
  for (const auto& s : kStandIns) {
    if (relative == s.real) return &s;
  }
  return nullptr;
}

}  // namespace

bool has_stand_in(const std::string& relative) { return find_stand_in(relative) != nullptr; }

std::string stand_in(const std::string& relative) {
  static std::map<std::string, std::string> made;
  if (const auto it = made.find(relative); it != made.end()) return it->second;
  const StandIn* s = find_stand_in(relative);
  if (s == nullptr) throw std::logic_error("no synthetic stand-in for " + relative);
  SceneGenerator generator(s->scene);
  EventBatch events = EventBatch::with_capacity(s->events);
  TriggerBatch triggers;
  generator.generate(events, triggers, s->events);
  WriteOptions options;
  options.format = s->format;
  if (s->geometry_in_header) {
    options.width = s->scene.width;
    options.height = s->scene.height;
  }
  static const std::string dir = temp_dir();
  const std::string path = dir + "/" + s->file_name;
  if (std::string_view(s->format) == "aedat2") {
    write_aedat2(path, events);
  } else {
    write_events(path, options, events, triggers);
  }
  made.emplace(relative, path);
  return path;
}

std::string recordings_param_name(const ::testing::TestParamInfo<Recordings>& info) {
  return info.param == Recordings::kReal ? "real" : "synthetic";
}

void PrintTo(Recordings recordings, std::ostream* os) {
  *os << (recordings == Recordings::kReal ? "the real recordings" : "synthetic stand-ins");
}

void RecordingsTest::SetUp() {
  if (real()) EVLIB_REQUIRE_RECORDINGS(needed_);
}

std::string RecordingsTest::recording(const std::string& relative) const {
  return real() ? shared_data(relative) : stand_in(relative);
}

std::vector<std::string> RecordingsTest::recordings(const std::vector<std::string>& relatives) const {
  std::vector<std::string> out;
  for (const auto& relative : relatives) {
    if (real() || has_stand_in(relative)) out.push_back(recording(relative));
  }
  return out;
}

}  // namespace evlib::test
