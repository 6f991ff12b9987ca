#pragma once
// The one event type of evlib: a columnar (struct-of-arrays) batch of CD events.
// t int64 microseconds, x uint16, y uint16, p uint8 (1 = ON, 0 = OFF): 13 bytes an event.
//
// Ownership, in three types:
// - EventView: read-only columns, owning nothing. What operators, writers and bindings read.
//   Valid while the batch (or foreign owner) it was taken from lives.
// - EventBatch: owns its columns, shared by copies and slices (O(1), no copy). Shared columns
//   are never written: the first write through a batch that shares them (t_data(), set_size()
//   growing it, push_back(), an operator applied in place) copies them first (copy-on-write),
//   so no batch ever sees another batch's data change. A batch can also wrap foreign columns
//   (NumPy or Arrow buffers) with an owner handle that keeps them alive; those are never written.
// - owner(): a handle that keeps a batch's columns alive without a batch, for zero-copy export
//   (a NumPy array or Arrow buffer over a column holds it). While it lives the batch shares its
//   columns, so they stay as they were.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "evlib/column_memory.hpp"
#include "evlib/metadata.hpp"

namespace evlib {

// Column bits for batches with only some columns (EventBatch::with_columns, Scan::columns).
enum ColumnBits : unsigned { kColumnT = 1, kColumnX = 2, kColumnY = 4, kColumnP = 8, kAllColumns = 15 };

class EventView {
 public:
  EventView() = default;
  // Columns of `size` events; a column may be null (absent). Nothing is copied or owned.
  EventView(const std::int64_t* t, const std::uint16_t* x, const std::uint16_t* y, const std::uint8_t* p,
            std::size_t size) noexcept
      : t_(t), x_(x), y_(y), p_(p), size_(size) {}

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::span<const std::int64_t> t() const noexcept { return {t_, t_ ? size_ : 0}; }
  std::span<const std::uint16_t> x() const noexcept { return {x_, x_ ? size_ : 0}; }
  std::span<const std::uint16_t> y() const noexcept { return {y_, y_ ? size_ : 0}; }
  std::span<const std::uint8_t> p() const noexcept { return {p_, p_ ? size_ : 0}; }
  bool has_t() const noexcept { return t_ != nullptr; }
  bool has_x() const noexcept { return x_ != nullptr; }
  bool has_y() const noexcept { return y_ != nullptr; }
  bool has_p() const noexcept { return p_ != nullptr; }

  // Events [begin, end).
  EventView slice(std::size_t begin, std::size_t end) const;
  // Events with t in [t0, t1). Requires non-decreasing t (binary search).
  EventView slice_time(std::int64_t t0, std::int64_t t1) const;

 private:
  const std::int64_t* t_ = nullptr;
  const std::uint16_t* x_ = nullptr;
  const std::uint16_t* y_ = nullptr;
  const std::uint8_t* p_ = nullptr;
  std::size_t size_ = 0;
};

class EventBatch {
 public:
  EventBatch() = default;
  // An empty batch able to hold capacity events without reallocating.
  static EventBatch with_capacity(std::size_t capacity);
  // A batch with only some columns (ColumnBits); absent columns have empty spans.
  static EventBatch with_columns(std::size_t capacity, unsigned columns);
  // A batch over foreign columns (`view`), kept alive by `owner` (e.g. a reference to the NumPy
  // arrays or Arrow buffers they belong to), without copying. They are never written: writing
  // through the batch copies them first.
  static EventBatch wrap(EventView view, std::shared_ptr<const void> owner);
  // A batch owning a copy of view's columns.
  static EventBatch copy_of(EventView view);

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::size_t capacity() const noexcept { return capacity_; }

  std::span<const std::int64_t> t() const noexcept { return {t_, t_ ? size_ : 0}; }
  std::span<const std::uint16_t> x() const noexcept { return {x_, x_ ? size_ : 0}; }
  std::span<const std::uint16_t> y() const noexcept { return {y_, y_ ? size_ : 0}; }
  std::span<const std::uint8_t> p() const noexcept { return {p_, p_ ? size_ : 0}; }
  bool has_t() const noexcept { return t_ != nullptr; }
  bool has_x() const noexcept { return x_ != nullptr; }
  bool has_y() const noexcept { return y_ != nullptr; }
  bool has_p() const noexcept { return p_ != nullptr; }
  EventView view() const noexcept { return {t_, x_, y_, p_, size_}; }
  operator EventView() const noexcept { return view(); }  // NOLINT: a batch is readable as a view

  // Column pointers for writing (decoders, operators), valid up to capacity() until the batch is
  // copied, resized or destroyed. Each makes the batch the sole owner of its columns first
  // (copy-on-write), so writes never reach another batch.
  std::int64_t* t_data();
  std::uint16_t* x_data();
  std::uint16_t* y_data();
  std::uint8_t* p_data();
  // Sets the number of valid events; n must not exceed capacity(). Growing the batch makes it
  // the sole owner of its columns first (the new events are about to be written).
  void set_size(std::size_t n);
  // Appends one event; the caller guarantees size() < capacity(). Convenience, not for hot loops.
  void push_back(std::int64_t t, std::uint16_t x, std::uint16_t y, std::uint8_t p);
  // Copies events to the end of this batch, column by column. Throws InvalidArgument, changing
  // nothing, when they do not fit (size() + events.size() > capacity()) or lack a column this
  // batch has.
  void append(EventView events);
  // Makes this batch the sole owner of its columns, copying them if they are shared or foreign.
  void make_unique();

  // Events [begin, end), sharing the columns (O(1)).
  EventBatch slice(std::size_t begin, std::size_t end) const;
  // Events with t in the half-open range [t0, t1). Requires non-decreasing t (binary search).
  EventBatch slice_time(std::int64_t t0, std::int64_t t1) const;
  // An empty batch over slots [begin, begin + capacity) of this batch's columns, for filling in
  // place from several threads (one region each). A region borrows the columns: it owns
  // nothing, must not outlive this batch, and writes straight into it (no copy-on-write); the
  // caller keeps regions from overlapping. This batch is made the sole owner first.
  EventBatch region(std::size_t begin, std::size_t capacity);

  // True when no other batch or handle shares this batch's columns, so writing them in place
  // is invisible to anyone else. Foreign columns are never solely owned.
  bool sole_owner() const noexcept;
  // A handle that keeps the columns alive (zero-copy export); null for an empty default batch.
  std::shared_ptr<const void> owner() const noexcept { return storage_; }

  std::shared_ptr<const Metadata> metadata;

 private:
  struct Storage {
    ColumnMemory t, x, y, p;
    std::shared_ptr<const void> foreign;  // set when the columns belong to someone else
  };
  void point_into(const std::shared_ptr<Storage>& storage, std::size_t capacity);
  std::shared_ptr<Storage> storage_;
  std::int64_t* t_ = nullptr;
  std::uint16_t* x_ = nullptr;
  std::uint16_t* y_ = nullptr;
  std::uint8_t* p_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
  bool borrowed_ = false;  // a region: writes go straight into another batch's columns
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
