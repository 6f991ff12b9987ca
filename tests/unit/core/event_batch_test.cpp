#include <gtest/gtest.h>

#include "evlib/event_batch.hpp"

namespace evlib {

TEST(EventBatch, slices_share_storage_and_keep_values) {
  EventBatch b = EventBatch::with_capacity(8);
  for (int i = 0; i < 8; ++i) b.push_back(i * 10, static_cast<std::uint16_t>(i), 2, i & 1);
  const EventBatch s = b.slice(2, 5);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s.t()[0], 20);
  EXPECT_EQ(s.x()[2], 4);
  EXPECT_FALSE(b.sole_owner());
}

TEST(EventBatch, time_slice_is_half_open) {
  EventBatch b = EventBatch::with_capacity(5);
  for (int t : {1, 2, 2, 3, 5}) b.push_back(t, 0, 0, 0);
  const EventBatch s = b.slice_time(2, 5);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s.t().front(), 2);
  EXPECT_EQ(s.t().back(), 3);
  EXPECT_EQ(b.slice_time(6, 9).size(), 0u);
}

TEST(EventBatch, large_batches_use_mapped_memory_and_are_writable) {
  EventBatch b = EventBatch::with_capacity(std::size_t{3} << 20);
  b.t_data()[b.capacity() - 1] = 42;
  b.set_size(b.capacity());
  EXPECT_EQ(b.t().back(), 42);
  EXPECT_THROW(b.set_size(b.capacity() + 1), std::exception);
}

}  // namespace evlib
