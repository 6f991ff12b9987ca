#include "evlib/event_batch.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "evlib/error.hpp"

namespace evlib {

namespace {

template <class T>
T* column(const ColumnMemory& memory) {
  return static_cast<T*>(memory.data());
}

template <class T>
void copy_column(T* to, const T* from, std::size_t n) {
  if (to != nullptr && from != nullptr && n != 0) std::memcpy(to, from, n * sizeof(T));
}

}  // namespace

EventView EventView::slice(std::size_t begin, std::size_t end) const {
  if (begin > end || end > size_) throw InvalidArgument("EventView::slice: range out of bounds");
  return {t_ ? t_ + begin : nullptr, x_ ? x_ + begin : nullptr, y_ ? y_ + begin : nullptr, p_ ? p_ + begin : nullptr,
          end - begin};
}

EventView EventView::slice_time(std::int64_t t0, std::int64_t t1) const {
  const auto ts = t();
  const auto first = std::lower_bound(ts.begin(), ts.end(), t0);
  const auto last = std::lower_bound(first, ts.end(), std::max(t0, t1));
  return slice(static_cast<std::size_t>(first - ts.begin()), static_cast<std::size_t>(last - ts.begin()));
}

EventBatch EventBatch::with_capacity(std::size_t capacity) { return with_columns(capacity, kAllColumns); }

EventBatch EventBatch::with_columns(std::size_t capacity, unsigned columns) {
  auto storage = std::make_shared<Storage>();
  // One spare slot per column keeps zero-capacity batches pointing at valid memory.
  const std::size_t n = capacity == 0 ? 1 : capacity;
  if (n > std::numeric_limits<std::size_t>::max() / sizeof(std::int64_t)) {
    throw InvalidArgument("EventBatch: a capacity of " + std::to_string(capacity) + " events overflows memory sizes");
  }
  if (columns & kColumnT) storage->t = ColumnMemory(n * sizeof(std::int64_t));
  if (columns & kColumnX) storage->x = ColumnMemory(n * sizeof(std::uint16_t));
  if (columns & kColumnY) storage->y = ColumnMemory(n * sizeof(std::uint16_t));
  if (columns & kColumnP) storage->p = ColumnMemory(n * sizeof(std::uint8_t));
  EventBatch batch;
  batch.point_into(storage, capacity);
  return batch;
}

EventBatch EventBatch::wrap(EventView view, std::shared_ptr<const void> owner) {
  auto storage = std::make_shared<Storage>();
  storage->foreign = owner ? std::move(owner) : std::make_shared<int>(0);
  EventBatch batch;
  batch.storage_ = std::move(storage);
  // Never written through: make_unique() copies foreign columns before any write.
  batch.t_ = const_cast<std::int64_t*>(view.t().data());
  batch.x_ = const_cast<std::uint16_t*>(view.x().data());
  batch.y_ = const_cast<std::uint16_t*>(view.y().data());
  batch.p_ = const_cast<std::uint8_t*>(view.p().data());
  if (!view.has_t()) batch.t_ = nullptr;
  if (!view.has_x()) batch.x_ = nullptr;
  if (!view.has_y()) batch.y_ = nullptr;
  if (!view.has_p()) batch.p_ = nullptr;
  batch.size_ = batch.capacity_ = view.size();
  return batch;
}

EventBatch EventBatch::copy_of(EventView view) {
  const unsigned columns = (view.has_t() ? kColumnT : 0u) | (view.has_x() ? kColumnX : 0u) |
                           (view.has_y() ? kColumnY : 0u) | (view.has_p() ? kColumnP : 0u);
  EventBatch batch = with_columns(view.size(), columns);
  copy_column(batch.t_, view.t().data(), view.size());
  copy_column(batch.x_, view.x().data(), view.size());
  copy_column(batch.y_, view.y().data(), view.size());
  copy_column(batch.p_, view.p().data(), view.size());
  batch.size_ = view.size();
  return batch;
}

void EventBatch::point_into(const std::shared_ptr<Storage>& storage, std::size_t capacity) {
  t_ = column<std::int64_t>(storage->t);
  x_ = column<std::uint16_t>(storage->x);
  y_ = column<std::uint16_t>(storage->y);
  p_ = column<std::uint8_t>(storage->p);
  storage_ = storage;
  capacity_ = capacity;
  borrowed_ = false;
}

bool EventBatch::sole_owner() const noexcept {
  return !borrowed_ && (!storage_ || (storage_.use_count() == 1 && !storage_->foreign));
}

void EventBatch::make_unique() {
  if (borrowed_ || (storage_ && sole_owner())) return;
  const unsigned columns = storage_ == nullptr ? unsigned{kAllColumns}
                                               : (t_ ? kColumnT : 0u) | (x_ ? kColumnX : 0u) | (y_ ? kColumnY : 0u) |
                                                     (p_ ? kColumnP : 0u);
  EventBatch copy = with_columns(capacity_, columns);
  copy_column(copy.t_, t_, size_);
  copy_column(copy.x_, x_, size_);
  copy_column(copy.y_, y_, size_);
  copy_column(copy.p_, p_, size_);
  point_into(copy.storage_, capacity_);
}


std::int64_t* EventBatch::t_data() {
  make_unique();
  return t_;
}
std::uint16_t* EventBatch::x_data() {
  make_unique();
  return x_;
}
std::uint16_t* EventBatch::y_data() {
  make_unique();
  return y_;
}
std::uint8_t* EventBatch::p_data() {
  make_unique();
  return p_;
}

EventBatch EventBatch::region(std::size_t begin, std::size_t capacity) {
  if (begin > capacity_ || capacity > capacity_ - begin) throw InvalidArgument("EventBatch::region out of bounds");
  make_unique();
  EventBatch out;
  out.t_ = t_ ? t_ + begin : nullptr;
  out.x_ = x_ ? x_ + begin : nullptr;
  out.y_ = y_ ? y_ + begin : nullptr;
  out.p_ = p_ ? p_ + begin : nullptr;
  out.capacity_ = capacity;
  out.borrowed_ = true;
  out.metadata = metadata;
  return out;
}

void EventBatch::set_size(std::size_t n) {
  if (n > capacity_) throw InvalidArgument("EventBatch::set_size: size exceeds capacity");
  if (n > size_) make_unique();
  size_ = n;
}

void EventBatch::push_back(std::int64_t t, std::uint16_t x, std::uint16_t y, std::uint8_t p) {
  if (size_ >= capacity_) throw InvalidArgument("EventBatch::push_back: batch is full");
  make_unique();
  t_[size_] = t;
  x_[size_] = x;
  y_[size_] = y;
  p_[size_] = p;
  ++size_;
}

void EventBatch::append(EventView events) {
  const std::size_t n = events.size();
  if (n > capacity_ - size_) throw InvalidArgument("EventBatch::append: batch has no room for the events");
  if (n == 0) return;
  if ((t_ && !events.has_t()) || (x_ && !events.has_x()) || (y_ && !events.has_y()) || (p_ && !events.has_p()))
    throw InvalidArgument("EventBatch::append: the events lack a column of the batch");
  make_unique();
  if (t_) std::memcpy(t_ + size_, events.t().data(), n * sizeof(std::int64_t));
  if (x_) std::memcpy(x_ + size_, events.x().data(), n * sizeof(std::uint16_t));
  if (y_) std::memcpy(y_ + size_, events.y().data(), n * sizeof(std::uint16_t));
  if (p_) std::memcpy(p_ + size_, events.p().data(), n * sizeof(std::uint8_t));
  size_ += n;
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
  // Errors without a byte offset (HDF5 names the event instead) compare equal: the part added
  // first, earlier in the file, keeps its own.
  if (!other.first_error.empty() && (first_error.empty() || other.first_error_offset < first_error_offset)) {
    first_error_offset = other.first_error_offset;
    first_error = other.first_error;
  }
  return *this;
}

}  // namespace evlib
