// libFuzzer target: AEDAT 4.0 (src/formats/aedat4*.{hpp,cpp}). The first input byte picks what
// the rest is, so that the fuzzer reaches the FlatBuffer parsers directly and not only through
// compressed packets it could hardly forge:
//   mode 0  a whole file: read() and Reader::next() in 256-event chunks agree (events, triggers,
//           counters), ByteSource windows of 1 + (size % 97) bytes agree too, events lie inside
//           the largest event stream, upper_bound_events() bounds the count; evlib::Error is an
//           acceptable outcome, anything else is a bug;
//   mode 1  one decompressed packet payload: the EVTS / TRIG / IMUS / FTAB parsers on an
//           exact-size copy (AddressSanitizer sees any over-read); element views stay inside;
//   mode 2  one compressed payload: LZ4 and Zstd decompression; a success never exceeds the
//           size limit nor decompressed_bound();
//   mode 3  the rest as an EVTS payload, packed into a file (compression from byte 1: none, LZ4,
//           Zstd) and read back: every event of the payload inside 346x260 comes out, in order.
#include <fcntl.h>
#include <lz4frame.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "evlib/error.hpp"
#include "evlib/reader.hpp"
#include "formats/inivation/aedat4.hpp"
#include "formats/inivation/aedat4_reader.hpp"
#include "fuzz_common.hpp"
#include "io/byte_source.hpp"
#include "io/format_reader.hpp"

namespace {

using evlib::detail::Aedat4Compression;

std::string g_dir;

void remove_dir() {
  ::unlink((g_dir + "/input.aedat4").c_str());
  ::rmdir(g_dir.c_str());
}

const std::string& file_path() {
  static std::string path;
  if (path.empty()) {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/evlib_fuzz_aedat4.XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    g_dir = buf.data();
    std::atexit(remove_dir);
    path = g_dir + "/input.aedat4";
  }
  return path;
}

void write_file(const std::vector<std::uint8_t>& bytes) {
  const int fd = ::open(file_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) std::abort();
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
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

void same_aedat_stats(const evlib::DecodeStats& a, const evlib::DecodeStats& b) {
  EVLIB_FUZZ_CHECK(a.skipped_records == b.skipped_records);
  EVLIB_FUZZ_CHECK(a.corrupt_packets == b.corrupt_packets);
  EVLIB_FUZZ_CHECK(a.invalid_events == b.invalid_events);
}

// Mode 0: the whole read path on a file.
void whole_file(const std::vector<std::uint8_t>& bytes) {
  write_file(bytes);
  const std::string& path = file_path();
  evlib::ReadOptions options;
  options.format = "aedat4";
  evlib::Recording rec;
  try {
    rec = evlib::read(path, options);
  } catch (const evlib::Error&) {
    return;
  }
  evlib_fuzz::Decoded whole;
  append(whole, rec.events);
  whole.triggers = rec.triggers;
  whole.stats = rec.stats;
  for (auto p : whole.p) EVLIB_FUZZ_CHECK(p <= 1);

  // Streamed in small chunks through the public Reader.
  evlib::ReadOptions small = options;
  small.chunk_events = 1;
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
      append(streamed, chunk->events);
      streamed.triggers.append(chunk->triggers);
    }
  } catch (const evlib::Error&) {
    evlib_fuzz::fail("Reader::next threw on a file evlib::read accepted");
  }
  streamed.stats = reader.stats();
  evlib_fuzz::check_same(streamed, whole);
  same_aedat_stats(streamed.stats, whole.stats);
  EVLIB_FUZZ_CHECK(whole.t.size() <= bound);

  // Through the format reader directly, with odd ByteSource windows (packets straddle them).
  const std::size_t window = 1 + bytes.size() % 97;
  auto source = std::make_unique<evlib::detail::ByteSource>(path, 0, window);
  const auto prefix = source->prefix(evlib::detail::kPrefixBytes);
  evlib::Metadata meta;
  std::unique_ptr<evlib::detail::FormatReader> fr;
  if (const auto* f = evlib::detail::format_named("aedat4")) fr = f->decoder.open(std::move(source), prefix, options, meta);
  EVLIB_FUZZ_CHECK(fr != nullptr);
  const auto& info = dynamic_cast<evlib::detail::Aedat4Reader&>(*fr).info();
  std::uint32_t max_w = 0, max_h = 0;
  for (const auto& s : info.streams) {
    if (s.type != "EVTS") continue;
    max_w = std::max(max_w, s.width == 0 ? 0x8000u : std::min(s.width, 0x8000u));
    max_h = std::max(max_h, s.height == 0 ? 0x8000u : std::min(s.height, 0x8000u));
  }
  for (std::size_t i = 0; i < whole.x.size(); ++i) {
    EVLIB_FUZZ_CHECK(whole.x[i] < max_w);
    EVLIB_FUZZ_CHECK(whole.y[i] < max_h);
  }
  evlib::EventBatch batch = evlib::EventBatch::with_capacity(1 + bytes.size() % 300);
  evlib_fuzz::Decoded windowed;
  bool more = true;
  while (more) {
    batch.set_size(0);
    more = fr->fill(batch, windowed.triggers);
    append(windowed, batch);
  }
  windowed.stats = fr->stats();
  evlib_fuzz::check_same(windowed, whole);
  same_aedat_stats(windowed.stats, whole.stats);
}

// Mode 1: the payload parsers on an exact-size copy.
void payload(const std::vector<std::uint8_t>& bytes) {
  const std::uint8_t* first = nullptr;
  std::size_t count = 0;
  if (evlib::detail::aedat4_events(bytes, first, count) == nullptr && count != 0) {
    EVLIB_FUZZ_CHECK(first >= bytes.data());
    EVLIB_FUZZ_CHECK(static_cast<std::size_t>(first - bytes.data()) + count * evlib::detail::kAedat4EventBytes <=
                     bytes.size());
    volatile std::uint8_t sink = first[count * evlib::detail::kAedat4EventBytes - 1];  // ASan checks the view
    (void)sink;
  }
  evlib::TriggerBatch triggers;
  evlib::DecodeStats stats;
  if (evlib::detail::aedat4_triggers(bytes, triggers, stats) != nullptr) EVLIB_FUZZ_CHECK(triggers.empty());
  for (std::size_t i = 0; i < triggers.size(); ++i) {
    EVLIB_FUZZ_CHECK(triggers.channel[i] == 0 || triggers.channel[i] == 3);
    EVLIB_FUZZ_CHECK(triggers.value[i] <= 1);
  }
  std::size_t imu = 0;
  (void)evlib::detail::aedat4_imu_count(bytes, imu);
  std::vector<evlib::detail::Aedat4PacketEntry> table;
  (void)evlib::detail::aedat4_file_table(bytes, table);
  const std::string xml(bytes.begin(), bytes.end());
  (void)evlib::detail::parse_aedat4_info_xml(xml);
}

// Mode 2: decompression of arbitrary frames.
void compressed(const std::vector<std::uint8_t>& bytes) {
  for (auto c : {Aedat4Compression::kLz4, Aedat4Compression::kZstd}) {
    evlib::detail::Aedat4Decompressor d(c);
    std::span<const std::uint8_t> out;
    const auto bound = evlib::detail::Aedat4Decompressor::decompressed_bound(c, bytes);
    if (d.decompress(bytes, out) == nullptr) {
      EVLIB_FUZZ_CHECK(out.size() <= evlib::detail::kAedat4MaxPacketBytes);
      if (bound) EVLIB_FUZZ_CHECK(out.size() <= *bound);
    }
  }
}

template <class T>
void put(std::vector<std::uint8_t>& b, std::size_t at, T v) {
  if (b.size() < at + sizeof v) b.resize(at + sizeof v);
  std::memcpy(b.data() + at, &v, sizeof v);
}

// Mode 3: an EVTS payload packed into a file with a valid IOHeader and read back.
void packed(std::uint8_t option, const std::vector<std::uint8_t>& plain) {
  const std::uint8_t* first = nullptr;
  std::size_t count = 0;
  const bool parses = evlib::detail::aedat4_events(plain, first, count) == nullptr;
  std::vector<std::uint8_t> payload = plain;
  std::int32_t compression = 0;
  if ((option & 3) == 1) {
    compression = 1;
    LZ4F_preferences_t prefs{};
    prefs.frameInfo.contentSize = (option & 4) ? plain.size() : 0;
    payload.resize(LZ4F_compressFrameBound(plain.size(), &prefs));
    payload.resize(LZ4F_compressFrame(payload.data(), payload.size(), plain.data(), plain.size(), &prefs));
  } else if ((option & 3) == 2) {
    compression = 3;
    payload.resize(ZSTD_compressBound(plain.size()));
    payload.resize(ZSTD_compress(payload.data(), payload.size(), plain.data(), plain.size(), 1));
  }
  const std::string xml =
      "<dv version=\"2.0\"><node name=\"outInfo\" path=\"/\"><node name=\"0\" path=\"/0/\">"
      "<attr key=\"typeIdentifier\" type=\"string\">EVTS</attr><node name=\"info\" path=\"/0/info/\">"
      "<attr key=\"sizeX\" type=\"int\">346</attr><attr key=\"sizeY\" type=\"int\">260</attr></node></node></node></dv>";
  std::vector<std::uint8_t> fb(44, 0);  // IOHeader: root 24, vtable at 14, table at 24
  put<std::uint32_t>(fb, 0, 24);
  std::memcpy(fb.data() + 4, "IOHE", 4);
  const std::uint16_t vt[5] = {10, 20, 4, 12, 8};
  for (int i = 0; i < 5; ++i) put<std::uint16_t>(fb, 14 + 2 * i, vt[i]);
  put<std::int32_t>(fb, 24, 10);
  put<std::int32_t>(fb, 28, compression);
  put<std::uint32_t>(fb, 32, 12);
  put<std::int64_t>(fb, 36, -1);
  put<std::uint32_t>(fb, 44, static_cast<std::uint32_t>(xml.size()));
  fb.insert(fb.end(), xml.begin(), xml.end());
  fb.push_back(0);
  std::vector<std::uint8_t> file(evlib::detail::kAedat4Magic, evlib::detail::kAedat4Magic + evlib::detail::kAedat4MagicBytes);
  put<std::uint32_t>(file, file.size(), static_cast<std::uint32_t>(fb.size()));
  file.insert(file.end(), fb.begin(), fb.end());
  put<std::int32_t>(file, file.size(), 0);
  put<std::int32_t>(file, file.size(), static_cast<std::int32_t>(payload.size()));
  file.insert(file.end(), payload.begin(), payload.end());
  write_file(file);
  evlib::Recording rec;
  try {
    rec = evlib::read(file_path());
  } catch (const evlib::Error&) {
    evlib_fuzz::fail("a file with a valid IOHeader raised an error");
  }
  if (!parses || plain.size() > evlib::detail::kAedat4MaxPacketBytes) {
    EVLIB_FUZZ_CHECK(rec.events.size() == 0);
    EVLIB_FUZZ_CHECK(rec.stats.corrupt_packets == 1);
    return;
  }
  std::size_t k = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint8_t* e = first + 16 * i;
    std::int64_t t;
    std::int16_t x, y;
    std::memcpy(&t, e, 8);
    std::memcpy(&x, e + 8, 2);
    std::memcpy(&y, e + 10, 2);
    if (x < 0 || y < 0 || x >= 346 || y >= 260) continue;
    EVLIB_FUZZ_CHECK(k < rec.events.size());
    EVLIB_FUZZ_CHECK(rec.events.t()[k] == t && rec.events.x()[k] == x && rec.events.y()[k] == y);
    EVLIB_FUZZ_CHECK(rec.events.p()[k] == (e[12] != 0));
    ++k;
  }
  EVLIB_FUZZ_CHECK(k == rec.events.size());
  EVLIB_FUZZ_CHECK(rec.stats.out_of_bounds == count - k);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::vector<std::uint8_t> rest(data + 1, data + size);
  switch (data[0] & 3) {
    case 0: whole_file(rest); break;
    case 1: payload(rest); break;
    case 2: compressed(rest); break;
    default: packed(data[1], std::vector<std::uint8_t>(data + 2, data + size)); break;
  }
  return 0;
}
