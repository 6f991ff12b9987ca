#pragma once
// Decoding one file on several threads without an index. The file is cut into pieces of a
// fixed byte size; the reader of each piece resynchronises at the first sync point at or after
// the piece's start (FormatReader::sync_at) and decodes up to the next piece's sync point, so
// every word is decoded exactly once. Pieces are stitched in order: each is shifted by the time
// epoch its predecessor ended in, and decoded again from the predecessor's final state in the
// rare case the two states disagree (damaged input), so the result always equals one thread's.
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <sys/types.h>

#include "evlib/event_batch.hpp"
#include "evlib/metadata.hpp"
#include "io/format_reader.hpp"
#include "io/time_index.hpp"

namespace evlib::detail {

struct ParallelPlan {
  unsigned threads = 2;
  std::size_t chunk_events = std::size_t{1} << 18;  // capacity of each chunk a piece fills
  std::uint64_t piece_bytes = std::uint64_t{1} << 20;
  // Applied to each stitched chunk, for readers opened without it (region and polarity only:
  // the scan takes this path only without a time window).
  EventFilter post_filter;
  // Record a time index on the way (fill_indexing(), as a sequential pass does); the readers
  // must then be unfiltered, so that entries count every event.
  bool record_index = false;
  // Segment mode: with a time index, pieces start where its entries say (resume() at their
  // state, no sync point, no stitching) and end at the next piece's offset; any format that
  // can resume takes this path. Empty: pieces of piece_bytes at sync points.
  struct Start {
    std::uint64_t offset;
    std::string state;
  };
  std::vector<Start> starts;
  std::uint64_t segments_end = 0;  // where the last piece ends
};

class ParallelChunks {
 public:
  // open() returns a new reader of the file at its first event; called once or twice per thread.
  ParallelChunks(std::function<OpenedFormat()> open, std::shared_ptr<const Metadata> metadata, const ParallelPlan& plan);
  ~ParallelChunks();
  ParallelChunks(const ParallelChunks&) = delete;
  ParallelChunks& operator=(const ParallelChunks&) = delete;

  // The next chunk in file order; false at the end. A piece's error is rethrown when reached.
  bool next(EventBatch& events, TriggerBatch& triggers);
  // Counters of the pieces delivered so far, and the file offset they reach.
  const DecodeStats& stats() const noexcept { return stats_; }
  std::uint64_t bytes_done() const noexcept { return bytes_done_; }
  // Pieces that had to be decoded a second time (their speculative start disagreed).
  std::size_t redecoded_pieces() const noexcept { return redecoded_; }
  // With record_index, once next() returned false: the index of the whole file.
  TimeIndex take_index();

  // Whether a scan with these options can take this path with this reader.
  static bool usable(const FormatReader& reader, const ReadOptions& options);
  // The plan's pieces from a time index: consecutive segments grouped to about events_per_piece.
  static void plan_segments(const TimeIndex& index, std::size_t events_per_piece, ParallelPlan& plan);

 private:
  struct Piece;
  void work(unsigned worker);
  void stop_workers() noexcept;  // stops and joins the workers started
  struct PieceEnd;
  void decode_piece(std::size_t k, Piece& piece, FormatReader& reader, FormatReader* probe);
  void fill_piece(Piece& piece, FormatReader& reader);
  // Stitches piece k and then each following piece already decoded, with `reader` (opened if
  // null) for the re-decode of a piece whose speculative start proves wrong.
  void stitch_from(std::size_t k, std::unique_ptr<FormatReader>& reader);
  // Checks piece k against the end of k - 1 and shifts its times by what its epoch lacked
  // (returned; usually 0), or decodes it again from that end when the two disagree.
  std::int64_t stitch(Piece& piece, FormatReader& reader, const PieceEnd& before);
  std::uint64_t piece_start(std::size_t k) const { return data_offset_ + k * plan_.piece_bytes; }
  bool segment_mode() const { return !plan_.starts.empty(); }
  void decode_segment(std::size_t k, Piece& piece, FormatReader& reader);
  std::uint64_t sync_scan_limit() const;
  // Piece k's sync point, with `reader` positioned there (found once, shared by two workers).
  std::uint64_t sync_piece(std::size_t k, FormatReader& reader);
  EventBatch take_buffer();
  void give_back(EventBatch buffer);

  std::function<OpenedFormat()> open_;
  ParallelPlan plan_;
  std::uint64_t data_offset_ = 0;
  std::uint64_t file_end_ = 0;
  std::size_t piece_count_ = 0;
  std::shared_ptr<const Metadata> metadata_;  // attached to every chunk

  // On the heap, so that a forked child can leave them behind: destroying a condition variable
  // the parent's threads were waiting on waits for them forever.
  struct Sync {
    std::mutex mutex;
    std::condition_variable changed;
  };
  std::unique_ptr<Sync> sync_ = std::make_unique<Sync>();
  std::mutex& mutex_ = sync_->mutex;
  std::condition_variable& changed_ = sync_->changed;
  std::map<std::size_t, std::unique_ptr<Piece>> pieces_;  // claimed, not yet delivered
  std::map<std::size_t, std::unique_ptr<PieceEnd>> ends_;  // stitched pieces' final states
  // Sync points found by the previous piece's worker (its end): piece -> (offset, state).
  std::map<std::size_t, std::pair<std::uint64_t, std::string>> syncs_;
  std::size_t next_claim_ = 0;
  std::size_t delivering_ = 0;  // the piece next() takes chunks from
  std::size_t chunk_in_piece_ = 0;
  bool stopping_ = false;
  std::vector<EventBatch> free_buffers_;
  // The caller's last chunks: each is reused once the caller lets go of it. A few are kept, not
  // only the last, because a caller commonly holds the previous chunk while asking for the next
  // (a Python `for batch in stream` loop does); forgetting it would cost a fresh buffer, whose
  // first-touch page faults cost more than decoding, for every chunk.
  static constexpr std::size_t kHandedOutKept = 4;
  std::vector<EventBatch> handed_out_;
  std::vector<std::thread> workers_;
  // The process that started the workers: a child forked while they ran has none of them (and
  // may hold mutex_ locked by one), so there next() refuses, stop_workers() lets go of them and
  // the destructor of sync_.
  pid_t owner_ = 0;

  DecodeStats stats_;
  TimeIndex index_;
  std::uint64_t bytes_done_ = 0;
  std::size_t redecoded_ = 0;
  std::int64_t latest_epoch_ = 0;  // the time epoch of the latest stitched piece (guarded by mutex_)
};

}  // namespace evlib::detail
