#pragma once
// The one event type of evlib: a columnar (struct-of-arrays) batch of CD events.
// t int64 microseconds, x uint16, y uint16, p uint8 (1 = ON, 0 = OFF): 13 bytes an event.
// Copies and slices share storage; a slice is O(1).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "evlib/column_memory.hpp"
#include "evlib/metadata.hpp"

namespace evlib {

class EventBatch {
 public:
  EventBatch() = default;
  // An empty batch able to hold capacity events without reallocating.
  static EventBatch with_capacity(std::size_t capacity);

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::size_t capacity() const noexcept { return capacity_; }

  std::span<const std::int64_t> t() const noexcept { return {t_, t_ ? size_ : 0}; }
  std::span<const std::uint16_t> x() const noexcept { return {x_, x_ ? size_ : 0}; }
  std::span<const std::uint16_t> y() const noexcept { return {y_, y_ ? size_ : 0}; }
  std::span<const std::uint8_t> p() const noexcept { return {p_, p_ ? size_ : 0}; }

  // Raw column pointers for writers of the batch (decoders, operators). Valid up to capacity().
  std::int64_t* t_data() noexcept { return t_; }
  std::uint16_t* x_data() noexcept { return x_; }
  std::uint16_t* y_data() noexcept { return y_; }
  std::uint8_t* p_data() noexcept { return p_; }
  // Sets the number of valid events; n must not exceed capacity().
  void set_size(std::size_t n);
  // Appends one event; the caller guarantees size() < capacity(). Convenience, not for hot loops.
  void push_back(std::int64_t t, std::uint16_t x, std::uint16_t y, std::uint8_t p);

  // Events [begin, end), sharing storage.
  EventBatch slice(std::size_t begin, std::size_t end) const;
  // An empty batch over slots [begin, begin + capacity) of this batch's storage, for filling in
  // place (e.g. one region per decoding thread). The caller keeps regions from overlapping.
  EventBatch region(std::size_t begin, std::size_t capacity);
  // A batch with only some columns (bit 0 t, 1 x, 2 y, 3 p); absent columns have empty spans.
  static EventBatch with_columns(std::size_t capacity, unsigned columns);
  bool has_t() const noexcept { return t_ != nullptr; }
  bool has_x() const noexcept { return x_ != nullptr; }
  bool has_y() const noexcept { return y_ != nullptr; }
  bool has_p() const noexcept { return p_ != nullptr; }
  // Events with t in the half-open range [t0, t1). Requires non-decreasing t (binary search).
  EventBatch slice_time(std::int64_t t0, std::int64_t t1) const;

  // True when no other batch shares this batch's storage, so it may be overwritten.
  bool sole_owner() const noexcept { return storage_.use_count() <= 1; }

  std::shared_ptr<const Metadata> metadata;

 private:
  struct Storage {
    ColumnMemory t, x, y, p;
  };
  std::shared_ptr<Storage> storage_;
  std::int64_t* t_ = nullptr;
  std::uint16_t* x_ = nullptr;
  std::uint16_t* y_ = nullptr;
  std::uint8_t* p_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

// External trigger edges, a small side table (never nullable columns on the event table).
struct TriggerBatch {
  std::vector<std::int64_t> t;
  std::vector<std::uint8_t> channel;
  std::vector<std::uint8_t> value;  // 1 = rising edge, 0 = falling edge

  std::size_t size() const noexcept { return t.size(); }
  bool empty() const noexcept { return t.empty(); }
  void push_back(std::int64_t time, std::uint8_t ch, std::uint8_t val) {
    t.push_back(time);
    channel.push_back(ch);
    value.push_back(val);
  }
  void clear() noexcept {
    t.clear();
    channel.clear();
    value.clear();
  }
  void append(const TriggerBatch& other);
};

}  // namespace evlib
