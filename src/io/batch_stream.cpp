// Re-batching a scan's chunks: as they come, by event count, or by fixed time windows.
#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>

#include "evlib/error.hpp"
#include "evlib/int128.hpp"
#include "io/scan_internal.hpp"

namespace evlib {

struct BatchStream::Impl {
  Impl(std::shared_ptr<const Scan::Plan> scan, std::shared_ptr<Scan::Source> source)
      : plan(scan), producer(std::move(scan), std::move(source)) {}
  virtual ~Impl() = default;
  virtual std::optional<EventBatch> next() = 0;

  // Pulls the next chunk from the producer into `chunk` (position reset); false at the end.
  bool pull() {
    TriggerBatch tr;
    if (!producer.next(chunk, tr)) {
      pos = chunk.size();  // the producer let go of the last chunk: nothing is left in it
      return false;
    }
    triggers.append(tr);
    pos = 0;
    return true;
  }

  // Whether the triggers gathered while filling a batch are as many as a chunk holds: then they
  // are handed out at once, without events (the batch goes on filling at the next call), so
  // memory stays bounded however dense the triggers are.
  bool triggers_due() const { return triggers.size() >= detail::kTriggerChunk; }
  EventBatch hand_out_triggers() {
    triggers_only = true;
    return EventBatch{};
  }

  std::shared_ptr<const Scan::Plan> plan;  // the snapshot this stream runs
  detail::ChunkProducer producer;
  EventBatch chunk;
  std::size_t pos = 0;  // first event of chunk not yet handed out
  TriggerBatch triggers;
  bool triggers_only = false;  // set by next() when it returns triggers_due()'s triggers
  EventBatch filling;          // the batch being filled, kept across a hand_out_triggers()
  bool is_filling = false;
  // The current time window [window_start, window_end); window_end is INT64_MAX where the true
  // end passes int64 (the window then holds every later time).
  std::int64_t window_start = 0, window_end = 0;
};

namespace {

// A copy of `batch` with capacity for at least `capacity` events.
EventBatch grown(const EventBatch& batch, std::size_t capacity) {
  EventBatch bigger = EventBatch::with_capacity(capacity);
  bigger.append(batch);
  bigger.metadata = batch.metadata;
  return bigger;
}

struct ChunkStream final : BatchStream::Impl {
  using Impl::Impl;
  std::optional<EventBatch> next() override {
    if (!pull()) return std::nullopt;
    return chunk;
  }
};

struct CountStream final : BatchStream::Impl {
  CountStream(std::shared_ptr<const Scan::Plan> scan, std::shared_ptr<Scan::Source> source, std::size_t n)
      : Impl(std::move(scan), std::move(source)), size(n) {
    if (n == 0) throw InvalidArgument("ByCount: the batch size must be positive");
  }
  std::optional<EventBatch> next() override {
    if (!is_filling) {
      // Memory for the events as they come, not for `size` of them at once: a batch of 2^40
      // events on a file of a million would otherwise ask for 13 TB before reading anything.
      filling = EventBatch::with_capacity(std::min(size, kFirstCapacity));
      is_filling = true;
    }
    EventBatch& out = filling;
    while (out.size() < size) {
      if (triggers_due()) return hand_out_triggers();
      if (pos == chunk.size() && !pull()) break;
      const std::size_t n = std::min(size - out.size(), chunk.size() - pos);
      if (n > out.capacity() - out.size())
        out = grown(out, std::min(size, std::max(out.size() + n, 2 * out.capacity())));
      out.append(chunk.view().slice(pos, pos + n));
      out.metadata = chunk.metadata;
      pos += n;
    }
    is_filling = false;
    if (out.empty()) return std::nullopt;
    return std::move(out);
  }
  static constexpr std::size_t kFirstCapacity = std::size_t{1} << 20;
  std::size_t size;
};

// Windows [start, start + width) in stream order: an event goes to the current window while its
// time is before the window's end. Events that step back in time (non-monotonic files) stay in
// the window being filled, so the windows always concatenate to the whole stream.
struct TimeStream final : BatchStream::Impl {
  TimeStream(std::shared_ptr<const Scan::Plan> scan, std::shared_ptr<Scan::Source> source, const ByTime& by)
      : Impl(std::move(scan), std::move(source)), spec(by) {
    if (by.width_us <= 0) throw InvalidArgument("ByTime: the window width must be positive");
  }
  std::optional<EventBatch> next() override {
    while (true) {  // (a loop: a stream of empty windows skipped must not grow the stack)
      if (!is_filling) {
        while (pos == chunk.size()) {  // a chunk may hold triggers only
          if (triggers_due()) return hand_out_triggers();
          if (!pull()) return finish_pending();
        }
        start_window();
      }
      EventBatch& out = filling;
      while (true) {
        if (triggers_due()) return hand_out_triggers();
        if (pos == chunk.size() && !pull()) break;
        const auto t = chunk.t();
        std::size_t end = pos;
        while (end < t.size() && t[end] <= window_last) ++end;
        if (end > pos) {
          if (out.size() + (end - pos) > out.capacity()) out = grown(out, (out.size() + (end - pos)) * 2);
          out.append(chunk.view().slice(pos, end));
          out.metadata = chunk.metadata;
          pos = end;
        }
        if (pos < t.size()) break;  // the next event belongs to a later window
      }
      is_filling = false;
      if (!out.empty() || spec.keep_empty) return std::move(out);
      while (pos == chunk.size()) {
        if (triggers_due()) return hand_out_triggers();
        if (!pull()) return std::nullopt;
      }
      // Skip straight to the window holding the next event (after this one: t_next > window_last),
      // in 128 bits: the count of windows skipped times the width may pass int64.
      const std::int64_t t_next = chunk.t()[pos];
      const int128 skipped = (int128{t_next} - window_start) / spec.width_us;
      next_start = static_cast<std::int64_t>(window_start + skipped * spec.width_us);
    }
  }
  // The window from `start`, its last time saturated at INT64_MAX.
  void set_window(std::int64_t start) {
    window_start = start;
    if (__builtin_add_overflow(start, spec.width_us - 1, &window_last)) window_last = std::numeric_limits<std::int64_t>::max();
    window_end = window_last == std::numeric_limits<std::int64_t>::max() ? window_last : window_last + 1;
  }
  // The next window, and an empty batch to fill with its events.
  void start_window() {
    if (!started) {
      started = true;
      std::int64_t first = spec.origin.value_or(chunk.t()[pos]);
      const auto& f = producer_filter();
      if (!spec.origin && f.has_time_window() && spec.keep_empty) first = f.t0;
      set_window(first);
    } else {
      // An event remains after the current window, so its last time is below INT64_MAX.
      set_window(next_start.value_or(window_last + 1));
      next_start.reset();
    }
    // Start small (short windows are common) and grow geometrically.
    filling = EventBatch::with_capacity(std::clamp<std::size_t>(chunk.size() - pos, 1024, 1 << 16));
    is_filling = true;
  }
  std::optional<EventBatch> finish_pending() {
    // With keep_empty and a time filter, produce the empty windows up to the filter's end.
    const auto& f = producer_filter();
    if (spec.keep_empty && started && f.has_time_window() && int128{window_last} + 1 < f.t1) {
      set_window(window_last + 1);
      return EventBatch::with_capacity(0);
    }
    return std::nullopt;
  }
  const EventFilter& producer_filter() const { return plan->options.filter; }
  ByTime spec;
  bool started = false;
  std::int64_t window_last = 0;            // the current window's last time (inclusive)
  std::optional<std::int64_t> next_start;  // the next window's start, when empty ones are skipped
};

}  // namespace

BatchStream::BatchStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BatchStream::~BatchStream() = default;
BatchStream::BatchStream(BatchStream&&) noexcept = default;
BatchStream& BatchStream::operator=(BatchStream&&) noexcept = default;

std::optional<Chunk> BatchStream::next() {
  impl_->triggers_only = false;
  std::optional<EventBatch> events = impl_->next();
  if (!events) {
    // Triggers after the last event still belong to the stream.
    if (impl_->triggers.empty()) return std::nullopt;
    events = EventBatch{};
    impl_->triggers_only = true;
  }
  Chunk chunk;
  chunk.events = std::move(*events);
  chunk.triggers_only = impl_->triggers_only;
  chunk.triggers = std::exchange(impl_->triggers, TriggerBatch{});
  chunk.bytes_done = impl_->producer.bytes_done();
  return chunk;
}
std::int64_t BatchStream::window_start() const { return impl_->window_start; }
std::int64_t BatchStream::window_end() const { return impl_->window_end; }
const DecodeStats& BatchStream::stats() const { return impl_->producer.stats(); }
const Metadata& BatchStream::metadata() const { return *impl_->producer.metadata(); }

BatchStream Scan::chunks() const { return BatchStream(std::make_unique<ChunkStream>(plan_, source_)); }
BatchStream Scan::batches(ByCount by) const {
  return BatchStream(std::make_unique<CountStream>(plan_, source_, by.events));
}
BatchStream Scan::batches(ByTime by) const {
  return BatchStream(std::make_unique<TimeStream>(plan_, source_, by));
}

}  // namespace evlib
