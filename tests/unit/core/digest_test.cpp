// evlib::digest: SHA-256 of 13-byte little-endian rows (int64 t, uint16 x, uint16 y, uint8 p).
#include <gtest/gtest.h>

#include "evlib/digest.hpp"
#include "evlib/error.hpp"
#include "evlib/synth.hpp"
#include "support/decode_harness.hpp"

namespace evlib {
namespace {

TEST(Digest, empty_batch_is_sha256_of_nothing) {
  EXPECT_EQ(digest(EventBatch{}), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Digest, rows_are_packed_little_endian_13_bytes) {
  // Reference computed independently: sha256(struct.pack('<qHHB', ...) for both rows).
  const EventBatch b = test::batch_of({{5840504, 707, 297, 0}, {-1, 65535, 0, 1}});
  EXPECT_EQ(digest(b), "756af372e019a041add7a779b2c327199f162d0b1ee780497d6036ff9c39ffec");
}

TEST(Digest, streaming_updates_equal_one_shot) {
  SceneGenerator gen(SceneOptions{});
  EventBatch b = EventBatch::with_capacity(50000);
  TriggerBatch tr;
  gen.generate(b, tr, 50000);
  EventDigest d;
  d.update(b.slice(0, 1));
  d.update(b.slice(1, 8193));
  d.update(b.slice(8193, 8193));
  d.update(b.slice(8193, b.size()));
  EXPECT_EQ(d.finish(), digest(b));
}

TEST(Digest, update_after_finish_is_refused) {
  EventDigest d;
  d.finish();
  EXPECT_THROW(d.update(EventBatch{}), InvalidArgument);
}

}  // namespace
}  // namespace evlib
