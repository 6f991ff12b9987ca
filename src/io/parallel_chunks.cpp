#include "io/parallel_chunks.hpp"

#include <algorithm>

#include <unistd.h>

#include "evlib/error.hpp"
#include "io/start_thread.hpp"

namespace evlib::detail {

struct ParallelChunks::Piece {
  std::uint64_t start = 0, end = 0;  // sync points: this piece decodes [start, end)
  std::vector<EventBatch> chunks;
  std::vector<TriggerBatch> triggers;  // those decoded with each chunk
  std::vector<IndexEntry> index;       // with record_index
  DecodeStats stats;
  std::exception_ptr error;
  std::string sync_state;  // the reader's state at `start` (pieces after the first)
  std::string end_state;   // its state at `end`, in the time epoch of `guess` until stitched
  std::int64_t guess = 0;  // the time epoch it was decoded in: that of the latest stitched piece
  bool redecoded = false;
  bool decoded = false;    // waits to be stitched onto the previous piece
  bool stitching = false;  // a worker has taken it to stitch
  bool ready = false;      // decoded and stitched: next() may hand it out
};

// What the next piece needs to stitch itself on: the state this one ended in (in the file's
// time epoch, as every stitched piece's events are).
struct ParallelChunks::PieceEnd {
  std::string state;
  bool failed = false;
};

void ParallelChunks::plan_segments(const TimeIndex& index, std::size_t events_per_piece, ParallelPlan& plan) {
  plan.starts.clear();
  std::uint64_t events = 0;
  for (const IndexEntryView e : index.entries) {
    // A piece fills about one chunk: a segment that would overflow it starts the next piece.
    if (plan.starts.empty() || events + e.events > events_per_piece) {
      plan.starts.push_back({e.offset, std::string(e.state)});
      events = 0;
    }
    events += e.events;
  }
  plan.segments_end = index.end_offset;
}

bool ParallelChunks::usable(const FormatReader& reader, const ReadOptions& options) {
  // Strict mode reports the first error in file order, which a speculative piece might not see;
  // the Metavision shift is taken from the first TIME_HIGH, which only the first piece sees.
  return reader.can_split() && !options.strict && !options.metavision_time_shift &&
         !options.filter.has_time_window();
}

ParallelChunks::ParallelChunks(std::function<OpenedFormat()> open, std::shared_ptr<const Metadata> metadata,
                               const ParallelPlan& plan)
    : open_(std::move(open)), plan_(plan), metadata_(std::move(metadata)) {
  plan_.threads = std::max(1u, plan_.threads);
  plan_.piece_bytes = std::max<std::uint64_t>(plan_.piece_bytes, 4096);
  data_offset_ = metadata_->data_offset;
  file_end_ = std::max(metadata_->file_size, data_offset_);
  piece_count_ = segment_mode() ? plan_.starts.size()
                                : std::max<std::size_t>(1, (file_end_ - data_offset_ + plan_.piece_bytes - 1) / plan_.piece_bytes);
  index_.end_offset = file_end_;
  owner_ = ::getpid();
  try {
    for (unsigned w = 0; w < plan_.threads; ++w) start_thread(workers_, [this, w] { work(w); });
  } catch (...) {
    stop_workers();  // the workers started: a joinable thread destroyed ends the process
    throw;
  }
}

ParallelChunks::~ParallelChunks() {
  stop_workers();
  if (::getpid() != owner_) static_cast<void>(sync_.release());  // see sync_
}

void ParallelChunks::stop_workers() noexcept {
  if (::getpid() != owner_) {
    // A forked child: the threads are the parent's, not running here. Joining would wait
    // forever and destroying a joinable std::thread ends the process, so their handles are
    // left behind, never joined or destroyed (the mutex is not touched either).
    for (std::thread& t : workers_) static_cast<void>(new std::thread(std::move(t)));
    workers_.clear();
    return;
  }
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

std::uint64_t ParallelChunks::sync_scan_limit() const {
  // Below a piece, so that sync points stay in order: start(k) <= sync(k) < start(k + 1).
  return std::min<std::uint64_t>(plan_.piece_bytes / 2, std::uint64_t{256} << 10);
}

EventBatch ParallelChunks::take_buffer() {
  {
    std::lock_guard lock(mutex_);
    if (!free_buffers_.empty()) {
      EventBatch b = std::move(free_buffers_.back());
      free_buffers_.pop_back();
      b.set_size(0);
      return b;
    }
  }
  EventBatch b = EventBatch::with_capacity(plan_.chunk_events);
  b.metadata = metadata_;
  return b;
}

void ParallelChunks::give_back(EventBatch buffer) {
  std::lock_guard lock(mutex_);
  free_buffers_.push_back(std::move(buffer));
}

void ParallelChunks::work(unsigned) {
  std::unique_ptr<FormatReader> reader, probe;  // reused from piece to piece
  const std::size_t window = plan_.threads + 1;  // pieces decoded ahead of the consumer
  for (;;) {
    std::size_t k = 0;
    Piece* piece = nullptr;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return stopping_ || next_claim_ >= piece_count_ || next_claim_ < delivering_ + window; });
      if (stopping_ || next_claim_ >= piece_count_) return;
      k = next_claim_++;
      piece = (pieces_[k] = std::make_unique<Piece>()).get();
    }
    if (segment_mode()) {
      // Pieces start at index entries, exact states: nothing to stitch, no order to wait for.
      try {
        if (!reader) reader = open_().reader;
        decode_segment(k, *piece, *reader);
      } catch (...) {
        piece->error = std::current_exception();
      }
      {
        std::lock_guard lock(mutex_);
        piece->ready = true;
      }
      changed_.notify_all();
      continue;
    }
    // Decoded speculatively from its sync point; stitched (time epoch, state check) once the
    // previous piece has been. The worker that finds both done stitches, so no worker waits for
    // a slower one: it claims the next piece instead.
    try {
      OpenedFormat first;
      FormatReader* r = nullptr;
      if (k == 0) {
        first = open_();  // the first piece starts at the first event, in the initial state
        r = first.reader.get();
      } else {
        if (!reader) reader = open_().reader;
        r = reader.get();
      }
      if (k + 1 < piece_count_ && !probe) probe = open_().reader;
      decode_piece(k, *piece, *r, probe.get());
      if (k > 0) piece->sync_state = r->sync_snapshot();
      piece->end_state = r->snapshot();
      piece->stats = r->stats();
    } catch (...) {
      piece->error = std::current_exception();
    }
    bool stitch_now = false;
    {
      std::lock_guard lock(mutex_);
      piece->decoded = true;
      stitch_now = k == 0 || ends_.count(k - 1) != 0;
      piece->stitching = stitch_now;
    }
    if (stitch_now) stitch_from(k, reader);
  }
}

void ParallelChunks::stitch_from(std::size_t k, std::unique_ptr<FormatReader>& reader) {
  for (;;) {
    Piece* piece = nullptr;
    PieceEnd before;
    {
      std::lock_guard lock(mutex_);
      piece = pieces_.at(k).get();
      if (k > 0) {
        before = std::move(*ends_.at(k - 1));
        ends_.erase(k - 1);
      }
    }
    PieceEnd end;
    try {
      if (piece->error) std::rethrow_exception(piece->error);
      if (before.failed) throw Error("an earlier piece failed");  // never delivered: that one's error comes first
      if (k > 0) {
        if (!reader) reader = open_().reader;
        const std::int64_t correction = stitch(*piece, *reader, before);
        if (!piece->redecoded) {
          std::lock_guard lock(mutex_);
          latest_epoch_ = piece->guess + correction;
        }
      }
      end.state = std::move(piece->end_state);
    } catch (...) {
      piece->error = std::current_exception();
      end.failed = true;
    }
    bool next_is_waiting = false;
    {
      std::lock_guard lock(mutex_);
      ends_[k] = std::make_unique<PieceEnd>(std::move(end));
      piece->ready = true;  // from here on the consumer may take (and free) it
      const auto next = pieces_.find(k + 1);
      if (next != pieces_.end() && next->second->decoded && !next->second->stitching) {
        next->second->stitching = true;
        next_is_waiting = true;
      }
    }
    changed_.notify_all();
    if (!next_is_waiting) return;
    ++k;
  }
}

std::uint64_t ParallelChunks::sync_piece(std::size_t k, FormatReader& reader) {
  {
    std::lock_guard lock(mutex_);
    const auto it = syncs_.find(k);
    if (it != syncs_.end()) {
      const auto [offset, state] = std::move(it->second);
      syncs_.erase(it);
      reader.resume_synced(state, offset);
      return offset;
    }
  }
  const std::uint64_t offset = reader.sync_at(piece_start(k), sync_scan_limit());
  std::lock_guard lock(mutex_);
  syncs_[k] = {offset, reader.sync_snapshot()};  // for the other worker that needs it
  return offset;
}

void ParallelChunks::decode_piece(std::size_t k, Piece& piece, FormatReader& reader, FormatReader* probe) {
  // Piece k's start is piece k - 1's end: whichever worker gets there first finds it.
  piece.start = k == 0 ? reader.bytes_done() : sync_piece(k, reader);
  if (k > 0) {
    // A fresh decoder starts in time epoch 0; start it in the latest stitched piece's instead,
    // which is this one's unless the clock wrapped in between, so that stitching rarely has
    // to shift the times.
    {
      std::lock_guard lock(mutex_);
      piece.guess = latest_epoch_;
    }
    if (piece.guess != 0) reader.resume_synced(reader.shift_snapshot(reader.sync_snapshot(), piece.guess), piece.start);
  }
  piece.end = k + 1 < piece_count_ ? sync_piece(k + 1, *probe) : file_end_;
  reader.set_end(piece.end);
  fill_piece(piece, reader);
}

void ParallelChunks::decode_segment(std::size_t k, Piece& piece, FormatReader& reader) {
  piece.start = plan_.starts[k].offset;
  piece.end = k + 1 < piece_count_ ? plan_.starts[k + 1].offset : plan_.segments_end;
  reader.resume(plan_.starts[k].state, piece.start);
  reader.set_end(piece.end);
  fill_piece(piece, reader);
  piece.stats = reader.stats();
}

void ParallelChunks::fill_piece(Piece& piece, FormatReader& reader) {
  for (bool more = true; more;) {
    EventBatch chunk = take_buffer();
    TriggerBatch triggers;
    if (plan_.record_index) {
      more = fill_indexing(reader, chunk, triggers, piece.index);
    } else {
      more = reader.fill(chunk, triggers);
    }
    if (chunk.empty() && triggers.empty()) {
      give_back(std::move(chunk));
    } else {
      piece.chunks.push_back(std::move(chunk));
      piece.triggers.push_back(std::move(triggers));
    }
  }
  // Region and polarity only (no time window takes this path): independent of the time epoch
  // that stitching adds afterwards.
  if (plan_.post_filter.active()) {
    for (auto& chunk : piece.chunks) plan_.post_filter.apply(chunk);
  }
}

std::int64_t ParallelChunks::stitch(Piece& piece, FormatReader& reader, const PieceEnd& before) {
  std::int64_t offset = 0;  // what the piece's times lack: zero when its epoch was guessed right
  if (!before.state.empty()) {
    if (const auto epoch = reader.epoch_offset(before.state, piece.sync_state)) {
      offset = *epoch;
    } else {
      // The speculative start disagrees with where the previous piece ended (damaged input):
      // decode this piece again from that state, in the file's epoch like the previous piece.
      for (auto& c : piece.chunks) give_back(std::move(c));
      piece.chunks.clear();
      piece.triggers.clear();
      piece.index.clear();
      piece.redecoded = true;
      reader.resume(before.state, piece.start);
      reader.set_end(piece.end);
      fill_piece(piece, reader);
      piece.end_state = reader.snapshot();
      piece.stats = reader.stats();
    }
  }
  if (offset != 0) {
    for (auto& chunk : piece.chunks) {
      std::int64_t* t = chunk.t_data();
      for (std::size_t i = 0, n = chunk.size(); i < n; ++i) t[i] += offset;
    }
    for (auto& tr : piece.triggers) {
      for (auto& t : tr.t) t += offset;
    }
    for (auto& e : piece.index) {
      e.state = reader.shift_snapshot(e.state, offset);
      if (e.t_min <= e.t_max) {
        e.t_min += offset;
        e.t_max += offset;
      }
    }
    piece.end_state = reader.shift_snapshot(piece.end_state, offset);
  }
  return offset;
}

bool ParallelChunks::next(EventBatch& events, TriggerBatch& triggers) {
  if (::getpid() != owner_)
    throw Error("this stream's decoder threads were started by process " + std::to_string(owner_) +
                " and did not survive fork(): open the file again in this process");
  events = EventBatch{};  // the caller's reference to the last chunk, so that it can be reused
  triggers.clear();
  std::unique_lock lock(mutex_);
  std::erase_if(handed_out_, [&](EventBatch& b) {
    if (!b.sole_owner()) return false;
    free_buffers_.push_back(std::move(b));
    return true;
  });
  if (handed_out_.size() >= kHandedOutKept) handed_out_.erase(handed_out_.begin());  // held long: forget the oldest
  while (delivering_ < piece_count_) {
    changed_.wait(lock, [&] {
      const auto it = pieces_.find(delivering_);
      return it != pieces_.end() && it->second->ready;
    });
    Piece& p = *pieces_[delivering_];
    if (p.error) std::rethrow_exception(p.error);
    if (chunk_in_piece_ == 0) {
      stats_ += p.stats;
      redecoded_ += p.redecoded ? 1 : 0;
      for (const IndexEntry& e : p.index) index_.entries.push_back(e);
      p.index = {};
    }
    if (chunk_in_piece_ < p.chunks.size()) {
      events = std::move(p.chunks[chunk_in_piece_]);
      triggers = std::move(p.triggers[chunk_in_piece_]);
      ++chunk_in_piece_;
      bytes_done_ = chunk_in_piece_ == p.chunks.size() ? p.end : p.start;
      handed_out_.push_back(events);
      return true;
    }
    bytes_done_ = p.end;
    pieces_.erase(delivering_);
    ++delivering_;
    chunk_in_piece_ = 0;
    changed_.notify_all();
  }
  return false;
}

TimeIndex ParallelChunks::take_index() { return std::move(index_); }

}  // namespace evlib::detail
