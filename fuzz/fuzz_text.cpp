// libFuzzer target: the text/CSV reader (src/formats/text/text.cpp) on arbitrary bytes.
//
// Input layout: 1 control byte, then the file content.
//   bits 0-1  column order option: "" (header / default rules), "txyp", "xypt", "_txyp"
//   bits 2-3  time unit option: "" (auto), "s", "us", "ns"
//   bit 4     strict mode
//   bit 5     geometry override 100 x 100
//   bits 6-7  ByteSource window of the second read: 1, 3, 17 or 4096 bytes
//
// Oracles, when evlib::read succeeds (an evlib::Error is an acceptable outcome):
//   - polarity is 0 or 1, coordinates lie inside the geometry when there is one;
//   - streaming with Reader::next() in minimal chunks gives the same events and statistics;
//   - parsing through tiny ByteSource windows (lines split across windows, carried over) gives
//     the same events and statistics;
//   - Reader::upper_bound_events() is an upper bound;
//   - the scalar line parser alone (TextLinePath::kScalar, the fast path's reference) gives the
//     same events and statistics as the default path.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "evlib/error.hpp"
#include "evlib/reader.hpp"
#include "formats/text/text.hpp"
#include "fuzz_common.hpp"
#include "io/byte_source.hpp"

namespace {

std::string g_path;

void remove_file() { ::unlink(g_path.c_str()); }

const std::string& input_path() {
  if (g_path.empty()) {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/evlib_fuzz_text.XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    const int fd = ::mkstemp(buf.data());
    if (fd < 0) {
      std::perror("mkstemp");
      std::abort();
    }
    ::close(fd);
    g_path = buf.data();
    std::atexit(remove_file);
  }
  return g_path;
}

void write_file(const std::string& path, const std::uint8_t* data, std::size_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) std::abort();
  std::size_t done = 0;
  while (done < size) {
    const ssize_t w = ::write(fd, data + done, size - done);
    if (w <= 0) std::abort();
    done += static_cast<std::size_t>(w);
  }
  ::close(fd);
}

void append(evlib_fuzz::Decoded& out, const evlib::EventBatch& e) {
  out.t.insert(out.t.end(), e.t().begin(), e.t().end());
  out.x.insert(out.x.end(), e.x().begin(), e.x().end());
  out.y.insert(out.y.end(), e.y().begin(), e.y().end());
  out.p.insert(out.p.end(), e.p().begin(), e.p().end());
}

// Every event and the statistics through a ByteSource of `window`-byte windows, batches of
// `batch_events`, and the given line parser; an evlib::Error is a failure named `what`.
evlib_fuzz::Decoded read_windows(const std::string& path, const evlib::ReadOptions& options, std::size_t window,
                                 evlib::detail::TextLinePath line_path, std::size_t batch_events, const char* what) {
  evlib_fuzz::Decoded out;
  try {
    auto source = std::make_unique<evlib::detail::ByteSource>(path, 0, window);
    const auto prefix = source->prefix(evlib::detail::kPrefixBytes);
    evlib::Metadata m;
    auto reader = evlib::detail::open_text_on_path(std::move(source), prefix, options, m, line_path);
    evlib::EventBatch batch = evlib::EventBatch::with_capacity(batch_events);
    evlib::TriggerBatch triggers;
    for (bool more = true; more;) {
      batch.set_size(0);
      more = reader->fill(batch, triggers);
      append(out, batch);
    }
    out.stats = reader->stats();
  } catch (const evlib::Error&) {
    evlib_fuzz::fail(what);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t control = data[0];
  const std::string& path = input_path();
  write_file(path, data + 1, size - 1);

  evlib::ReadOptions options;
  options.format = "text";
  static const char* const kColumns[4] = {"", "txyp", "xypt", "_txyp"};
  static const char* const kUnits[4] = {"", "s", "us", "ns"};
  options.text_columns = kColumns[control & 3];
  options.text_time_unit = kUnits[(control >> 2) & 3];
  options.strict = (control & 16) != 0;
  if (control & 32) options.width = options.height = 100;
  options.prefault_thread = false;
  static const std::size_t kWindows[4] = {1, 3, 17, 4096};
  const std::size_t window = kWindows[control >> 6];

  evlib::Recording rec;
  try {
    rec = evlib::read(path, options);
  } catch (const evlib::Error&) {
    return 0;
  }
  const evlib::Metadata& meta = *rec.metadata;
  for (std::size_t i = 0; i < rec.events.size(); ++i) {
    EVLIB_FUZZ_CHECK(rec.events.p()[i] <= 1);
    if (meta.width != 0) EVLIB_FUZZ_CHECK(rec.events.x()[i] < meta.width);
    if (meta.height != 0) EVLIB_FUZZ_CHECK(rec.events.y()[i] < meta.height);
  }
  evlib_fuzz::Decoded whole;
  append(whole, rec.events);
  whole.stats = rec.stats;

  // Streamed in minimal chunks.
  evlib::ReadOptions small = options;
  small.chunk_events = 1;
  evlib_fuzz::Decoded streamed;
  try {
    evlib::Reader reader = evlib::Reader::open(path, small);
    EVLIB_FUZZ_CHECK(reader.upper_bound_events() >= rec.events.size());
    while (auto chunk = reader.next()) append(streamed, chunk->events);
    streamed.stats = reader.stats();
  } catch (const evlib::Error&) {
    evlib_fuzz::fail("streaming threw on a file evlib::read accepted");
  }
  evlib_fuzz::check_same(streamed, whole);

  // Through tiny windows: every line split between windows and carried over.
  evlib_fuzz::check_same(read_windows(path, options, window, evlib::detail::TextLinePath::kBest, 7,
                                      "small windows threw on a file evlib::read accepted"),
                         whole);
  // The scalar line parser alone, in large windows (where the fast path takes runs of lines).
  evlib_fuzz::check_same(read_windows(path, options, std::size_t{1} << 16, evlib::detail::TextLinePath::kScalar, 1 << 12,
                                      "the scalar line parser threw on a file evlib::read accepted"),
                         whole);
  return 0;
}
