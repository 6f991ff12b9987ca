// NumPy .npy / .npz (docs/formats.md 13): the spec vector, dtypes and layouts, the real expelliarmus
// arrays (test data), malformed files, chunking and window invariance, and the writers checked
// by numpy itself (/usr/bin/python3).
#include <gtest/gtest.h>

#include <cmath>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "evlib/digest.hpp"
#include "evlib/error.hpp"
#include "evlib/reader.hpp"
#include "evlib/synth.hpp"
#include "evlib/writer.hpp"
#include "formats/numpy/npy.hpp"
#include "io/atomic_file.hpp"
#include "io/byte_source.hpp"
#include "support/decode_harness.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

using test::Ev;

const std::string kNcarsNpy = "npy/NCARS_obj_004397_td.expelliarmus.npy";
const std::string kNcarsDat = "dat/NCARS_obj_004397_td.dat";
const std::string kPedNpy = "npy/evt3_test_pedestrians.expelliarmus.npy";
const std::string kPedRaw = "evt3/evt3_test_pedestrians.raw";

// ---- building .npy bytes ----

// A .npy file: preamble of `major`, the dict padded with spaces to `data_at` (0: next multiple of 64).
std::vector<std::uint8_t> npy_bytes(const std::string& descr, const std::string& shape, const std::vector<std::uint8_t>& data,
                                    bool fortran = false, int major = 1, std::size_t data_at = 0) {
  std::string dict = "{'descr': " + descr + ", 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape + ", }";
  const std::size_t pre = major == 1 ? 10 : 12;
  if (data_at == 0) data_at = (pre + dict.size() + 1 + 63) / 64 * 64;
  dict.resize(data_at - pre - 1, ' ');
  dict += '\n';
  std::vector<std::uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<std::uint8_t>(major), 0};
  const std::size_t hl = dict.size();
  out.push_back(static_cast<std::uint8_t>(hl));
  out.push_back(static_cast<std::uint8_t>(hl >> 8));
  if (major != 1) {
    out.push_back(static_cast<std::uint8_t>(hl >> 16));
    out.push_back(static_cast<std::uint8_t>(hl >> 24));
  }
  for (const char c : dict) out.push_back(static_cast<std::uint8_t>(c));  // (insert: a false -Wstringop-overflow)
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// Record bytes, field by field.
struct Bytes {
  std::vector<std::uint8_t> b;
  template <class T>
  Bytes& le(T v) {
    std::uint8_t raw[sizeof(T)];
    std::memcpy(raw, &v, sizeof v);
    b.insert(b.end(), raw, raw + sizeof v);
    return *this;
  }
  template <class T>
  Bytes& be(T v) {
    std::uint8_t raw[sizeof(T)];
    std::memcpy(raw, &v, sizeof v);
    for (std::size_t i = sizeof v; i-- > 0;) b.push_back(raw[i]);
    return *this;
  }
  Bytes& pad(std::size_t n) {
    b.insert(b.end(), n, 0);
    return *this;
  }
};

std::string file_of(const test::ScopedTempDir& dir, const std::string& name, const std::vector<std::uint8_t>& bytes) {
  test::write_file(dir.file(name), bytes);
  return dir.file(name);
}

Recording read_npy(const std::vector<std::uint8_t>& bytes, ReadOptions options = {}) {
  test::ScopedTempDir dir;
  return read(file_of(dir, "a.npy", bytes), options);
}

// ---- python / numpy ----

bool have_numpy() {
  static const bool ok = test::run_command("/usr/bin/python3 -c 'import numpy'") == 0;
  return ok;
}

// Runs a python script (numpy imported as np, hashlib available, `dig(t, x, y, p)` = evlib's digest
// of the columns); returns its exit status and stdout.
int python(const std::string& script, std::string* out = nullptr) {
  test::ScopedTempDir dir;
  const std::string prelude =
      "import sys, hashlib, numpy as np\n"
      "def dig(t, x, y, p):\n"
      "    r = np.zeros(len(t), dtype=[('t', '<i8'), ('x', '<u2'), ('y', '<u2'), ('p', 'u1')])\n"
      "    r['t'] = t; r['x'] = x; r['y'] = y; r['p'] = p\n"
      "    return hashlib.sha256(r.tobytes()).hexdigest()\n";
  const std::string code = prelude + script + "\n";
  test::write_file(dir.file("s.py"), {code.begin(), code.end()});
  std::string err;
  const int rc = test::run_command("/usr/bin/python3 " + dir.file("s.py"), out, &err);
  if (rc != 0) ADD_FAILURE() << "python failed: " << err;
  return rc;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

EventBatch scene(std::size_t n, std::int64_t t_start = 0) {
  SceneOptions so;
  so.t_start = t_start;
  SceneGenerator gen(so);
  EventBatch events = EventBatch::with_capacity(n);
  TriggerBatch triggers;
  gen.generate(events, triggers, n);
  return events;
}

// All events through a reader whose ByteSource has `window`-byte windows (records straddle them).
std::vector<Ev> read_with_window(const std::string& path, std::size_t window, DecodeStats* stats = nullptr) {
  auto source = std::make_unique<detail::ByteSource>(path, 0, window);
  const auto prefix = source->prefix(detail::kPrefixBytes);
  Metadata meta;
  auto reader = detail::open_npy(std::move(source), prefix, {}, meta);
  EventBatch batch = EventBatch::with_capacity(257);
  TriggerBatch triggers;
  std::vector<Ev> out;
  for (bool more = true; more;) {
    batch.set_size(0);
    more = reader->fill(batch, triggers);
    const auto ev = test::events_of(batch);
    out.insert(out.end(), ev.begin(), ev.end());
  }
  if (stats != nullptr) *stats = reader->stats();
  return out;
}

// ---- docs/formats.md 13 vectors ----

TEST(NpySpec, metavision_cd_array_vector_13) {
  const std::string descr = "[('x', '<u2'), ('y', '<u2'), ('p', '<i2'), ('', '|V2'), ('t', '<i8')]";
  const auto bytes = npy_bytes(descr, "(1,)", test::hex_bytes("05 00 07 00 01 00 00 00 E8 03 00 00 00 00 00 00"), false, 1, 192);
  EXPECT_EQ(bytes[8] | bytes[9] << 8, 182);
  const Recording rec = read_npy(bytes);
  EXPECT_EQ(test::events_of(rec.events), (std::vector<Ev>{{1000, 5, 7, 1}}));
  EXPECT_EQ(rec.metadata->format, "npy");
  EXPECT_EQ(rec.metadata->data_offset, 192u);
  EXPECT_EQ(*rec.metadata->header_value("descr"), descr);
}

TEST(NpySpec, expelliarmus_header_vector_13) {
  EVLIB_REQUIRE_RECORDINGS(kPedNpy);
  const Metadata m = read_metadata(test::shared_data(kPedNpy));
  EXPECT_EQ(m.data_offset, 128u);  // 10 + header length 118
  EXPECT_EQ(*m.header_value("shape"), "(5000,)");
  EXPECT_EQ(*m.header_value("npy_version"), "1.0");
}

TEST(NpySpec, versions_2_and_3_have_a_32_bit_header_length) {
  const auto data = Bytes{}.le<std::int64_t>(42).le<std::uint16_t>(3).le<std::uint16_t>(4).le<std::uint8_t>(1).b;
  const std::string descr = "[('t', '<i8'), ('x', '<u2'), ('y', '<u2'), ('p', '|u1')]";
  for (int major : {2, 3}) {
    const Recording rec = read_npy(npy_bytes(descr, "(1,)", data, false, major));
    EXPECT_EQ(test::events_of(rec.events), (std::vector<Ev>{{42, 3, 4, 1}})) << major;
  }
}

TEST(NpySpec, python2_long_shape_and_double_quotes) {
  const auto data = Bytes{}.le<std::int64_t>(42).le<std::uint16_t>(3).le<std::uint16_t>(4).le<std::uint8_t>(0).b;
  const Recording rec = read_npy(npy_bytes("[(\"t\", \"<i8\"), ('x', '<u2'), ('y', '<u2'), ('p', '|u1')]", "(1L,)", data));
  EXPECT_EQ(test::events_of(rec.events), (std::vector<Ev>{{42, 3, 4, 0}}));
}

// ---- dtypes ----

TEST(NpyTypes, fields_are_found_by_name_in_any_order_with_padding) {
  // tonic DVSGesture order (x, y, p, t), bool polarity, packed.
  const auto data = Bytes{}.le<std::int16_t>(9).le<std::int16_t>(8).le<std::uint8_t>(1).le<std::int64_t>(77).b;
  EXPECT_EQ(test::events_of(read_npy(npy_bytes("[('x', '<i2'), ('y', '<i2'), ('p', '|b1'), ('t', '<i8')]", "(1,)", data)).events),
            (std::vector<Ev>{{77, 9, 8, 1}}));
  // expelliarmus: t, x, y, p then 3 padding bytes; names ts / polarity.
  const auto padded = Bytes{}.le<std::int64_t>(5).le<std::int16_t>(1).le<std::int16_t>(2).le<std::uint8_t>(1).pad(3).b;
  EXPECT_EQ(test::events_of(read_npy(npy_bytes("[('ts', '<i8'), ('x', '<i2'), ('y', '<i2'), ('polarity', '|u1'), ('', '|V3')]", "(1,)", padded)).events),
            (std::vector<Ev>{{5, 1, 2, 1}}));
  // An unrelated leading field and "on" for polarity.
  const auto other = Bytes{}.le<float>(1.5f).le<std::uint32_t>(6).le<std::uint32_t>(7).le<std::uint64_t>(8).le<std::int8_t>(-1).b;
  EXPECT_EQ(test::events_of(read_npy(npy_bytes("[('w', '<f4'), ('x', '<u4'), ('y', '<u4'), ('timestamp', '<u8'), ('on', '|i1')]", "(1,)", other)).events),
            (std::vector<Ev>{{8, 6, 7, 0}}));
}

TEST(NpyTypes, direct_layouts_normalise_polarity_and_drop_negative_coordinates) {
  Bytes u;  // the layout evlib writes, with polarity bytes other than 0/1
  for (std::uint8_t p : {0, 1, 2, 200}) u.le<std::int64_t>(p).le<std::uint16_t>(65535).le<std::uint16_t>(0).le<std::uint8_t>(p);
  EXPECT_EQ(test::events_of(read_npy(npy_bytes("[('t', '<i8'), ('x', '<u2'), ('y', '<u2'), ('p', '|u1')]", "(4,)", u.b)).events),
            (std::vector<Ev>{{0, 65535, 0, 0}, {1, 65535, 0, 1}, {2, 65535, 0, 1}, {200, 65535, 0, 1}}));
  Bytes s;  // signed coordinates and polarity
  s.le<std::int64_t>(1).le<std::int16_t>(-1).le<std::int16_t>(0).le<std::int8_t>(1);
  s.le<std::int64_t>(2).le<std::int16_t>(3).le<std::int16_t>(4).le<std::int8_t>(-1);
  s.le<std::int64_t>(3).le<std::int16_t>(32767).le<std::int16_t>(4).le<std::int8_t>(100);
  const Recording rec = read_npy(npy_bytes("[('t', '<i8'), ('x', '<i2'), ('y', '<i2'), ('p', '|i1')]", "(3,)", s.b));
  EXPECT_EQ(test::events_of(rec.events), (std::vector<Ev>{{2, 3, 4, 0}, {3, 32767, 4, 1}}));
  EXPECT_EQ(rec.stats.out_of_bounds, 1u);
}

TEST(NpyTypes, big_endian_fields) {
  const auto data = Bytes{}.be<std::int64_t>(0x0102030405LL).be<std::uint16_t>(300).be<std::int32_t>(200).le<std::uint8_t>(1).b;
  EXPECT_EQ(test::events_of(read_npy(npy_bytes("[('t', '>i8'), ('x', '>u2'), ('y', '>i4'), ('p', '|b1')]", "(1,)", data)).events),
            (std::vector<Ev>{{0x0102030405LL, 300, 200, 1}}));
  const auto floats = Bytes{}.be<double>(0.003811).be<float>(5.0f).be<float>(6.0f).be<std::int16_t>(-1).b;
  EXPECT_EQ(test::events_of(read_npy(npy_bytes("[('t', '>f8'), ('x', '>f4'), ('y', '>f4'), ('p', '>i2')]", "(1,)", floats)).events),
            (std::vector<Ev>{{3811, 5, 6, 0}}));
}

TEST(NpyTypes, float_time_is_seconds_rounded_to_nearest) {
  Bytes b;
  for (double t : {0.003811, 0.0038205, 1.9999995, 1700000000.5}) b.le<double>(t).le<std::uint16_t>(1).le<std::uint16_t>(2).le<std::uint8_t>(1);
  EXPECT_EQ(test::events_of(read_npy(npy_bytes("[('t', '<f8'), ('x', '<u2'), ('y', '<u2'), ('p', '|u1')]", "(4,)", b.b)).events),
            (std::vector<Ev>{{3811, 1, 2, 1}, {3821, 1, 2, 1}, {2000000, 1, 2, 1}, {1700000000500000, 1, 2, 1}}));
}

TEST(NpyTypes, datetime_fields_use_their_own_unit) {
  const auto data = Bytes{}.le<std::int64_t>(1500).le<std::uint16_t>(1).le<std::uint16_t>(2).le<std::uint8_t>(1).b;
  EXPECT_EQ(test::events_of(read_npy(npy_bytes("[('t', '<m8[ns]'), ('x', '<u2'), ('y', '<u2'), ('p', '|u1')]", "(1,)", data)).events),
            (std::vector<Ev>{{2, 1, 2, 1}}));
  EXPECT_EQ(test::events_of(read_npy(npy_bytes("[('t', '<M8[ms]'), ('x', '<u2'), ('y', '<u2'), ('p', '|u1')]", "(1,)", data)).events),
            (std::vector<Ev>{{1500000, 1, 2, 1}}));
}

TEST(NpyTypes, explicit_time_unit_overrides_the_default) {
  const auto data = Bytes{}.le<std::int32_t>(12).le<std::uint16_t>(1).le<std::uint16_t>(2).le<std::uint8_t>(1).b;
  ReadOptions o;
  o.text_time_unit = "ms";
  EXPECT_EQ(test::events_of(read_npy(npy_bytes("[('t', '<i4'), ('x', '<u2'), ('y', '<u2'), ('p', '|u1')]", "(1,)", data), o).events),
            (std::vector<Ev>{{12000, 1, 2, 1}}));
}

TEST(NpyTypes, unusable_values_are_dropped_and_counted) {
  Bytes b;
  b.le<std::uint64_t>(~std::uint64_t{0}).le<float>(1).le<float>(2).le<std::uint8_t>(1);     // t beyond int64
  b.le<std::uint64_t>(10).le<float>(-1).le<float>(2).le<std::uint8_t>(1);                   // negative x
  b.le<std::uint64_t>(11).le<float>(std::numeric_limits<float>::quiet_NaN()).le<float>(2).le<std::uint8_t>(1);  // NaN x
  b.le<std::uint64_t>(12).le<float>(65536).le<float>(2).le<std::uint8_t>(1);                // x too large
  b.le<std::uint64_t>(13).le<float>(3.7f).le<float>(2).le<std::uint8_t>(1);                 // truncated to 3
  const Recording rec = read_npy(npy_bytes("[('t', '<u8'), ('x', '<f4'), ('y', '<f4'), ('p', '|u1')]", "(5,)", b.b));
  EXPECT_EQ(test::events_of(rec.events), (std::vector<Ev>{{13, 3, 2, 1}}));
  EXPECT_EQ(rec.stats.unknown_words, 1u);
  EXPECT_EQ(rec.stats.out_of_bounds, 3u);
  EXPECT_EQ(rec.stats.first_error_offset, rec.metadata->data_offset);  // the first record
}

TEST(NpyTypes, geometry_option_bounds_coordinates) {
  const auto data = Bytes{}.le<std::int64_t>(1).le<std::uint16_t>(5).le<std::uint16_t>(5).le<std::uint8_t>(1)
                        .le<std::int64_t>(2).le<std::uint16_t>(50).le<std::uint16_t>(5).le<std::uint8_t>(1).b;
  ReadOptions o;
  o.width = 10;
  o.height = 10;
  const Recording rec = read_npy(npy_bytes("[('t', '<i8'), ('x', '<u2'), ('y', '<u2'), ('p', '|u1')]", "(2,)", data), o);
  EXPECT_EQ(test::events_of(rec.events), (std::vector<Ev>{{1, 5, 5, 1}}));
  EXPECT_EQ(rec.stats.out_of_bounds, 1u);
  EXPECT_EQ(rec.metadata->width, 10u);
}

// ---- plain 2-D arrays ----

TEST(NpyPlain, c_order_n_by_4_float_seconds) {
  Bytes b;
  for (double v : {0.5, 1.0, 2.0, 1.0, 0.75, 3.0, 4.0, -1.0}) b.le<double>(v);
  EXPECT_EQ(test::events_of(read_npy(npy_bytes("'<f8'", "(2, 4)", b.b)).events),
            (std::vector<Ev>{{500000, 1, 2, 1}, {750000, 3, 4, 0}}));
}

// A plain (N, 4) array holds N records, not 4 N: a clean one counts no damage, and one row with
// an unusable time (NaN) is counted once, for that row.
TEST(NpyPlain, n_by_4_array_counts_each_bad_row_once_and_a_clean_one_none) {
  Bytes clean, one_nan;
  for (double v : {0.5, 1.0, 2.0, 1.0, 0.75, 3.0, 4.0, -1.0, 1.0, 5.0, 6.0, 1.0}) clean.le<double>(v);
  for (double v : {0.5, 1.0, 2.0, 1.0, std::nan(""), 3.0, 4.0, -1.0, 1.0, 5.0, 6.0, 1.0}) one_nan.le<double>(v);
  const Recording ok = read_npy(npy_bytes("'<f8'", "(3, 4)", clean.b));
  EXPECT_EQ(ok.events.size(), 3u);
  EXPECT_EQ(ok.stats.corrupt(), 0u) << ok.stats.first_error;
  const Recording bad = read_npy(npy_bytes("'<f8'", "(3, 4)", one_nan.b));
  EXPECT_EQ(test::events_of(bad.events), (std::vector<Ev>{{500000, 1, 2, 1}, {1000000, 5, 6, 1}}));
  EXPECT_EQ(bad.stats.unknown_words, 1u);
  EXPECT_EQ(bad.stats.corrupt(), 1u) << bad.stats.first_error;
  EXPECT_EQ(bad.stats.words, 3u);
}

TEST(NpyPlain, fortran_order_columns) {
  Bytes b;  // columns t, x, y, p of 3 events, each contiguous
  for (std::int32_t v : {10, 20, 30, 1, 2, 3, 4, 5, 6, 1, 0, 1}) b.le<std::int32_t>(v);
  EXPECT_EQ(test::events_of(read_npy(npy_bytes("'<i4'", "(3, 4)", b.b, true)).events),
            (std::vector<Ev>{{10, 1, 4, 1}, {20, 2, 5, 0}, {30, 3, 6, 1}}));
}

TEST(NpyPlain, column_order_and_unit_options_read_tonic_xypt_milliseconds) {
  Bytes b;
  for (std::int64_t v : {7, 8, 1, 12, 9, 9, 0, 13, 99}) b.le<std::int64_t>(v);
  ReadOptions o;
  o.text_columns = "xypt";
  o.text_time_unit = "ms";
  // (3, 3) cannot hold four columns; (2, 4) read as x, y, p, t in ms.
  EXPECT_THROW(read_npy(npy_bytes("'<i8'", "(3, 3)", b.b), o), FormatError);
  std::vector<std::uint8_t> two(b.b.begin(), b.b.begin() + 64);
  EXPECT_EQ(test::events_of(read_npy(npy_bytes("'<i8'", "(2, 4)", two), o).events),
            (std::vector<Ev>{{12000, 7, 8, 1}, {13000, 9, 9, 0}}));
}

TEST(NpyPlain, shapes_that_are_not_event_tables_are_refused_clearly) {
  Bytes b;
  b.pad(4 * 100 * 8);
  try {
    read_npy(npy_bytes("'<i8'", "(4, 100)", b.b));
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(e.detail().find("transposed"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_npy(npy_bytes("'<i8'", "(100,)", b.b)), FormatError);
  EXPECT_THROW(read_npy(npy_bytes("'<U4'", "(2, 4)", b.b)), FormatError);
}

// ---- the real expelliarmus arrays (test data) ----

TEST(NpyReal, ncars_array_equals_the_dat_decode_field_by_field) {
  EVLIB_REQUIRE_RECORDINGS(kNcarsNpy, kNcarsDat);
  const Recording npy = read(test::shared_data(kNcarsNpy));
  const Recording dat = read(test::shared_data(kNcarsDat));
  ASSERT_EQ(npy.events.size(), 4407u);
  EXPECT_EQ(test::events_of(npy.events), test::events_of(dat.events));
  EXPECT_EQ(digest(npy.events), digest(dat.events));
  EXPECT_EQ(test::events_of(npy.events.slice(0, 3)), (std::vector<Ev>{{0, 6, 18, 1}, {66, 42, 35, 0}, {89, 38, 19, 0}}));
  EXPECT_EQ(test::events_of(npy.events.slice(4406, 4407)), (std::vector<Ev>{{99937, 48, 47, 1}}));
  EXPECT_EQ(npy.stats.corrupt(), 0u);
}

TEST(NpyReal, pedestrians_array_xyp_equal_the_evt3_decode_and_t_only_for_46_rows) {
  EVLIB_REQUIRE_RECORDINGS(kPedNpy, kPedRaw);
  const Recording npy = read(test::shared_data(kPedNpy));
  const Recording raw = read(test::shared_data(kPedRaw));
  ASSERT_EQ(npy.events.size(), 5000u);
  ASSERT_EQ(raw.events.size(), 5000u);
  for (std::size_t i = 0; i < 5000; ++i) {
    ASSERT_EQ(npy.events.x()[i], raw.events.x()[i]) << i;
    ASSERT_EQ(npy.events.y()[i], raw.events.y()[i]) << i;
    ASSERT_EQ(npy.events.p()[i], raw.events.p()[i]) << i;
    if (i < 46) ASSERT_EQ(npy.events.t()[i], raw.events.t()[i]) << i;
  }
  EXPECT_EQ(npy.events.t()[0], 5840504);
  EXPECT_EQ(npy.events.t()[4999], 5930770);  // expelliarmus' extra 4096 µs per TIME_LOW wrap (docs/formats.md 4.4)
}

TEST(NpyReal, arrays_are_detected_by_content) {
  EVLIB_REQUIRE_RECORDINGS(kNcarsNpy);
  EXPECT_EQ(detect_format(test::shared_data(kNcarsNpy)), "npy");
}

// ---- malformed files ----

// On a synthetic stand-in of the real N-CARS array and on the real one.
class NpyFiles : public test::RecordingsTest {
 protected:
  NpyFiles() : RecordingsTest({kNcarsNpy}) {}
};
EVLIB_INSTANTIATE_ON_RECORDINGS(NpyFiles);

TEST_P(NpyFiles, truncated_array_is_counted_in_lenient_mode_and_raised_in_strict_mode) {
  auto bytes = test::read_file(recording(kNcarsNpy));
  const std::size_t offset = read_metadata(recording(kNcarsNpy)).data_offset;
  if (real()) EXPECT_EQ(offset, 128u);
  bytes.resize(offset + 13 * 100 + 5);  // 100 records and 5 bytes of the next
  test::ScopedTempDir dir;
  const auto path = file_of(dir, "cut.npy", bytes);
  const Recording rec = read(path);
  EXPECT_EQ(rec.events.size(), 100u);
  EXPECT_EQ(rec.stats.trailing_bytes, 5u);
  EXPECT_EQ(rec.stats.unknown_words, 1u);
  EXPECT_EQ(rec.stats.first_error_offset, offset + 1300u);
  EXPECT_NE(rec.stats.first_error.find("100 of 4407"), std::string::npos) << rec.stats.first_error;
  ReadOptions strict;
  strict.strict = true;
  EXPECT_THROW(read(path, strict), FormatError);
}

TEST(NpyMalformed, broken_headers_are_format_errors_with_offsets) {
  const std::string ok = "[('t', '<i8'), ('x', '<u2'), ('y', '<u2'), ('p', '|u1')]";
  const auto data = Bytes{}.pad(13).b;
  auto expect_error = [&](const std::vector<std::uint8_t>& bytes, const std::string& what) {
    ReadOptions o;
    o.format = "npy";
    try {
      read_npy(bytes, o);
      ADD_FAILURE() << "no error for " << what;
    } catch (const FormatError& e) {
      EXPECT_NE(e.offset(), FormatError::kNoOffset) << what;
      EXPECT_FALSE(e.detail().empty()) << what;
    } catch (const std::exception& e) {
      ADD_FAILURE() << what << ": unexpected exception " << e.what();
    }
  };
  auto bad_magic = npy_bytes(ok, "(1,)", data);
  bad_magic[1] = 'X';
  expect_error(bad_magic, "magic");
  auto bad_version = npy_bytes(ok, "(1,)", data);
  bad_version[6] = 4;
  expect_error(bad_version, "version");
  auto long_header = npy_bytes(ok, "(1,)", data, false, 2);
  long_header[10] = 0xFF, long_header[11] = 0xFF;
  expect_error(long_header, "header length");
  expect_error({0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 200}, "truncated preamble");
  expect_error(npy_bytes("[('t', '<i8'", "(1,)", data), "unterminated list");
  expect_error(npy_bytes(ok, "(-1,)", data), "negative shape");
  expect_error(npy_bytes(ok, "(1,", data), "unterminated tuple");
  expect_error(npy_bytes("[('t', '<i8'), ('x', '<u2'), ('y', '<u2')]", "(1,)", data), "missing p");
  expect_error(npy_bytes("[('t', '|O'), ('x', '<u2'), ('y', '<u2'), ('p', '|u1')]", "(1,)", data), "object dtype");
  expect_error(npy_bytes("[('t', '<i8'), ('x', '<u2'), ('y', '<u2'), ('p', '|u1')]", "(4611686018427387904, 4)", data),
               "overflowing size");
  std::string deep = "'<i8'";
  for (int i = 0; i < 40; ++i) deep = "[('a', " + deep + ")]";
  expect_error(npy_bytes(deep, "(1,)", data), "deep nesting");
}

TEST(NpyMalformed, missing_field_names_the_fields_found) {
  try {
    read_npy(npy_bytes("[('a', '<i8'), ('x', '<u2'), ('y', '<u2'), ('p', '|u1')]", "(0,)", {}));
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(e.detail().find("no t field"), std::string::npos) << e.what();
    EXPECT_NE(e.detail().find("fields: a, x, y, p"), std::string::npos) << e.what();
  }
}

TEST_P(NpyFiles, mutated_files_never_crash) {
  const auto good = test::read_file(recording(kNcarsNpy));
  std::uint64_t state = 99;
  for (int round = 0; round < 400; ++round) {
    auto bytes = std::vector<std::uint8_t>(good.begin(), good.begin() + 128 + 13 * 20);
    for (int k = 0; k < 4; ++k) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      bytes[(state >> 33) % 140] = static_cast<std::uint8_t>(state >> 13);
    }
    if (round % 7 == 0) bytes.resize((state >> 40) % bytes.size());
    ReadOptions o;
    o.format = "npy";
    o.strict = round % 2 == 0;
    try {
      const Recording rec = read_npy(bytes, o);
      for (std::size_t i = 0; i < rec.events.size(); ++i) ASSERT_LE(rec.events.p()[i], 1);
    } catch (const Error&) {
    }
  }
}

// ---- chunking and windows ----

TEST_P(NpyFiles, tiny_chunks_and_small_windows_give_the_whole_read) {
  const std::string path = recording(kNcarsNpy);
  const Recording whole = read(path);
  ReadOptions o;
  o.chunk_events = 1;
  Reader r = Reader::open(path, o);
  EventDigest d;
  while (auto c = r.next()) d.update(c->events);
  EXPECT_EQ(d.finish(), digest(whole.events));
  for (std::size_t window : {1u, 5u, 12u, 13u, 14u, 100u, 4096u}) {
    EXPECT_EQ(read_with_window(path, window), test::events_of(whole.events)) << window;
  }
}

TEST(NpyChunking, fortran_columns_with_small_windows) {
  Bytes b;
  const std::size_t n = 1000;
  for (std::size_t c = 0; c < 4; ++c) {
    for (std::size_t i = 0; i < n; ++i) b.le<std::int32_t>(static_cast<std::int32_t>(c == 0 ? i * 3 : c == 3 ? i % 2 : i % 640));
  }
  test::ScopedTempDir dir;
  const auto path = file_of(dir, "f.npy", npy_bytes("'<i4'", "(1000, 4)", b.b, true));
  const auto whole = test::events_of(read(path).events);
  ASSERT_EQ(whole.size(), n);
  EXPECT_EQ(whole[999], (Ev{2997, 999 % 640, 999 % 640, 1}));
  for (std::size_t window : {3u, 64u, 1000u}) EXPECT_EQ(read_with_window(path, window), whole) << window;
}

TEST(NpyChunking, fortran_columns_seek_by_the_index_with_every_column_moved_alike) {
  // Four column streams resume at the same record: windows through a cached index equal
  // decode-then-filter and decode only a few segments.
  Bytes b;
  const std::size_t n = 60'000;
  for (std::size_t c = 0; c < 4; ++c) {
    for (std::size_t i = 0; i < n; ++i) b.le<std::int32_t>(static_cast<std::int32_t>(c == 0 ? i * 3 : c == 3 ? i % 2 : i % 640));
  }
  test::ScopedTempDir dir;
  const auto path = file_of(dir, "f.npy", npy_bytes("'<i4'", "(60000, 4)", b.b, true));
  const EventBatch all = read(path).events;
  const std::string cache = dir.file("cache");
  test::index_by_a_first_pass(path, cache, 2048);
  ASSERT_EQ(test::list_dir(cache).size(), 1u) << "the first pass caches an index";
  for (const std::int64_t t0 : {std::int64_t{0}, std::int64_t{12'345}, std::int64_t{90'001}, std::int64_t{179'990}}) {
    const auto window = test::scan_window(path, cache, t0, t0 + 3'000, 2048);
    EXPECT_EQ(window.digest, digest(test::events_between(all, t0, t0 + 3'000))) << "[" << t0 << ", +3 ms)";
    EXPECT_LT(window.words * 4, n) << "decoded most of the file for [" << t0 << ", +3 ms)";
  }
}

// ---- .npz ----

TEST(Npz, numpy_savez_separate_members_stored_and_deflated) {
  if (!have_numpy()) GTEST_SKIP() << "numpy not available";
  test::ScopedTempDir dir;
  const std::string a = dir.file("a.npz"), b = dir.file("b.npz");
  ASSERT_EQ(python("t = np.arange(5000, dtype='<i8') * 7\n"
                   "x = (np.arange(5000) % 640).astype('<u2'); y = (np.arange(5000) % 480).astype('>i4')\n"
                   "p = np.arange(5000) % 3 == 0\n"
                   "np.savez('" + a + "', t=t, x=x, y=y, p=p)\n"
                   "np.savez_compressed('" + b + "', p=p, y=y, x=x, t=t)\n"
                   "print(dig(t, x, y, p))", nullptr), 0);
  std::string out;
  python("t = np.arange(5000, dtype='<i8') * 7; x = np.arange(5000) % 640; y = np.arange(5000) % 480; p = np.arange(5000) % 3 == 0\n"
         "print(dig(t, x, y, p))", &out);
  for (const auto& path : {a, b}) {
    const Recording rec = read(path);
    EXPECT_EQ(rec.metadata->format, "npz");
    EXPECT_EQ(rec.events.size(), 5000u);
    EXPECT_EQ(digest(rec.events), trimmed(out)) << path;
    EXPECT_EQ(rec.stats.corrupt(), 0u);
  }
}

TEST(Npz, structured_events_or_data_member) {
  if (!have_numpy()) GTEST_SKIP() << "numpy not available";
  test::ScopedTempDir dir;
  const std::string a = dir.file("a.npz"), b = dir.file("b.npz"), c = dir.file("c.npz");
  std::string out;
  ASSERT_EQ(python("e = np.zeros(300, dtype=[('x', '<u2'), ('y', '<u2'), ('p', '<i2'), ('t', '<i8')])\n"
                   "e['t'] = np.arange(300) * 11; e['x'] = np.arange(300); e['y'] = 5; e['p'] = np.where(np.arange(300) % 2, 1, -1)\n"
                   "np.savez('" + a + "', labels=np.arange(3), events=e)\n"
                   "np.savez_compressed('" + b + "', data=e)\n"
                   "np.savez('" + c + "', something=e)\n"
                   "print(dig(e['t'], e['x'], e['y'], e['p'] > 0))", &out), 0);
  for (const auto& path : {a, b, c}) EXPECT_EQ(digest(read(path).events), trimmed(out)) << path;
}

TEST(Npz, archive_without_events_lists_its_members) {
  if (!have_numpy()) GTEST_SKIP() << "numpy not available";
  test::ScopedTempDir dir;
  const std::string a = dir.file("labels.npz");
  ASSERT_EQ(python("np.savez('" + a + "', labels=np.zeros(3), objframe_idx_2_label_idx=np.arange(4))"), 0);
  try {
    read(a);
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(e.detail().find("labels.npy"), std::string::npos) << e.what();
    EXPECT_NE(e.detail().find("objframe_idx_2_label_idx.npy"), std::string::npos) << e.what();
  }
}

TEST(Npz, members_of_different_lengths_are_refused) {
  if (!have_numpy()) GTEST_SKIP() << "numpy not available";
  test::ScopedTempDir dir;
  const std::string a = dir.file("a.npz");
  ASSERT_EQ(python("np.savez('" + a + "', t=np.arange(5), x=np.arange(5), y=np.arange(4), p=np.arange(5))"), 0);
  EXPECT_THROW(read(a), FormatError);
}

TEST(Npz, corrupt_deflate_data_is_counted_or_raised) {
  if (!have_numpy()) GTEST_SKIP() << "numpy not available";
  test::ScopedTempDir dir;
  const std::string a = dir.file("a.npz");
  ASSERT_EQ(python("rng = np.random.default_rng(1)\n"
                   "np.savez_compressed('" + a + "', t=np.cumsum(rng.integers(0, 9, 200000)), x=rng.integers(0, 640, 200000),"
                   " y=rng.integers(0, 480, 200000), p=rng.integers(0, 2, 200000))"), 0);
  auto bytes = test::read_file(a);
  for (std::size_t i = 2000; i < 2400; ++i) bytes[i] ^= 0x5A;  // inside the first member's deflate stream
  test::write_file(a, bytes);
  const Recording rec = read(a);  // a zlib error, or else the member's CRC-32 does not match
  EXPECT_GT(rec.stats.unknown_words, 0u);
  EXPECT_FALSE(rec.stats.first_error.empty());
  ReadOptions strict;
  strict.strict = true;
  EXPECT_THROW(read(a, strict), FormatError);
}

TEST(Npz, truncated_archive_and_pipes_are_clear_errors) {
  test::ScopedTempDir dir;
  const auto path = test::write_events(dir.file("w.npz"), {}, scene(1000));
  auto bytes = test::read_file(path);
  bytes.resize(bytes.size() - 30);
  const auto cut = file_of(dir, "cut.npz", bytes);
  EXPECT_THROW(read(cut), FormatError);
  std::string out, err;
  EXPECT_NE(test::run_command("cat '" + path + "' | '" + std::string(EVLIB_CLI) + "' info -", &out, &err), 0);
  EXPECT_NE(err.find("seekable"), std::string::npos) << err;
}

// ---- writers ----

TEST(NpyWriter, header_is_v1_padded_to_64_and_data_is_packed) {
  test::ScopedTempDir dir;
  const auto path = test::write_events(dir.file("w.npy"), {}, test::batch_of({{1000, 5, 7, 1}, {1001, 65535, 0, 0}}));
  const auto bytes = test::read_file(path);
  ASSERT_GE(bytes.size(), 64u + 26u);
  EXPECT_EQ(bytes[6], 1);
  EXPECT_EQ(bytes[7], 0);
  const std::size_t data = 10 + (bytes[8] | bytes[9] << 8);
  EXPECT_EQ(data % 64, 0u);
  EXPECT_EQ(bytes[data - 1], '\n');
  EXPECT_EQ(bytes.size(), data + 26);
  const std::string header(bytes.begin() + 10, bytes.begin() + static_cast<std::ptrdiff_t>(data));
  EXPECT_NE(header.find("'descr': [('t', '<i8'), ('x', '<u2'), ('y', '<u2'), ('p', '|u1')]"), std::string::npos) << header;
  EXPECT_NE(header.find("'shape': (2,)"), std::string::npos) << header;
  EXPECT_EQ(std::vector<std::uint8_t>(bytes.begin() + static_cast<std::ptrdiff_t>(data), bytes.begin() + static_cast<std::ptrdiff_t>(data) + 13),
            test::hex_bytes("E8 03 00 00 00 00 00 00 05 00 07 00 01"));
}

TEST(NpyWriter, numpy_reads_our_npy_and_npz_with_equal_values) {
  if (!have_numpy()) GTEST_SKIP() << "numpy not available";
  test::ScopedTempDir dir;
  const EventBatch events = scene(300000, 5'000'000'000LL);
  const std::string want = digest(events);
  const auto npy = test::write_events(dir.file("w.npy"), {}, events);
  const auto npz = test::write_events(dir.file("w.npz"), {}, events);
  std::string out;
  ASSERT_EQ(python("a = np.load('" + npy + "')\n"
                   "assert a.dtype == np.dtype([('t', '<i8'), ('x', '<u2'), ('y', '<u2'), ('p', 'u1')])\n"
                   "print(dig(a['t'], a['x'], a['y'], a['p']))\n"
                   "z = np.load('" + npz + "')\n"
                   "assert sorted(z.files) == ['p', 't', 'x', 'y'], z.files\n"
                   "assert z['x'].dtype == np.uint16 and z['p'].dtype == np.uint8 and z['t'].dtype == np.int64\n"
                   "print(dig(z['t'], z['x'], z['y'], z['p']))\n"
                   "import zipfile; assert zipfile.ZipFile('" + npz + "').testzip() is None",
                   &out), 0);
  EXPECT_EQ(out, want + "\n" + want + "\n");
  EXPECT_EQ(digest(read(npy).events), want);
  EXPECT_EQ(digest(read(npz).events), want);
}

TEST(NpyWriter, forced_zip64_archive_is_read_by_numpy_and_by_us) {
  test::ScopedTempDir dir;
  const EventBatch events = scene(5000);
  const std::string path = dir.file("z64.npz");
  {
    detail::AtomicFile file(path, false);
    auto encoder = detail::make_npz_encoder(WriteOptions{}, /*force_zip64=*/true);
    encoder->begin(file);
    encoder->encode(events.slice(0, 2000), {}, file);
    encoder->encode(events.slice(2000, 5000), {}, file);
    encoder->end(file);
    file.commit();
  }
  EXPECT_EQ(digest(read(path).events), digest(events));
  if (!have_numpy()) GTEST_SKIP() << "numpy not available";
  std::string out;
  ASSERT_EQ(python("z = np.load('" + path + "')\nprint(dig(z['t'], z['x'], z['y'], z['p']))\n"
                   "import zipfile; zf = zipfile.ZipFile('" + path + "'); assert zf.testzip() is None", &out), 0);
  EXPECT_EQ(trimmed(out), digest(events));
}

TEST(NpyWriter, empty_recordings_are_valid_arrays) {
  test::ScopedTempDir dir;
  const auto npy = test::write_events(dir.file("e.npy"), {}, EventBatch{});
  const auto npz = test::write_events(dir.file("e.npz"), {}, EventBatch{});
  EXPECT_EQ(read(npy).events.size(), 0u);
  EXPECT_EQ(read(npz).events.size(), 0u);
  if (!have_numpy()) GTEST_SKIP() << "numpy not available";
  std::string out;
  ASSERT_EQ(python("print(len(np.load('" + npy + "')), len(np.load('" + npz + "')['t']))", &out), 0);
  EXPECT_EQ(out, "0 0\n");
}

TEST(NpyWriter, round_trips_and_refuses_triggers) {
  test::ScopedTempDir dir;
  const EventBatch events = scene(100000, 1LL << 40);
  for (const char* name : {"r.npy", "r.npz"}) {
    EXPECT_EQ(digest(read(test::write_events(dir.file(name), {}, events)).events), digest(events)) << name;
    TriggerBatch triggers;
    triggers.push_back(1, 0, 1);
    EXPECT_THROW(test::write_events(dir.file(std::string("t") + name), {}, events, triggers), InvalidArgument);
  }
  // Nothing but the two files: no spool or temporary file was left behind.
  EXPECT_EQ(test::list_dir(dir.path()).size(), 2u);
}

}  // namespace
}  // namespace evlib
