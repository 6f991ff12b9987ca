#pragma once
// The pieces behind evlib::Scan: the scan's settings, and the producer of filtered chunks that
// uses (or builds) the time index.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "evlib/scan.hpp"
#include "io/format_reader.hpp"
#include "io/parallel_chunks.hpp"
#include "io/time_index.hpp"

namespace evlib {

struct Scan::Impl {
  std::string path;
  ReadOptions options;  // options.filter is the scan's predicate
  unsigned columns = 15;
  unsigned threads = 0;
  std::size_t memory_limit = 0;
  IndexPolicy policy = IndexPolicy::kAuto;
  std::string cache_dir;
  std::function<void(const ScanProgress&)> progress;
  std::shared_ptr<Metadata> metadata;
  std::optional<detail::TimeIndex> index;
  bool index_looked_up = false;
  DecodeStats stats;

  std::size_t chunk_events() const;
  std::uint64_t options_hash() const;
  // Opens the file with the given filter (pushed into the decoder when the format can).
  detail::OpenedFormat open(const EventFilter& filter) const;
  // The file's own index, else a cached one if there is a valid one (looked up once); true when
  // an index is in memory.
  bool lookup_index(detail::FormatReader& reader);
  void save_index();
  unsigned thread_count() const;
  std::uint64_t budget_bytes() const;
};

namespace detail {

// Filtered chunks of a scan in file order. Uses the scan's index to start near t0 and stop after
// t1; without one, decodes from the start and builds the index on the way (a full pass).
class ChunkProducer {
 public:
  explicit ChunkProducer(Scan::Impl& scan);
  // The next non-empty chunk (or one carrying triggers); false at the end.
  bool next(EventBatch& events, TriggerBatch& triggers);

 private:
  void report_progress();
  // Whole-file passes on several threads (io/parallel_chunks.hpp): from the index's entries
  // when there is one, else at sync points when the format can split.
  void start_parallel(bool from_index);
  bool next_parallel(EventBatch& events, TriggerBatch& triggers);

  Scan::Impl& scan_;
  OpenedFormat format_;
  EventBatch buffer_;
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
