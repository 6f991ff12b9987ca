// HDF5 event files and the ECF codec: docs/formats.md 7.4 vectors, ECF round trips and malformed
// blocks, every HDF5 layout of docs/formats.md 7 and 8 built here with the HDF5 C API (or h5py),
// the evlib writer (round trip, h5py interoperability), chunking invariance and damaged files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "evlib/digest.hpp"
#include "evlib/error.hpp"
#include "evlib/filter.hpp"
#include "evlib/reader.hpp"
#include "evlib/scan.hpp"
#include "evlib/synth.hpp"
#include "evlib/writer.hpp"
#include "formats/prophesee/ecf.hpp"
#include "formats/hdf5/hdf5.hpp"
#include "formats/hdf5/hdf5_util.hpp"
#include "support/decode_harness.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

using detail::h5::Handle;
using test::Ev;
using test::Trig;
namespace ecf = detail::ecf;

// ---------------------------------------------------------------------------------------------
// ECF helpers

struct EcfDecoded {
  ecf::DecodeResult result;
  std::vector<Ev> events;
};

EcfDecoded ecf_decode(const std::vector<std::uint8_t>& block, std::size_t capacity = ecf::kMaxEvents) {
  std::vector<std::int64_t> t(capacity + 1);
  std::vector<std::uint16_t> x(capacity + 1), y(capacity + 1);
  std::vector<std::uint8_t> p(capacity + 1);
  EcfDecoded d;
  d.result = ecf::decode(block, {t.data(), x.data(), y.data(), p.data()}, capacity);
  for (std::size_t i = 0; i < d.result.events; ++i) d.events.push_back({t[i], x[i], y[i], p[i]});
  return d;
}

struct Columns {
  std::vector<std::int64_t> t;
  std::vector<std::uint16_t> x, y;
  std::vector<std::uint8_t> p;
  std::size_t size() const { return t.size(); }
  void push(const Ev& e) {
    t.push_back(e.t);
    x.push_back(e.x);
    y.push_back(e.y);
    p.push_back(e.p);
  }
  ecf::EventColumns view() const { return {t, x, y, p}; }
  std::vector<Ev> events() const {
    std::vector<Ev> out;
    for (std::size_t i = 0; i < size(); ++i) out.push_back({t[i], x[i], y[i], p[i]});
    return out;
  }
};

Columns columns_of(const std::vector<Ev>& events) {
  Columns c;
  for (const Ev& e : events) c.push(e);
  return c;
}

std::vector<std::uint8_t> ecf_encode(const std::vector<Ev>& events, ecf::Mode mode) {
  std::vector<std::uint8_t> out;
  ecf::encode(columns_of(events).view(), out, mode);
  return out;
}

// docs/formats.md 7.4.
const std::vector<std::uint8_t> kVector1 = test::hex_bytes("06 00 00 00  04 00 00 00 00 00 00 00  01  00 02 20 00  00 00 00 00  00 00 00 00");
const std::vector<Ev> kVector1Events = {{4, 1, 2, 0}};
const std::vector<std::uint8_t> kVector2 = test::hex_bytes("09 00 00 00  10 27 00 00 00 00 00 00  02  E2 02  15 00 00 01 00 00");
const std::vector<Ev> kVector2Events = {{10000, 0, 23, 1}, {10000, 10, 23, 1}};
const std::vector<std::uint8_t> kVector3 = test::hex_bytes("0C 00 00 00  33 36 00 00 00 00 00 00  03  E3 02  78 02  03");
const std::vector<Ev> kVector3Events = {{13875, 19, 23, 0}, {13875, 20, 23, 0}, {13875, 21, 23, 0}};
const std::vector<std::uint8_t> kVector4 =
    test::hex_bytes("09 00 00 00  61 14 00 00 00 00 00 00  01 F2 F6 F4 F1 01  E2 02  15 00 00 01 00 00");
const std::vector<Ev> kVector4Events = {{5217, 0, 23, 1}, {10435, 10, 23, 1}};

TEST(Ecf, spec_vector_1_one_event_in_yxp_mode_decodes) {
  const auto d = ecf_decode(kVector1);
  ASSERT_TRUE(d.result.ok()) << d.result.error;
  EXPECT_EQ(d.events, kVector1Events);
  EXPECT_EQ(d.result.bytes, 25u);
}

TEST(Ecf, spec_vector_2_two_events_in_xp_mode_decode) {
  const auto d = ecf_decode(kVector2);
  ASSERT_TRUE(d.result.ok()) << d.result.error;
  EXPECT_EQ(d.events, kVector2Events);
  EXPECT_EQ(d.result.bytes, 21u);
}

TEST(Ecf, spec_vector_3_three_events_in_masked_x_mode_decode) {
  const auto d = ecf_decode(kVector3);
  ASSERT_TRUE(d.result.ok()) << d.result.error;
  EXPECT_EQ(d.events, kVector3Events);
  EXPECT_EQ(d.result.bytes, 18u);
}

TEST(Ecf, spec_vector_4_large_time_delta_decodes) {
  const auto d = ecf_decode(kVector4);
  ASSERT_TRUE(d.result.ok()) << d.result.error;
  EXPECT_EQ(d.events, kVector4Events);
  EXPECT_EQ(d.result.bytes, 26u);
}

TEST(Ecf, encoder_reproduces_the_four_spec_vectors_byte_for_byte) {
  EXPECT_EQ(ecf_encode(kVector1Events, ecf::Mode::yxp_packed), kVector1);
  EXPECT_EQ(ecf_encode(kVector2Events, ecf::Mode::xp_packed), kVector2);
  EXPECT_EQ(ecf_encode(kVector3Events, ecf::Mode::masked_x), kVector3);
  EXPECT_EQ(ecf_encode(kVector4Events, ecf::Mode::xp_packed), kVector4);
}

TEST(Ecf, block_event_count_reads_the_header) {
  EXPECT_EQ(ecf::block_event_count(kVector3), 3u);
  EXPECT_EQ(ecf::block_event_count(std::vector<std::uint8_t>(11, 0)), std::nullopt);
  EXPECT_EQ(ecf::block_event_count(test::hex_bytes("FC FF 03 00 00 00 00 00 00 00 00 00")), 65535u);
  EXPECT_EQ(ecf::block_event_count(test::hex_bytes("00 00 04 00 00 00 00 00 00 00 00 00")), std::nullopt);  // N = 65536
}

// Random events that exercise every stream: long timestamp runs (count >= 15 and uint16
// counts), large deltas up to 2^40, y runs >= 31, polarity runs >= 127 and x runs for masked-x.
Columns random_chunk(std::mt19937_64& rng, std::size_t n) {
  Columns c;
  std::int64_t t = static_cast<std::int64_t>(rng() % 1'000'000'000);
  std::uint16_t y = 0, x = 0;
  std::uint8_t p = 0;
  while (c.size() < n) {
    const unsigned shape = rng() % 100;
    const std::size_t run = shape < 70 ? 1 + rng() % 4 : shape < 90 ? 10 + rng() % 40 : 100 + rng() % 300;
    if (rng() % 3 == 0) y = static_cast<std::uint16_t>(rng() % 2048);
    if (rng() % 4 == 0) p = static_cast<std::uint8_t>(rng() % 2);
    const unsigned dt = rng() % 10;
    t += dt < 6 ? 0 : dt < 8 ? static_cast<std::int64_t>(rng() % 15) : dt < 9 ? static_cast<std::int64_t>(rng() % 100000)
                                                                             : static_cast<std::int64_t>(rng() % (std::int64_t{1} << 40));
    for (std::size_t k = 0; k < run && c.size() < n; ++k) {
      x = rng() % 3 == 0 ? static_cast<std::uint16_t>(rng() % 2048) : static_cast<std::uint16_t>((x + 1 + rng() % 3) % 2048);
      if (rng() % 8 == 0) t += static_cast<std::int64_t>(rng() % 20);
      c.push({t, x, y, p});
    }
  }
  return c;
}

TEST(Ecf, random_chunks_round_trip_in_all_three_modes) {
  std::mt19937_64 rng(7);
  for (std::size_t n : {0, 1, 2, 3, 4, 5, 7, 31, 32, 127, 128, 1000, 16384, 65535}) {
    for (int rep = 0; rep < 3; ++rep) {
      const Columns c = random_chunk(rng, n);
      for (ecf::Mode mode : {ecf::Mode::yxp_packed, ecf::Mode::xp_packed, ecf::Mode::masked_x, ecf::Mode::automatic}) {
        std::vector<std::uint8_t> block;
        ecf::encode(c.view(), block, mode);
        const auto d = ecf_decode(block, std::max<std::size_t>(n, 1));
        ASSERT_TRUE(d.result.ok()) << "n=" << n << " mode=" << int(mode) << ": " << d.result.error;
        EXPECT_EQ(d.result.bytes, block.size());
        ASSERT_EQ(d.events, c.events()) << "n=" << n << " mode=" << int(mode);
      }
    }
  }
}

TEST(Ecf, automatic_mode_follows_the_reference_heuristic) {
  Columns isolated, rows, runs;
  for (int i = 0; i < 400; ++i) {
    isolated.push({i, static_cast<std::uint16_t>((i * 37) % 2000), static_cast<std::uint16_t>((i * 91) % 2000), 1});
    rows.push({i, static_cast<std::uint16_t>((i * 37) % 2000), static_cast<std::uint16_t>(i / 50), 0});
    runs.push({i, static_cast<std::uint16_t>(i % 1000), 5, 0});
  }
  EXPECT_EQ(ecf::choose_mode(isolated.view()), ecf::Mode::yxp_packed);
  EXPECT_EQ(ecf::choose_mode(rows.view()), ecf::Mode::xp_packed);
  EXPECT_EQ(ecf::choose_mode(runs.view()), ecf::Mode::masked_x);
}

TEST(Ecf, encoder_refuses_what_ecf_cannot_hold) {
  std::vector<std::uint8_t> out;
  EXPECT_THROW(ecf::encode(columns_of({{0, 2048, 0, 0}}).view(), out), InvalidArgument);
  EXPECT_THROW(ecf::encode(columns_of({{0, 0, 2048, 0}}).view(), out), InvalidArgument);
  EXPECT_THROW(ecf::encode(columns_of({{0, 0, 0, 2}}).view(), out), InvalidArgument);
  EXPECT_THROW(ecf::encode(columns_of({{5, 0, 0, 0}, {4, 0, 0, 0}}).view(), out), InvalidArgument);
  Columns big;
  for (std::size_t i = 0; i <= ecf::kMaxEvents; ++i) big.push({0, 0, 0, 0});
  EXPECT_THROW(ecf::encode(big.view(), out), InvalidArgument);
}

TEST(Ecf, every_truncation_of_a_valid_block_is_an_error) {
  std::mt19937_64 rng(11);
  for (ecf::Mode mode : {ecf::Mode::yxp_packed, ecf::Mode::xp_packed, ecf::Mode::masked_x}) {
    const Columns c = random_chunk(rng, 300);
    std::vector<std::uint8_t> block;
    ecf::encode(c.view(), block, mode);
    for (std::size_t len = 0; len < block.size(); ++len) {
      // An exact-size heap copy, so that AddressSanitizer sees any read past the end.
      const std::vector<std::uint8_t> cut(block.begin(), block.begin() + static_cast<std::ptrdiff_t>(len));
      const auto d = ecf_decode(cut, 300);
      EXPECT_FALSE(d.result.ok()) << "mode " << int(mode) << " length " << len;
    }
  }
}

TEST(Ecf, malformed_blocks_report_what_is_wrong) {
  // N = 3 but the output has room for 2.
  EXPECT_STREQ(ecf_decode(kVector3, 2).result.error, "block holds more events than the output has room for");
  // N above 65535.
  EXPECT_FALSE(ecf_decode(test::hex_bytes("00 00 04 00 00 00 00 00 00 00 00 00")).result.ok());
  // A timestamp run of 5 where N = 3.
  auto run = kVector3;
  run[12] = 0x05;
  EXPECT_STREQ(ecf_decode(run).result.error, "timestamp runs exceed the event count");
  // Seventeen 0xF_ nibble bytes: a delta wider than 64 bits.
  std::vector<std::uint8_t> wide = test::hex_bytes("04 00 00 00 00 00 00 00 00 00 00 00");
  wide.insert(wide.end(), 17, 0xF1);
  wide.push_back(0x01);
  const auto d = ecf_decode(wide);
  EXPECT_STREQ(d.result.error, "large time delta longer than 64 bits");
  EXPECT_EQ(d.result.error_offset, 12u + 16u);
  // A masked-x word whose mask adds values beyond N = 3: x = 19 with mask 0b11111 (6 values).
  auto mask = kVector3;
  mask[15] = 0x7F;
  EXPECT_STREQ(ecf_decode(mask).result.error, "x mask adds more values than the event count");
  // y runs that overshoot N.
  auto y = kVector2;
  y[13] = 0xE3;
  EXPECT_STREQ(ecf_decode(y).result.error, "y runs exceed the event count");
}

TEST(Ecf, random_bytes_never_crash_and_respect_capacity) {
  std::mt19937_64 rng(3);
  std::size_t ok = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::uint8_t> block(rng() % 80);
    for (auto& b : block) b = static_cast<std::uint8_t>(rng());
    if (block.size() >= 4 && rng() % 2) {
      block[1] = block[2] = block[3] = 0;  // keep N small so some blocks decode
      block[0] = static_cast<std::uint8_t>(block[0] & 0x1F);
    }
    const std::size_t capacity = rng() % 10;
    const auto d = ecf_decode(block, capacity);
    if (d.result.ok()) {
      ++ok;
      EXPECT_LE(d.result.events, capacity);
      EXPECT_LE(d.result.bytes, block.size());
    }
  }
  EXPECT_GT(ok, 0u);
}

// ---------------------------------------------------------------------------------------------
// HDF5 fixture helpers (HDF5 C API)

template <class T>
hid_t native() {
  if constexpr (std::is_same_v<T, std::int8_t>) return H5T_NATIVE_INT8;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return H5T_NATIVE_UINT8;
  else if constexpr (std::is_same_v<T, std::int16_t>) return H5T_NATIVE_INT16;
  else if constexpr (std::is_same_v<T, std::uint16_t>) return H5T_NATIVE_UINT16;
  else if constexpr (std::is_same_v<T, std::int32_t>) return H5T_NATIVE_INT32;
  else if constexpr (std::is_same_v<T, std::uint32_t>) return H5T_NATIVE_UINT32;
  else if constexpr (std::is_same_v<T, std::int64_t>) return H5T_NATIVE_INT64;
  else if constexpr (std::is_same_v<T, std::uint64_t>) return H5T_NATIVE_UINT64;
  else if constexpr (std::is_same_v<T, float>) return H5T_NATIVE_FLOAT;
  else return H5T_NATIVE_DOUBLE;
}

Handle create_file(const std::string& path, hsize_t userblock = 0) {
  Handle fcpl = detail::h5::plist_handle(H5Pcreate(H5P_FILE_CREATE));
  if (userblock) H5Pset_userblock(fcpl.get(), userblock);
  Handle f = detail::h5::file_handle(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl.get(), H5P_DEFAULT));
  if (!f) throw std::runtime_error("cannot create " + path);
  return f;
}

Handle intermediate_groups() {
  Handle lcpl = detail::h5::plist_handle(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  return lcpl;
}

// A dataset of any rank from row-major data; chunked (by rows) when chunk > 0.
void make_dataset(hid_t file, const std::string& name, hid_t file_type, hid_t mem_type, const void* data,
                  std::vector<hsize_t> dims, hsize_t chunk = 0) {
  Handle space = detail::h5::space_handle(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  Handle dcpl = detail::h5::plist_handle(H5Pcreate(H5P_DATASET_CREATE));
  if (chunk) {
    std::vector<hsize_t> c = dims;
    c[0] = chunk;
    H5Pset_chunk(dcpl.get(), static_cast<int>(c.size()), c.data());
  }
  Handle lcpl = intermediate_groups();
  Handle ds = detail::h5::dataset_handle(H5Dcreate2(file, name.c_str(), file_type, space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT));
  if (!ds) throw std::runtime_error("cannot create dataset " + name);
  if (dims[0] > 0 && H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    throw std::runtime_error("cannot write dataset " + name);
  }
}

template <class T>
void column(hid_t file, const std::string& name, hid_t file_type, const std::vector<T>& v, hsize_t chunk = 0) {
  make_dataset(file, name, file_type, native<T>(), v.data(), {v.size()}, chunk);
}

template <class T>
void scalar(hid_t file, const std::string& name, hid_t file_type, T value) {
  Handle space = detail::h5::space_handle(H5Screate(H5S_SCALAR));
  Handle lcpl = intermediate_groups();
  Handle ds = detail::h5::dataset_handle(H5Dcreate2(file, name.c_str(), file_type, space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT));
  H5Dwrite(ds.get(), native<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &value);
}

void string_attribute(hid_t object, const std::string& name, const std::string& value) {
  Handle type = detail::h5::type_handle(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.get(), H5T_VARIABLE);
  Handle space = detail::h5::space_handle(H5Screate(H5S_SCALAR));
  Handle attr = detail::h5::attribute_handle(H5Acreate2(object, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  const char* s = value.c_str();
  H5Awrite(attr.get(), type.get(), &s);
}

template <class T>
void number_attribute(hid_t object, const std::string& name, hid_t file_type, const std::vector<T>& values) {
  const hsize_t n = values.size();
  Handle space = detail::h5::space_handle(n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr));
  Handle attr = detail::h5::attribute_handle(H5Acreate2(object, name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT));
  H5Awrite(attr.get(), native<T>(), values.data());
}

// h5py's bool: an int8 enum {FALSE = 0, TRUE = 1}.
Handle bool_type() {
  Handle t = detail::h5::type_handle(H5Tenum_create(H5T_NATIVE_INT8));
  std::int8_t v = 0;
  H5Tenum_insert(t.get(), "FALSE", &v);
  v = 1;
  H5Tenum_insert(t.get(), "TRUE", &v);
  return t;
}

Recording read_all(const std::string& path, std::size_t chunk_events = 0) {
  if (chunk_events == 0) return read(path);
  ReadOptions o;
  o.chunk_events = chunk_events;
  Reader r = Reader::open(path, o);
  Recording rec;
  std::vector<Ev> events;
  while (auto c = r.next()) {
    for (const Ev& e : test::events_of(c->events)) events.push_back(e);
    rec.triggers.append(c->triggers);
  }
  rec.events = test::batch_of(events);
  rec.stats = r.stats();
  rec.metadata = r.shared_metadata();
  return rec;
}

// Whole read, 256-event chunks and 1000-event chunks give the same events and triggers.
void expect_chunking_invariant(const std::string& path) {
  const Recording whole = read(path);
  for (std::size_t chunk : {256, 1000}) {
    const Recording pieces = read_all(path, chunk);
    EXPECT_TRUE(test::same_events(whole.events, pieces.events)) << path << " in chunks of " << chunk;
    EXPECT_EQ(test::triggers_of(whole.triggers), test::triggers_of(pieces.triggers)) << path << " in chunks of " << chunk;
  }
}

// ---------------------------------------------------------------------------------------------
// Layouts

TEST(Hdf5Reader, generic_integer_microseconds_are_read_exactly_with_geometry_from_attributes) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("generic.h5");
  {
    Handle f = create_file(path);
    column<std::uint32_t>(f.get(), "/events/t", H5T_STD_U32LE, {10, 20, 20, 4000000000u});
    column<std::uint16_t>(f.get(), "/events/x", H5T_STD_U16LE, {0, 639, 5, 6});
    column<std::uint16_t>(f.get(), "/events/y", H5T_STD_U16LE, {0, 479, 7, 8});
    column<std::uint8_t>(f.get(), "/events/p", H5T_STD_U8LE, {0, 1, 1, 0});
    number_attribute<std::int64_t>(f.get(), "width", H5T_STD_I64LE, {640});
    number_attribute<std::int64_t>(f.get(), "height", H5T_STD_I64LE, {480});
    string_attribute(f.get(), "camera", "test");
  }
  EXPECT_EQ(detect_format(path), "hdf5");
  const Recording rec = read(path);
  EXPECT_EQ(test::events_of(rec.events),
            (std::vector<Ev>{{10, 0, 0, 0}, {20, 639, 479, 1}, {20, 5, 7, 1}, {4000000000ll, 6, 8, 0}}));
  EXPECT_EQ(rec.metadata->format, "hdf5");
  EXPECT_EQ(rec.metadata->width, 640u);
  EXPECT_EQ(rec.metadata->height, 480u);
  ASSERT_NE(rec.metadata->header_value("camera"), nullptr);
  EXPECT_EQ(*rec.metadata->header_value("camera"), "test");
  EXPECT_EQ(*rec.metadata->header_value("hdf5.layout"), "generic");
  EXPECT_EQ(*rec.metadata->header_value("hdf5.time_unit"), "us");
  EXPECT_EQ(rec.stats.corrupt(), 0u);
}

TEST(Hdf5Reader, float_seconds_become_nearest_microseconds_and_signed_polarity_is_normalised) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("event_utils.h5");
  {
    Handle f = create_file(path);
    // Times decided by the dtype, not the magnitude: even tiny values are seconds.
    column<double>(f.get(), "/events/ts", H5T_IEEE_F64LE, {0.0, 0.0000015, 1.000001, 1234.5678905});
    column<std::int16_t>(f.get(), "/events/xs", H5T_STD_I16LE, {1, 2, 3, 4});
    column<std::int16_t>(f.get(), "/events/ys", H5T_STD_I16LE, {5, 6, 7, 8});
    column<double>(f.get(), "/events/ps", H5T_IEEE_F64LE, {-1.0, 1.0, 0.0, 1.0});
    number_attribute<std::int64_t>(f.get(), "sensor_resolution", H5T_STD_I64LE, {180, 240});  // (height, width)
  }
  const Recording rec = read(path);
  EXPECT_EQ(test::events_of(rec.events),
            (std::vector<Ev>{{0, 1, 5, 0}, {2, 2, 6, 1}, {1000001, 3, 7, 0}, {1234567891, 4, 8, 1}}));
  EXPECT_EQ(rec.metadata->width, 240u);
  EXPECT_EQ(rec.metadata->height, 180u);
  EXPECT_EQ(*rec.metadata->header_value("hdf5.time_unit"), "s");
}

TEST(Hdf5Reader, name_variants_timestamps_x_pos_y_pos_and_bool_polarities_are_recognised) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("variants.hdf5");
  {
    Handle f = create_file(path);
    column<std::int64_t>(f.get(), "/events/timestamps", H5T_STD_I64LE, {1, 2, 3});
    column<std::uint16_t>(f.get(), "/events/x_pos", H5T_STD_U16LE, {10, 11, 12});
    column<std::uint16_t>(f.get(), "/events/y_pos", H5T_STD_U16LE, {20, 21, 22});
    Handle b = bool_type();
    const std::vector<std::int8_t> pol = {1, 0, 1};
    make_dataset(f.get(), "/events/polarities", b.get(), b.get(), pol.data(), {3});
  }
  EXPECT_EQ(test::events_of(read(path).events), (std::vector<Ev>{{1, 10, 20, 1}, {2, 11, 21, 0}, {3, 12, 22, 1}}));
}

TEST(Hdf5Reader, datasets_directly_at_the_root_are_read) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("root.h5");
  {
    Handle f = create_file(path);
    column<std::int64_t>(f.get(), "/t", H5T_STD_I64LE, {5, 6});
    column<std::uint8_t>(f.get(), "/x", H5T_STD_U8LE, {1, 255});
    column<std::int32_t>(f.get(), "/y", H5T_STD_I32LE, {2, 3});
    column<std::int8_t>(f.get(), "/p", H5T_STD_I8LE, {-1, 1});
    scalar<std::int32_t>(f.get(), "/width", H5T_STD_I32LE, 346);
    scalar<std::int32_t>(f.get(), "/height", H5T_STD_I32LE, 260);
  }
  const Recording rec = read(path);
  EXPECT_EQ(test::events_of(rec.events), (std::vector<Ev>{{5, 1, 2, 0}, {6, 255, 3, 1}}));
  EXPECT_EQ(rec.metadata->width, 346u);
  EXPECT_EQ(rec.metadata->height, 260u);
}

TEST(Hdf5Reader, dsec_adds_t_offset_and_exposes_ms_to_idx) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("events.h5");
  // docs/formats.md 8: the DSEC EventSlicer example.
  const std::vector<std::uint32_t> t = {0, 500, 2100, 5000, 5000, 7100, 7200, 7200, 8100, 9000};
  const std::vector<std::uint64_t> ms_to_idx = {0, 2, 2, 3, 3, 3, 5, 5, 8, 9};
  const std::int64_t t_offset = 1'600'000'000'000'000;
  {
    Handle f = create_file(path);
    column<std::uint16_t>(f.get(), "/events/x", H5T_STD_U16LE, {0, 1, 2, 3, 4, 5, 6, 7, 8, 639}, 4);
    column<std::uint16_t>(f.get(), "/events/y", H5T_STD_U16LE, {0, 1, 2, 3, 4, 5, 6, 7, 8, 479}, 4);
    column<std::uint8_t>(f.get(), "/events/p", H5T_STD_U8LE, {0, 1, 0, 1, 0, 1, 0, 1, 0, 1}, 4);
    column<std::uint32_t>(f.get(), "/events/t", H5T_STD_U32LE, t, 4);
    column<std::uint64_t>(f.get(), "/ms_to_idx", H5T_STD_U64LE, ms_to_idx);
    scalar<std::int64_t>(f.get(), "/t_offset", H5T_STD_I64LE, t_offset);
  }
  const Recording rec = read(path);
  ASSERT_EQ(rec.events.size(), t.size());
  for (std::size_t i = 0; i < t.size(); ++i) EXPECT_EQ(rec.events.t()[i], t_offset + t[i]);
  EXPECT_EQ(rec.events.x()[9], 639);
  EXPECT_EQ(rec.events.p()[9], 1);
  EXPECT_EQ(*rec.metadata->header_value("hdf5.layout"), "dsec");
  EXPECT_EQ(*rec.metadata->header_value("hdf5.t_offset"), std::to_string(t_offset));
  EXPECT_EQ(*rec.metadata->header_value("hdf5.ms_to_idx"), "/ms_to_idx");
  const auto index = detail::read_millisecond_index(path);
  ASSERT_TRUE(index.has_value());
  EXPECT_EQ(index->first_event, ms_to_idx);
  EXPECT_EQ(index->t_offset, t_offset);
  expect_chunking_invariant(path);
}

// A DSEC-style file of 300 000 events, 100 a millisecond over 3 s; `shift` moves every
// /ms_to_idx entry that many events on (0: the true index).
std::string dsec_file(const test::ScopedTempDir& dir, const std::string& name, std::uint64_t shift) {
  constexpr std::size_t kEvents = 300'000;
  std::vector<std::uint32_t> t(kEvents);
  std::vector<std::uint16_t> x(kEvents), y(kEvents);
  std::vector<std::uint8_t> p(kEvents);
  for (std::size_t i = 0; i < kEvents; ++i) {
    t[i] = static_cast<std::uint32_t>(i * 10);
    x[i] = static_cast<std::uint16_t>(i * 7 % 640);
    y[i] = static_cast<std::uint16_t>(i * 13 % 480);
    p[i] = static_cast<std::uint8_t>(i % 3 == 0);
  }
  std::vector<std::uint64_t> ms_to_idx(kEvents / 100);
  for (std::size_t m = 0; m < ms_to_idx.size(); ++m) ms_to_idx[m] = std::min<std::uint64_t>(100 * m + shift, kEvents);
  const std::string path = dir.file(name);
  Handle f = create_file(path);
  column<std::uint16_t>(f.get(), "/events/x", H5T_STD_U16LE, x, 16384);
  column<std::uint16_t>(f.get(), "/events/y", H5T_STD_U16LE, y, 16384);
  column<std::uint8_t>(f.get(), "/events/p", H5T_STD_U8LE, p, 16384);
  column<std::uint32_t>(f.get(), "/events/t", H5T_STD_U32LE, t, 16384);
  column<std::uint64_t>(f.get(), "/ms_to_idx", H5T_STD_U64LE, ms_to_idx);
  scalar<std::int64_t>(f.get(), "/t_offset", H5T_STD_I64LE, std::int64_t{1'000'000'000});
  return path;
}

TEST(Hdf5Reader, dsec_time_windows_seek_by_ms_to_idx_from_the_first_call) {
  test::ScopedTempDir dir;
  const std::string good = dsec_file(dir, "good.h5", 0);
  const std::string wrong = dsec_file(dir, "wrong.h5", 1);  // claims each millisecond starts one event late
  const EventBatch all = read(good).events;
  std::mt19937_64 rng(5);
  for (int i = 0; i < 20; ++i) {
    const std::int64_t t0 = 1'000'000'000 + static_cast<std::int64_t>(rng() % 3'100'000) - 50'000;
    const std::int64_t t1 = t0 + static_cast<std::int64_t>(rng() % 40'000);
    EventBatch expected = EventBatch::with_capacity(all.size());  // anew: a copy of `all` shares its columns
    for (std::size_t k = 0; k < all.size(); ++k) {
      if (all.t()[k] >= t0 && all.t()[k] < t1) expected.push_back(all.t()[k], all.x()[k], all.y()[k], all.p()[k]);
    }
    // The file's own index: the window is decoded from near t0 without a pass, nothing cached.
    const Recording native = Scan(good).index_dir(dir.file("cache")).time(t0, t1).collect_recording();
    EXPECT_EQ(digest(native.events), digest(expected)) << "[" << t0 << ", " << t1 << ")";
    EXPECT_LT(native.stats.words, 150'000u) << "[" << t0 << ", " << t1 << ")";
    // An index that fails the spot check is not trusted: the window is still exact.
    const Scan checked = Scan(wrong).index(IndexPolicy::kMemory).time(t0, t1);
    EXPECT_EQ(digest(checked.collect()), digest(expected)) << "[" << t0 << ", " << t1 << ")";
  }
  EXPECT_FALSE(test::file_exists(dir.file("cache")));
}

TEST(Hdf5Reader, file_without_ms_to_idx_has_no_millisecond_index) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("plain.h5");
  {
    Handle f = create_file(path);
    column<std::int64_t>(f.get(), "/events/t", H5T_STD_I64LE, {1});
    column<std::uint16_t>(f.get(), "/events/x", H5T_STD_U16LE, {1});
    column<std::uint16_t>(f.get(), "/events/y", H5T_STD_U16LE, {1});
    column<std::uint8_t>(f.get(), "/events/p", H5T_STD_U8LE, {1});
  }
  EXPECT_FALSE(detail::read_millisecond_index(path).has_value());
}

TEST(Hdf5Reader, mvsec_n_by_4_float_array_has_columns_x_y_t_p) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("mvsec_data.hdf5");
  const std::vector<double> rows = {
      10, 20, 1504645177.419969, -1,  //
      11, 21, 1504645177.419970, 1,   //
      345, 259, 1504645177.5, 1,
  };
  {
    Handle f = create_file(path);
    make_dataset(f.get(), "/davis/left/events", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, rows.data(), {3, 4});
  }
  const Recording rec = read(path);
  EXPECT_EQ(test::events_of(rec.events), (std::vector<Ev>{{1504645177419969, 10, 20, 0},
                                                          {1504645177419970, 11, 21, 1},
                                                          {1504645177500000, 345, 259, 1}}));
  EXPECT_EQ(*rec.metadata->header_value("hdf5.layout"), "mvsec");
  EXPECT_EQ(*rec.metadata->header_value("hdf5.events"), "/davis/left/events");
  EXPECT_EQ(rec.metadata->width, 0u);  // MVSEC files do not say; the CLI infers it
}

TEST(Hdf5Reader, single_n_by_4_events_dataset_has_columns_t_x_y_p) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("matrix.h5");
  std::vector<std::int64_t> rows;
  for (std::int64_t i = 0; i < 3000; ++i) {
    for (std::int64_t v : {i * 3, i % 640, i % 480, i % 2}) rows.push_back(v);
  }
  {
    Handle f = create_file(path);
    make_dataset(f.get(), "/events", H5T_STD_I64LE, H5T_NATIVE_INT64, rows.data(), {3000, 4}, 512);
  }
  const Recording rec = read(path);
  ASSERT_EQ(rec.events.size(), 3000u);
  EXPECT_EQ(test::events_of(rec.events)[2999], (Ev{2999 * 3, 2999 % 640, 2999 % 480, 1}));
  EXPECT_EQ(*rec.metadata->header_value("hdf5.layout"), "matrix");
  expect_chunking_invariant(path);
}

// ---------------------------------------------------------------------------------------------
// Prophesee /CD/events

struct CdRecord {
  std::uint16_t x, y;
  std::int16_t p;
  std::int16_t pad;
  std::int64_t t;
};
static_assert(sizeof(CdRecord) == 16);

Handle cd_file_type() {
  Handle t = detail::h5::type_handle(H5Tcreate(H5T_COMPOUND, 16));
  H5Tinsert(t.get(), "x", 0, H5T_STD_U16LE);
  H5Tinsert(t.get(), "y", 2, H5T_STD_U16LE);
  H5Tinsert(t.get(), "p", 4, H5T_STD_I16LE);
  H5Tinsert(t.get(), "t", 8, H5T_STD_I64LE);
  return t;
}

constexpr H5Z_filter_t kEcf = 36559;

// Stands in for the ECF filter while the fixture is written: HDF5 only accepts a pipeline of
// registered filters. Chunks go in through H5Dwrite_chunk, so it is never called.
size_t never_called_filter(unsigned, size_t, const unsigned[], size_t, size_t*, void**) { return 0; }

// /CD/events with chunk `chunk`, one pre-encoded block per chunk (mask 1 = stored unfiltered).
struct StoredChunk {
  std::vector<std::uint8_t> bytes;
  std::uint32_t filter_mask = 0;
};

void write_prophesee(const std::string& path, hsize_t events, hsize_t chunk, const std::vector<StoredChunk>& chunks,
                     const std::vector<std::pair<std::string, std::string>>& attrs = {{"version", "1.0"}, {"geometry", "1280x720"}, {"format", "EVT3"}}) {
  const H5Z_class2_t filter = {H5Z_CLASS_T_VERS, kEcf, 1, 1, "ECF (test stand-in)", nullptr, nullptr, never_called_filter};
  H5Zregister(&filter);
  {
    Handle f = create_file(path);
    for (const auto& [k, v] : attrs) string_attribute(f.get(), k, v);
    const hsize_t zero = 0, unlimited = H5S_UNLIMITED;
    Handle space = detail::h5::space_handle(H5Screate_simple(1, &zero, &unlimited));
    Handle dcpl = detail::h5::plist_handle(H5Pcreate(H5P_DATASET_CREATE));
    H5Pset_chunk(dcpl.get(), 1, &chunk);
    H5Pset_filter(dcpl.get(), kEcf, H5Z_FLAG_OPTIONAL, 0, nullptr);
    Handle type = cd_file_type();
    Handle lcpl = intermediate_groups();
    Handle ds = detail::h5::dataset_handle(H5Dcreate2(f.get(), "/CD/events", type.get(), space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT));
    ASSERT_TRUE(ds);
    ASSERT_GE(H5Dset_extent(ds.get(), &events), 0);
    for (std::size_t k = 0; k < chunks.size(); ++k) {
      const hsize_t offset = k * chunk;
      ASSERT_GE(H5Dwrite_chunk(ds.get(), H5P_DEFAULT, chunks[k].filter_mask, &offset, chunks[k].bytes.size(),
                               chunks[k].bytes.data()), 0);
    }
  }
  H5Zunregister(kEcf);  // readers must not need the filter
}

void write_ext_triggers(const std::string& path, const std::vector<Trig>& triggers) {
  struct Rec {
    std::int16_t p, pad[3];
    std::int64_t t;
    std::int16_t id, pad2[3];
  };
  std::vector<Rec> recs;
  for (const Trig& t : triggers) recs.push_back({static_cast<std::int16_t>(t.value), {}, t.t, static_cast<std::int16_t>(t.channel), {}});
  Handle f = detail::h5::file_handle(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
  Handle type = detail::h5::type_handle(H5Tcreate(H5T_COMPOUND, 24));
  H5Tinsert(type.get(), "p", 0, H5T_STD_I16LE);
  H5Tinsert(type.get(), "t", 8, H5T_STD_I64LE);
  H5Tinsert(type.get(), "id", 16, H5T_STD_I16LE);
  Handle mem = detail::h5::type_handle(H5Tcreate(H5T_COMPOUND, sizeof(Rec)));
  H5Tinsert(mem.get(), "p", offsetof(Rec, p), H5T_NATIVE_INT16);
  H5Tinsert(mem.get(), "t", offsetof(Rec, t), H5T_NATIVE_INT64);
  H5Tinsert(mem.get(), "id", offsetof(Rec, id), H5T_NATIVE_INT16);
  make_dataset(f.get(), "/EXT_TRIGGER/events", type.get(), mem.get(), recs.data(), {recs.size()});
}

TEST(Hdf5Reader, prophesee_ecf_chunks_from_the_spec_vectors_are_read_with_direct_chunk_reads) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("recording.hdf5");
  // Chunks of 2 events: vector 2, vector 4, then vector 1 as the short last chunk.
  write_prophesee(path, 5, 2, {{kVector2}, {kVector4}, {kVector1}});
  write_ext_triggers(path, {{5000, 0, 1}, {10435, 1, 0}, {20000, 0, 1}});
  const Recording rec = read(path);
  std::vector<Ev> expected = kVector2Events;
  expected.insert(expected.end(), kVector4Events.begin(), kVector4Events.end());
  expected.insert(expected.end(), kVector1Events.begin(), kVector1Events.end());
  EXPECT_EQ(test::events_of(rec.events), expected);
  EXPECT_EQ(test::triggers_of(rec.triggers), (std::vector<Trig>{{5000, 0, 1}, {10435, 1, 0}, {20000, 0, 1}}));
  EXPECT_EQ(rec.metadata->width, 1280u);
  EXPECT_EQ(rec.metadata->height, 720u);
  EXPECT_EQ(*rec.metadata->header_value("format"), "EVT3");
  EXPECT_EQ(*rec.metadata->header_value("version"), "1.0");
  EXPECT_EQ(*rec.metadata->header_value("hdf5.layout"), "prophesee");
  expect_chunking_invariant(path);
}

std::vector<StoredChunk> encode_chunks(const Columns& c, std::size_t chunk, std::size_t raw_chunk = SIZE_MAX) {
  std::vector<StoredChunk> out;
  for (std::size_t begin = 0, k = 0; begin < c.size(); begin += chunk, ++k) {
    const std::size_t n = std::min(chunk, c.size() - begin);
    StoredChunk s;
    if (k == raw_chunk) {
      // Filter skipped: full-size raw records (HDF5 stores whole chunks).
      std::vector<CdRecord> recs(chunk, CdRecord{});
      for (std::size_t i = 0; i < n; ++i) {
        recs[i] = {c.x[begin + i], c.y[begin + i], static_cast<std::int16_t>(c.p[begin + i]), 0, c.t[begin + i]};
      }
      s.bytes.resize(chunk * sizeof(CdRecord));
      std::memcpy(s.bytes.data(), recs.data(), s.bytes.size());
      s.filter_mask = 1;
    } else {
      ecf::EventColumns v{std::span(c.t).subspan(begin, n), std::span(c.x).subspan(begin, n),
                          std::span(c.y).subspan(begin, n), std::span(c.p).subspan(begin, n)};
      ecf::encode(v, s.bytes);
    }
    out.push_back(std::move(s));
  }
  return out;
}

TEST(Hdf5Reader, prophesee_file_of_mixed_ecf_and_raw_chunks_equals_its_events_in_any_chunking) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("big.hdf5");
  std::mt19937_64 rng(5);
  Columns c = random_chunk(rng, 100'000);
  std::sort(c.t.begin(), c.t.end());
  for (auto& y : c.y) y = static_cast<std::uint16_t>(y % 720);
  for (auto& x : c.x) x = static_cast<std::uint16_t>(x % 1280);
  write_prophesee(path, c.size(), 16384, encode_chunks(c, 16384, /*raw_chunk=*/2));
  const Recording rec = read(path);
  EXPECT_EQ(test::events_of(rec.events), c.events());
  EXPECT_EQ(rec.stats.corrupt(), 0u);
  expect_chunking_invariant(path);
}

TEST(Hdf5Reader, prophesee_events_beyond_the_geometry_are_dropped_and_counted) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("small_geometry.hdf5");
  write_prophesee(path, 5, 2, {{kVector2}, {kVector4}, {kVector1}}, {{"geometry", "5x30"}});
  const Recording rec = read(path);
  // x = 10 lies outside a 5-pixel-wide sensor.
  EXPECT_EQ(test::events_of(rec.events), (std::vector<Ev>{{10000, 0, 23, 1}, {5217, 0, 23, 1}, {4, 1, 2, 0}}));
  EXPECT_EQ(rec.stats.out_of_bounds, 2u);
  ReadOptions strict;
  strict.strict = true;
  try {
    read(path, strict);
    FAIL() << "strict mode accepted an event outside the geometry";
  } catch (const FormatError& e) {
    EXPECT_NE(e.detail().find("event 1 of /CD/events"), std::string::npos) << e.detail();
  }
}

TEST(Hdf5Reader, metavision_time_shift_subtracts_the_time_shift_attribute_on_request) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("shifted.hdf5");
  write_prophesee(path, 2, 2, {{kVector2}}, {{"geometry", "1280x720"}, {"time_shift", "4000"}});
  EXPECT_EQ(read(path).events.t()[0], 10000);
  ReadOptions o;
  o.metavision_time_shift = true;
  const Recording rec = read(path, o);
  EXPECT_EQ(rec.events.t()[0], 6000);
  EXPECT_EQ(rec.metadata->time_shift, 4000);
}

TEST(Hdf5Reader, corrupt_ecf_chunk_is_a_format_error_naming_the_chunk) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("corrupt.hdf5");
  auto bad = kVector4;
  bad[13] = 0xF1;  // the large delta now swallows the run byte; streams run out
  bad.resize(19);
  write_prophesee(path, 5, 2, {{kVector2}, {bad}, {kVector1}});
  try {
    read(path);
    FAIL() << "corrupt chunk accepted";
  } catch (const FormatError& e) {
    EXPECT_NE(e.detail().find("chunk 1 (events 2..4) of /CD/events"), std::string::npos) << e.detail();
    EXPECT_NE(e.offset(), FormatError::kNoOffset);
  }
}

TEST(Hdf5Reader, ecf_chunk_whose_count_disagrees_with_the_extent_is_a_format_error) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("count.hdf5");
  write_prophesee(path, 4, 2, {{kVector2}, {kVector1}});  // chunk 1 should hold 2 events, holds 1
  try {
    read(path);
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(e.detail().find("holds 1 events; the dataset extent implies 2"), std::string::npos) << e.detail();
  }
}

TEST(Hdf5Reader, missing_ecf_chunk_is_a_format_error) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("missing.hdf5");
  write_prophesee(path, 6, 2, {{kVector2}, {kVector4}});  // chunk 2 never written
  EXPECT_THROW(read(path), FormatError);
}

TEST(Hdf5Reader, damaged_ecf_chunks_never_crash) {
  test::ScopedTempDir dir;
  std::mt19937_64 rng(9);
  const Columns c = random_chunk(rng, 3000);
  const auto chunks = encode_chunks(c, 1024);
  for (int trial = 0; trial < 60; ++trial) {
    auto damaged = chunks;
    auto& bytes = damaged[rng() % damaged.size()].bytes;
    if (trial % 3 == 0) bytes.resize(rng() % bytes.size());
    for (int k = 0; k < 4; ++k) {
      if (!bytes.empty()) bytes[rng() % bytes.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
    }
    if (bytes.empty()) bytes.push_back(0);
    const std::string path = dir.file("damaged" + std::to_string(trial) + ".hdf5");
    write_prophesee(path, c.size(), 1024, damaged, {{"geometry", "2048x2048"}});
    try {
      const Recording rec = read(path);
      EXPECT_LE(rec.events.size(), c.size());
    } catch (const FormatError&) {
    }
  }
}

TEST(Hdf5Reader, prophesee_compound_without_ecf_filter_is_read_with_plain_reads) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("plain_cd.h5");
  const std::vector<CdRecord> recs = {{1, 2, 1, 0, 100}, {3, 4, 0, 0, 200}, {5, 6, -1, 0, 300}};
  {
    Handle f = create_file(path);
    Handle type = cd_file_type();
    make_dataset(f.get(), "/CD/events", type.get(), type.get(), recs.data(), {recs.size()}, 2);
  }
  EXPECT_EQ(test::events_of(read(path).events), (std::vector<Ev>{{100, 1, 2, 1}, {200, 3, 4, 0}, {300, 5, 6, 0}}));
}

// ---------------------------------------------------------------------------------------------
// Damaged and unsupported files

TEST(Hdf5Reader, truncated_files_are_format_errors_never_crashes) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("full.h5");
  EventBatch events = EventBatch::with_capacity(5000);
  TriggerBatch triggers;
  SceneGenerator({.width = 640, .height = 480}).generate(events, triggers, 5000);
  WriteOptions wo;
  wo.width = 640;
  wo.height = 480;
  test::write_events(path, wo, events);
  const auto bytes = test::read_file(path);
  for (std::size_t len : {std::size_t{8}, std::size_t{100}, std::size_t{1000}, bytes.size() / 4, bytes.size() / 2,
                          bytes.size() - 100, bytes.size() - 1}) {
    const std::string cut = dir.file("cut" + std::to_string(len) + ".h5");
    test::write_file(cut, std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(len)));
    EXPECT_THROW(read(cut, ReadOptions{.format = "hdf5"}), FormatError) << "length " << len;
  }
}

TEST(Hdf5Reader, unavailable_compression_filter_is_named_in_the_error) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("blosc.h5");
  {
    Handle f = create_file(path);
    for (const char* name : {"/events/t", "/events/x", "/events/y", "/events/p"}) {
      const std::vector<std::uint8_t> v = {1, 2, 3};
      const hsize_t n = 3, chunk = 3;
      Handle space = detail::h5::space_handle(H5Screate_simple(1, &n, nullptr));
      Handle dcpl = detail::h5::plist_handle(H5Pcreate(H5P_DATASET_CREATE));
      H5Pset_chunk(dcpl.get(), 1, &chunk);
      H5Pset_filter(dcpl.get(), 32001, H5Z_FLAG_OPTIONAL, 0, nullptr);
      Handle lcpl = intermediate_groups();
      Handle ds = detail::h5::dataset_handle(H5Dcreate2(f.get(), name, H5T_STD_U8LE, space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT));
      const hsize_t offset = 0;
      H5Dwrite_chunk(ds.get(), H5P_DEFAULT, 0, &offset, v.size(), v.data());
    }
  }
  try {
    read(path);
    FAIL() << "blosc data read without the filter";
  } catch (const FormatError& e) {
    EXPECT_NE(e.detail().find("filter 32001 (blosc)"), std::string::npos) << e.detail();
    EXPECT_NE(e.detail().find("/events/t"), std::string::npos) << e.detail();
  }
}

TEST(Hdf5Reader, file_without_event_datasets_is_a_format_error_listing_the_layouts) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("images.h5");
  {
    Handle f = create_file(path);
    column<std::uint8_t>(f.get(), "/images/image000000000", H5T_STD_U8LE, {1, 2, 3});
  }
  try {
    read(path);
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(e.detail().find("no events found"), std::string::npos) << e.detail();
  }
}

TEST(Hdf5Reader, incomplete_events_group_names_the_missing_column) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("partial.h5");
  {
    Handle f = create_file(path);
    column<std::int64_t>(f.get(), "/events/t", H5T_STD_I64LE, {1});
    column<std::uint16_t>(f.get(), "/events/x", H5T_STD_U16LE, {1});
    column<std::uint16_t>(f.get(), "/events/y", H5T_STD_U16LE, {1});
  }
  try {
    read(path);
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(e.detail().find("polarity"), std::string::npos) << e.detail();
  }
}

TEST(Hdf5Reader, columns_of_different_lengths_are_a_format_error) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("ragged.h5");
  {
    Handle f = create_file(path);
    column<std::int64_t>(f.get(), "/events/t", H5T_STD_I64LE, {1, 2});
    column<std::uint16_t>(f.get(), "/events/x", H5T_STD_U16LE, {1});
    column<std::uint16_t>(f.get(), "/events/y", H5T_STD_U16LE, {1, 2});
    column<std::uint8_t>(f.get(), "/events/p", H5T_STD_U8LE, {1, 2});
  }
  EXPECT_THROW(read(path), FormatError);
}

TEST(Hdf5Reader, unrepresentable_values_are_dropped_and_counted) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("nan.h5");
  {
    Handle f = create_file(path);
    column<double>(f.get(), "/events/t", H5T_IEEE_F64LE, {1.0, std::nan(""), 3.0, 4.0, 5.0});
    column<std::int32_t>(f.get(), "/events/x", H5T_STD_I32LE, {1, 2, -3, 70000, 5});
    column<std::uint16_t>(f.get(), "/events/y", H5T_STD_U16LE, {1, 2, 3, 4, 5});
    column<std::uint8_t>(f.get(), "/events/p", H5T_STD_U8LE, {1, 1, 1, 1, 7});
  }
  const Recording rec = read(path);
  EXPECT_EQ(test::events_of(rec.events), (std::vector<Ev>{{1000000, 1, 1, 1}, {5000000, 5, 5, 1}}));
  EXPECT_EQ(rec.stats.out_of_bounds, 3u);
  EXPECT_NE(rec.stats.first_error.find("event 1 of /events"), std::string::npos) << rec.stats.first_error;
}

TEST(Hdf5Reader, signature_after_a_user_block_is_detected) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("userblock.data");
  {
    Handle f = create_file(path, 512);
    column<std::int64_t>(f.get(), "/events/t", H5T_STD_I64LE, {7});
    column<std::uint16_t>(f.get(), "/events/x", H5T_STD_U16LE, {1});
    column<std::uint16_t>(f.get(), "/events/y", H5T_STD_U16LE, {2});
    column<std::uint8_t>(f.get(), "/events/p", H5T_STD_U8LE, {1});
  }
  EXPECT_EQ(detect_format(path), "hdf5");
  EXPECT_EQ(test::events_of(read(path).events), (std::vector<Ev>{{7, 1, 2, 1}}));
}

TEST(Hdf5Reader, empty_event_datasets_give_no_events) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("empty.h5");
  {
    Handle f = create_file(path);
    column<std::int64_t>(f.get(), "/events/t", H5T_STD_I64LE, std::vector<std::int64_t>{});
    column<std::uint16_t>(f.get(), "/events/x", H5T_STD_U16LE, std::vector<std::uint16_t>{});
    column<std::uint16_t>(f.get(), "/events/y", H5T_STD_U16LE, std::vector<std::uint16_t>{});
    column<std::uint8_t>(f.get(), "/events/p", H5T_STD_U8LE, std::vector<std::uint8_t>{});
  }
  EXPECT_EQ(read(path).events.size(), 0u);
  Reader r = Reader::open(path);
  EXPECT_FALSE(r.next().has_value());
}

// ---------------------------------------------------------------------------------------------
// Seeking (for time seeking built on the index)

TEST(Hdf5Reader, seek_event_restarts_reading_at_any_index) {
  test::ScopedTempDir dir;
  const std::string path = dir.file("seek.hdf5");
  std::mt19937_64 rng(21);
  Columns c = random_chunk(rng, 5000);
  std::sort(c.t.begin(), c.t.end());
  write_prophesee(path, c.size(), 1024, encode_chunks(c, 1024), {{"geometry", "2048x2048"}});
  Metadata meta;
  auto reader = detail::hdf5_decoder().open(std::make_unique<detail::ByteSource>(path, 0), {}, {}, meta);
  auto* h5 = dynamic_cast<detail::Hdf5FormatReader*>(reader.get());
  ASSERT_NE(h5, nullptr);
  EXPECT_EQ(h5->event_count(), c.size());
  for (std::uint64_t index : {std::uint64_t{4999}, std::uint64_t{1023}, std::uint64_t{1024}, std::uint64_t{0}, std::uint64_t{3000}}) {
    h5->seek_event(index);
    EXPECT_EQ(h5->next_event(), index);
    EventBatch batch = EventBatch::with_capacity(300);
    TriggerBatch triggers;
    h5->fill(batch, triggers);
    const std::size_t n = std::min<std::size_t>(300, c.size() - index);
    ASSERT_EQ(batch.size(), n);
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(test::events_of(batch)[i], c.events()[index + i]) << index;
  }
}

// ---------------------------------------------------------------------------------------------
// Writer

EventBatch scene(std::size_t n, TriggerBatch& triggers, std::uint64_t seed = 1) {
  EventBatch events = EventBatch::with_capacity(n);
  SceneGenerator({.width = 1280, .height = 720, .seed = seed, .trigger_rate = 2000}).generate(events, triggers, n);
  return events;
}

TEST(Hdf5Writer, round_trip_is_bit_exact_with_triggers_geometry_and_header) {
  test::ScopedTempDir dir;
  TriggerBatch triggers;
  const EventBatch events = scene(700'000, triggers);
  ASSERT_GT(triggers.size(), 10u);
  for (const char* compression : {"", "gzip=1"}) {
    const std::string path = dir.file(std::string("out") + compression + ".h5");
    WriteOptions wo;
    wo.width = 1280;
    wo.height = 720;
    wo.compression = compression;
    wo.header = {{"source", "synthetic"}, {"serial_number", "00042"}};
    // Several writes of odd sizes: exercises the chunk buffering.
    Writer w = Writer::create(path, wo);
    for (std::size_t begin = 0; begin < events.size();) {
      const std::size_t n = std::min<std::size_t>(begin == 0 ? 1000 : 300'001, events.size() - begin);
      const EventBatch part = events.slice(begin, begin + n);
      TriggerBatch tpart;
      for (std::size_t i = 0; i < triggers.size(); ++i) {
        if (triggers.t[i] >= part.t()[0] && (begin + n == events.size() || triggers.t[i] < events.t()[begin + n])) {
          tpart.push_back(triggers.t[i], triggers.channel[i], triggers.value[i]);
        }
      }
      w.write(part, tpart);
      begin += n;
    }
    w.close();
    EXPECT_EQ(w.events_written(), events.size());
    const Recording rec = read(path);
    EXPECT_EQ(digest(rec.events), digest(events)) << compression;
    EXPECT_EQ(rec.triggers.size(), triggers.size());
    EXPECT_EQ(rec.metadata->width, 1280u);
    EXPECT_EQ(rec.metadata->height, 720u);
    ASSERT_NE(rec.metadata->header_value("source"), nullptr);
    EXPECT_EQ(*rec.metadata->header_value("source"), "synthetic");
    EXPECT_EQ(*rec.metadata->header_value("serial_number"), "00042");
    expect_chunking_invariant(path);
  }
}

TEST(Hdf5Writer, gzip_makes_the_file_smaller) {
  test::ScopedTempDir dir;
  TriggerBatch triggers;
  const EventBatch events = scene(300'000, triggers);
  WriteOptions plain;
  plain.format = "hdf5";
  WriteOptions gzip = plain;
  gzip.compression = "gzip";
  test::write_events(dir.file("plain.out"), plain, events);
  test::write_events(dir.file("gzip.out"), gzip, events);
  EXPECT_LT(std::filesystem::file_size(dir.file("gzip.out")) * 2, std::filesystem::file_size(dir.file("plain.out")));
  EXPECT_EQ(digest(read(dir.file("gzip.out")).events), digest(events));
}

TEST(Hdf5Writer, is_chosen_by_extension_and_listed_as_writable) {
  const auto formats = writable_formats();
  EXPECT_NE(std::find(formats.begin(), formats.end(), "hdf5"), formats.end());
  test::ScopedTempDir dir;
  TriggerBatch none;
  const EventBatch events = scene(1000, none);
  for (const char* name : {"a.h5", "b.hdf5"}) {
    test::write_events(dir.file(name), {}, events);
    EXPECT_EQ(detect_format(dir.file(name)), "hdf5");
  }
}

TEST(Hdf5Writer, leaves_no_file_when_abandoned_and_never_overwrites_without_permission) {
  test::ScopedTempDir dir;
  TriggerBatch none;
  const EventBatch events = scene(1000, none);
  {
    Writer w = Writer::create(dir.file("abandoned.h5"), {});
    w.write(events);
  }
  EXPECT_TRUE(test::list_dir(dir.path()).empty());
  test::write_events(dir.file("kept.h5"), {}, events);
  EXPECT_THROW(Writer::create(dir.file("kept.h5"), {}), IoError);
  WriteOptions force;
  force.overwrite = true;
  test::write_events(dir.file("kept.h5"), force, events.slice(0, 10));
  EXPECT_EQ(read(dir.file("kept.h5")).events.size(), 10u);
  EXPECT_EQ(test::list_dir(dir.path()).size(), 1u);
}

TEST(Hdf5Writer, refuses_events_outside_the_geometry_and_unknown_compression) {
  test::ScopedTempDir dir;
  WriteOptions wo;
  wo.width = 10;
  wo.height = 10;
  Writer w = Writer::create(dir.file("small.h5"), wo);
  EXPECT_THROW(w.write(test::batch_of({{0, 10, 0, 1}})), InvalidArgument);
  WriteOptions bad;
  bad.compression = "lzma";
  EXPECT_THROW(Writer::create(dir.file("bad.h5"), bad), InvalidArgument);
}

bool have_h5py() { return test::run_command("/usr/bin/python3 -c 'import h5py, numpy'") == 0; }

TEST(Hdf5Writer, h5py_reads_the_same_values) {
  if (!have_h5py()) GTEST_SKIP() << "/usr/bin/python3 with h5py and numpy is not installed";
  test::ScopedTempDir dir;
  TriggerBatch triggers;
  const EventBatch events = scene(400'000, triggers, 3);
  const std::string path = dir.file("for_h5py.h5");
  WriteOptions wo;
  wo.width = 1280;
  wo.height = 720;
  wo.compression = "gzip";
  wo.header = {{"source", "synthetic"}};
  test::write_events(path, wo, events, triggers);
  const std::string script = dir.file("check.py");
  test::write_file(script, [] {
    const std::string s =
        "import hashlib, sys, h5py, numpy as np\n"
        "f = h5py.File(sys.argv[1], 'r')\n"
        "e = f['events']\n"
        "n = e['t'].shape[0]\n"
        "rec = np.empty(n, dtype=[('t', '<i8'), ('x', '<u2'), ('y', '<u2'), ('p', 'u1')])\n"
        "for k in 'txyp': rec[k] = e[k][:]\n"
        "print(hashlib.sha256(rec.tobytes()).hexdigest())\n"
        "print(n, e['t'].dtype, e['x'].dtype, e['y'].dtype, e['p'].dtype)\n"
        "print(int(f.attrs['width']), int(f.attrs['height']), f.attrs['source'])\n"
        "print(f['triggers/t'].shape[0], int(f['triggers/t'][-1]))\n";
    return std::vector<std::uint8_t>(s.begin(), s.end());
  }());
  std::string out, err;
  ASSERT_EQ(test::run_command("/usr/bin/python3 " + script + " " + path, &out, &err), 0) << err;
  const std::string expected = digest(events) + "\n" + std::to_string(events.size()) + " int64 uint16 uint16 uint8\n" +
                               "1280 720 synthetic\n" + std::to_string(triggers.size()) + " " +
                               std::to_string(triggers.t.back()) + "\n";
  EXPECT_EQ(out, expected);
}

TEST(Hdf5Reader, reads_an_event_utils_file_written_by_h5py) {
  if (!have_h5py()) GTEST_SKIP() << "/usr/bin/python3 with h5py and numpy is not installed";
  test::ScopedTempDir dir;
  const std::string path = dir.file("event_utils.h5");
  const std::string script =
      "import sys, h5py, numpy as np\n"
      "with h5py.File(sys.argv[1], 'w') as f:\n"
      "    g = f.create_group('events')\n"
      "    g.create_dataset('xs', data=np.array([1, 2, 3], dtype=np.int16), compression='gzip')\n"
      "    g.create_dataset('ys', data=np.array([4, 5, 6], dtype=np.int16), compression='gzip')\n"
      "    g.create_dataset('ts', data=np.array([0.5, 0.75, 1.0]), compression='gzip')\n"
      "    g.create_dataset('ps', data=np.array([True, False, True]), compression='gzip')\n"
      "    f.attrs['sensor_resolution'] = (260, 346)\n"
      "    f.attrs['num_events'] = 3\n";
  const std::string script_path = dir.file("make.py");
  test::write_file(script_path, std::vector<std::uint8_t>(script.begin(), script.end()));
  std::string err;
  ASSERT_EQ(test::run_command("/usr/bin/python3 " + script_path + " " + path, nullptr, &err), 0) << err;
  const Recording rec = read(path);
  EXPECT_EQ(test::events_of(rec.events), (std::vector<Ev>{{500000, 1, 4, 1}, {750000, 2, 5, 0}, {1000000, 3, 6, 1}}));
  EXPECT_EQ(rec.metadata->width, 346u);
  EXPECT_EQ(rec.metadata->height, 260u);
  EXPECT_EQ(*rec.metadata->header_value("num_events"), "3");
}

// ---------------------------------------------------------------------------------------------
// Metavision-compatible writer (compression "ecf")

TEST(Hdf5EcfWriter, round_trip_through_ecf_chunks_is_bit_exact_with_triggers) {
  test::ScopedTempDir dir;
  TriggerBatch triggers;
  const EventBatch events = scene(200'000, triggers, 4);
  const std::string path = dir.file("metavision.hdf5");
  WriteOptions wo;
  wo.width = 1280;
  wo.height = 720;
  wo.compression = "ecf";
  wo.header = {{"format", "EVT3"}, {"serial_number", "00ca0009"}, {"evt", "3.0"}};
  Writer w = Writer::create(path, wo);
  w.write(events.slice(0, 70'001), triggers);
  w.write(events.slice(70'001, events.size()));
  w.close();
  const Recording rec = read(path);
  EXPECT_EQ(digest(rec.events), digest(events));
  EXPECT_EQ(test::triggers_of(rec.triggers), test::triggers_of(triggers));
  EXPECT_EQ(*rec.metadata->header_value("hdf5.layout"), "prophesee");
  EXPECT_EQ(*rec.metadata->header_value("geometry"), "1280x720");
  EXPECT_EQ(*rec.metadata->header_value("version"), "1.0");
  EXPECT_EQ(*rec.metadata->header_value("format"), "EVT3");
  EXPECT_EQ(rec.metadata->header_value("evt"), nullptr);  // describes RAW streams only
  EXPECT_EQ(rec.metadata->width, 1280u);
  expect_chunking_invariant(path);
}

TEST(Hdf5EcfWriter, plain_h5dread_decodes_through_the_registered_ecf_filter) {
  test::ScopedTempDir dir;
  TriggerBatch none;
  const EventBatch events = scene(40'000, none, 5);
  const std::string path = dir.file("filter.hdf5");
  WriteOptions wo;
  wo.compression = "ecf";
  test::write_events(path, wo, events);
  Handle f = detail::h5::file_handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  Handle ds = detail::h5::dataset_handle(H5Dopen2(f.get(), "/CD/events", H5P_DEFAULT));
  ASSERT_TRUE(ds);
  std::vector<CdRecord> recs(events.size());
  Handle type = cd_file_type();
  ASSERT_GE(H5Dread(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, recs.data()), 0);
  for (std::size_t i = 0; i < events.size(); i += 997) {
    EXPECT_EQ((Ev{recs[i].t, recs[i].x, recs[i].y, static_cast<std::uint8_t>(recs[i].p)}), test::events_of(events)[i]);
  }
}

TEST(Hdf5EcfWriter, refuses_what_metavision_files_cannot_hold) {
  test::ScopedTempDir dir;
  WriteOptions wo;
  wo.compression = "ecf";
  Writer w = Writer::create(dir.file("a.hdf5"), wo);
  EXPECT_THROW(w.write(test::batch_of({{0, 2048, 0, 1}})), InvalidArgument);
  EXPECT_THROW(w.write(test::batch_of({{10, 1, 0, 1}, {9, 1, 0, 1}})), InvalidArgument);
  WriteOptions huge = wo;
  huge.width = 4096;
  huge.height = 10;
  EXPECT_THROW(Writer::create(dir.file("b.hdf5"), huge), InvalidArgument);
}

// The seek index takes an entry per 2000 µs between events, held until the flush: two events
// 10^11 µs apart took 800 MB and 2.5 GB of memory, 2^63 µs std::bad_alloc. They are spilled to the
// file as they are made now, and gaps over 2^26 entries (37 hours) are refused, naming the event;
// a 3-hour gap (a recording's triggers at its two ends) is written.
TEST(Hdf5EcfWriter, a_gap_that_would_take_millions_of_index_entries_is_refused) {
  test::ScopedTempDir dir;
  WriteOptions wo;
  wo.compression = "ecf";
  for (const std::int64_t far : {std::int64_t{1'000'000'000'000}, std::numeric_limits<std::int64_t>::max()}) {
    Writer w = Writer::create(dir.file("gap.h5"), wo);
    try {
      w.write(test::batch_of({{-5, 1, 1, 1}, {far, 1, 1, 1}}));
      ADD_FAILURE() << far << " accepted";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("gap before event 1 at " + std::to_string(far)), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(test::list_dir(dir.path()).empty());
  const std::int64_t hours = std::int64_t{3} * 3600 * 1'000'000;
  TriggerBatch triggers;
  triggers.push_back(0, 0, 1);
  triggers.push_back(hours, 0, 0);
  {
    Writer w = Writer::create(dir.file("long.h5"), wo);
    w.write(test::batch_of({{0, 1, 1, 1}, {hours, 2, 2, 0}}), triggers);
    w.close();
  }
  const Recording back = read(dir.file("long.h5"));
  EXPECT_EQ(back.events.t()[1], hours);
  EXPECT_EQ(back.triggers.t, (std::vector<std::int64_t>{0, hours}));
}

TEST(Hdf5EcfWriter, h5py_sees_metavision_structure_and_a_valid_seek_index) {
  if (!have_h5py()) GTEST_SKIP() << "/usr/bin/python3 with h5py and numpy is not installed";
  test::ScopedTempDir dir;
  TriggerBatch triggers;
  const EventBatch events = scene(100'000, triggers, 6);
  const std::string path = dir.file("structure.hdf5");
  WriteOptions wo;
  wo.width = 1280;
  wo.height = 720;
  wo.compression = "ecf";
  test::write_events(path, wo, events, triggers);
  const std::string script =
      "import struct, sys, h5py, numpy as np\n"
      "f = h5py.File(sys.argv[1], 'r')\n"
      "ev = f['CD/events']\n"
      "assert ev.dtype.names == ('x', 'y', 'p', 't'), ev.dtype\n"
      "assert [ev.dtype.fields[k][1] for k in 'xypt'] == [0, 2, 4, 8] and ev.dtype.itemsize == 16\n"
      "assert ev.chunks == (16384,) and ev.maxshape == (None,)\n"
      "assert ev.id.get_create_plist().get_filter(0)[0] == 36559\n"
      "mask, chunk0 = ev.id.read_direct_chunk((0,))\n"
      "assert mask == 0 and struct.unpack('<I', chunk0[:4])[0] >> 2 == 16384\n"
      "tr = f['EXT_TRIGGER/events']\n"
      "assert tr.dtype.names == ('p', 't', 'id') and tr.dtype.itemsize == 24\n"
      "idx = f['CD/indexes'][:]\n"
      "t = np.array([int(v) for v in open(sys.argv[2]).read().split(',')])\n"
      "r = t - t[0]\n"
      "assert f['CD/indexes'].attrs['offset'] == str(-t[0])\n"
      "assert (idx['id'][0], idx['ts'][0]) == (0, -1)\n"
      "assert len(idx) == r[-1] // 2000 + 2, (len(idx), r[-1])\n"
      "for k in range(1, len(idx) - 1):\n"
      "    assert idx['id'][k] <= np.searchsorted(r, (k - 1) * 2000)\n"
      "print(ev.shape[0], tr.shape[0], f.attrs['version'], f.attrs['geometry'])\n";
  const std::string script_path = dir.file("check.py");
  test::write_file(script_path, std::vector<std::uint8_t>(script.begin(), script.end()));
  // The event times, for checking the index.
  std::string times;
  for (std::size_t i = 0; i < events.size(); ++i) times += (i ? "," : "") + std::to_string(events.t()[i]);
  const std::string times_path = dir.file("times.txt");
  test::write_file(times_path, std::vector<std::uint8_t>(times.begin(), times.end()));
  std::string out, err;
  ASSERT_EQ(test::run_command("/usr/bin/python3 " + script_path + " " + path + " " + times_path, &out, &err), 0) << err;
  EXPECT_EQ(out, std::to_string(events.size()) + " " + std::to_string(triggers.size()) + " 1.0 1280x720\n");
}

}  // namespace
}  // namespace evlib
