#pragma once
// A FormatReader over any resumable word decoder (EVT 2.0 / 2.1 / 3.0, DAT records): pulls
// windows from a ByteSource, feeds the decoder, stops when the chunk is full.
#include <cstring>
#include <span>
#include <type_traits>
#include <string>

#include "evlib/error.hpp"
#include "formats/decoder_support.hpp"
#include "io/byte_source.hpp"
#include "io/format_reader.hpp"

namespace evlib::detail {

template <class Decoder>
class WordStreamReader final : public FormatReader {
 public:
  WordStreamReader(std::unique_ptr<ByteSource> source, std::uint64_t data_offset, Decoder decoder, bool strict)
      : source_(std::move(source)), decoder_(std::move(decoder)), data_offset_(data_offset),
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
          if (!stopped_early_) decoder_.finish();
          finished_ = true;
          break;
        }
      }
      const std::size_t used = decoder_.feed(pending_.data(), pending_.size(), sink, triggers);
      pending_ = pending_.subspan(used);
      pending_offset_ += used;
      bytes_done_ = pending_offset_;
      if (sink.room() < Decoder::kMaxEventsPerWord) break;
    }
    batch.set_size(sink.n);
    if (strict_ && decoder_.stats().corrupt() != 0) {
      const DecodeStats& s = decoder_.stats();
      throw FormatError(source_->path(), s.first_error_offset, s.first_error + " (strict mode)");
    }
    return !finished_;
  }

  const DecodeStats& stats() const override { return decoder_.stats(); }

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
        bound += Decoder::count_upper_bound(w.data() + skip, w.size() - skip);
        carry = 0;
      }
      return bound;
    }
  }

  std::size_t loose_upper_bound_events() override {
    const std::uint64_t rest = source_->size() > bytes_done_ ? source_->size() - bytes_done_ : 0;
    return static_cast<std::size_t>((rest / Decoder::kWordBytes + 1) * Decoder::kMaxEventsPerWord) +
           Decoder::kMaxEventsPerWord;
  }

  std::int64_t time_shift() const override {
    if constexpr (requires(const Decoder& d) { d.time_shift(); }) {
      return decoder_.time_shift();
    } else {
      return 0;
    }
  }

  bool pushes_down_filter() const override { return kFilters; }

  bool can_snapshot() const override { return kSnapshots && source_->seekable(); }
  std::string snapshot() const override {
    if constexpr (kSnapshots) {
      static_assert(std::is_trivially_copyable_v<typename Decoder::State>);
      const auto& state = decoder_.state();
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
      decoder_.restore(state);
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

 private:
  // Decoders opt in: a trivially copyable State with state()/restore() (time index), and
  // kPushesDownFilter when they apply ReadOptions::filter inside their loop.
  static constexpr bool kSnapshots = requires(const Decoder& d) { d.state(); };
  static constexpr bool kFilters = requires { requires Decoder::kPushesDownFilter; };

  std::unique_ptr<ByteSource> source_;
  Decoder decoder_;
  std::uint64_t data_offset_;
  std::span<const std::uint8_t> pending_;
  std::uint64_t pending_offset_ = 0;
  std::uint64_t bytes_done_;
  bool strict_;
  bool finished_ = false;
  bool stopped_early_ = false;
};

}  // namespace evlib::detail
