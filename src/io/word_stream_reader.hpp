#pragma once
// A FormatReader over any resumable word decoder (EVT 2.0 / 2.1 / 3.0, DAT and AEDAT 1.0/2.0
// records, AEDAT 3.x packets): pulls windows from a ByteSource, feeds the decoder, stops when the
// chunk is full.
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "evlib/error.hpp"
#include "formats/common/decoder_support.hpp"
#include "io/byte_source.hpp"
#include "io/format_reader.hpp"

namespace evlib::detail {

template <class Decoder>
class WordStreamReader final : public FormatReader {
 public:
  WordStreamReader(std::unique_ptr<ByteSource> source, std::uint64_t data_offset, Decoder decoder, bool strict)
      : source_(std::move(source)), initial_(decoder), decoder_(std::move(decoder)), data_offset_(data_offset),
        bytes_done_(data_offset), strict_(strict) {
    source_->seek(data_offset);
  }

  using FormatReader::fill;
  bool fill(EventBatch& batch, TriggerBatch& triggers, std::size_t limit) override {
    if (batch.capacity() < Decoder::kMaxEventsPerWord) throw InvalidArgument("chunk capacity too small");
    ColumnSink sink = ColumnSink::over(batch);
    sink.cap = std::min(sink.cap, std::max(limit, sink.n + Decoder::kMaxEventsPerWord));
    while (!finished_) {
      if (pending_.empty()) {
        pending_ = source_->next();
        pending_offset_ = source_->window_offset();
        if (pending_.empty()) {
          // At an index segment boundary the stream goes on: nothing is truncated there.
          if (!stopped_early_) decoder_->finish();
          finished_ = true;
          break;
        }
      }
      const std::size_t used = decoder_->feed(pending_.data(), pending_.size(), sink, triggers);
      pending_ = pending_.subspan(used);
      pending_offset_ += used;
      bytes_done_ = pending_offset_;
      if (sink.room() < Decoder::kMaxEventsPerWord || triggers.size() >= kTriggerChunk) break;
    }
    batch.set_size(sink.n);
    if (strict_ && decoder_->stats().corrupt() != 0) {
      const DecodeStats& s = decoder_->stats();
      throw FormatError(source_->path(), s.first_error_offset, s.first_error + " (strict mode)");
    }
    return !finished_;
  }

  const DecodeStats& stats() const override { return decoder_->stats(); }

  std::size_t upper_bound_events() override {
    if constexpr (Decoder::kBoundFromSize) {
      const std::uint64_t rest = source_->size() > bytes_done_ ? source_->size() - bytes_done_ : 0;
      return Decoder::count_upper_bound(nullptr, static_cast<std::size_t>(rest)) + Decoder::kMaxEventsPerWord;
    } else if (!source_->seekable()) {
      return std::size_t{1} << 20;  // a pipe cannot be read twice: read() grows the batch instead
    } else {
      // A counting pass over the rest of the file: cheap next to decoding (no stores per event).
      ByteSource scan(source_->path(), bytes_done_);
      std::size_t bound = Decoder::kMaxEventsPerWord * 2;
      std::size_t carry = (bytes_done_ - data_offset_) % Decoder::kWordBytes;
      for (auto w = scan.next(); !w.empty(); w = scan.next()) {
        const std::size_t skip = std::min(carry, w.size());
        bound += decoder_->count_upper_bound(w.data() + skip, w.size() - skip);
        carry = 0;
      }
      return bound;
    }
  }

  double events_per_byte_bound(std::uint64_t offset, std::size_t bytes) override {
    constexpr double kWorst = static_cast<double>(Decoder::kMaxEventsPerWord) / Decoder::kWordBytes;
    if constexpr (Decoder::kBoundFromSize) {
      return kWorst;
    } else {
      if (!source_->seekable() || bytes == 0) return kWorst;
      const std::uint64_t aligned = offset - (offset - data_offset_) % Decoder::kWordBytes;
      std::vector<std::uint8_t> sample(bytes);
      sample.resize(source_->read_at(sample.data(), bytes, aligned));
      if (sample.size() < Decoder::kWordBytes) return kWorst;
      return static_cast<double>(decoder_->count_upper_bound(sample.data(), sample.size())) / static_cast<double>(sample.size());
    }
  }

  std::size_t loose_upper_bound_events() override {
    const std::uint64_t rest = source_->size() > bytes_done_ ? source_->size() - bytes_done_ : 0;
    return static_cast<std::size_t>((rest / Decoder::kWordBytes + 1) * Decoder::kMaxEventsPerWord) +
           Decoder::kMaxEventsPerWord;
  }

  std::int64_t time_shift() const override {
    if constexpr (requires(const Decoder& d) { d.time_shift(); }) {
      return decoder_->time_shift();
    } else {
      return 0;
    }
  }

  bool pushes_down_filter() const override { return kFilters; }

  bool can_snapshot() const override { return kSnapshots && source_->seekable(); }
  std::string snapshot() const override {
    if constexpr (kSnapshots) {
      static_assert(std::is_trivially_copyable_v<typename Decoder::State>);
      const auto& state = decoder_->state();
      return std::string(reinterpret_cast<const char*>(&state), sizeof state);
    } else {
      return {};
    }
  }
  void resume(const std::string& snapshot, std::uint64_t offset) override {
    if constexpr (kSnapshots) {
      typename Decoder::State state;
      if (snapshot.size() != sizeof state || offset < data_offset_) throw InvalidArgument("snapshot does not fit this reader");
      std::memcpy(&state, snapshot.data(), sizeof state);
      decoder_.emplace(initial_);  // counters restart with the segment
      decoder_->restore(state);
      source_->seek(offset);
      pending_ = {};
      pending_offset_ = offset;
      bytes_done_ = offset;
      finished_ = false;
    } else {
      FormatReader::resume(snapshot, offset);
    }
  }
  void set_end(std::uint64_t offset) override {
    source_->set_end(offset);
    stopped_early_ = offset < source_->size();
  }

  std::uint64_t bytes_done() const override { return bytes_done_; }

  bool can_split() const override { return kSplits && source_->seekable(); }

  std::uint64_t sync_at(std::uint64_t offset, std::uint64_t max_scan) override {
    if constexpr (kSplits) {
      const std::uint64_t end = source_->size();
      const std::uint64_t words = (std::max(offset, data_offset_) - data_offset_ + Decoder::kWordBytes - 1) / Decoder::kWordBytes;
      const std::uint64_t start = std::min(end, data_offset_ + words * Decoder::kWordBytes);
      // The prefix, decoded by a throw-away decoder only to learn the state at the sync point;
      // read through this reader's own source (no second open file).
      const std::uint64_t limit = std::min(end, start + max_scan);
      source_->seek(start);
      Decoder scout = initial_;
      typename Decoder::State at = initial_.state();
      at.next_offset = start;
      scout.restore(at);
      if (scout_scratch_.capacity() == 0) scout_scratch_ = EventBatch::with_capacity(4096);  // reused by every piece
      TriggerBatch ignored;
      std::uint64_t keep = limit - start;
      std::uint64_t scanned = 0;
      // Small reads first, doubling: a sync point is usually a few words in, and every byte read
      // here is read again by the piece's decoder (a whole window per piece was 12 % more copying
      // from the page cache on two threads).
      for (std::uint64_t step = kFirstSyncRead;; step *= 2) {
        source_->set_end(std::min(limit, start + scanned + step));
        const auto w = source_->next();
        if (w.empty()) break;
        const std::size_t whole = w.size() - w.size() % Decoder::kWordBytes;  // windows are word multiples
        const std::size_t found = decoder_->sync_prefix_bytes(w.data(), whole);
        feed_all(scout, w.data(), found, scout_scratch_, ignored);
        if (found < whole) {
          keep = scanned + found;
          break;
        }
        scanned += whole;
      }
      decoder_.emplace(initial_);  // counters start at the sync point: the prefix is the previous piece's
      decoder_->restore(scout.state());
      sync_state_.assign(reinterpret_cast<const char*>(&scout.state()), sizeof scout.state());
      source_->seek(start + keep);
      pending_ = {};
      pending_offset_ = bytes_done_ = start + keep;
      finished_ = false;
      return start + keep;
    } else {
      return FormatReader::sync_at(offset, max_scan);
    }
  }

  std::string sync_snapshot() const override { return sync_state_; }
  void resume_synced(const std::string& sync_state, std::uint64_t offset) override {
    resume(sync_state, offset);
    sync_state_ = sync_state;
  }

  // Decodes all of data[0, size) into nothing (the scout of sync_at()).
  static void feed_all(Decoder& d, const std::uint8_t* data, std::size_t size, EventBatch& scratch, TriggerBatch& triggers) {
    for (std::size_t used = 0; used < size;) {
      ColumnSink sink = ColumnSink::over(scratch);
      used += d.feed(data + used, size - used, sink, triggers);
      triggers.clear();
    }
  }

  std::optional<std::int64_t> epoch_offset(const std::string& before, const std::string& fresh) const override {
    if constexpr (kSplits) {
      typename Decoder::State a, b;
      if (before.size() != sizeof a || fresh.size() != sizeof b) return std::nullopt;
      std::memcpy(&a, before.data(), sizeof a);
      std::memcpy(&b, fresh.data(), sizeof b);
      return Decoder::epoch_offset(a, b);
    } else {
      return std::nullopt;
    }
  }

  std::string shift_snapshot(const std::string& snapshot, std::int64_t time_offset) const override {
    if constexpr (kSplits) {
      typename Decoder::State state;
      if (snapshot.size() != sizeof state) throw InvalidArgument("snapshot does not fit this reader");
      std::memcpy(&state, snapshot.data(), sizeof state);
      Decoder::shift_epoch(state, time_offset);
      return std::string(reinterpret_cast<const char*>(&state), sizeof state);
    } else {
      return FormatReader::shift_snapshot(snapshot, time_offset);
    }
  }

 private:
  // Decoders opt in: a trivially copyable State with state()/restore() (time index), and
  // kPushesDownFilter when they apply ReadOptions::filter inside their loop.
  static constexpr bool kSnapshots = requires(const Decoder& d) { d.state(); };
  static constexpr bool kFilters = requires { requires Decoder::kPushesDownFilter; };
  static constexpr std::uint64_t kFirstSyncRead = 4096;  // sync_at()'s first read, in bytes
  static constexpr bool kSplits = requires(const Decoder& d, const std::uint8_t* p) { d.sync_prefix_bytes(p, 0); };

  std::unique_ptr<ByteSource> source_;
  Decoder initial_;                  // as constructed: how a fresh piece starts
  std::optional<Decoder> decoder_;   // replaced by a copy of initial_ when a piece starts
  std::string sync_state_;  // the decoder state sync_at() found, as snapshot() bytes
  EventBatch scout_scratch_;  // where sync_at()'s throw-away decoder writes
  std::uint64_t data_offset_;
  std::span<const std::uint8_t> pending_;
  std::uint64_t pending_offset_ = 0;
  std::uint64_t bytes_done_;
  bool strict_;
  bool finished_ = false;
  bool stopped_early_ = false;
};

}  // namespace evlib::detail
