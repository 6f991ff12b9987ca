// libFuzzer target: the whole public read path. The input is written to a file and read with
// format detection by evlib::read(); evlib::Error is an acceptable outcome, anything else (a
// crash, a sanitizer report, another exception type) is a bug.
//
// Options come from the input size, so the file content stays exactly the input (real files can
// be used as seeds): size % 3 picks the file name extension (.raw / .dat / none), bit 2 of the
// size strict mode, bit 3 the Metavision time shift, bit 4 the prefault thread, bits 5-7 an
// explicit format (mostly "" = detect), bit 8 a geometry override.
//
// Oracles, when read() succeeds:
//   - events lie inside the geometry the metadata reports (when it reports one);
//   - streaming the same file with Reader::next() in 256-event chunks gives the same events,
//     triggers and statistics as read() (chunking invariance at the Reader level);
//   - Reader::upper_bound_events() taken before decoding is an upper bound on the event count.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "evlib/error.hpp"
#include "evlib/reader.hpp"
#include "fuzz_common.hpp"

namespace {

std::string g_dir;

void remove_dir() {
  for (const char* name : {"/input.raw", "/input.dat", "/input"}) ::unlink((g_dir + name).c_str());
  ::rmdir(g_dir.c_str());
}

const std::string& temp_dir() {
  if (g_dir.empty()) {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/evlib_fuzz_reader.XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    g_dir = buf.data();
    std::atexit(remove_dir);
  }
  return g_dir;
}

void write_file(const std::string& path, const std::uint8_t* data, std::size_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::perror("open");
    std::abort();
  }
  std::size_t done = 0;
  while (done < size) {
    const ssize_t w = ::write(fd, data + done, size - done);
    if (w <= 0) {
      std::perror("write");
      std::abort();
    }
    done += static_cast<std::size_t>(w);
  }
  ::close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // HDF5 containers are parsed by libhdf5, which is not hardened against corrupt files (a flipped
  // bit can crash it inside H5HG_read). Our own HDF5 code is fuzzed through fuzz_ecf; skip them.
  static const std::uint8_t kHdf5[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1A, '\n'};
  for (std::size_t at = 0; at + 8 <= size; at = at == 0 ? 512 : at * 2) {
    if (std::equal(kHdf5, kHdf5 + 8, data + at)) return 0;
  }
  static const char* const kNames[3] = {"/input.raw", "/input.dat", "/input"};
  const std::string path = temp_dir() + kNames[size % 3];
  write_file(path, data, size);

  evlib::ReadOptions options;
  options.strict = (size & 4) != 0;
  options.metavision_time_shift = (size & 8) != 0;
  options.prefault_thread = (size & 16) != 0;
  static const char* const kFormats[8] = {"", "", "", "", "raw", "evt21", "evt3", "dat"};
  options.format = kFormats[(size >> 5) & 7];
  if (size & 256) {
    options.width = 100;
    options.height = 100;
  }

  evlib::Recording rec;
  try {
    rec = evlib::read(path, options);
  } catch (const evlib::Error&) {
    return 0;
  }
  const evlib::Metadata& meta = *rec.metadata;
  EVLIB_FUZZ_CHECK(meta.data_offset <= size);
  const auto x = rec.events.x(), y = rec.events.y();
  const auto p = rec.events.p();
  for (std::size_t i = 0; i < rec.events.size(); ++i) {
    if (meta.width != 0) EVLIB_FUZZ_CHECK(x[i] < meta.width);
    if (meta.height != 0) EVLIB_FUZZ_CHECK(y[i] < meta.height);
    EVLIB_FUZZ_CHECK(p[i] <= 1);
  }
  EVLIB_FUZZ_CHECK(rec.triggers.t.size() == rec.triggers.channel.size());
  EVLIB_FUZZ_CHECK(rec.triggers.t.size() == rec.triggers.value.size());

  // The same file streamed in small chunks.
  evlib::ReadOptions small = options;
  small.chunk_events = 1;  // the Reader rounds this up to its minimum chunk
  evlib::Reader reader = [&] {
    try {
      return evlib::Reader::open(path, small);
    } catch (const evlib::Error&) {
      evlib_fuzz::fail("Reader::open failed on a file evlib::read accepted");
    }
  }();
  const std::size_t bound = reader.upper_bound_events();
  evlib_fuzz::Decoded streamed;
  try {
    while (auto chunk = reader.next()) {
      const auto& e = chunk->events;
      streamed.t.insert(streamed.t.end(), e.t().begin(), e.t().end());
      streamed.x.insert(streamed.x.end(), e.x().begin(), e.x().end());
      streamed.y.insert(streamed.y.end(), e.y().begin(), e.y().end());
      streamed.p.insert(streamed.p.end(), e.p().begin(), e.p().end());
      streamed.triggers.append(chunk->triggers);
    }
  } catch (const evlib::Error&) {
    // Strict mode raises at the first chunk with a corrupt word; read() must have raised too.
    evlib_fuzz::fail("Reader::next threw on a file evlib::read accepted");
  }
  EVLIB_FUZZ_CHECK(reader.metadata().format == meta.format);
  EVLIB_FUZZ_CHECK(streamed.t.size() <= bound);
  evlib_fuzz::Decoded whole;
  whole.t.assign(rec.events.t().begin(), rec.events.t().end());
  whole.x.assign(x.begin(), x.end());
  whole.y.assign(y.begin(), y.end());
  whole.p.assign(p.begin(), p.end());
  whole.triggers = rec.triggers;
  whole.stats = rec.stats;
  streamed.stats = reader.stats();
  evlib_fuzz::check_same(streamed, whole);
  return 0;
}
