// AEDAT 4.0: docs/formats.md 11.5 vectors, a real DV recording (tonic's sample.aedat4, test data),
// the FileDataTable, windows split anywhere, writer round trips (LZ4, Zstd, none) and damaged
// input. Files that the writer cannot produce (other stream layouts, frames without a declared
// content size, unknown streams) are built here by hand, with an IOHeader laid out like DV's.
#include <gtest/gtest.h>
#include <lz4frame.h>
#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "evlib/digest.hpp"
#include "evlib/error.hpp"
#include "evlib/reader.hpp"
#include "evlib/synth.hpp"
#include "evlib/writer.hpp"
#include "formats/inivation/aedat4.hpp"
#include "formats/inivation/aedat4_reader.hpp"
#include "io/byte_source.hpp"
#include "io/format_reader.hpp"
#include "support/decode_harness.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

using test::Ev;
using test::Trig;

const char* kSpec11_5 =
    "2C 00 00 00 10 00 00 00 45 56 54 53 06 00 08 00 04 00 00 00 08 00 00 00 04 00 00 00 01 00 00 00 "
    "E8 03 00 00 00 00 00 00 05 00 07 00 01 00 00 00";

// ---- hand-built files ----

template <class T>
void put(std::vector<std::uint8_t>& b, std::size_t at, T v) {
  if (b.size() < at + sizeof v) b.resize(at + sizeof v);
  std::memcpy(b.data() + at, &v, sizeof v);
}

std::string stream_xml(int id, const char* type, int w = 0, int h = 0) {
  std::string s = "<node name=\"" + std::to_string(id) + "\" path=\"/o/" + std::to_string(id) + "/\">" +
                  "<attr key=\"typeIdentifier\" type=\"string\">" + type + "</attr><node name=\"info\" path=\"/x/\">";
  if (w != 0) s += "<attr key=\"sizeX\" type=\"int\">" + std::to_string(w) + "</attr>";
  if (h != 0) s += "<attr key=\"sizeY\" type=\"int\">" + std::to_string(h) + "</attr>";
  return s + "</node></node>";
}
std::string dv_xml(const std::string& streams) {
  return "<dv version=\"2.0\">\n<node name=\"outInfo\" path=\"/mainloop/Recorder/outInfo/\">" + streams + "</node>\n</dv>";
}

// Magic and a size-prefixed IOHeader in the field order DV uses (compression, infoNode offset,
// then dataTablePosition: tonic's sample.aedat4 has this layout).
std::vector<std::uint8_t> file_head(std::int32_t compression, std::int64_t table, const std::string& xml) {
  std::vector<std::uint8_t> fb(44, 0);
  put<std::uint32_t>(fb, 0, 24);
  std::memcpy(fb.data() + 4, "IOHE", 4);
  put<std::uint32_t>(fb, 8, 0);
  put<std::uint16_t>(fb, 12, 0);
  const std::uint16_t vt[5] = {10, 20, 4, 12, 8};
  for (int i = 0; i < 5; ++i) put<std::uint16_t>(fb, 14 + 2 * i, vt[i]);
  put<std::int32_t>(fb, 24, 10);
  put<std::int32_t>(fb, 28, compression);
  put<std::uint32_t>(fb, 32, 12);  // string at 44
  put<std::int64_t>(fb, 36, table);
  put<std::uint32_t>(fb, 44, static_cast<std::uint32_t>(xml.size()));
  std::copy(xml.begin(), xml.end(), std::back_inserter(fb));  // (insert: a false -Wstringop-overread)
  fb.push_back(0);
  while (fb.size() % 4) fb.push_back(0);
  std::vector<std::uint8_t> out(detail::kAedat4Magic, detail::kAedat4Magic + detail::kAedat4MagicBytes);
  const auto n = static_cast<std::uint32_t>(fb.size());
  for (int k = 0; k < 4; ++k) out.push_back(static_cast<std::uint8_t>(n >> (8 * k)));  // little-endian
  std::copy(fb.begin(), fb.end(), std::back_inserter(out));  // (insert: a false -Wstringop-overread)
  return out;
}

// A size-prefixed EVTS FlatBuffer (the layout of docs/formats.md 11.5 vector 1).
std::vector<std::uint8_t> evts(const std::vector<Ev>& events) {
  std::vector<std::uint8_t> b = test::hex_bytes("00 00 00 00 10 00 00 00 45 56 54 53 06 00 08 00 04 00 00 00 08 00 00 00 04 00 00 00");
  put<std::uint32_t>(b, 28, static_cast<std::uint32_t>(events.size()));
  for (std::size_t i = 0; i < events.size(); ++i) {
    const std::size_t at = 32 + 16 * i;
    put<std::int64_t>(b, at, events[i].t);
    put<std::int16_t>(b, at + 8, static_cast<std::int16_t>(events[i].x));
    put<std::int16_t>(b, at + 10, static_cast<std::int16_t>(events[i].y));
    put<std::uint32_t>(b, at + 12, events[i].p);
  }
  put<std::uint32_t>(b, 0, static_cast<std::uint32_t>(b.size() - 4));
  return b;
}

// A size-prefixed TRIG FlatBuffer; each Trigger table has its own vtable with the fields in the
// other order (the writer shares one vtable), to exercise the parser on another layout.
std::vector<std::uint8_t> trig_payload(const std::vector<std::pair<std::int64_t, std::int8_t>>& triggers) {
  // FlatBuffer positions (after the 4-byte prefix): root table at 16, vtable at 8, vector at 24,
  // then per trigger: vtable (8 bytes) + table (soffset, pad, int64, int8).
  std::vector<std::uint8_t> fb(16, 0);
  put<std::uint32_t>(fb, 0, 16);
  std::memcpy(fb.data() + 4, "TRIG", 4);
  const std::uint16_t root_vt[3] = {6, 8, 4};
  for (int i = 0; i < 3; ++i) put<std::uint16_t>(fb, 8 + 2 * i, root_vt[i]);
  put<std::int32_t>(fb, 16, 8);
  put<std::uint32_t>(fb, 20, 4);
  const std::size_t n = triggers.size();
  put<std::uint32_t>(fb, 24, static_cast<std::uint32_t>(n));
  std::size_t pos = 28 + 4 * n;
  for (std::size_t i = 0; i < n; ++i) {
    while (pos % 8 != 0) fb.resize(++pos, 0);
    const std::size_t vt = pos, table = pos + 8;  // vtable {8, 16, 8, 4}: type first, then time
    const std::uint16_t v[4] = {8, 16, 8, 4};
    for (int k = 0; k < 4; ++k) put<std::uint16_t>(fb, vt + 2 * k, v[k]);
    put<std::int32_t>(fb, table, static_cast<std::int32_t>(table - vt));
    put<std::int8_t>(fb, table + 4, triggers[i].second);
    put<std::int64_t>(fb, table + 8, triggers[i].first);
    put<std::uint32_t>(fb, 28 + 4 * i, static_cast<std::uint32_t>(table - (28 + 4 * i)));
    pos = table + 16;
  }
  fb.resize(pos, 0);
  std::vector<std::uint8_t> out(4);
  put<std::uint32_t>(out, 0, static_cast<std::uint32_t>(fb.size()));
  std::copy(fb.begin(), fb.end(), std::back_inserter(out));  // (insert: a false -Wstringop-overread)
  return out;
}

std::vector<std::uint8_t> lz4_frame(const std::vector<std::uint8_t>& in, bool content_size) {
  LZ4F_preferences_t prefs{};
  if (content_size) prefs.frameInfo.contentSize = in.size();
  std::vector<std::uint8_t> out(LZ4F_compressFrameBound(in.size(), &prefs));
  out.resize(LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs));
  return out;
}

// A Zstd frame without a declared content size (streaming compression, size not pledged).
std::vector<std::uint8_t> zstd_streamed(const std::vector<std::uint8_t>& in) {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  std::vector<std::uint8_t> out(ZSTD_compressBound(in.size()) + 64);
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  ZSTD_outBuffer dst{out.data(), out.size(), 0};
  while (ZSTD_compressStream2(c, &dst, &src, ZSTD_e_end) != 0) {
  }
  ZSTD_freeCCtx(c);
  out.resize(dst.pos);
  return out;
}

void add_packet(std::vector<std::uint8_t>& file, std::int32_t stream, const std::vector<std::uint8_t>& payload) {
  const std::size_t at = file.size();
  put<std::int32_t>(file, at, stream);
  put<std::int32_t>(file, at + 4, static_cast<std::int32_t>(payload.size()));
  file.insert(file.end(), payload.begin(), payload.end());
}

std::vector<Ev> sample_events(std::size_t n, std::uint32_t seed, std::int64_t t0 = 1'000'000) {
  std::mt19937 rng(seed);
  std::vector<Ev> out;
  std::int64_t t = t0;
  for (std::size_t i = 0; i < n; ++i) {
    t += rng() % 7;
    out.push_back({t, static_cast<std::uint16_t>(rng() % 346), static_cast<std::uint16_t>(rng() % 260),
                   static_cast<std::uint8_t>(rng() & 1)});
  }
  return out;
}

// ---- reading helpers ----

const detail::FormatDecoder& aedat4_descriptor() {
  const detail::FormatDescriptor* f = detail::format_named("aedat4");
  if (f == nullptr) throw std::runtime_error("aedat4 not registered");
  return f->decoder;
}

struct Pulled {
  std::string digest;
  std::size_t events = 0;
  TriggerBatch triggers;
  DecodeStats stats;
};

// Reads path through the AEDAT 4 reader with ByteSource windows of `window` bytes and chunks of
// `chunk` events.
Pulled pull(const std::string& path, std::size_t window, std::size_t chunk) {
  auto source = std::make_unique<detail::ByteSource>(path, 0, window);
  const auto prefix = source->prefix(detail::kPrefixBytes);
  Metadata meta;
  auto reader = aedat4_descriptor().open(std::move(source), prefix, ReadOptions{}, meta);
  EventBatch batch = EventBatch::with_capacity(chunk);
  EventDigest d;
  Pulled out;
  bool more = true;
  while (more) {
    batch.set_size(0);
    more = reader->fill(batch, out.triggers);
    d.update(batch);
    out.events += batch.size();
  }
  out.digest = d.finish();
  out.stats = reader->stats();
  return out;
}

std::size_t count_on(const EventBatch& b) {
  std::size_t on = 0;
  for (auto p : b.p()) on += p;
  return on;
}

// ---- docs/formats.md 11.5 ----

TEST(Aedat4Payload, spec_11_5_vector_1_event_packet) {
  const auto bytes = test::hex_bytes(kSpec11_5);
  const std::uint8_t* first = nullptr;
  std::size_t count = 0;
  ASSERT_EQ(detail::aedat4_events(bytes, first, count), nullptr);
  ASSERT_EQ(count, 1u);
  std::int64_t t;
  std::memcpy(&t, first, 8);
  EXPECT_EQ(t, 1000);
  EXPECT_EQ(first[8], 5);
  EXPECT_EQ(first[10], 7);
  EXPECT_EQ(first[12], 1);
  EXPECT_EQ(bytes, evts({{1000, 5, 7, 1}}));  // the test's own builder agrees with the vector
}

TEST(Aedat4File, spec_11_5_vector_1_as_a_packet_in_a_file) {
  test::ScopedTempDir dir;
  auto file = file_head(0, -1, dv_xml(stream_xml(0, "EVTS", 346, 260)));
  const std::size_t data_offset = file.size();
  const auto packet = test::hex_bytes("00 00 00 00 30 00 00 00 " + std::string(kSpec11_5));
  file.insert(file.end(), packet.begin(), packet.end());
  const auto path = dir.file("v.aedat4");
  test::write_file(path, file);
  EXPECT_EQ(detect_format(path), "aedat4");
  const Recording rec = read(path);
  EXPECT_EQ(rec.metadata->format, "aedat4");
  EXPECT_EQ(rec.metadata->data_offset, data_offset);
  EXPECT_EQ(rec.metadata->width, 346u);
  EXPECT_EQ(rec.metadata->height, 260u);
  EXPECT_EQ(*rec.metadata->header_value("compression"), "NONE");
  EXPECT_EQ(test::events_of(rec.events), (std::vector<Ev>{{1000, 5, 7, 1}}));
  EXPECT_EQ(rec.stats.corrupt(), 0u);
}

TEST(Aedat4Writer, none_compression_writes_the_spec_11_5_packet_bytes) {
  test::ScopedTempDir dir;
  WriteOptions o;
  o.width = 346;
  o.height = 260;
  o.compression = "none";
  const auto path = test::write_events(dir.file("one.aedat4"), o, test::batch_of({{1000, 5, 7, 1}}));
  const auto payload = test::payload_of(path);
  ASSERT_GE(payload.size(), 56u);
  EXPECT_EQ(std::vector<std::uint8_t>(payload.begin(), payload.begin() + 56),
            test::hex_bytes("00 00 00 00 30 00 00 00 " + std::string(kSpec11_5)));
}

// ---- the real file (aedat4/tonic_sample.aedat4 of the test recordings, docs/formats.md 11.5
// ---- vector 2) and a synthetic stand-in of it (written by evlib: LZ4, a packet table) ----

const std::string kTonic = "aedat4/tonic_sample.aedat4";

class Aedat4Files : public test::RecordingsTest {
 protected:
  Aedat4Files() : RecordingsTest({kTonic}) {}
};
EVLIB_INSTANTIATE_ON_RECORDINGS(Aedat4Files);

TEST_P(Aedat4Files, events_and_metadata) {
  const std::string path = recording(kTonic);
  EXPECT_EQ(detect_format(path), "aedat4");
  const Recording rec = read(path);
  const Metadata& m = *rec.metadata;
  EXPECT_EQ(m.width, 320u);
  EXPECT_EQ(m.height, 240u);
  EXPECT_EQ(*m.header_value("compression"), "LZ4");
  EXPECT_EQ(*m.header_value("stream.0.typeIdentifier"), "EVTS");
  ASSERT_EQ(rec.events.size(), 111954u);
  EXPECT_LE(*std::max_element(rec.events.x().begin(), rec.events.x().end()), 319);
  EXPECT_LE(*std::max_element(rec.events.y().begin(), rec.events.y().end()), 239);
  EXPECT_TRUE(std::is_sorted(rec.events.t().begin(), rec.events.t().end()));
  EXPECT_EQ(rec.triggers.size(), 0u);
  EXPECT_EQ(rec.stats.skipped_records, 0u);
  EXPECT_EQ(rec.stats.corrupt(), 0u);
  EXPECT_EQ(rec.stats.words, 111954u);
  if (!real()) return;
  // What the recording's published provenance notes state of it.
  EXPECT_EQ(m.data_offset, 2334u);  // 14 + 4 + 2316
  EXPECT_EQ(*m.header_value("dataTablePosition"), "945243");
  EXPECT_EQ(*m.header_value("stream.0.info/source"), "DVXplorer_DXB00010");
  EXPECT_EQ(*m.header_value("stream.0.info/tsOffset"), "1605507430438338");
  EXPECT_EQ(*m.header_value("stream.2.typeIdentifier"), "IMUS");
  EXPECT_EQ(*m.header_value("stream.3.typeIdentifier"), "TRIG");
  const auto ev = test::events_of(rec.events.slice(0, 3));
  EXPECT_EQ(ev[0], (Ev{1605537493718345, 154, 204, 0}));
  EXPECT_EQ(ev[1], (Ev{1605537493718348, 149, 206, 0}));
  EXPECT_EQ(ev[2], (Ev{1605537493718349, 148, 199, 1}));
  EXPECT_EQ(test::events_of(rec.events.slice(111953, 111954))[0], (Ev{1605537494308262, 88, 237, 1}));
  EXPECT_EQ(count_on(rec.events), 55023u);
  EXPECT_EQ(rec.events.size() - count_on(rec.events), 56931u);
  EXPECT_EQ(*std::max_element(rec.events.x().begin(), rec.events.x().end()), 319);
  EXPECT_EQ(*std::max_element(rec.events.y().begin(), rec.events.y().end()), 239);
  EXPECT_GT(rec.stats.imu_samples, 0u);  // the TRIG stream has no packets; the IMU stream has
}

TEST_P(Aedat4Files, file_data_table) {
  const std::string path = recording(kTonic);
  const auto table = detail::read_aedat4_packet_table(path);
  ASSERT_FALSE(table.empty());
  std::vector<std::int64_t> event_packets;
  std::int64_t events = 0, imu_packets = 0;
  for (const auto& e : table) {
    if (e.stream_id == 0) {
      event_packets.push_back(e.elements);
      events += e.elements;
    }
    imu_packets += e.stream_id == 2;
  }
  EXPECT_EQ(events, 111954);
  ASSERT_EQ(table[0].stream_id, 0);
  // The packets really hold what the table says: the first packet alone gives its events.
  auto source = std::make_unique<detail::ByteSource>(path, 0);
  const auto prefix = source->prefix(detail::kPrefixBytes);
  Metadata meta;
  auto reader = aedat4_descriptor().open(std::move(source), prefix, ReadOptions{}, meta);
  auto& a4 = dynamic_cast<detail::Aedat4Reader&>(*reader);
  EXPECT_EQ(a4.packet_table().size(), table.size());
  EventBatch b = EventBatch::with_capacity(1 << 16);
  TriggerBatch tr;
  a4.fill(b, tr, static_cast<std::size_t>(table[0].elements));
  EXPECT_EQ(b.size(), static_cast<std::size_t>(table[0].elements));
  EXPECT_EQ(a4.bytes_done(), static_cast<std::uint64_t>(table[0].byte_offset + table[0].size));
  EXPECT_EQ(b.t().front(), table[0].t_first);
  EXPECT_EQ(b.t().back(), table[0].t_last);
  if (!real()) return;
  ASSERT_EQ(table.size(), 118u);
  EXPECT_EQ(table[0].byte_offset, 2342);
  EXPECT_EQ(table[0].size, 7949);
  EXPECT_EQ(table[0].elements, 918);
  EXPECT_EQ(table[0].t_first, 1605537493718345);
  EXPECT_EQ(table[0].t_last, 1605537493728245);
  EXPECT_EQ(event_packets.size(), 59u);
  EXPECT_EQ(imu_packets, 59);
  EXPECT_EQ(std::vector<std::int64_t>(event_packets.begin(), event_packets.begin() + 5),
            (std::vector<std::int64_t>{918, 944, 1060, 1126, 1210}));
}

TEST_P(Aedat4Files, bounds_cover_the_events) {
  const std::string path = recording(kTonic);
  EXPECT_GE(Reader::open(path).upper_bound_events(), 111954u);  // DV's LZ4 frames declare no size
  auto source = std::make_unique<detail::ByteSource>(path, 0);
  const auto prefix = source->prefix(detail::kPrefixBytes);
  Metadata meta;
  auto reader = aedat4_descriptor().open(std::move(source), prefix, ReadOptions{}, meta);
  EXPECT_GE(reader->loose_upper_bound_events(), 111954u);
  EXPECT_LE(reader->loose_upper_bound_events(), 111954u + 1);  // from the table
}

TEST_P(Aedat4Files, tiny_chunks_and_windows_split_anywhere_equal_whole_read) {
  const std::string path = recording(kTonic);
  const Recording whole = read(path);
  const std::string expected = digest(whole.events);
  ReadOptions o;
  o.chunk_events = 1;
  Reader r = Reader::open(path, o);
  EventDigest d;
  while (auto c = r.next()) d.update(c->events);
  EXPECT_EQ(d.finish(), expected);
  for (std::size_t window : {std::size_t{1}, std::size_t{7}, std::size_t{4093}, std::size_t{65537}}) {
    for (std::size_t chunk : {std::size_t{1}, std::size_t{917}, std::size_t{1} << 20}) {
      if (window == 1 && chunk != 917) continue;  // byte-sized windows are slow: one combination
      const Pulled p = pull(path, window, chunk);
      EXPECT_EQ(p.events, 111954u) << window << " " << chunk;
      EXPECT_EQ(p.digest, expected) << window << " " << chunk;
      EXPECT_EQ(p.stats.imu_samples, whole.stats.imu_samples);
      EXPECT_EQ(p.stats.corrupt(), 0u);
    }
  }
}

TEST_P(Aedat4Files, writer_round_trip) {
  test::ScopedTempDir dir;
  const Recording rec = read(recording(kTonic));
  WriteOptions o;
  o.width = rec.metadata->width;
  o.height = rec.metadata->height;
  const auto path = test::write_events(dir.file("copy.aedat4"), o, rec.events);
  const Recording back = read(path);
  EXPECT_EQ(digest(back.events), digest(rec.events));
  EXPECT_EQ(*back.metadata->header_value("compression"), "LZ4");
}

// ---- writer round trips ----

class Aedat4RoundTrip : public ::testing::TestWithParam<const char*> {};

TEST_P(Aedat4RoundTrip, scene_with_triggers_is_bit_exact) {
  test::ScopedTempDir dir;
  SceneOptions so;
  so.width = 640;
  so.height = 480;
  so.t_start = 1'700'000'000'000'000;  // Unix-epoch µs, as DV writes
  so.trigger_rate = 2000;
  SceneGenerator gen(so);
  EventBatch events = EventBatch::with_capacity(300'000);
  TriggerBatch triggers;
  gen.generate(events, triggers, 300'000);
  ASSERT_FALSE(triggers.empty());
  WriteOptions o;
  o.width = 640;
  o.height = 480;
  o.compression = GetParam();
  o.header.emplace_back("evlib_note", "a <tag> & \"quotes\"");
  const auto path = dir.file("scene.aedat4");
  {
    Writer w = Writer::create(path, o);
    w.write(events.slice(0, 123'457), triggers);  // triggers may come before the events' time
    w.write(events.slice(123'457, events.size()));
    w.close();
  }
  const Recording back = read(path);
  EXPECT_EQ(back.events.size(), events.size());
  EXPECT_EQ(digest(back.events), digest(events));
  EXPECT_TRUE(test::same_triggers(back.triggers, triggers));
  EXPECT_EQ(back.stats.corrupt(), 0u);
  EXPECT_EQ(back.metadata->width, 640u);
  EXPECT_EQ(back.metadata->height, 480u);
  EXPECT_EQ(*back.metadata->header_value("stream.0.info/evlib_note"), "a <tag> & \"quotes\"");
  // The FileDataTable indexes every packet at its payload, with its element count and times.
  const auto table = detail::read_aedat4_packet_table(path);
  const auto bytes = test::read_file(path);
  std::int64_t n_events = 0, n_triggers = 0;
  for (const auto& e : table) {
    ASSERT_GE(e.byte_offset, 8);
    std::int32_t stream, size;
    std::memcpy(&stream, bytes.data() + e.byte_offset - 8, 4);
    std::memcpy(&size, bytes.data() + e.byte_offset - 4, 4);
    EXPECT_EQ(stream, e.stream_id);
    EXPECT_EQ(size, e.size);
    EXPECT_LE(e.t_first, e.t_last);
    (e.stream_id == 0 ? n_events : n_triggers) += e.elements;
  }
  EXPECT_EQ(n_events, static_cast<std::int64_t>(events.size()));
  EXPECT_EQ(n_triggers, static_cast<std::int64_t>(triggers.size()));
  EXPECT_EQ(table.front().t_first, events.t()[0]);
  Reader r = Reader::open(path);
  EXPECT_GE(r.upper_bound_events(), events.size());
}

INSTANTIATE_TEST_SUITE_P(Compressions, Aedat4RoundTrip, ::testing::Values("lz4", "zstd", "none", "lz4_high", "zstd_high"));

TEST(Aedat4Writer, rejects_what_aedat4_cannot_hold) {
  test::ScopedTempDir dir;
  WriteOptions o;
  EXPECT_THROW(Writer::create(dir.file("a.aedat4"), o), InvalidArgument);  // no geometry
  o.width = 10;
  o.height = 10;
  o.compression = "gzip";
  EXPECT_THROW(Writer::create(dir.file("b.aedat4"), o), InvalidArgument);
  o.compression = "";
  {
    Writer w = Writer::create(dir.file("c.aedat4"), o);
    EXPECT_THROW(w.write(test::batch_of({{1, 10, 0, 1}})), InvalidArgument);  // x = width
  }
  {
    Writer w = Writer::create(dir.file("d.aedat4"), o);
    w.write(test::batch_of({{5, 1, 1, 1}}));
    EXPECT_THROW(w.write(test::batch_of({{4, 1, 1, 1}})), InvalidArgument);  // time goes back
  }
  {
    Writer w = Writer::create(dir.file("e.aedat4"), o);
    TriggerBatch tr;
    tr.push_back(1, 2, 1);
    EXPECT_THROW(w.write(EventBatch{}, tr), InvalidArgument);  // channel 2 has no TriggerType
  }
  EXPECT_FALSE(test::file_exists(dir.file("c.aedat4")));
  const auto writable = writable_formats();
  EXPECT_EQ(std::count(writable.begin(), writable.end(), "aedat4"), 1);
}

// ---- hand-built variations ----

TEST(Aedat4Reader, lz4_frames_without_content_size_and_zstd_frames_without_it) {
  test::ScopedTempDir dir;
  const auto events = sample_events(20'000, 1);  // 320 KB decompressed: more than the first guess
  const auto plain = evts(events);
  for (int compression : {1, 3}) {
    auto file = file_head(compression, -1, dv_xml(stream_xml(0, "EVTS", 346, 260)));
    add_packet(file, 0, compression == 1 ? lz4_frame(plain, false) : zstd_streamed(plain));
    add_packet(file, 0, compression == 1 ? lz4_frame(evts({{9'000'000, 1, 2, 1}}), true) : zstd_streamed(evts({{9'000'000, 1, 2, 1}})));
    const auto path = dir.file("nc" + std::to_string(compression) + ".aedat4");
    test::write_file(path, file);
    const Recording rec = read(path);
    ASSERT_EQ(rec.events.size(), events.size() + 1) << compression;
    EXPECT_EQ(test::events_of(rec.events.slice(0, events.size())), events);
    EXPECT_EQ(rec.stats.corrupt(), 0u);
    EXPECT_GE(Reader::open(path).upper_bound_events(), events.size() + 1);
  }
}

TEST(Aedat4Reader, every_event_stream_is_decoded_other_streams_are_skipped) {
  test::ScopedTempDir dir;
  auto file = file_head(0, -1,
                        dv_xml(stream_xml(0, "EVTS", 346, 260) + stream_xml(1, "FRME", 346, 260) + stream_xml(2, "TRIG") +
                               stream_xml(5, "EVTS", 10, 10) + stream_xml(6, "IMUS")));
  add_packet(file, 0, evts({{10, 300, 200, 1}}));
  add_packet(file, 1, std::vector<std::uint8_t>(100, 0xAB));  // a frame: never decompressed or parsed
  add_packet(file, 7, std::vector<std::uint8_t>(12, 0xCD));   // a stream the XML does not describe
  add_packet(file, 5, evts({{11, 9, 9, 0}, {12, 300, 2, 1}}));  // 300 is outside stream 5's 10x10
  add_packet(file, 2, trig_payload({{13, 1}, {14, 0}, {15, 2}, {16, 5}}));
  const auto path = dir.file("multi.aedat4");
  test::write_file(path, file);
  const Recording rec = read(path);
  EXPECT_EQ(test::events_of(rec.events), (std::vector<Ev>{{10, 300, 200, 1}, {11, 9, 9, 0}}));
  EXPECT_EQ(test::triggers_of(rec.triggers), (std::vector<Trig>{{13, 0, 1}, {15, 0, 0}, {16, 3, 0}}));
  EXPECT_EQ(rec.stats.skipped_records, 3u);  // the frame, the unknown stream, the timestamp reset
  EXPECT_EQ(rec.stats.out_of_bounds, 1u);
  EXPECT_EQ(rec.metadata->width, 346u);  // the lowest-numbered event stream
}

TEST(Aedat4Reader, out_of_range_and_negative_coordinates_are_dropped) {
  test::ScopedTempDir dir;
  auto file = file_head(0, -1, dv_xml(stream_xml(0, "EVTS", 346, 260)));
  add_packet(file, 0, evts({{1, 0, 0, 1}, {2, 345, 259, 0}, {3, 346, 0, 1}, {4, 0, 260, 1}}));
  add_packet(file, 0, evts({{5, 0, 0, 1}}));
  auto neg = evts({{6, 0, 0, 1}});
  put<std::int16_t>(neg, 32 + 8, -3);
  add_packet(file, 0, neg);
  const auto path = dir.file("oob.aedat4");
  test::write_file(path, file);
  const Recording rec = read(path);
  EXPECT_EQ(test::events_of(rec.events), (std::vector<Ev>{{1, 0, 0, 1}, {2, 345, 259, 0}, {5, 0, 0, 1}}));
  EXPECT_EQ(rec.stats.out_of_bounds, 3u);
  ReadOptions strict;
  strict.strict = true;
  EXPECT_THROW(read(path, strict), FormatError);
}

TEST(Aedat4File, damaged_io_headers_are_format_errors) {
  test::ScopedTempDir dir;
  const auto path = dir.file("h.aedat4");
  const auto good = file_head(1, -1, dv_xml(stream_xml(0, "EVTS", 8, 8)));
  auto bad_ident = good;
  bad_ident[18 + 4] = 'X';
  auto bad_compression = good;
  put<std::int32_t>(bad_compression, 18 + 28, 9);
  auto bad_size = good;
  put<std::uint32_t>(bad_size, 14, 1'000'000);
  auto bad_root = good;
  put<std::uint32_t>(bad_root, 18, 0xFFFFFF00u);
  auto bad_string = good;
  put<std::uint32_t>(bad_string, 18 + 32, 0x7FFFFFF0u);
  for (const auto* bytes : {&bad_ident, &bad_compression, &bad_size, &bad_root, &bad_string}) {
    test::write_file(path, *bytes);
    EXPECT_THROW(read(path, [] {
                   ReadOptions o;
                   o.format = "aedat4";
                   return o;
                 }()),
                 FormatError);
  }
  test::write_file(path, good);
  EXPECT_EQ(read(path).events.size(), 0u);
}

TEST(Aedat4Xml, streams_types_and_sizes) {
  const auto streams = detail::parse_aedat4_info_xml(
      "<dv version=\"2.0\"><!-- c --><node name=\"outInfo\" path=\"/\"><node name=\"3\" path=\"/3/\">"
      "<attr key=\"typeIdentifier\" type=\"string\">TRIG</attr></node>"
      "<node name=\"0\" path=\"/0/\"><attr key=\"typeIdentifier\" type=\"string\">EVTS</attr>"
      "<node name=\"info\" path=\"/0/info/\"><attr key=\"sizeX\" type=\"int\">640</attr>"
      "<attr key=\"sizeY\" type=\"int\">480</attr><attr key=\"source\" type=\"string\">A &amp; B</attr></node></node>"
      "<node name=\"junk\" path=\"/j/\"/></node></dv>");
  ASSERT_EQ(streams.size(), 2u);
  EXPECT_EQ(streams[0].id, 0);
  EXPECT_EQ(streams[0].type, "EVTS");
  EXPECT_EQ(streams[0].width, 640u);
  EXPECT_EQ(streams[0].height, 480u);
  EXPECT_EQ(streams[0].attributes.back(), (std::pair<std::string, std::string>{"info/source", "A & B"}));
  EXPECT_EQ(streams[1].id, 3);
  EXPECT_EQ(streams[1].type, "TRIG");
  EXPECT_TRUE(detail::parse_aedat4_info_xml("<dv><node name=\"outInfo\"><attr key=\"x\">").empty());
}

// ---- damaged files never crash ----

std::vector<std::uint8_t> small_written_file(const test::ScopedTempDir& dir, const char* compression) {
  SceneOptions so;
  so.width = 64;
  so.height = 48;
  so.trigger_rate = 50000;
  SceneGenerator gen(so);
  EventBatch events = EventBatch::with_capacity(20'000);
  TriggerBatch triggers;
  gen.generate(events, triggers, 20'000);
  WriteOptions o;
  o.width = 64;
  o.height = 48;
  o.compression = compression;
  const auto path = test::write_events(dir.file(std::string("small-") + compression + ".aedat4"), o, events, triggers);
  return test::read_file(path);
}

TEST(Aedat4Robustness, truncation_anywhere_gives_a_prefix_of_the_events) {
  test::ScopedTempDir dir;
  for (const char* compression : {"lz4", "zstd", "none"}) {
    const auto bytes = small_written_file(dir, compression);
    const auto path = dir.file("t.aedat4");
    test::write_file(path, bytes);
    const Recording full = read(path);
    std::mt19937 rng(3);
    for (int trial = 0; trial < 60; ++trial) {
      const std::size_t cut = trial < 20 ? static_cast<std::size_t>(trial) * 7 : rng() % bytes.size();
      test::write_file(path, std::vector<std::uint8_t>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut)));
      try {
        const Recording rec = read(path);
        ASSERT_LE(rec.events.size(), full.events.size());
        ASSERT_TRUE(test::same_events(rec.events, full.events.slice(0, rec.events.size()))) << cut;
      } catch (const Error&) {
        ASSERT_LT(cut, read_metadata(dir.file(std::string("small-") + compression + ".aedat4")).data_offset + 1) << cut;
      }
    }
  }
}

TEST(Aedat4Robustness, bit_flips_give_errors_or_counted_drops) {
  test::ScopedTempDir dir;
  for (const char* compression : {"lz4", "zstd", "none"}) {
    const auto bytes = small_written_file(dir, compression);
    const auto path = dir.file("f.aedat4");
    std::mt19937 rng(17);
    for (int trial = 0; trial < 120; ++trial) {
      auto damaged = bytes;
      for (int f = 0; f < 1 + trial % 5; ++f) damaged[rng() % damaged.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
      test::write_file(path, damaged);
      try {
        const Recording rec = read(path);
        const Metadata& m = *rec.metadata;
        for (std::size_t i = 0; m.width != 0 && i < rec.events.size(); ++i) ASSERT_LT(rec.events.x()[i], m.width);
        ReadOptions small;
        small.chunk_events = 1;
        Reader r = Reader::open(path, small);
        std::size_t n = 0;
        while (auto c = r.next()) n += c->events.size();
        ASSERT_EQ(n, rec.events.size());
      } catch (const Error&) {
      }
    }
  }
}

}  // namespace
}  // namespace evlib
