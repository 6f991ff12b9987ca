#include "evlib/event_batch.hpp"

#include <algorithm>

#include "evlib/error.hpp"

namespace evlib {

EventBatch EventBatch::with_capacity(std::size_t capacity) { return with_columns(capacity, 15); }

EventBatch EventBatch::with_columns(std::size_t capacity, unsigned columns) {
  EventBatch batch;
  auto storage = std::make_shared<Storage>();
  // One spare slot per column keeps zero-capacity batches pointing at valid memory.
  const std::size_t n = capacity == 0 ? 1 : capacity;
  if (columns & 1) storage->t = ColumnMemory(n * sizeof(std::int64_t));
  if (columns & 2) storage->x = ColumnMemory(n * sizeof(std::uint16_t));
  if (columns & 4) storage->y = ColumnMemory(n * sizeof(std::uint16_t));
  if (columns & 8) storage->p = ColumnMemory(n * sizeof(std::uint8_t));
  batch.t_ = static_cast<std::int64_t*>(storage->t.data());
  batch.x_ = static_cast<std::uint16_t*>(storage->x.data());
  batch.y_ = static_cast<std::uint16_t*>(storage->y.data());
  batch.p_ = static_cast<std::uint8_t*>(storage->p.data());
  batch.storage_ = std::move(storage);
  batch.capacity_ = capacity;
  return batch;
}

EventBatch EventBatch::region(std::size_t begin, std::size_t capacity) {
  if (begin > capacity_ || capacity > capacity_ - begin) throw InvalidArgument("EventBatch::region out of bounds");
  EventBatch out = *this;
  if (t_) out.t_ += begin;
  if (x_) out.x_ += begin;
  if (y_) out.y_ += begin;
  if (p_) out.p_ += begin;
  out.size_ = 0;
  out.capacity_ = capacity;
  return out;
}

void EventBatch::set_size(std::size_t n) {
  if (n > capacity_) throw InvalidArgument("EventBatch::set_size: size exceeds capacity");
  size_ = n;
}

void EventBatch::push_back(std::int64_t t, std::uint16_t x, std::uint16_t y, std::uint8_t p) {
  if (size_ >= capacity_) throw InvalidArgument("EventBatch::push_back: batch is full");
  t_[size_] = t;
  x_[size_] = x;
  y_[size_] = y;
  p_[size_] = p;
  ++size_;
}

EventBatch EventBatch::slice(std::size_t begin, std::size_t end) const {
  if (begin > end || end > size_) throw InvalidArgument("EventBatch::slice: range out of bounds");
  EventBatch out = *this;
  if (t_) out.t_ += begin;
  if (x_) out.x_ += begin;
  if (y_) out.y_ += begin;
  if (p_) out.p_ += begin;
  out.size_ = end - begin;
  out.capacity_ = end - begin;
  return out;
}

EventBatch EventBatch::slice_time(std::int64_t t0, std::int64_t t1) const {
  const auto ts = t();
  const auto first = std::lower_bound(ts.begin(), ts.end(), t0);
  const auto last = std::lower_bound(first, ts.end(), std::max(t0, t1));
  return slice(static_cast<std::size_t>(first - ts.begin()), static_cast<std::size_t>(last - ts.begin()));
}

void TriggerBatch::append(const TriggerBatch& other) {
  t.insert(t.end(), other.t.begin(), other.t.end());
  channel.insert(channel.end(), other.channel.begin(), other.channel.end());
  value.insert(value.end(), other.value.begin(), other.value.end());
}

const std::string* Metadata::header_value(const std::string& key) const {
  for (auto it = header.rbegin(); it != header.rend(); ++it) {
    if (it->first == key) return &it->second;
  }
  return nullptr;
}

std::vector<std::pair<std::string, std::uint64_t>> DecodeStats::counters() const {
  return {{"before_first_time_high", before_first_time_high},
          {"out_of_bounds", out_of_bounds},
          {"missing_row", missing_row},
          {"missing_vector_base", missing_vector_base},
          {"non_cd_row_events", non_cd_row_events},
          {"orphan_continued", orphan_continued},
          {"partial_groups", partial_groups},
          {"unknown_words", unknown_words},
          {"non_monotonic_time_high", non_monotonic_time_high},
          {"corrupt_packets", corrupt_packets},
          {"trailing_bytes", trailing_bytes},
          {"time_wraps", time_wraps},
          {"monitoring_events", monitoring_events},
          {"imu_samples", imu_samples},
          {"skipped_records", skipped_records},
          {"invalid_events", invalid_events}};
}

DecodeStats& DecodeStats::operator+=(const DecodeStats& other) {
  words += other.words;
  before_first_time_high += other.before_first_time_high;
  out_of_bounds += other.out_of_bounds;
  missing_row += other.missing_row;
  missing_vector_base += other.missing_vector_base;
  non_cd_row_events += other.non_cd_row_events;
  orphan_continued += other.orphan_continued;
  partial_groups += other.partial_groups;
  unknown_words += other.unknown_words;
  non_monotonic_time_high += other.non_monotonic_time_high;
  time_wraps += other.time_wraps;
  monitoring_events += other.monitoring_events;
  imu_samples += other.imu_samples;
  skipped_records += other.skipped_records;
  invalid_events += other.invalid_events;
  corrupt_packets += other.corrupt_packets;
  trailing_bytes += other.trailing_bytes;
  if (other.first_error_offset < first_error_offset) {
    first_error_offset = other.first_error_offset;
    first_error = other.first_error;
  }
  return *this;
}

}  // namespace evlib
