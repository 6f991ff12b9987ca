// Chunking invariance: however the byte stream is split between feed() calls, and whatever the
// Reader's chunk size, the decoded events, triggers and counters are those of one whole decode.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "evlib/digest.hpp"
#include "evlib/reader.hpp"
#include "evlib/synth.hpp"
#include "evlib/writer.hpp"
#include "formats/prophesee/dat.hpp"
#include "formats/prophesee/evt2.hpp"
#include "formats/prophesee/evt3.hpp"
#include "support/decode_harness.hpp"
#include "support/test_support.hpp"

namespace evlib {
namespace {

using detail::DatDecoder;
using detail::Evt2Decoder;
using detail::Evt3Decoder;

// A real or synthetic file, decoded once through evlib::read as the reference.
struct Reference {
  std::string path;
  std::vector<std::uint8_t> payload;
  std::uint64_t data_offset = 0;
  Recording rec;
  std::string digest_hex;
};

Reference reference_of(const std::string& path) {
  Reference r;
  r.path = path;
  r.rec = read(path);
  r.data_offset = r.rec.metadata->data_offset;
  const auto bytes = test::read_file(path);
  r.payload.assign(bytes.begin() + static_cast<std::ptrdiff_t>(r.data_offset), bytes.end());
  r.digest_hex = digest(r.rec.events);
  return r;
}

Evt3Decoder evt3_for(const Reference& r) {
  return Evt3Decoder(test::word_config(r.rec.metadata->width, r.rec.metadata->height, false, r.data_offset));
}
Evt2Decoder evt2_for(const Reference& r) {
  return Evt2Decoder(test::word_config(r.rec.metadata->width, r.rec.metadata->height, false, r.data_offset));
}
DatDecoder dat_for(const Reference& r) {
  detail::DatConfig c;
  c.event_type = test::read_file(r.path)[r.data_offset - 2];  // the type byte before the records
  c.stream_offset = r.data_offset;
  return DatDecoder(c);
}

// Decodes the reference payload with cuts and checks the result equals the reference.
template <class Decoder>
class SplitChecker {
 public:
  SplitChecker(const Reference& ref, Decoder prototype)
      : ref_(ref), prototype_(std::move(prototype)),
        out_(EventBatch::with_capacity(test::decode_capacity(prototype_, ref.payload.data(), ref.payload.size()))) {}

  // Returns an empty string when the split decode equals the reference, else what differs.
  std::string check(const std::vector<std::size_t>& cuts, bool use_digest = false) {
    Decoder d = prototype_;
    test::decode_into(d, ref_.payload.data(), ref_.payload.size(), cuts, out_, triggers_);
    if (use_digest ? digest(out_) != ref_.digest_hex : !test::same_events(out_, ref_.rec.events)) {
      return "events differ (" + std::to_string(out_.size()) + " vs " + std::to_string(ref_.rec.events.size()) + ")";
    }
    if (!test::same_triggers(triggers_, ref_.rec.triggers)) return "triggers differ";
    const DecodeStats& s = d.stats();
    if (s.words != ref_.rec.stats.words || s.corrupt() != ref_.rec.stats.corrupt() ||
        s.time_wraps != ref_.rec.stats.time_wraps || s.monitoring_events != ref_.rec.stats.monitoring_events ||
        s.first_error_offset != ref_.rec.stats.first_error_offset) {
      return "stats differ";
    }
    return "";
  }

 private:
  const Reference& ref_;
  Decoder prototype_;
  EventBatch out_;
  TriggerBatch triggers_;
};

template <class Decoder>
void check_every_two_way_split(const Reference& ref, Decoder prototype, std::size_t first, std::size_t last) {
  SplitChecker<Decoder> checker(ref, std::move(prototype));
  ASSERT_EQ(checker.check({}, true), "") << "whole decode differs from evlib::read";
  std::size_t failures = 0;
  for (std::size_t cut = first; cut <= last && cut < ref.payload.size(); ++cut) {
    const std::string why = checker.check({cut});
    if (!why.empty() && ++failures <= 5) ADD_FAILURE() << "split at payload byte " << cut << ": " << why;
  }
  EXPECT_EQ(failures, 0u);
}

template <class Decoder>
void check_byte_at_a_time(const Reference& ref, Decoder prototype) {
  SplitChecker<Decoder> checker(ref, std::move(prototype));
  std::vector<std::size_t> cuts(ref.payload.size() > 1 ? ref.payload.size() - 1 : 0);
  for (std::size_t i = 0; i < cuts.size(); ++i) cuts[i] = i + 1;
  EXPECT_EQ(checker.check(cuts, true), "");
}

template <class Decoder>
void check_random_splits(const Reference& ref, Decoder prototype, int count, std::uint64_t seed, int pieces = 2) {
  SplitChecker<Decoder> checker(ref, std::move(prototype));
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::size_t> pick(1, ref.payload.size() - 1);
  std::size_t failures = 0;
  for (int k = 0; k < count; ++k) {
    std::vector<std::size_t> cuts;
    for (int c = 0; c + 1 < pieces; ++c) cuts.push_back(pick(rng));
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    const std::string why = checker.check(cuts);
    if (!why.empty() && ++failures <= 5) ADD_FAILURE() << "split at payload byte " << cuts.front() << ": " << why;
  }
  EXPECT_EQ(failures, 0u);
}

// ---- recordings: synthetic stand-ins and the real ones ----

const std::string kEvt3 = "evt3/evt3_test_pedestrians.raw";
const std::string kEvt2 = "evt2/evt2_sample.raw";
const std::string kDat = "dat/NCARS_obj_004397_td.dat";

class ChunkingFiles : public test::RecordingsTest {
 protected:
  ChunkingFiles() : RecordingsTest({kEvt3, kEvt2, kDat}) {}
};
EVLIB_INSTANTIATE_ON_RECORDINGS(ChunkingFiles);

TEST_P(ChunkingFiles, evt3_pedestrians_every_two_way_split_equals_whole) {
  const Reference ref = reference_of(recording(kEvt3));
  ASSERT_EQ(ref.rec.events.size(), 5000u);
  check_every_two_way_split(ref, evt3_for(ref), 1, ref.payload.size() - 1);
}

TEST_P(ChunkingFiles, evt3_pedestrians_one_byte_at_a_time_equals_whole) {
  const Reference ref = reference_of(recording(kEvt3));
  check_byte_at_a_time(ref, evt3_for(ref));
}

// The two split tests of the real EVT 2.0 file take over a minute: none on its stand-in (synthetic
// EVT 2.0 files are split at random below).
TEST(Chunking, evt2_sample_two_way_splits_in_first_4096_bytes_equal_whole) {
  EVLIB_REQUIRE_RECORDINGS(kEvt2);
  const Reference ref = reference_of(test::shared_data(kEvt2));
  ASSERT_EQ(ref.rec.events.size(), 539481u);
  check_every_two_way_split(ref, evt2_for(ref), 1, 4096);
}

TEST(Chunking, evt2_sample_2000_random_two_way_splits_equal_whole) {
  EVLIB_REQUIRE_RECORDINGS(kEvt2);
  const Reference ref = reference_of(test::shared_data(kEvt2));
  check_random_splits(ref, evt2_for(ref), 2000, 2024);
}

TEST_P(ChunkingFiles, evt2_sample_one_byte_at_a_time_equals_whole) {
  const Reference ref = reference_of(recording(kEvt2));
  check_byte_at_a_time(ref, evt2_for(ref));
}

TEST_P(ChunkingFiles, dat_ncars_every_two_way_split_equals_whole) {
  const Reference ref = reference_of(recording(kDat));
  ASSERT_EQ(ref.rec.events.size(), 4407u);
  check_every_two_way_split(ref, dat_for(ref), 1, ref.payload.size() - 1);
}

TEST_P(ChunkingFiles, dat_ncars_one_byte_at_a_time_equals_whole) {
  const Reference ref = reference_of(recording(kDat));
  check_byte_at_a_time(ref, dat_for(ref));
}

// ---- Reader chunk size ----

void check_reader_chunks_equal_read(const std::string& path, std::size_t chunk_events) {
  const Recording whole = read(path);
  ReadOptions o;
  o.chunk_events = chunk_events;
  Reader reader = Reader::open(path, o);
  EventDigest d;
  TriggerBatch triggers;
  std::size_t events = 0, chunks = 0;
  std::uint64_t last_bytes = 0;
  while (auto chunk = reader.next()) {
    ++chunks;
    EXPECT_LE(chunk->events.size(), std::max<std::size_t>(chunk_events, 256));
    EXPECT_GE(chunk->bytes_done, last_bytes);
    last_bytes = chunk->bytes_done;
    events += chunk->events.size();
    d.update(chunk->events);
    triggers.append(chunk->triggers);
  }
  EXPECT_EQ(events, whole.events.size());
  EXPECT_EQ(d.finish(), digest(whole.events));
  EXPECT_TRUE(test::same_triggers(triggers, whole.triggers));
  EXPECT_GE(chunks, whole.events.size() / std::max<std::size_t>(chunk_events, 256));
  EXPECT_EQ(reader.stats().words, whole.stats.words);
  EXPECT_EQ(reader.stats().corrupt(), whole.stats.corrupt());
  EXPECT_FALSE(reader.next().has_value());
}

TEST_P(ChunkingFiles, reader_chunks_of_256_equal_read_evt3) {
  check_reader_chunks_equal_read(recording(kEvt3), 256);
}
TEST_P(ChunkingFiles, reader_chunks_of_256_equal_read_evt2) {
  check_reader_chunks_equal_read(recording(kEvt2), 256);
}
TEST_P(ChunkingFiles, reader_chunks_of_256_equal_read_dat) {
  check_reader_chunks_equal_read(recording(kDat), 256);
}
TEST_P(ChunkingFiles, reader_chunk_size_below_minimum_is_raised_not_broken) {
  check_reader_chunks_equal_read(recording(kEvt3), 1);
}

TEST_P(ChunkingFiles, reader_keeps_chunks_the_caller_still_holds) {
  ReadOptions o;
  o.chunk_events = 256;
  Reader reader = Reader::open(recording(kEvt3), o);
  std::vector<EventBatch> held;
  while (auto chunk = reader.next()) held.push_back(chunk->events);
  EventDigest d;
  for (const auto& b : held) d.update(b);
  EXPECT_EQ(d.finish(), digest(read(recording(kEvt3)).events));
}

// ---- large synthetic files (vectors + triggers) ----

std::string write_synthetic(const test::ScopedTempDir& dir, const std::string& format, std::size_t count) {
  SceneOptions so;
  so.seed = 7;
  so.run_fraction = 0.3;
  so.trigger_rate = 5000;
  so.t_start = 1000;
  return test::write_scene(dir.file("synthetic." + format + ".raw"), format, so, count);
}

TEST(Chunking, synthetic_evt3_2m_events_200_random_splits_equal_whole) {
  test::ScopedTempDir dir;
  const Reference ref = reference_of(write_synthetic(dir, "evt3", 2'000'000));
  ASSERT_EQ(ref.rec.events.size(), 2'000'000u);
  ASSERT_GT(ref.rec.triggers.size(), 100u);
  check_random_splits(ref, evt3_for(ref), 100, 11);
  check_random_splits(ref, evt3_for(ref), 100, 12, 5);  // four cuts each
}

TEST(Chunking, synthetic_evt2_2m_events_200_random_splits_equal_whole) {
  test::ScopedTempDir dir;
  const Reference ref = reference_of(write_synthetic(dir, "evt2", 2'000'000));
  ASSERT_EQ(ref.rec.events.size(), 2'000'000u);
  ASSERT_GT(ref.rec.triggers.size(), 100u);
  check_random_splits(ref, evt2_for(ref), 100, 21);
  check_random_splits(ref, evt2_for(ref), 100, 22, 5);
}

TEST(Chunking, synthetic_evt3_reader_chunks_of_256_equal_read) {
  test::ScopedTempDir dir;
  check_reader_chunks_equal_read(write_synthetic(dir, "evt3", 300'000), 256);
}

}  // namespace
}  // namespace evlib
