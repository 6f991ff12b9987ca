// Damaged and hostile input: empty, header-only, truncated, garbage and bit-flipped files must
// throw an evlib::Error subclass or decode with counted drops; never crash, hang or throw
// anything else. Strict mode and the error types of the reader API.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "evlib/digest.hpp"
#include "evlib/error.hpp"
#include "evlib/reader.hpp"
#include "io/byte_source.hpp"
#include "support/decode_harness.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

const std::string kEvt3 = "evt3/evt3_test_pedestrians.raw";
const std::string kEvt2 = "evt2/evt2_sample.raw";
const std::string kDat = "dat/NCARS_obj_004397_td.dat";
const char* kEvt3Header = "% evt 3.0\n% format EVT3;height=720;width=1280\n% end\n";

// Tests on recordings run on synthetic stand-ins of real ones and on the real ones.
class RobustnessFiles : public test::RecordingsTest {
 protected:
  RobustnessFiles() : RecordingsTest({kEvt3, kEvt2, kDat}) {}
};
EVLIB_INSTANTIATE_ON_RECORDINGS(RobustnessFiles);
class StrictModeFiles : public RobustnessFiles {};
EVLIB_INSTANTIATE_ON_RECORDINGS(StrictModeFiles);

// Reads path; returns the recording, or nullopt when an evlib::Error was thrown. Any other
// exception fails the test (it escapes, and gtest reports it).
std::optional<Recording> read_or_error(const std::string& path, const ReadOptions& o = {}, std::string* what = nullptr) {
  try {
    return read(path, o);
  } catch (const Error& e) {
    if (what) *what = e.what();
    return std::nullopt;
  }
}

// Also exercise the streaming path with small chunks: it must agree with read().
void expect_stream_agrees(const std::string& path, const std::optional<Recording>& whole) {
  ReadOptions o;
  o.chunk_events = 256;
  try {
    Reader r = Reader::open(path, o);
    EventDigest d;
    std::size_t n = 0;
    while (auto c = r.next()) {
      d.update(c->events);
      n += c->events.size();
    }
    ASSERT_TRUE(whole.has_value()) << "read() threw but streaming did not";
    EXPECT_EQ(n, whole->events.size());
    EXPECT_EQ(d.finish(), digest(whole->events));
  } catch (const Error&) {
    EXPECT_FALSE(whole.has_value()) << "streaming threw but read() did not";
  }
}

// ---- empty / header-only / unknown / missing ----

TEST(Robustness, zero_length_file_throws_an_evlib_error_naming_the_file) {
  for (const char* name : {"empty.raw", "empty.dat", "empty"}) {
    const auto path = test::write_temp_file(name, {});
    std::string what;
    EXPECT_FALSE(read_or_error(path, {}, &what).has_value()) << name;
    EXPECT_NE(what.find(path), std::string::npos) << what;
  }
}

TEST(Robustness, header_only_raw_file_has_no_events) {
  const auto path = test::write_temp_file("header_only.raw", test::with_header(kEvt3Header, {}));
  const auto rec = read_or_error(path);
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->events.size(), 0u);
  EXPECT_EQ(rec->metadata->data_offset, std::string(kEvt3Header).size());
  EXPECT_EQ(rec->stats.corrupt(), 0u);
  Reader r = Reader::open(path);
  EXPECT_FALSE(r.next().has_value());
}

TEST(Robustness, header_only_dat_file_is_handled) {
  const std::string header = "% Data file containing CD events\n% Version 2\n% end\n";
  const auto a = test::write_temp_file("h.dat", test::with_header(header, {}));
  ReadOptions o;
  o.format = "dat";
  EXPECT_THROW(read(a, o), FormatError);  // no type / size bytes
  const auto b = test::write_temp_file("h2.dat", test::with_header(header, {0x0C, 0x08}));
  const auto rec = read_or_error(b);
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->events.size(), 0u);
}

TEST(Robustness, unknown_format_is_unsupported_and_names_the_file) {
  const std::string text = "this is not an event file\n1 2 3\n";
  const auto path = test::write_temp_file("notes.txt", {text.begin(), text.end()});
  try {
    read(path);
    FAIL() << "no exception";
  } catch (const UnsupportedFormat& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  EXPECT_THROW(detect_format(path), UnsupportedFormat);
}

TEST_P(RobustnessFiles, unknown_format_option_is_unsupported) {
  ReadOptions o;
  o.format = "hdf5-of-the-future";
  EXPECT_THROW(read(recording(kEvt3), o), UnsupportedFormat);
}

TEST(Robustness, missing_file_is_io_error_naming_the_file) {
  const std::string path = test::temp_dir() + "/does-not-exist.raw";
  try {
    read(path);
    FAIL() << "no exception";
  } catch (const IoError& e) {
    EXPECT_EQ(e.path(), path);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_metadata(path), IoError);
  EXPECT_THROW(Reader::open(path), IoError);
  EXPECT_THROW(detect_format(path), IoError);
}

TEST(Robustness, directory_is_io_error) { EXPECT_THROW(read(test::temp_dir()), IoError); }

// ---- truncation ----

// Cutting a file inside its payload must give exactly the events of the complete words before
// the cut: a prefix of the full decode, plus the partial word counted as trailing bytes.
void check_truncations(const std::string& src, std::size_t word_bytes, std::size_t count, std::uint64_t seed) {
  const auto bytes = test::read_file(src);
  const Recording full = read(src);
  const std::size_t offset = full.metadata->data_offset;
  test::ScopedTempDir dir;
  const std::string ext = src.substr(src.rfind('.'));
  const std::string path = dir.file("cut" + ext);
  std::mt19937_64 rng(seed);
  std::vector<std::size_t> cuts;
  for (std::size_t c = 0; c <= offset + 2 * word_bytes + 2 && c < bytes.size(); ++c) cuts.push_back(c);
  std::uniform_int_distribution<std::size_t> pick(offset, bytes.size() - 1);
  while (cuts.size() < count) cuts.push_back(pick(rng));
  std::size_t prefix_failures = 0, errors_in_payload = 0;
  for (std::size_t cut : cuts) {
    test::write_file(path, {bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut)});
    const auto rec = read_or_error(path);
    if (cut < offset) continue;  // header cut: any evlib::Error or result is acceptable
    if (!rec) {
      ++errors_in_payload;  // the header is complete: a cut payload must decode
      continue;
    }
    const std::size_t n = rec->events.size();
    const bool prefix = n <= full.events.size() && test::same_events(rec->events, full.events.slice(0, n));
    if (!prefix && ++prefix_failures <= 5) ADD_FAILURE() << src << " cut at " << cut << ": not a prefix of the full decode";
    EXPECT_EQ(rec->stats.trailing_bytes, (cut - offset) % word_bytes) << src << " cut at " << cut;
  }
  EXPECT_EQ(prefix_failures, 0u);
  EXPECT_EQ(errors_in_payload, 0u);
}

TEST_P(RobustnessFiles, truncated_evt3_gives_a_prefix_of_the_events) { check_truncations(recording(kEvt3), 2, 600, 1); }
TEST_P(RobustnessFiles, truncated_evt2_gives_a_prefix_of_the_events) { check_truncations(recording(kEvt2), 4, 300, 2); }
TEST_P(RobustnessFiles, truncated_dat_gives_a_prefix_of_the_events) { check_truncations(recording(kDat), 8, 600, 3); }

TEST_P(RobustnessFiles, truncated_file_in_strict_mode_reports_the_partial_word) {
  const auto bytes = test::read_file(recording(kEvt3));
  const auto path = test::write_temp_file("odd.raw", {bytes.begin(), bytes.end() - 1});
  ReadOptions strict;
  strict.strict = true;
  try {
    read(path, strict);
    FAIL() << "no exception";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.offset(), bytes.size() - 2);
  }
}

// ---- a file that shrinks while it is read ----

TEST(Robustness, a_file_that_shrinks_during_a_read_is_an_io_error_naming_both_sizes) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("shrinks.bin");
  constexpr std::size_t kWindow = std::size_t{1} << 16;
  test::write_file(path, std::vector<std::uint8_t>(4 * kWindow, 0x5A));
  detail::ByteSource source(path, 0, kWindow);
  EXPECT_EQ(source.next().size(), kWindow);
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(kWindow + kWindow / 2)), 0);
  try {
    source.next();
    FAIL() << "no exception";
  } catch (const IoError& e) {
    EXPECT_EQ(e.path(), path);
    EXPECT_NE(std::string(e.what()).find("shrank"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(std::to_string(4 * kWindow) + " bytes expected, " +
                                         std::to_string(kWindow + kWindow / 2) + " now"),
              std::string::npos)
        << e.what();
  }
  // A source opened after the cut but asked for bytes an earlier open saw (a parallel piece,
  // an index segment) finds them gone.
  detail::ByteSource late(path, kWindow, kWindow);
  late.set_end(3 * kWindow);
  EXPECT_EQ(late.next().size(), kWindow / 2);
  EXPECT_THROW(late.next(), IoError);
  // A file that grows meanwhile is read up to its size at open, without complaint.
  test::write_file(path, std::vector<std::uint8_t>(2 * kWindow, 0x5A));
  detail::ByteSource growing(path, 0, kWindow);
  test::write_file(path, std::vector<std::uint8_t>(3 * kWindow, 0x5A));
  std::size_t total = 0;
  for (auto w = growing.next(); !w.empty(); w = growing.next()) total += w.size();
  EXPECT_EQ(total, 2 * kWindow);
}

// ---- garbage ----

TEST(Robustness, garbage_files_never_crash) {
  test::ScopedTempDir dir;
  std::mt19937_64 rng(42);
  std::size_t decoded = 0;
  for (int k = 0; k < 120; ++k) {
    std::vector<std::uint8_t> bytes(1 + rng() % 20000);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    static const char* names[] = {"g.raw", "g.dat", "g.bin", "g"};
    const std::string path = dir.file(names[k % 4]);
    test::write_file(path, bytes);
    const auto rec = read_or_error(path);
    decoded += rec.has_value();
    if (rec) EXPECT_LE(rec->events.size(), bytes.size() * 6);
    for (const char* format : {"evt3", "evt2", "evt21", "dat"}) {
      ReadOptions o;
      o.format = format;
      // Forced decoders on garbage: an evlib::Error or a bounded result, nothing else.
      const auto forced = read_or_error(path, o);
      if (forced) EXPECT_LE(forced->events.size(), bytes.size() * 6) << format;
    }
  }
  RecordProperty("decoded_without_error", static_cast<int>(decoded));
}

TEST(Robustness, garbage_after_valid_headers_is_counted_not_thrown) {
  test::ScopedTempDir dir;
  std::mt19937_64 rng(43);
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"g3.raw", kEvt3Header},
      {"g2.raw", "% evt 2.0\n% format EVT2;height=480;width=640\n% end\n"},
      {"g21.raw", "% format EVT21;endianness=little;height=720;width=1280\n% end\n"},
      {"g21l.raw", "% format EVT21;endianness=legacy;height=720;width=1280\n% end\n"},
  };
  for (int k = 0; k < 40; ++k) {
    for (const auto& [name, header] : headers) {
      std::vector<std::uint8_t> payload(4096 + rng() % 4096);
      for (auto& b : payload) b = static_cast<std::uint8_t>(rng());
      const std::string path = dir.file(name);
      test::write_file(path, test::with_header(header, payload));
      std::string what;
      const auto rec = read_or_error(path, {}, &what);
      ASSERT_TRUE(rec.has_value()) << name << ": " << what;
      EXPECT_GT(rec->stats.corrupt() + rec->stats.before_first_time_high, 0u) << name;
      EXPECT_LE(rec->events.size(), payload.size() * 6);  // at most 12 events per 16-bit word
      if (k < 5) expect_stream_agrees(path, rec);
    }
  }
}

// ---- bit flips ----

void check_bit_flips(const std::string& src, int variants, std::uint64_t seed) {
  const auto original = test::read_file(src);
  const std::size_t offset = read_metadata(src).data_offset;
  test::ScopedTempDir dir;
  const std::string path = dir.file("flipped" + src.substr(src.rfind('.')));
  std::mt19937_64 rng(seed);
  std::size_t payload_only_errors = 0, strict_dirty = 0;
  for (int v = 0; v < variants; ++v) {
    auto bytes = original;
    const int flips = 1 + static_cast<int>(rng() % 8);
    bool header_touched = false;
    for (int f = 0; f < flips; ++f) {
      // One variant in four may also hit the header; the rest stay in the payload.
      const std::size_t lo = (v % 4 == 0) ? 0 : offset;
      const std::size_t pos = lo + rng() % (bytes.size() - lo);
      header_touched |= pos < offset;
      bytes[pos] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
    }
    test::write_file(path, bytes);
    std::string what;
    const auto rec = read_or_error(path, {}, &what);
    if (!rec && !header_touched && ++payload_only_errors <= 3) {
      ADD_FAILURE() << src << " variant " << v << ": payload-only corruption threw: " << what;
    }
    if (rec) {
      EXPECT_LE(rec->events.size(), (bytes.size() - std::min<std::size_t>(offset, bytes.size())) * 6);
    }
    if (v % 10 == 0) expect_stream_agrees(path, rec);
    // Strict mode: either a FormatError (or other evlib::Error), or a result with no corruption.
    ReadOptions strict;
    strict.strict = true;
    const auto srec = read_or_error(path, strict);
    if (srec && srec->stats.corrupt() != 0) ++strict_dirty;
  }
  EXPECT_EQ(payload_only_errors, 0u);
  EXPECT_EQ(strict_dirty, 0u) << "strict mode returned corrupt data without throwing";
}

TEST_P(RobustnessFiles, bit_flipped_evt3_never_crashes) { check_bit_flips(recording(kEvt3), 200, 100); }
TEST_P(RobustnessFiles, bit_flipped_evt2_never_crashes) { check_bit_flips(recording(kEvt2), 200, 200); }
TEST_P(RobustnessFiles, bit_flipped_dat_never_crashes) { check_bit_flips(recording(kDat), 200, 300); }

// ---- strict mode ----

TEST_P(StrictModeFiles, corrupt_evt3_word_throws_format_error_at_its_offset) {
  auto bytes = test::read_file(recording(kEvt3));
  const std::size_t offset = read_metadata(recording(kEvt3)).data_offset;
  // Replace word 1000 of the payload by a reserved type (0x9).
  const std::size_t at = offset + 2 * 1000;
  bytes[at] = 0x00;
  bytes[at + 1] = 0x90;
  const auto path = test::write_temp_file("corrupt.raw", bytes);
  ReadOptions strict;
  strict.strict = true;
  try {
    read(path, strict);
    FAIL() << "no exception";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.offset(), at);
    EXPECT_EQ(e.path(), path);
    EXPECT_NE(std::string(e.what()).find(std::to_string(at)), std::string::npos) << e.what();
  }
  // Lenient mode: decoded, counted, with the same offset.
  const Recording rec = read(path);
  EXPECT_EQ(rec.stats.unknown_words, 1u);
  EXPECT_EQ(rec.stats.first_error_offset, at);
  EXPECT_GE(rec.events.size(), 4990u);
}

TEST_P(StrictModeFiles, first_of_several_corruptions_is_reported) {
  auto bytes = test::read_file(recording(kEvt3));
  const std::size_t offset = read_metadata(recording(kEvt3)).data_offset, words = (bytes.size() - offset) / 2;
  const std::size_t first = offset + 2 * (words / 6 + 1), second = offset + 2 * (words / 2);
  for (std::size_t at : {second, first}) {
    bytes[at] = 0x00;
    bytes[at + 1] = 0xF0;  // CONTINUED_12 with no OTHERS
  }
  const auto path = test::write_temp_file("corrupt2.raw", bytes);
  ReadOptions strict;
  strict.strict = true;
  strict.chunk_events = 256;
  try {
    Reader r = Reader::open(path, strict);
    while (r.next()) {
    }
    FAIL() << "no exception";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.offset(), first);
  }
}

TEST(StrictMode, out_of_bounds_evt3_event_throws_at_its_word) {
  const auto path = test::write_temp_file(
      "oob.raw", test::with_header(kEvt3Header, test::le16_bytes({0x8001, 0x6000, 0x0005, 0x2000 | 12, 0x2000 | 1500})));
  ReadOptions strict;
  strict.strict = true;
  try {
    read(path, strict);
    FAIL() << "no exception";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.offset(), std::string(kEvt3Header).size() + 8);
  }
}

// A group cut short is corruption (DecodeStats::partial_groups): strict mode must say where.
TEST(StrictMode, partial_evt3_others_group_reports_its_offset) {
  const std::size_t h = std::string(kEvt3Header).size();
  const auto path = test::write_temp_file(
      "partial.raw", test::with_header(kEvt3Header, test::le16_bytes({0x8001, 0x6000, 0x0005, 0x2000 | 12, 0xE014, 0xF001})));
  ReadOptions strict;
  strict.strict = true;
  try {
    read(path, strict);
    FAIL() << "no exception";
  } catch (const FormatError& e) {
    EXPECT_NE(e.offset(), FormatError::kNoOffset) << e.what();
    EXPECT_GE(e.offset(), h + 8) << e.what();  // at or after the OTHERS word
    EXPECT_FALSE(e.detail().empty() || e.detail() == " (strict mode)") << e.what();
  }
}

TEST(StrictMode, partial_evt2_imu_group_reports_its_offset) {
  const std::string header = "% evt 2.0\n% format EVT2;height=480;width=640\n% end\n";
  // TH, IMU word, two of its five CONTINUED words, then a CD event.
  const auto path = test::write_temp_file(
      "imu.raw", test::with_header(header, test::le32_bytes({0x80000001u, 0xD0000000u, 0xF0000000u, 0xF0000000u, 0x10000000u | 5u << 11 | 6u})));
  ReadOptions strict;
  strict.strict = true;
  try {
    read(path, strict);
    FAIL() << "no exception";
  } catch (const FormatError& e) {
    EXPECT_NE(e.offset(), FormatError::kNoOffset) << e.what();
    EXPECT_GE(e.offset(), header.size() + 4) << e.what();
  }
  EXPECT_EQ(read(path).stats.partial_groups, 1u);
}

TEST_P(StrictModeFiles, clean_recordings_pass) {
  ReadOptions strict;
  strict.strict = true;
  EXPECT_EQ(read(recording(kEvt3), strict).events.size(), 5000u);
  EXPECT_EQ(read(recording(kEvt2), strict).events.size(), 539481u);
  EXPECT_EQ(read(recording(kDat), strict).events.size(), 4407u);
}

}  // namespace
}  // namespace evlib
