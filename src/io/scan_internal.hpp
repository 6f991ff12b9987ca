#pragma once
// The pieces behind evlib::Scan: the immutable plan, the state shared by every plan made from one
// scan() call (metadata, time index, a reader opened ahead), and the producer of filtered chunks
// that runs one snapshot of a plan.
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "evlib/scan.hpp"
#include "io/format_reader.hpp"
#include "io/parallel_chunks.hpp"
#include "io/time_index.hpp"

namespace evlib {

// What a scan does. Never changed once a Scan holds it: builder calls copy it.
struct Scan::Plan {
  std::string path;
  ReadOptions options;  // options.filter is the scan's predicate
  unsigned columns = kAllColumns;
  unsigned threads = 0;
  std::size_t memory_limit = 0;
  IndexPolicy policy = IndexPolicy::kAuto;
  std::string cache_dir;
  std::function<void(const ScanProgress&)> progress;

  // Streaming memory: memory_limit, else kDefaultStreamingBudget. A quarter of it for the chunk
  // the caller gets, a quarter for the pieces decoded ahead on other threads, a quarter for the
  // threads' input windows and readers, the rest for the program and the caller.
  static constexpr std::uint64_t kDefaultStreamingBudget = std::uint64_t{64} << 20;
  std::uint64_t streaming_budget() const;
  std::size_t chunk_events() const;
  // Capacity of each chunk a parallel piece fills: the pieces decoded ahead (threads + 1) share
  // a quarter of the budget.
  std::size_t piece_chunk_events(unsigned threads) const;
  unsigned thread_count() const;
  std::uint64_t budget_bytes() const;
};

// What the plans of one file learn about it, shared by them and by their streams. Every member
// is guarded by `mutex`; the metadata and index it hands out are immutable.
struct Scan::Source {
  // A reader of the file at its first event, opened with the plan's options and `filter`: the
  // one a metadata() call opened, taken by the first stream that needs exactly that, else new.
  detail::OpenedFormat open(const Plan& plan, const EventFilter& filter);
  // Keeps a reader that was opened but not read from, for the next open() with that filter.
  void give_back(detail::OpenedFormat opened, const EventFilter& filter);
  std::shared_ptr<const Metadata> metadata(const Plan& plan);
  // The time index to use under the plan's policy: the file's own, else one built earlier or
  // cached (looked up once per cache directory); null when there is none.
  std::shared_ptr<const detail::TimeIndex> index(const Plan& plan, detail::FormatReader& reader);
  // Keeps an index a full pass built (sealed) and caches it under the plan's policy.
  void publish_index(const Plan& plan, detail::TimeIndex index);

 private:
  std::mutex mutex_;
  std::shared_ptr<const Metadata> metadata_;
  std::optional<detail::OpenedFormat> spare_;
  EventFilter spare_filter_;
  std::shared_ptr<const detail::TimeIndex> index_;
  std::optional<std::string> looked_up_in_;  // the cache directory last searched
};

namespace detail {

// Filtered chunks of one run of a plan, in file order. Uses the file's index to start near t0
// and stop after t1; without one, decodes from the start and builds the index on the way.
class ChunkProducer {
 public:
  ChunkProducer(std::shared_ptr<const Scan::Plan> plan, std::shared_ptr<Scan::Source> source);
  // The next non-empty chunk (or one carrying triggers); false at the end. `events` is the
  // caller's reference to the previous chunk: it is dropped first, so that its buffer can be
  // reused when nobody else holds it.
  bool next(EventBatch& events, TriggerBatch& triggers);
  const DecodeStats& stats() const noexcept { return stats_; }
  const std::shared_ptr<Metadata>& metadata() const noexcept { return format_.metadata; }
  std::uint64_t bytes_done() const;

 private:
  void report_progress();
  // Whole-file passes on several threads (io/parallel_chunks.hpp): from the index's entries
  // when there is one, else at sync points when the format can split.
  void start_parallel(bool from_index);
  bool next_parallel(EventBatch& events, TriggerBatch& triggers);
  // A chunk buffer nobody else holds: one of the pool's, else a new one.
  EventBatch& free_buffer();
  void finish_index(TimeIndex index);

  std::shared_ptr<const Scan::Plan> plan_;
  std::shared_ptr<Scan::Source> source_;
  std::shared_ptr<const TimeIndex> index_;
  OpenedFormat format_;
  // Chunk buffers: a buffer the caller (or a slice, view owner or NumPy array of it) still
  // holds is never written; another one is used, or allocated.
  static constexpr std::size_t kPoolSize = 3;
  std::vector<EventBatch> pool_;
  std::size_t current_ = 0;
  DecodeStats stats_;
  bool building_ = false;
  bool post_filter_ = false;
  bool done_ = false;
  TimeIndex building_index_;
  std::uint64_t delivered_ = 0;
  std::unique_ptr<ParallelChunks> parallel_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace detail
}  // namespace evlib
