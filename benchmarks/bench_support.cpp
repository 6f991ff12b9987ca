#include "bench_support.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>

#include "evlib/reader.hpp"
#include "evlib/synth.hpp"
#include "evlib/writer.hpp"

namespace evlib::bench {

EventBatch scene(std::size_t count, std::uint64_t seed) {
  SceneOptions options;
  options.width = kWidth;
  options.height = kHeight;
  options.seed = seed;
  SceneGenerator gen(options);
  EventBatch batch = EventBatch::with_capacity(count);
  TriggerBatch triggers;
  gen.generate(batch, triggers, count);
  return batch;
}

namespace {

// Owns the scratch directory; its destructor (at exit) removes it with everything inside.
struct ScratchDir {
  std::string path;
  ScratchDir() {
    namespace fs = std::filesystem;
    std::string base;
    if (const char* env = std::getenv("EVLIB_BENCH_DIR"); env != nullptr && *env != '\0') {
      base = env;
    } else if (::access("/dev/shm", W_OK) == 0) {
      base = "/dev/shm";
    } else {
      base = fs::temp_directory_path().string();
    }
    std::string templ = base + "/evlib-bench-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("cannot create a scratch directory in " + base);
    path = templ;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

const std::string& scratch_dir() {
  static const ScratchDir dir;
  return dir.path;
}

std::string write_file(const std::string& name, const std::string& format, const EventBatch& events) {
  const std::string path = scratch_dir() + "/" + name;
  WriteOptions wo;
  wo.format = format;
  wo.width = kWidth;
  wo.height = kHeight;
  wo.overwrite = true;
  Writer w = Writer::create(path, wo);
  w.write(events);
  w.close();
  return path;
}

std::vector<std::uint8_t> payload_of(const std::string& path) {
  const Metadata meta = read_metadata(path);
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(meta.data_offset));
  return bytes;
}

std::vector<std::uint8_t> encode_evt21(const EventBatch& events) {
  std::vector<std::uint8_t> out;
  out.reserve(events.size() * 8);
  const auto put = [&out](std::uint32_t h, std::uint32_t l) {
    // Little order: the mask / payload half first, then the type half (docs/formats.md 3.1).
    for (const std::uint32_t half : {l, h}) {
      for (int b = 0; b < 4; ++b) out.push_back(static_cast<std::uint8_t>(half >> (8 * b)));
    }
  };
  const auto t = events.t();
  const auto x = events.x();
  const auto y = events.y();
  const auto p = events.p();
  std::int64_t time_high = -1;
  for (std::size_t i = 0; i < events.size();) {
    if ((t[i] >> 6) != time_high) {
      time_high = t[i] >> 6;
      put(0x80000000u | static_cast<std::uint32_t>(time_high & 0x0FFFFFFF), 0);
    }
    const std::uint32_t base = x[i] & ~31u;
    std::uint32_t mask = 1u << (x[i] - base);
    std::size_t j = i + 1;
    while (j < events.size() && t[j] == t[i] && y[j] == y[i] && p[j] == p[i] && (x[j] & ~31u) == base &&
           x[j] > x[j - 1]) {
      mask |= 1u << (x[j] - base);
      ++j;
    }
    const std::uint32_t h = std::uint32_t{p[i]} << 28 | static_cast<std::uint32_t>(t[i] & 63) << 22 | base << 11 | y[i];
    put(h, mask);
    i = j;
  }
  return out;
}

void warm(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  std::vector<char> buf(std::size_t{4} << 20);
  while (::read(fd, buf.data(), buf.size()) > 0) {
  }
  ::close(fd);
}

}  // namespace evlib::bench
