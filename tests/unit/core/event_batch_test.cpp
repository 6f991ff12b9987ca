#include <gtest/gtest.h>

#include <limits>
#include <memory>
#include <tuple>
#include <vector>

#include "evlib/error.hpp"
#include "evlib/event_batch.hpp"
#include "evlib/filter.hpp"

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

namespace evlib {
namespace {

EventBatch four_events() {
  EventBatch b = EventBatch::with_capacity(4);
  for (int i = 0; i < 4; ++i) b.push_back(i, static_cast<std::uint16_t>(i), 0, static_cast<std::uint8_t>(i & 1));
  return b;
}

std::vector<std::int64_t> times(const EventBatch& b) { return {b.t().begin(), b.t().end()}; }

TEST(EventBatchOwnership, filtering_a_copy_leaves_the_original_unchanged) {
  const EventBatch a = four_events();
  EventBatch b = a;
  EventFilter odd;
  odd.polarities = 2;  // ON only: events 1 and 3
  odd.apply(b);
  EXPECT_EQ(times(b), (std::vector<std::int64_t>{1, 3}));
  EXPECT_EQ(times(a), (std::vector<std::int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(a.size(), 4u);
}

TEST(EventBatchOwnership, writing_through_a_slice_of_a_const_batch_copies_first) {
  const EventBatch a = four_events();
  const EventBatch& c = a;
  EventBatch s = c.slice(0, 1);
  s.t_data()[0] = 99;
  EXPECT_EQ(s.t()[0], 99);
  EXPECT_EQ(a.t()[0], 0);
  EXPECT_TRUE(a.sole_owner()) << "the slice let go of a's columns when it copied them";
}

TEST(EventBatchOwnership, appending_to_a_shared_batch_does_not_reach_the_other) {
  EventBatch a = EventBatch::with_capacity(4);
  a.push_back(1, 1, 1, 1);
  EventBatch b = a;
  b.push_back(2, 2, 2, 0);
  a.push_back(3, 3, 3, 1);
  EXPECT_EQ(times(a), (std::vector<std::int64_t>{1, 3}));
  EXPECT_EQ(times(b), (std::vector<std::int64_t>{1, 2}));
}

TEST(EventBatchOwnership, a_sole_owner_writes_in_place_without_copying) {
  EventBatch a = four_events();
  const std::int64_t* before = a.t().data();
  a.t_data()[2] = 7;
  EXPECT_EQ(a.t().data(), before);
  EXPECT_EQ(a.t()[2], 7);
}

TEST(EventBatchOwnership, an_exported_owner_handle_keeps_columns_alive_and_unchanged) {
  std::shared_ptr<const void> handle;
  const std::int64_t* exported = nullptr;
  {
    EventBatch a = four_events();
    handle = a.owner();
    exported = a.t().data();
    EXPECT_FALSE(a.sole_owner());
    a.t_data()[0] = 42;  // copies: the exported column must not change
    EXPECT_EQ(a.t()[0], 42);
  }
  ASSERT_NE(handle, nullptr);
  EXPECT_EQ(exported[0], 0);
  EXPECT_EQ(exported[3], 3);
}

TEST(EventBatchOwnership, wrapped_foreign_columns_are_read_in_place_and_never_written) {
  auto t = std::make_shared<std::vector<std::int64_t>>(std::vector<std::int64_t>{5, 6, 7});
  auto x = std::make_shared<std::vector<std::uint16_t>>(std::vector<std::uint16_t>{1, 2, 3});
  auto y = std::make_shared<std::vector<std::uint16_t>>(std::vector<std::uint16_t>{4, 5, 6});
  auto p = std::make_shared<std::vector<std::uint8_t>>(std::vector<std::uint8_t>{1, 0, 1});
  auto owner = std::make_shared<std::tuple<decltype(t), decltype(x), decltype(y), decltype(p)>>(t, x, y, p);
  EventBatch w = EventBatch::wrap(EventView(t->data(), x->data(), y->data(), p->data(), 3), owner);
  owner.reset();
  EXPECT_EQ(w.t().data(), t->data()) << "zero-copy";
  EXPECT_EQ(w.size(), 3u);
  EXPECT_FALSE(w.sole_owner());
  EventFilter on;
  on.polarities = 2;
  on.apply(w);
  EXPECT_EQ(times(w), (std::vector<std::int64_t>{5, 7}));
  EXPECT_EQ(*t, (std::vector<std::int64_t>{5, 6, 7})) << "the foreign buffer was written";
  EXPECT_TRUE(w.sole_owner());
}

TEST(EventBatchOwnership, views_read_without_owning_and_slice_like_batches) {
  const EventBatch a = four_events();
  const EventView v = a;
  EXPECT_EQ(v.size(), 4u);
  EXPECT_EQ(v.t().data(), a.t().data());
  EXPECT_EQ(v.slice(1, 3).x()[0], 1);
  EXPECT_EQ(v.slice_time(2, 10).size(), 2u);
  EXPECT_THROW((void)v.slice(3, 5), InvalidArgument);
  const EventBatch copy = EventBatch::copy_of(v.slice(1, 3));
  EXPECT_NE(copy.t().data(), a.t().data());
  EXPECT_EQ(times(copy), (std::vector<std::int64_t>{1, 2}));
}

TEST(EventBatchOwnership, regions_write_into_their_batch_without_copying) {
  EventBatch out = EventBatch::with_capacity(4);
  EventBatch first = out.region(0, 2), second = out.region(2, 2);
  first.push_back(10, 0, 0, 0);
  second.push_back(30, 0, 0, 0);
  out.set_size(4);
  EXPECT_EQ(out.t()[0], 10);
  EXPECT_EQ(out.t()[2], 30);
  EXPECT_THROW((void)out.region(3, 2), InvalidArgument);
}

TEST(EventBatchOwnership, appending_a_view_copies_every_column_after_the_events_and_leaves_a_sharer_alone) {
  EventBatch source = EventBatch::with_capacity(3);
  source.push_back(5, 6, 7, 1);
  source.push_back(8, 9, 10, 0);
  EventBatch a = EventBatch::with_capacity(4);
  a.push_back(1, 2, 3, 0);
  const EventBatch sharer = a;
  a.append(source);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(times(a), (std::vector<std::int64_t>{1, 5, 8}));
  EXPECT_EQ(a.x()[2], 9);
  EXPECT_EQ(a.y()[1], 7);
  EXPECT_EQ(a.p()[1], 1);
  EXPECT_EQ(a.p()[2], 0);
  EXPECT_EQ(times(sharer), (std::vector<std::int64_t>{1}));
  a.append(EventView{});  // nothing to copy, no room needed
  EXPECT_EQ(a.size(), 3u);
}

TEST(EventBatchOwnership, appending_beyond_capacity_or_without_a_column_fails_and_changes_nothing) {
  EventBatch a = EventBatch::with_capacity(2);
  a.push_back(1, 1, 1, 1);
  EventBatch two = EventBatch::with_capacity(2);
  two.push_back(2, 2, 2, 0);
  two.push_back(3, 3, 3, 0);
  EXPECT_THROW(a.append(two), InvalidArgument);
  const std::int64_t t[] = {4};
  EXPECT_THROW(a.append(EventView(t, nullptr, nullptr, nullptr, 1)), InvalidArgument);
  EXPECT_EQ(times(a), (std::vector<std::int64_t>{1}));
}

TEST(EventBatchOwnership, impossible_capacities_fail_cleanly) {
  EXPECT_THROW((void)EventBatch::with_capacity(std::numeric_limits<std::size_t>::max()), InvalidArgument);
}

}  // namespace
}  // namespace evlib
